"""X API v2 error bodies, as X sends them (RFC 7807 problems and the `errors` arrays).

Shapes follow X's OpenAPI `Problem`, `InvalidRequestProblem` and
`ResourceNotFoundProblem` schemas and the bodies X serves in practice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
# X's OpenAPI specification declares every error answer of its endpoints as a problem (RFC 7807).
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
PROBLEMS = "https://api.twitter.com/2/problems"

# Refusal details for POST /2/tweets (the text X puts in `detail`).
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
REPLY_TO_DELETED = "You attempted to reply to a Tweet that is deleted or not visible to you."
# Since 23 Feb 2026 on self-serve tiers a programmatic reply is allowed only where the author
# of the post replied to summoned the bot (X's changelog); this is the text X sends.
REPLY_RESTRICTED = "You can only reply to or quote posts where you are mentioned or are the author"
AUTOMATED = (
    "This request looks like it might be automated. To protect our users from spam and other "
    "malicious activity, we can't complete this action right now. Please try again later."
)
SUSPENDED = "Your account is suspended and is not permitted to access this feature."
TOO_LONG = (
    "Your Tweet text is too long. For more information on how X determines text length see "
    "https://github.com/twitter/twitter-text."
)

REFUSALS = {
    "duplicate": DUPLICATE,
    "deleted": REPLY_TO_DELETED,
    "reply_restricted": REPLY_RESTRICTED,
    "automation_block": AUTOMATED,
    "suspended": SUSPENDED,
}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def about_blank(status: int, detail: str | None = None) -> dict[str, Any]:
    """The plain problem X uses for 401, 403 refusals, 429 and 5xx."""
    title = _TITLES[status]
    return {"title": title, "detail": detail or title, "type": "about:blank", "status": status}


def unauthorized() -> dict[str, Any]:
    return about_blank(401, "Unauthorized")


def too_many_requests() -> dict[str, Any]:
    return about_blank(429, "Too Many Requests")


def forbidden(detail: str) -> dict[str, Any]:
    return about_blank(403, detail)


def unsupported_authentication() -> dict[str, Any]:
    """App-only (bearer) auth on an endpoint that needs a user context."""
    return {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
        "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        "type": f"{PROBLEMS}/unsupported-authentication",
        "status": 403,
    }


class ParameterError:
    """One entry of an invalid-request `errors` array."""

    def __init__(self, message: str, parameters: Mapping[str, Iterable[str]]) -> None:
        self.message = message
        self.parameters = {name: list(values) for name, values in parameters.items()}

    def as_json(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "message": self.message}


def invalid_request(errors: Iterable[ParameterError]) -> dict[str, Any]:
    """400: X's invalid-request problem (note: X sends no `status` member here)."""
    return {
        "errors": [error.as_json() for error in errors],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": f"{PROBLEMS}/invalid-request",
    }


def not_found(resource_type: str, parameter: str, value: str) -> dict[str, Any]:
    """A resource-not-found entry for an `errors` array (answers stay 200 with these)."""
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": f"{PROBLEMS}/resource-not-found",
    }


def route_not_found() -> dict[str, Any]:
    return {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}


def content_type(status: int) -> str:
    """The media type X declares for an answer with this status."""
    return PROBLEM_TYPE if status >= 400 else JSON_TYPE


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
