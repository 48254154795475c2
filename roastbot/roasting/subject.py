"""What a mention is about: the one short noun phrase the offline roaster may quote back.

Function words are the libraries' business, not ours: YAKE's stop-word lists (one per
language) tell the language apart and mark function words, wordfreq says how rare a word
is in that language, simplemma gives English lemmas, and YAKE ranks the keywords. A
candidate is a run of content words (at most three) cut out of the text once handles,
links, numbers, emoji and command sentences are gone; every word it keeps passes the
safety checker's word rules. Nothing else from the mention ever reaches a roast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from roastbot.roasting.language import (
    MAX_WORDS,
    detect_language,
    lemma,
    zipf,
)
from roastbot.roasting.language import connectors as _connectors
from roastbot.roasting.language import extractor as _extractor
from roastbot.roasting.language import infinitive_endings as _infinitive_endings
from roastbot.roasting.language import openers as _openers
from roastbot.roasting.language import pronouns as _pronouns
from roastbot.roasting.language import request_words as _request_words
from roastbot.roasting.language import stopwords as _stopwords
from roastbot.roasting.language import time_words as _time_words
from roastbot.roasting.lemmas import lemmatize
from roastbot.roasting.normalize import clean
from roastbot.roasting.safety import passes_word_rules, safe_words
from roastbot.roasting.topics import family_of, in_lexicon, lexicon

SHORTLIST = 5
# Cue weights, tuned on the quality dev set: people name what they mention first, after "my".
OPENED = 1.5
KNOWN = 2.0
RARITY = 0.7
EXTRA_WORD = 0.6
EARLY = (3.0, 1.5, 0.75)
"""Bonus of the first, second and third candidate of the text."""
POINTED_ZIPF = 5.0
HASHTAG = -2.5
"""Hashtags are read after the text's own words: piles of them are mostly reach, not topic."""
CLEAR_LEAD = 1.0
"""Cues (an opener, the lexicon, rarity) this far ahead decide alone; closer, YAKE's ranking
decides (it costs about a millisecond)."""
MIN_LETTERS = 3
RARE_ZIPF = 4.3
"""A lone word with no other sign of being the subject must be at least this rare (wordfreq zipf)."""
COMMON_ZIPF = 6.0
"""Words this frequent in their language are function words whatever the stop-word list says."""

# Links, addresses, handles and phone numbers go before anything is read.
_CONTACT_OR_LINK = re.compile(
    r"\S+@\S+|(?<![\w@])[@＠]\w+|\b(?:https?|hxxps?|ftp)\S+|\bwww\.\S+|\S+\.(?:[a-z]{2,})(?:/\S*)?"
    r"|\+?\(?\d[\d\s().\-/]{5,}\d",
    re.I,
)
_HASHTAG = re.compile(r"(?<![\w#&])#(\w{2,40})")
_TAG_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# A clause boundary ends a noun phrase; so does anything that is not a word.
_CLAUSE = re.compile(r"[.,;:!?()\[\]{}\"“”«»…/|\n]+|\s[-–—]\s")
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|\S")
_ELISION = re.compile(r"^(l|d|j|qu|c|s|n|m|t|un|dell|all|nell|sull|dall)'(.+)$")
_LETTERS = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")
_NON_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1eff]")
_COMMAND_SENTENCE = re.compile(
    r"^\W*(?:please\s+)?(?:reply|respond|answer|say|write|post|tweet|tag|mention|include|add|share|repeat|"
    r"print|output|type|call|text|dm|email|follow|click|visit|go to|check out|translate|pretend|act|tell|use|"
    r"send|ignore|forget|disregard)(?=\s|$)",
    re.I,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?\n]*")


@dataclass(frozen=True)
class Subject:
    """A vetted noun phrase from the mention."""

    words: tuple[str, ...]
    lang: str
    family: str
    """Topic family of the joke bank ("food", "pets"...; "generic" when the lexicon does not know it)."""
    source: str = "mention"
    """Where it was found: "mention", "hashtag" or "referenced" (the post a "roast this" points to)."""
    pointed: bool = False
    """A determiner or the lexicon points at it: worth naming even when it is not the subject."""

    @property
    def phrase(self) -> str:
        return " ".join(self.words)

    @property
    def head(self) -> str:
        """The word that carries number: last in English, first before a connector ("freidora de aire")."""
        return self.words[0] if self.lang != "en" and len(self.words) > 1 else self.words[-1]

    @property
    def foreign(self) -> bool:
        return self.lang != "en"


