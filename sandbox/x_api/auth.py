"""Who is calling: OAuth 1.0a user context (HMAC-SHA1, verified with oauthlib) or a bearer token."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Literal

from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature, utils

from sandbox.x_api.config import Credentials

CLOCK_SKEW_S = 900  # how far oauth_timestamp may be from our clock


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "app"]  # OAuth 1.0a user context, or app-only bearer
    user_id: str | None = None


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str  # scheme://host[:port]/path as the client addressed it, no query
    query: str  # raw query string
    authorization: str
    form_body: str = ""  # only application/x-www-form-urlencoded bodies are signed


def _verify_oauth1(request: SignedRequest, credentials: Credentials, now: float) -> bool:
    try:
        pairs = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(request.authorization)}
    except (ValueError, IndexError):
        return False
    if (
        pairs.get("oauth_signature_method") != "HMAC-SHA1"
        or pairs.get("oauth_version", "1.0") != "1.0"
        or not hmac.compare_digest(pairs.get("oauth_consumer_key", ""), credentials.api_key)
        or not hmac.compare_digest(pairs.get("oauth_token", ""), credentials.access_token)
        or not pairs.get("oauth_nonce")
    ):
        return False
    try:
        if abs(int(pairs.get("oauth_timestamp", "")) - now) > CLOCK_SKEW_S:
            return False
    except ValueError:
        return False
    params = signature.collect_parameters(
        uri_query=request.query,
        body=request.form_body or None,
        headers={"Authorization": request.authorization},
        exclude_oauth_signature=True,
    )
    base = signature.signature_base_string(
        request.method.upper(),
        signature.base_string_uri(request.url),
        signature.normalize_parameters(params),
    )
    signer = Client(
        credentials.api_key,
        client_secret=credentials.api_secret,
        resource_owner_key=credentials.access_token,
        resource_owner_secret=credentials.access_token_secret,
    )
    expected = signature.sign_hmac_sha1_with_client(base, signer)
    return signature.safe_string_equals(expected, pairs.get("oauth_signature", ""))


def authenticate(
    request: SignedRequest, credentials: Credentials, bot_id: str, now: float | None = None
) -> Principal | None:
    """The caller, or None when the credentials are missing or wrong."""
    scheme, _, rest = request.authorization.partition(" ")
    if scheme.lower() == "bearer":
        token = rest.strip()
        ok = bool(token) and hmac.compare_digest(token.encode(), credentials.bearer_token.encode())
        return Principal("app") if ok else None
    if scheme.lower() == "oauth":
        ok = _verify_oauth1(request, credentials, time.time() if now is None else now)
        return Principal("user", bot_id) if ok else None
    return None


def auth_kind(authorization: str) -> Literal["user", "app"]:
    """Which limit bucket a request would draw from, judged by its scheme alone."""
    return "user" if authorization.lower().startswith("oauth ") else "app"
