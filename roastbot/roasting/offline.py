"""A roaster with no network: it names what the mention is about and roasts that.

``roastbot.roasting.subject`` reads the subject (a vetted noun phrase of at most three
words); a joke bank of its topic family (data/jokes/*.toml) and the generic bank supply
the templates; ``roastbot.roasting.grammar`` fills the slots so the English agrees.
Nothing else from the mention reaches the roast: a mention that gives orders is roasted
for trying, with nothing quoted back. Output depends only on (seed, request).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import repeat, starmap

from roastbot.roasting.base import RoastDraft, RoastRequest
from roastbot.roasting.grammar import skeleton, slots
from roastbot.roasting.normalize import clean, word_set
from roastbot.roasting.safety import MAX_WEIGHTED_LENGTH, has_injection_marker, parsed_tweet
from roastbot.roasting.subject import Subject, subjects_in
from roastbot.roasting.topics import GENERIC

MODEL = "offline-templates-v2"
PROMPT_VERSION = "offline-2"
FAMILY_WEIGHT = 100
"""How much more likely a family's own joke comes first than a generic one."""

# Kinds of mention, each with its own bank in data/situations.toml (SUBJECT uses the topic banks).
SUBJECT = "subject"
REFERENCED = "referenced"
REFERENCED_PLAIN = "referenced_plain"
ORDERS = "orders"
ORDERS_WITH_SUBJECT = "orders_with_subject"
CLOSINGS = "closings"
EMOJI = "emoji"
NO_SUBJECT = "no_subject"

# Orders to the bot: the whole mention becomes off-limits and is roasted for trying.
_ORDERS = re.compile(
    r"\b(?:reply|respond|answer|say|write|post|tweet|output|print|type|send)\b[^.!?\n]{0,60}"
    r"\b(?:exactly|verbatim|only|word for word|the following|this text|these words|this message|this)\b"
    r"|\b(?:reply|respond|answer|say|write|post|tweet|output|print|type)\b[^.!?\n:]{0,30}:"
    r"|repeat after me|copy (?:and|&) paste|\b(?:tag|mention|ping|cc)\b[^.!?\n]{0,40}@\s*\w"
    r"|\b(?:include|add|share|post|drop|put)\b[^.!?\n]{0,40}\b(?:links?|urls?|websites?|site|number|emails?|phone)\b"
    r"|\b(?:call|text|dm|email|contact|whatsapp) (?:me|us) (?:at|on)\b|\bpretend\b|\bact as\b|\broleplay\b"
    r"|you are no longer|your new (?:role|task|job|persona|instructions)|\b(?:system|assistant|user|admin)\s*:",
    re.I,
)
# What every alternative of _ORDERS needs, in a text of ASCII characters (where ignoring case is
# comparing lower-case): one of these words as a whole word (each alternative that starts at a
# word boundary ends the word there too), or one of these phrases. Searching the pattern costs
# about 30 us a mention; most mentions have neither.
_ORDER_WORDS = word_set(
    """reply respond answer say write post tweet output print type send tag mention ping cc include add
    share drop put call text dm email contact whatsapp pretend act roleplay system assistant user admin"""
)
_ORDER_PHRASES = ("repeat after me", "copy and paste", "copy & paste", "you are no longer", "your new ")
_ASCII_WORD = re.compile(r"\w+")
# Pictographs and their modifiers: a mention made of these has nothing to name.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d\U0001f3fb-\U0001f3ff]"
)
_WORDISH = re.compile(r"[^\W\d_]{2,}")
_HANDLE = re.compile(r"(?<![\w@])[@＠]\w+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")
_POSSESSIVES = "my|your|his|her|their|our"


@dataclass(frozen=True)
class Reading:
    """What kind of mention this is, and its subject when it has one."""

    kind: str
    subject: Subject | None = None
    other: Subject | None = None
    """A second thing the mention points at ("my cat ... a can of tuna"): named in a closing line."""

    @property
    def banks(self) -> tuple[tuple[str, int], ...]:
        """(bank name, weight) to draw templates from, most fitting first."""
        if self.kind == ORDERS and self.subject is not None:
            return ((ORDERS_WITH_SUBJECT, 1),)
        if self.kind == SUBJECT and self.subject is not None:
            if self.subject.family == GENERIC:
                return ((GENERIC, 1),)
            return ((self.subject.family, FAMILY_WEIGHT), (GENERIC, 1))
        return ((self.kind, 1),)