@dataclass(frozen=True)
class _Candidate:
    words: tuple[str, ...]
    score: float
    position: int
    pointed: bool = False


_VETTED: dict[str, bool] = {}
_VETTED_CAP = 100_000


def _vet(words: list[str]) -> None:
    """Run the safety checker's word rules over the words not seen yet, in one batch: the
    lexicon's words are vetted by the test suite, the others by the profanity model too
    (about 5 ms a call, hence one call and a cache). Dict writes are atomic under the GIL."""
    fresh = [word for word in dict.fromkeys(words) if word not in _VETTED]
    if not fresh:
        return
    if len(_VETTED) > _VETTED_CAP:
        _VETTED.clear()
    ruled = [word for word in fresh if passes_word_rules(word)]
    unknown = [word for word in ruled if not in_lexicon(word)]
    passed = set(safe_words(unknown)) if unknown else set()
    for word in fresh:
        _VETTED[word] = word in ruled and (in_lexicon(word) or word in passed)


def _known(word: str, lang: str) -> bool:
    """In the topic lexicon, as written or by its lemma (English) or singular (others: "fromages")."""
    if in_lexicon(word):
        return True
    if lang == "en":
        return in_lexicon(lemma(word))
    return word.endswith(("s", "x")) and in_lexicon(word[:-1])


def _is_function_word(word: str, lang: str) -> bool:
    return word in _stopwords(lang) or word in _request_words() or zipf(word, lang) >= COMMON_ZIPF


@lru_cache(maxsize=65536)
def _is_foreign_verb(word: str, lang: str) -> bool:
    """A verb form in a head-first language: its lemma is an infinitive ("bevo" -> "bere"),
    unless the lexicon knows the word as a thing."""
    endings = _infinitive_endings(lang)
    if not endings or _known(word, lang):
        return False
    base = lemmatize(word, lang).casefold()
    return base != word and base.endswith(endings)


def _same_topic(word: str, other: str) -> bool:
    family = lexicon().get(lemma(word))
    return family is not None and family == lexicon().get(other)


def _noun_after_article(word: str, lang: str, after_opener: bool) -> bool:
    """A stop-listed word right after an article is a noun in the head-first languages
    ("al lavoro", "la casa"): the lists hold common nouns too; truly grammatical words
    (zipf 6 and up, or openers themselves) stay out."""
    return (
        after_opener
        and lang not in ("en", "de")
        and len(word) > MIN_LETTERS
        and word not in _openers(lang)
        and word not in _request_words()
        and zipf(word, lang) < COMMON_ZIPF
    )


def _looks_inflected(word: str) -> bool:
    """An English verb form ("ignores", "died", "selling"): it ends a noun phrase, unless
    the lexicon knows it as a thing ("tabs", "running")."""
    if in_lexicon(word):
        return False
    if word.endswith(("ly", "ing", "ed")):
        return True
    base = lemma(word)
    if base == word:
        return False
    if not word.endswith("s"):
        return True
    # "ignores" or "tabs"? A verb's -ing form is at least as common as its -s form.
    stem = base[:-1] if base.endswith("e") and not base.endswith("ee") else base
    progressive = max(zipf(stem + "ing", "en"), zipf(stem + stem[-1] + "ing", "en"))
    return progressive >= zipf(word, "en")


def _strip_noise(text: str, own_names: set[str]) -> tuple[str, list[str]]:
    """The text without links, handles, hashtags and command sentences; and the hashtags' words."""
    text = _CONTACT_OR_LINK.sub(" . ", text)
    tag_words: list[str] = []
    for tag in _HASHTAG.findall(text):
        parts = _TAG_PARTS.findall(tag) if not tag.islower() else [tag]
        tag_words.append(" ".join(part.casefold() for part in parts))
    text = _HASHTAG.sub(" . ", text)
    kept = [s for s in _SENTENCE.findall(text) if not _COMMAND_SENTENCE.match(s.strip())]
    text = " ".join(kept)
    for name in own_names:
        # Each name is a pattern of its own, compiled anew for most mentions (re caches 512):
        # skipped where it cannot match. Among ASCII characters, ignoring case is lower().
        absent = name.isascii() and text.isascii() and name.lower() not in text.lower()
        if name and not absent:
            text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " . ", text, flags=re.I)
    return text, tag_words


