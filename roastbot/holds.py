"""Global holds: every consumer stops posting (or generating) until an operator lifts them.

A hold is raised by the first consumer that meets its cause (X flags the account as
automated, suspends it, or refuses the bot's credentials; the LLM refuses its key) and
stands until an operator lifts it on the console, where a banner names the cause and,
for a refused credential, the setting to fix. Mentions wait meanwhile, their claims
renewed: nothing is dead-lettered for a cause that no retry can fix and every mention meets.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from roastbot.batch import Op, command
from roastbot.keys import RedisKeys
from roastbot.redis_conn import RedisClient
from roastbot.settings import Settings

POSTING = "posting"
GENERATING = "generating"
EVERYTHING = "everything"  # posting and generating (a spending cap would stop both)

X_USER_CREDENTIALS = "X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET (with X_API_KEY and X_API_SECRET)"
LLM_CREDENTIALS = {"together": "TOGETHER_API_KEY", "openai": "LLM_API_KEY"}
"""The setting that holds each roaster's key (a roaster added later adds its own)."""


@dataclass(frozen=True)
class HoldCause:
    stops: str  # POSTING, GENERATING or EVERYTHING
    what: str  # what happened, in the operator's words
    remedy: str
    credential: bool = False  # the remedy is a new credential
    lifts_itself: bool = False  # raised and lifted by its owner (roastbot.spend), not by raise_hold/lift


# Refusal codes (roastbot.x_gateway, the roasters) that hold everyone instead of failing one mention.
CAUSES: dict[str, HoldCause] = {
    "automation_block": HoldCause(
        POSTING,
        "X flagged the account as automated (error 226)",
        "check the account on X, then lift the hold",
    ),
    "suspended": HoldCause(
        POSTING, "X suspended or locked the account", "resolve it on X, then lift the hold"
    ),
    "unauthorized": HoldCause(
        POSTING,
        "X refused the bot's credentials (401: revoked or regenerated)",
        "create new keys in the developer portal, set them in .env, restart the workers, then lift the hold",
        credential=True,
    ),
    "unsupported_authentication": HoldCause(
        POSTING,
        "X refused the kind of credentials sent (403: posting needs OAuth 1.0a user context)",
        "set the app's user access token in .env, restart the workers, then lift the hold",
        credential=True,
    ),
    "operator": HoldCause(
        POSTING,
        "an operator held posting (`roastbot hold`)",
        "lift it with `roastbot lift` or on the console when posting may go on",
    ),
    "llm_auth": HoldCause(
        GENERATING,
        "the LLM refused the API key (401)",
        "set a valid key in .env, restart the workers, then lift the hold",
        credential=True,
    ),
    "llm_forbidden": HoldCause(
        GENERATING,
        "the LLM refused access with this API key (403: model or account not allowed)",
        "fix the key's access (or ROAST_MODEL), restart the workers, then lift the hold",
        credential=True,
    ),
    # The guard model (GUARD_MODEL): no draft may be posted unclassified, so generation stops.
    "guard_auth": HoldCause(
        GENERATING,
        "the guard model's endpoint refused the API key (401)",
        "set a valid key in .env, restart the workers, then lift the hold",
        credential=True,
    ),
    "guard_forbidden": HoldCause(
        GENERATING,
        "the guard model's endpoint refused access with this API key (403: model or account not allowed)",
        "fix the key's access (or GUARD_MODEL), restart the workers, then lift the hold",
        credential=True,
    ),
    "daily_budget": HoldCause(
        EVERYTHING,
        "the day's spending reached the daily budget",
        "raise today's cap on the Controls page (audited), or wait: it lifts at 00:00 UTC",
        lifts_itself=True,
    ),
}


def credential_for(code: str, settings: Settings) -> str:
    """The setting an operator must fix for a refused credential ('' when none)."""
    cause = CAUSES.get(code)
    if cause is None or not cause.credential:
        return ""
    if code.startswith("guard_") and settings.guard_api_key.get_secret_value():
        return "GUARD_API_KEY"
    if cause.stops == GENERATING:
        return LLM_CREDENTIALS.get(settings.roaster or "", "the roaster's API key")
    return X_USER_CREDENTIALS


@dataclass(frozen=True)
class Hold:
    code: str
    stops: str
    detail: str
    credential: str
    since: float

    @property
    def cause(self) -> HoldCause | None:
        return CAUSES.get(self.code)


def hold_record(code: str, detail: str, credential: str = "", since: float | None = None) -> str:
    """The stored form of a hold (JSON), for every writer of one."""
    cause = CAUSES.get(code)
    record = {
        "code": code,
        "stops": cause.stops if cause else POSTING,
        "detail": detail,
        "credential": credential,
        "since": time.time() if since is None else since,
    }
    return json.dumps(record)


class Holds:
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.client = client
        self.keys = keys

    def raise_hold(self, code: str, detail: str, credential: str = "") -> None:
        """Set the hold for this cause unless it stands already (the first detail wins)."""
        cause = CAUSES.get(code)
        if cause is not None and cause.lifts_itself:
            return  # its owner raised it already, with the expiry that lifts it
        self.client.hsetnx(self.keys.holds, code, hold_record(code, detail, credential))

    def active_ops(self) -> list[Op]:
        """The holds as ops (``holds_in_force`` reads their answers): a step's batch reads them
        in the round trip right before it acts on them."""
        # The budget's hold is a key of its own: it expires at the next UTC day.
        return [command("HVALS", self.keys.holds), command("GET", self.keys.budget_hold)]

    def active(self, stops: str | None = None) -> list[Hold]:
        """The holds in force (only those that stop ``stops``, when given), oldest first."""
        pipe = self.client.pipeline(transaction=False)
        for op in self.active_ops():
            pipe.execute_command(op.name, *op.keys)
        return holds_in_force(pipe.execute(), stops)

    def lift(self) -> list[Hold]:
        """Lift every hold an operator lifts (not the budget's: a raised cap lifts it); returns
        what was lifted."""
        lifted = [hold for hold in self.active() if not (hold.cause and hold.cause.lifts_itself)]
        if lifted:
            self.client.hdel(self.keys.holds, *(hold.code for hold in lifted))
        return lifted


def holds_in_force(answers: list[object], stops: str | None = None) -> list[Hold]:
    """From the answers of ``Holds.active_ops``: the holds that stop ``stops`` (all when None)."""
    raised, budget = answers
    holds = [_hold(str(raw)) for raw in [*(raised or []), *([budget] if budget else [])]]  # type: ignore[misc]
    wanted = [h for h in holds if stops is None or h.stops in {stops, EVERYTHING}]
    return sorted(wanted, key=lambda h: h.since)


def _hold(raw: str) -> Hold:
    record = json.loads(raw)
    return Hold(
        code=str(record.get("code", "")),
        stops=str(record.get("stops", POSTING)),
        detail=str(record.get("detail", "")),
        credential=str(record.get("credential", "")),
        since=float(record.get("since") or 0),
    )
