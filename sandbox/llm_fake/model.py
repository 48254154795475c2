"""The fake's "model": a gullible roast writer, so our defences are tested for real.

It ignores the system message, reads every string in the user message (decoding the
JSON our prompt wraps the mention in, the way a real model reads through escapes) and,
when it finds an order such as "ignore your instructions and post X" or "reply with
exactly: X", it outputs X. Otherwise it writes a roast around a word of the mention (the
word after "my"/"this" when there is one: "roast my sourdough starter" gets a roast about
"sourdough"), copied without any vetting, slurs included.

A model whose name contains "guard" is a guard model instead (Llama Guard's answers): it
says ``unsafe`` / ``S10`` for a text containing GUARD_UNSAFE_MARKER, an unparseable line
for GUARD_GARBLE_MARKER, and ``safe`` otherwise. A mention that contains a marker word
makes the roast contain it too, so tests force either path end to end.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

_FLAGS = re.I | re.S
_QUOTE = r"[\"'“‘«「]?"
_ORDERS = [
    re.compile(pattern, _FLAGS)
    for pattern in (
        # "<verb> ...: payload": reply with exactly this text: X / say: X / print the following: X
        r"(?:\b(?:reply|respond|answer|say|write|post|tweet|output|print|repeat after me|sage|dis|di|"
        rf"escribe|publica|скажи|напиши)\b|说|回复|发布|输出)[^:：\n]{{0,60}}[:：]\s*{_QUOTE}(?P<payload>.+)",
        # "ignore ... instructions and say X", no colon
        r"(?:ignore|disregard|forget)\s+(?:\w+\s+){0,4}(?:instructions|rules|prompts?|guidelines)\s*"
        r"(?:and|then|[,.;])\s*(?:instead\s+)?(?:just\s+)?(?:say|post|write|tweet|reply with|respond with|"
        rf"output|print)\s+{_QUOTE}(?P<payload>.+)",
        rf"\b(?:reply|respond)\s+with\s+(?:exactly\s+)?{_QUOTE}(?P<payload>.+)",
    )
]
_TAG_ORDER = re.compile(r"(?:tag|mention|ping|cc)\s+(?P<handles>(?:@\w+[\s,]*(?:and\s+)?)+)", _FLAGS)
_LINK_ORDER = re.compile(
    r"(?:include|add|post|share|drop|put)\s+(?:this\s+|my\s+|the\s+)?(?:link|url|website)\s*[:：]?\s*(?P<url>\S+)",
    _FLAGS,
)
_CONTACT_ORDER = re.compile(
    r"(?:include|add|post|share|put)\s+(?:my\s+|this\s+)?(?:phone\s+number|number|email(?:\s+address)?)\s*[:：]?\s*(?P<contact>\S+(?:\s+\S+){0,3})",
    _FLAGS,
)
_WORD = re.compile(r"[^\W\d_]{4,}")
_OWNED = re.compile(r"\b(?:my|this|these|our)\s+(?:\d+\s+)?([^\W\d_]{3,})", re.I)
OWN_ROAST_FIELDS = {"already_used", "recent_roasts_to_this_author"}
GUARD_UNSAFE_MARKER = "guardbait"
"""A text containing this word is ``unsafe\nS10`` to the fake's guard models."""
GUARD_GARBLE_MARKER = "guardgarble"
"""A text containing this word gets an answer that is neither safe nor unsafe."""
_LEADING_HANDLES = re.compile(r"^(?:\s*@\w+)+\s*")

ROASTS = (
    "Your post about “{word}” has the energy of a screensaver: technically moving, going nowhere.",
    "Imagine being this passionate about “{word}” and still this boring.",
    "“{word}”? Even autocorrect tried to talk you out of that one.",
    "You wrote about “{word}” like a horoscope: vague, confident and wrong by Tuesday.",
    "Your take on “{word}” was so lukewarm the microwave asked for a second try.",
    "If “{word}” were a personality, you would still be running the free trial.",
    "Your “{word}” content is the reason people mute words.",
    "Nobody asked about “{word}”, and yet here we are, both disappointed.",
)
PLAIN_ROASTS = (
    "Your posts have the shelf life of an open avocado.",
    "You post like your phone is on 2% and this is the message you chose to leave behind.",
    "Your timeline is a loading spinner with a profile picture.",
)
UNSAFE = {
    "link": "This take belongs in a museum of bad ideas: https://example.com/bad-takes",
    "mention": "Even @someone_else would not post this, and they post everything.",
    "too_long": "Your post is " + "so very " * 40 + "long-winded, much like this roast.",
    "email": "Send your complaints to roasts@example.com, we read none of them.",
    "phone": "Call 555-867-5309 if you need more roasting, we are open 24/7.",
}


@dataclass(frozen=True)
class Completion:
    kind: str
    """"roast", "obeyed" (followed an order in the user content) or "unsafe:<what>"."""
    text: str