def _words_of(clause: str, lang: str) -> list[tuple[str, bool]]:
    """(word, is a capitalised original) per token; elided articles split off ("l'influencer")
    and English possessives dropped ("cat's")."""
    words: list[tuple[str, bool]] = []
    for token in _TOKEN.findall(clause):
        word = token.casefold().replace("’", "'")
        if lang == "en" and word.endswith("'s"):
            word = word[:-2]
        elif lang != "en" and (elided := _ELISION.match(word)):
            words.append((elided.group(1), False))
            word, token = elided.group(2), token[len(elided.group(1)) + 1 :]
        words.append((word, token[:1].isupper()))
    return words


def _candidates(text: str, lang: str) -> list[_Candidate]:
    """Runs of content words in each clause, cut at function words and verb forms.

    English phrases run head-last ("crypto day trader"); elsewhere a phrase is one word
    or words joined by a connector ("freidora de aire"), and German content words are
    its capitalised nouns. A run is "opened" when a determiner comes before it with only
    function words or numbers between ("my first date", "a 1970s leather jacket")."""
    found: list[_Candidate] = []
    position = 0
    for clause in _CLAUSE.split(text):
        run: list[str] = []
        opened = opener_pending = after_pronoun = False
        for word, capitalised in [*_words_of(clause, lang), (".", False)]:
            position += 1
            if run and lang != "en" and word in _connectors(lang):
                run.append(word)
                continue
            content = (
                _LETTERS.match(word) is not None
                and len(word) >= 2
                and not _NON_LATIN.search(word)
                and (not _is_function_word(word, lang) or _noun_after_article(word, lang, opener_pending))
                and word not in _time_words(lang)
                and (lang != "de" or capitalised)
            )
            if lang == "en":
                # "protein shakes": an -s form of a thing from the same topic as the word before
                # it is a plural noun; "my cat ignores me" stays a verb.
                plural_of_run = bool(run) and _same_topic(run[-1], lemma(word))
                verb = content and not plural_of_run and (after_pronoun or _looks_inflected(word))
            else:
                verb = content and _is_foreign_verb(word, lang)
            after_pronoun = word in _pronouns(lang)
            if not content or verb or (run and lang != "en" and run[-1] not in _connectors(lang)):
                _close(found, run, opened, lang, position)
                run, opened = [], False
            if content and not verb:
                if not run:
                    opened = opener_pending
                run.append(word)
                opener_pending = False
            elif word in _openers(lang):
                opener_pending = True
            elif content:
                opener_pending = False  # "I bought my": a verb between ends the determiner's reach
    return found


def _close(found: list[_Candidate], run: list[str], opened: bool, lang: str, position: int) -> None:
    while run and run[-1] in _connectors(lang):
        run.pop()
    if not run:
        return
    words = tuple(run[-MAX_WORDS:]) if lang == "en" else tuple(run[:MAX_WORDS])
    if lang != "en" and words[-1] in _connectors(lang):
        words = words[:-1]
    if (
        lang == "en"
        and len(words) > 1
        and _looks_inflected(words[-1])
        and not _same_topic(words[-2], lemma(words[-1]))
    ):
        words = words[:-1]
    head = words[-1] if lang == "en" else words[0]
    rarity = max(0.0, 7.0 - zipf(head, lang)) * RARITY
    known = in_lexicon(" ".join(words)) or any(_known(word, lang) for word in words)
    early = EARLY[len(found)] if len(found) < len(EARLY) else 0.0
    if lang != "en" and not (opened or known):
        early = 0.0  # a clause may open with its verb where the subject pronoun is dropped ("bevo")
    score = OPENED * opened + KNOWN * known + rarity + EXTRA_WORD * (len(words) - 1) + early
    # Worth a closing line: a thing the lexicon knows, or one a determiner points at that is
    # not an everyday word ("my tuna" yes, "a year", "the night" no).
    pointed = known or (opened and zipf(head, lang) < POINTED_ZIPF)
    found.append(_Candidate(words, score, position, pointed))


