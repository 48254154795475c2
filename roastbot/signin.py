"""The console's password sign-in: a failure budget with a growing delay, and signed sessions.

Failure budget. Failed sign-ins are counted in Redis per client address and for the whole
console, so a new browser session (or a second console process) does not reset them. The
first few failures of a scope cost nothing; each one after that blocks the scope for twice as
long as the last (1 s, 2 s, 4 s, ... capped), and a sign-in attempted while blocked is refused
without looking at the password, so guessing runs no faster than the delays allow. A scope is
forgotten after a quiet period. The global scope stops guessing spread over many addresses,
at the price that such a storm also keeps the operator waiting.

Sessions. A successful sign-in gets a cookie that a reload or a typed URL sends back:
``v1.<expires>.<nonce>.<operator>.<mac>``, where mac is HMAC-SHA256 over the rest under a key
derived from a random server-side key (kept in Redis, made on first use) and the console
password. Changing the password, or deleting the server key, invalidates every cookie; a
stolen cookie does not let anyone test passwords offline (the server key is not in it);
signing out revokes the cookie's nonce until it would have expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient

FREE_FAILURES_PER_CLIENT = 5
FREE_FAILURES_GLOBAL = 20
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 300.0
FORGET_AFTER_S = 15 * 60  # a scope without a failure for this long starts afresh
GLOBAL_SCOPE = "global"

# KEYS: one hash per scope; ARGV: now, then (free failures) per scope, first delay, max delay,
# memory. Returns the longest block now in force, in milliseconds.
_RECORD_FAILURE = """
local now = tonumber(ARGV[1])
local first, cap, memory = tonumber(ARGV[#ARGV - 2]), tonumber(ARGV[#ARGV - 1]), tonumber(ARGV[#ARGV])
local longest = 0
for i, key in ipairs(KEYS) do
  local failures = redis.call('HINCRBY', key, 'failures', 1)
  local over = failures - tonumber(ARGV[i + 1])
  if over > 0 then
    local delay = math.min(cap, first * 2 ^ (over - 1))
    local until_ms = now + delay * 1000
    local current = tonumber(redis.call('HGET', key, 'blocked_until') or '0')
    if until_ms > current then redis.call('HSET', key, 'blocked_until', string.format('%d', math.floor(until_ms))) end
    longest = math.max(longest, until_ms - now)
  end
  redis.call('EXPIRE', key, math.floor(memory + cap))
end
return math.floor(longest)
"""


def client_scope(address: str | None) -> str:
    return f"client:{address or 'loopback'}"


class SignInGuard:
    """The failure budget of the console's sign-in."""

    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys
        self._record = client.register_script(_RECORD_FAILURE)

    def _scopes(self, address: str | None) -> list[str]:
        return [self.keys.signin_failures(client_scope(address)), self.keys.signin_failures(GLOBAL_SCOPE)]

    def wait_s(self, address: str | None, now: float | None = None) -> float:
        """How long sign-ins from this address must wait (0: one may be tried now)."""
        now = time.time() if now is None else now
        pipe = self.client.pipeline(transaction=False)
        for key in self._scopes(address):
            pipe.hget(key, "blocked_until")
        until = max(int(value or 0) for value in pipe.execute()) / 1000
        return max(0.0, until - now)

    def failed(self, address: str | None, now: float | None = None) -> float:
        """Count a wrong password; returns how long the next attempt must wait."""
        now = time.time() if now is None else now
        args = [int(now * 1000), FREE_FAILURES_PER_CLIENT, FREE_FAILURES_GLOBAL]
        waited = self._record(
            keys=self._scopes(address), args=[*args, FIRST_DELAY_S, MAX_DELAY_S, FORGET_AFTER_S]
        )
        return int(waited) / 1000

    def succeeded(self, address: str | None) -> None:
        """The right password from this address: its failures are forgiven (not the global ones)."""
        self.client.delete(self.keys.signin_failures(client_scope(address)))


@dataclass(frozen=True)
class ConsoleSession:
    operator: str
    nonce: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Signed, expiring session cookies for the console."""

    def __init__(self, client: RedisClient, keys: RedisKeys, password: str) -> None:
        self.client = client
        self.keys = keys
        self.password = password

    def _key(self) -> bytes:
        server_key = self.client.get(self.keys.console_session_key)
        if server_key is None:
            self.client.set(self.keys.console_session_key, secrets.token_hex(32), nx=True)
            server_key = self.client.get(self.keys.console_session_key)
        material = str(server_key).encode()
        return hmac.new(
            material, b"roastbot-console-session:" + self.password.encode(), hashlib.sha256
        ).digest()

    def issue(self, operator: str, lifetime_s: float, now: float | None = None) -> tuple[str, ConsoleSession]:
        expires = int((time.time() if now is None else now) + lifetime_s)
        session = ConsoleSession(operator, secrets.token_hex(16), float(expires))
        body = f"v1.{expires}.{session.nonce}.{_b64(operator.encode())}"
        mac = hmac.new(self._key(), body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}", session

    def verify(self, token: str | None, now: float | None = None) -> ConsoleSession | None:
        """The session a cookie stands for, or None (malformed, forged, expired or revoked)."""
        if not token or len(token) > 1024:
            return None
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != "v1" or not parts[1].isdigit():
            return None
        body = ".".join(parts[:4])
        try:
            mac = _unb64(parts[4])
            operator = _unb64(parts[3]).decode()
        except (binascii.Error, ValueError):
            return None
        expected = hmac.new(self._key(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            return None
        expires = float(parts[1])
        if expires <= (time.time() if now is None else now):
            return None
        if self.client.zscore(self.keys.revoked_console_sessions, parts[2]) is not None:
            return None
        return ConsoleSession(operator, parts[2], expires)

    def revoke(self, session: ConsoleSession, now: float | None = None) -> None:
        now = time.time() if now is None else now
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(self.keys.revoked_console_sessions, {session.nonce: session.expires_at})
        pipe.zremrangebyscore(self.keys.revoked_console_sessions, 0, now)
        pipe.execute()