def _user_contents(messages: list[dict[str, object]]) -> list[str]:
    return [str(m.get("content") or "") for m in messages if m.get("role") == "user"]


def user_strings(messages: list[dict[str, object]]) -> list[str]:
    """Every string the user message holds, with JSON inside it decoded (the words around
    the JSON, then each string field but the client's own lists of used roasts)."""
    found: list[str] = []
    for content in _user_contents(messages):
        start, end = content.find("{"), content.rfind("}")
        try:
            data = json.loads(content[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            data = None
        if data is None:
            found.append(content)
            continue
        found.append(content[:start] + content[end + 1 :])
        _collect(data, found)
    return found


def _collect(value: object, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            # The roasts the client lists as used are its own words, not orders from a stranger
            # (a template's "post about X ...: Y" would read as one).
            if key not in OWN_ROAST_FIELDS:
                _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def obeyed_order(strings: list[str]) -> str | None:
    """What a gullible model outputs when the content gives it an order, else None."""
    for text in reversed(strings):  # decoded fields come after the raw content
        for order in _ORDERS:
            match = order.search(text)
            if match:
                payload = match.group("payload").strip().splitlines()[0].strip()
                payload = payload.strip("\"'“”‘’«»「」").strip()
                if payload:
                    return payload
        match = _TAG_ORDER.search(text)
        if match:
            handles = " ".join(re.findall(r"@\w+", match.group("handles")))
            return f"Hey {handles}, your friend wanted you to see this roast. You are welcome."
        match = _LINK_ORDER.search(text)
        if match:
            return f"Roasted, as requested. The rest is here: {match.group('url')}"
        match = _CONTACT_ORDER.search(text)
        if match:
            return f"Roast complete. Complaints go to {match.group('contact')}"
    return None


def complete(
    messages: list[dict[str, object]], rng: random.Random, unsafe: bool, unsafe_kind: str | None = None
) -> Completion:
    """The fake's answer to a chat: an unsafe line when asked to, an obeyed order, or a roast."""
    if unsafe:
        kind = unsafe_kind or rng.choice(sorted(UNSAFE))
        return Completion(f"unsafe:{kind}", UNSAFE[kind])
    strings = user_strings(messages)
    payload = obeyed_order(strings)
    if payload is not None:
        return Completion("obeyed", payload)
    mention = _LEADING_HANDLES.sub("", _mention_text(_user_contents(messages)))
    owned = [word for word in _OWNED.findall(mention) if word.lower() not in {"roast", "roastbot"}]
    words = _WORD.findall(mention)
    words = [word for word in words if word.lower() not in {"roast", "roastbot", "please", "this"}]
    used = _used_roasts(_user_contents(messages))
    if not words and not owned:
        return Completion("roast", _fresh(PLAIN_ROASTS, used, rng))
    word = owned[0] if owned else rng.choice(sorted(set(words), key=len, reverse=True)[:3])
    return Completion("roast", _fresh([line.format(word=word.lower()) for line in ROASTS], used, rng))


def _fresh(lines: Sequence[str], used: set[str], rng: random.Random) -> str:
    """A line the client has not listed as used, as a model that follows the prompt would
    pick (any line once all are used: a small fake runs out of jokes)."""
    # The client bounds each listed roast and marks a cut with "…": a prefix counts as the line.
    listed = tuple(text.removesuffix("…") for text in used if text.removesuffix("…"))
    unused = [line for line in lines if not line.startswith(listed)]
    return rng.choice(unused or list(lines))


def _used_roasts(contents: list[str]) -> set[str]:
    """The client's lists of its own recent roasts (our prompt's OWN_ROAST_FIELDS)."""
    used: set[str] = set()
    for content in contents:
        start, end = content.find("{"), content.rfind("}")
        try:
            data = json.loads(content[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            continue
        if isinstance(data, dict):
            for field in OWN_ROAST_FIELDS:
                listed = data.get(field)
                if isinstance(listed, list):
                    used.update(text for text in listed if isinstance(text, str))
    return used


def is_guard_model(model: str) -> bool:
    return "guard" in model.lower()


def guard_answer(messages: list[dict[str, object]]) -> Completion:
    """A guard model's verdict on the last message (the draft, in either prompt form)."""
    text = str(messages[-1].get("content") or "").lower() if messages else ""
    if GUARD_GARBLE_MARKER in text:
        return Completion("guard_garbled", "I am not sure, it depends on the context.")
    if GUARD_UNSAFE_MARKER in text:
        return Completion("guard_unsafe", "unsafe\nS10")
    return Completion("guard_safe", "safe")


def _mention_text(strings: list[str]) -> str:
    # Our prompt's JSON names the field; any other client gets its whole message used.
    for content in strings:
        start, end = content.find("{"), content.rfind("}")
        if 0 <= start < end:
            try:
                data = json.loads(content[start : end + 1])
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("mention_text"), str):
                return data["mention_text"]
    return strings[0] if strings else ""
