"""What X's refusals mean, read from its structured problem, most specific field first.

X API v2 answers a refused request with an RFC 7807 problem (``status``, ``type``,
``title``, ``detail``; an invalid request adds an ``errors`` array), v1.1-style bodies
carry numeric ``errors[].code`` values. The order of trust: the HTTP status, the problem
``type``, its ``title``, the numeric codes, and only then the human ``detail`` (and the
``errors`` messages), compared with a table of the texts X is known to send. A text not in
the table is named by its status (``http_403``): never guessed from a word in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PROBLEMS = "https://api.twitter.com/2/problems/"

BY_STATUS = {401: "unauthorized"}
BY_TYPE = {
    PROBLEMS + "unsupported-authentication": "unsupported_authentication",
    PROBLEMS + "client-forbidden": "client_forbidden",
    PROBLEMS + "usage-capped": "usage_capped",
    PROBLEMS + "resource-not-found": "deleted",
}
BY_TITLE = {
    "unsupported authentication": "unsupported_authentication",
    "client forbidden": "client_forbidden",
    "usagecapexceeded": "usage_capped",
}
BY_CODE = {
    64: "suspended",  # "Your account is suspended and is not permitted to access this feature."
    186: "too_long",
    187: "duplicate",  # "Status is a duplicate."
    226: "automation_block",
    326: "suspended",  # locked
    385: "deleted",  # "You attempted to reply to a Tweet that is deleted or not visible to you."
    433: "reply_restricted",  # "The original Tweet author restricted who can reply to this Tweet."
}
KNOWN_TEXTS: tuple[tuple[str, str], ...] = (
    ("You are not allowed to create a Tweet with duplicate content.", "duplicate"),
    ("You attempted to reply to a Tweet that is deleted or not visible to you.", "deleted"),
    # Since 23 Feb 2026 on self-serve tiers: a reply only where the author summoned the bot.
    ("You can only reply to or quote posts where you are mentioned or are the author", "reply_restricted"),
    (
        "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
        "engaged by the author of the post you are replying to.",
        "reply_restricted",
    ),
    ("The original Tweet author restricted who can reply to this Tweet.", "reply_restricted"),
    ("This request looks like it might be automated.", "automation_block"),
    ("Your account is suspended and is not permitted to access this feature.", "suspended"),
    ("Your account is temporarily locked.", "suspended"),
    ("Your Tweet text is too long.", "too_long"),
)
"""X's refusal texts as it sends them (a text X extends with more sentences still matches)."""


def _comparable(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(". ")


_TEXTS = tuple((_comparable(text), code) for text, code in KNOWN_TEXTS)


def code_for_text(text: str) -> str | None:
    """The refusal a known X text names; None for a text not in the table."""
    comparable = _comparable(text)
    for known, code in _TEXTS:
        if comparable == known or comparable.startswith(known + "."):
            return code
    return None


def refusal_code(status: int, problem: Mapping[str, object] | None, codes: Iterable[int] = ()) -> str:
    """Our name for a refusal (``duplicate``, ``reply_restricted``, ...; else ``http_<status>``)."""
    if status in BY_STATUS:
        return BY_STATUS[status]
    problem = problem or {}
    kind = str(problem.get("type") or "")
    if kind in BY_TYPE:
        return BY_TYPE[kind]
    title = _comparable(str(problem.get("title") or ""))
    if title in BY_TITLE:
        return BY_TITLE[title]
    for code in codes:
        if code in BY_CODE:
            return BY_CODE[code]
    errors = problem.get("errors")
    messages = (
        [str(e.get("message", "")) for e in errors if isinstance(e, Mapping)]
        if isinstance(errors, list)
        else []
    )
    for text in [str(problem.get("detail") or ""), *messages]:
        named = code_for_text(text)
        if named:
            return named
    return f"http_{status}"