def _keyword_bonus(text: str, lang: str, candidates: list[_Candidate]) -> list[_Candidate]:
    """YAKE's ranking breaks the ties the cues leave (its keywords are statistically central)."""
    keywords = [phrase.casefold() for phrase, _ in _extractor(lang).extract_keywords(text)]
    ranked = []
    for candidate in candidates:
        phrase = " ".join(candidate.words)
        bonus = next((1.5 - 0.15 * rank for rank, kw in enumerate(keywords) if phrase in kw), 0.0)
        ranked.append(replace(candidate, score=candidate.score + bonus))
    return ranked


def _plausible(candidate: _Candidate, lang: str) -> bool:
    head = candidate.words[-1] if lang == "en" else candidate.words[0]
    if len(candidate.words) == 1 and len(head) < MIN_LETTERS + 1 and not _known(head, lang):
        return False
    # A lone everyday word nobody pointed at ("lol", "bro") is chatter, not a subject.
    return candidate.score >= 2.0 or zipf(head, lang) <= RARE_ZIPF


def _vetted_part(words: tuple[str, ...], lang: str) -> tuple[str, ...]:
    """The phrase when every word passed vetting; without its outermost modifier when only that
    one failed ("skinny jeans" -> "jeans"): the modifier takes itself out, not the thing it
    modifies. () otherwise: a refused word inside the phrase ("cat hates mondays") sinks it."""
    passed = [_VETTED.get(word, False) for word in words]
    if all(passed):
        return words
    if len(words) < 2:
        return ()
    rest = words[1:] if lang == "en" else words[:-1]
    outer_failed = not (passed[0] if lang == "en" else passed[-1])
    if outer_failed and all(_VETTED.get(word, False) for word in rest):
        while rest and rest[-1] in _connectors(lang):
            rest = rest[:-1]
        return rest
    return ()


def subjects_in(text: str, own_names: set[str], source: str = "mention") -> list[Subject]:
    """Subjects of ``text``, best first (at most two), every word vetted."""
    return list(_subjects_in(clean(text), frozenset(own_names), source))


@lru_cache(maxsize=4096)
def _subjects_in(text: str, own_names: frozenset[str], source: str) -> tuple[Subject, ...]:
    stripped, tag_words = _strip_noise(text, set(own_names))
    words = [token.casefold() for token in _TOKEN.findall(stripped) if _LETTERS.match(token)]
    lang = detect_language(words + [w for tag in tag_words for w in tag.split()])
    candidates = _candidates(stripped, lang)
    scores = sorted((c.score for c in candidates), reverse=True)
    if len(scores) > 1 and scores[0] - scores[1] < CLEAR_LEAD:
        candidates = _keyword_bonus(stripped, lang, candidates)
    for tag in tag_words:
        # German nouns are read by their capital, which a folded hashtag has lost.
        readable = tag.title() if lang == "de" else tag
        candidates.extend(replace(c, score=c.score + HASHTAG) for c in _candidates(readable, lang)[:1])
    ordered = sorted((c for c in candidates if _plausible(c, lang)), key=lambda c: (-c.score, c.position))[
        :SHORTLIST
    ]
    _vet([word for candidate in ordered for word in candidate.words])
    chosen: list[Subject] = []
    for candidate in ordered:
        words = _vetted_part(candidate.words, lang)  # connectors too: every quoted word
        if not words:
            continue
        content = [w for w in words if w not in _connectors(lang)]
        if any(set(words) & set(other.words) for other in chosen):
            continue
        family = family_of(content if lang != "en" else [*map(lemma, content), *content])
        kind = "hashtag" if any(candidate.words == tuple(t.split()) for t in tag_words) else source
        chosen.append(Subject(words, lang, family, kind, candidate.pointed))
        if len(chosen) == 2:
            break
    return tuple(chosen)