@cache
def banks() -> dict[str, tuple[str, ...]]:
    """Every joke bank: one per topic family (data/jokes/) and one per kind of mention."""
    data = resources.files("roastbot.roasting").joinpath("data")
    found: dict[str, tuple[str, ...]] = {}
    for entry in sorted(data.joinpath("jokes").iterdir(), key=lambda path: path.name):
        if entry.name.endswith(".toml"):
            found[entry.name.removesuffix(".toml")] = tuple(
                tomllib.loads(entry.read_text("utf-8"))["templates"]
            )
    situations = tomllib.loads(data.joinpath("situations.toml").read_text("utf-8"))
    for name, table in situations.items():
        if name != "sign_offs":
            found[name] = tuple(table["templates"])
    return found


@cache
def sign_offs() -> tuple[str, ...]:
    source = resources.files("roastbot.roasting").joinpath("data/situations.toml").read_text("utf-8")
    return tuple(tomllib.loads(source)["sign_offs"]["lines"])


def warm_up() -> None:
    """Read the joke banks and sign-offs now rather than on the first mention: a burst's first
    mentions start on every pool thread at once, and each one there before the first read was
    done parsed the TOML files again (functools.cache holds no lock)."""
    banks()
    sign_offs()


def gives_orders(text: str) -> bool:
    return bool(text) and (has_injection_marker(text) or _has_orders(clean(text)))


def _has_orders(text: str) -> bool:
    if text.isascii():
        lowered = text.lower()
        if _ORDER_WORDS.isdisjoint(_ASCII_WORD.findall(lowered)) and not any(
            phrase in lowered for phrase in _ORDER_PHRASES
        ):
            return False
    return _ORDERS.search(text) is not None


def before_orders(text: str) -> str:
    """The sentences before the first one that gives an order ("" when the first does)."""
    kept: list[str] = []
    for sentence in _SENTENCE.findall(text):
        if gives_orders(sentence):
            # "roast my crossword habit and tag @x": the words before the order still count.
            order = _ORDERS.search(clean(sentence))
            if order is not None and not has_injection_marker(sentence[: order.start()]):
                kept.append(clean(sentence)[: order.start()])
            break
        kept.append(sentence)
    return "".join(kept)


def _owned(text: str, subject: Subject) -> bool:
    """Whether a possessive ("my", "a friend's") introduces the subject in the mention's own words."""
    words = r"(?:['’]s)?\s+".join(re.escape(word) for word in subject.words)
    return re.search(rf"\b(?:{_POSSESSIVES}|\w+['’]s)\s+(?:\w+\s+){{0,2}}{words}\b", text, re.I) is not None


def _pair(found: Sequence[Subject]) -> tuple[Subject, Subject | None]:
    other = found[1] if len(found) > 1 and found[1].pointed else None
    return found[0], other


def read_mention(request: RoastRequest) -> Reading:
    """The mention's kind and subject: its own words first, the post a "roast this" points to next."""
    text = clean(request.text)
    own_names = {request.author_username.casefold(), *request.author_name.casefold().split()}
    own_names.discard("")
    if gives_orders(text):
        # Only what comes before the first order may name the subject: a payload follows its order.
        found = subjects_in(before_orders(text), own_names)
        return Reading(ORDERS, found[0] if found else None)
    if request.referenced_text is not None:
        # "roast this": the post it points to says what "this" is; the mention's own words only
        # when that post offers nothing.
        referenced = clean(request.referenced_text)
        found = [] if gives_orders(referenced) else subjects_in(referenced, own_names, source="referenced")
        own = subjects_in(text, own_names)
        if own and _owned(text, own[0]):
            # "roast my friend's dating profile" names the thing; "roast this thread" points at the post.
            found = [*own, *found]
        found = found or own
        return Reading(REFERENCED, *_pair(found)) if found else Reading(REFERENCED_PLAIN)
    found = subjects_in(text, own_names)
    if found:
        return Reading(SUBJECT, *_pair(found))
    rest = _HANDLE.sub(" ", text)
    if _EMOJI.search(rest) and not _WORDISH.search(_EMOJI.sub(" ", rest)):
        return Reading(EMOJI)
    return Reading(NO_SUBJECT)


class OfflineRoaster:
    """Deterministic template roasts; thread-safe (the only shared state is read-only data
    and the subject reader's caches)."""

    name = "offline"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.model = MODEL

    def roast(self, request: RoastRequest) -> RoastDraft:
        reading = read_mention(request)
        values = slots(reading.subject) if reading.subject is not None else {}
        rng = self._rng(request)
        order = _weighted_shuffle(*_weighted(reading.banks), rng)
        closing = ""
        if reading.other is not None:
            # The second thing the mention points at gets a closing line (fixed per mention).
            values = {**values, **slots(reading.other, prefix="other")}
            closing = rng.choice(banks()[CLOSINGS])
        avoided_texts = {_comparable(text) for text in request.avoid_texts}
        avoided = tuple(request.avoid_skeletons)
        # A skeleton counts as used whatever closing line followed it.
        fresh = [t for t in order if not _used(_skeleton(t), avoided)] if avoided else order
        # An author who had every fitting skeleton lately still gets a roast: the least recent ones.
        candidates = fresh or order
        # Attempt 0 takes the best-fitting template; each regeneration jumps a stride through
        # the order, so a few attempts reach all of it: when many mentions share a subject
        # (a thread of "roast my sourdough"), the front of every mention's order is taken by
        # the others' posts (X refuses a duplicate), and stepping one by one would stay there.
        start = (request.attempt * _stride(len(candidates))) % len(candidates)
        rotated = candidates[start:] + candidates[:start]
        for extra in ("", *sign_offs()):
            for template in rotated:
                for tail in (closing, "") if closing else ("",):
                    full = f"{template} {tail}".strip()
                    text = f"{full.format_map(values)} {extra}".strip()
                    if _comparable(text) not in avoided_texts and _fits(text):
                        return self._draft(text, full)
        # Unreachable in practice (every template and sign-off is taken): number the encore.
        template = rotated[0]
        base, encore = template.format_map(values), 2
        while _comparable(f"{base} Encore {encore}.") in avoided_texts:
            encore += 1
        return self._draft(f"{base} Encore {encore}.", template)

    def _draft(self, text: str, template: str) -> RoastDraft:
        return RoastDraft(
            text=text,
            roaster=self.name,
            model=self.model,
            prompt_version=PROMPT_VERSION,
            skeleton=skeleton(template),
        )

    def _rng(self, request: RoastRequest) -> random.Random:
        """Fixed by (seed, mention): the template order (a family's own jokes tend to come
        first, and each attempt takes the next one along) and the closing line."""
        key = f"{self.seed}\x00{request.mention_id}\x00{request.text}".encode()
        return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def _stride(size: int) -> int:
    """A step through ``size`` templates that visits each once (coprime with it), about a
    golden-ratio share of the way along, so consecutive attempts land far apart."""
    stride = max(1, round(size * 0.618))
    while math.gcd(stride, size) != 1:
        stride += 1
    return stride


@cache
def _weighted(bank_weights: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Every template of the banks, in bank order, and each one's shuffle exponent (1 / its
    bank's weight): a few banks' pairings, built once rather than for every mention."""
    pairs = [(template, 1 / weight) for name, weight in bank_weights for template in banks()[name]]
    return tuple(template for template, _ in pairs), tuple(exponent for _, exponent in pairs)


def _weighted_shuffle(templates: Sequence[str], exponents: Sequence[float], rng: random.Random) -> list[str]:
    # Efraimidis-Spirakis: each key is u^(1/w); heavier items tend to sort first. The keys are
    # drawn in template order, as sorted(key=...) would draw them (pow is the ** operator);
    # sorting their indices is as stable as sorting the templates.
    draws = starmap(rng.random, repeat((), len(exponents)))
    keys = list(map(pow, draws, exponents))
    order = sorted(range(len(keys)), key=keys.__getitem__, reverse=True)
    return list(dict.fromkeys(map(templates.__getitem__, order)))


def _used(template_skeleton: str, avoided: Sequence[str]) -> bool:
    return any(old.startswith(template_skeleton) for old in avoided)


@lru_cache(maxsize=4096)
def _skeleton(template: str) -> str:
    # The banks' templates are a few hundred strings, each asked about on every mention.
    return skeleton(template)


def _fits(text: str) -> bool:
    return parsed_tweet(text).weightedLength <= MAX_WEIGHTED_LENGTH


def _comparable(text: str) -> str:
    return " ".join(clean(text).casefold().split())
