"""The last gate before X: every roast, from any roaster or an operator's edit, passes here.

``check_roast`` returns every rule a text breaks as short, stable reason codes; an
empty tuple means it may be posted. The rules are deliberately blunt: a false refusal
costs one regeneration, a false approval is posted under our name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from twitter_text.parse_tweet import ParsedResult

from roastbot.roasting import tweet_length
from roastbot.roasting.normalize import clean, fold_variants, squeeze_runs, word_set
from roastbot.roasting.profanity import profanity_model
from roastbot.roasting.slurs import has_slur

PROFANITY_THRESHOLD = 0.85
"""alt-profanity-check probability above which a roast is refused ("your code sucks" is 0.98)."""
WORD_PROFANITY_THRESHOLD = 0.5
"""Stricter bar for single words the offline roaster quotes back."""
MAX_WEIGHTED_LENGTH = 280

PROFANITY = "profanity"
SLUR = "slur"
PROTECTED_TRAIT = "protected_trait"
THIRD_PARTY_MENTION = "third_party_mention"
LINK = "link"
PHONE_NUMBER = "phone_number"
EMAIL = "email"
TOO_LONG = "too_long"
EMPTY = "empty"
INJECTION_ECHO = "injection_echo"
INVALID_CHARACTERS = "invalid_characters"
REASONS = (
    PROFANITY,
    SLUR,
    PROTECTED_TRAIT,
    THIRD_PARTY_MENTION,
    LINK,
    PHONE_NUMBER,
    EMAIL,
    TOO_LONG,
    EMPTY,
    INJECTION_ECHO,
    INVALID_CHARACTERS,
)


@dataclass(frozen=True)
class SafetyVerdict:
    ok: bool
    reasons: tuple[str, ...]


# --- slurs: a data file, matched word by word after folding (roasting/slurs.py) --------


# --- protected traits --------------------------------------------------------------------
# Two tiers. Words naming a protected group of people have no place in a roast of a
# post, so they alone refuse it. Words that also have everyday uses (nationalities,
# "woman", "accent", "old man") refuse it next to an insult or as the punchline.


def _alternation(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


_PEOPLE = r"(?:people|persons?|folks?|guys?|men|man|women|woman|kids?|boys?|girls?|dudes?|communit(?:y|ies))"
_TRAIT = _alternation(
    # race and ethnicity
    r"races?|racial|ethnic\w*|skin ?colou?r|complexion",
    rf"(?:black|white|brown|yellow|red) {_PEOPLE}",
    r"asians?|africans?|latin[oax]s?|latine|hispanics?|arabs?|jews?|jewish|gypsy|gypsies|romani|"
    r"aboriginals?|natives?|indigenous|caucasians?|mexicans?|chinese|japanese|koreans?|indians?|"
    r"pakistanis?|somalis?|ethiopians?|nigerians?",
    # nationality
    r"nationalit(?:y|ies)|immigrants?|immigration|migrants?|refugees?|foreigners?|illegals?|"
    r"third world|accents?|americans?|russians?|ukrainians?|germans?|french|british|brits?|irish|"
    r"italians?|polish|turks?|turkish|iranians?|israelis?|palestinians?|syrians?|afghans?|"
    r"vietnamese|filipinos?|brazilians?|canadians?|australians?|europeans?",
    # religion
    r"religions?|religious|muslims?|moslems?|islam|islamic|christians?|christianity|catholics?|"
    r"protestants?|mormons?|hindus?|hinduism|buddhists?|buddhism|sikhs?|atheists?|judaism|"
    r"jehovahs?|quran|koran|mosques?|synagogues?|hijabs?|burqas?|turbans?|yarmulkes?|kippahs?",
    # disability
    rf"disabled|disabilit(?:y|ies)|handicapped|crippled|wheelchairs?|autis(?:m|tic)|aspergers?|"
    rf"adhd|downs? syndrome|(?:blind|mute) {_PEOPLE}|deaf|dyslexi[ac]|paraly[sz]ed|amputees?|"
    rf"mentally ill|mental illness|special needs|schizo\w*|bipolar|stutter\w*",
    # sexual orientation
    r"gays?|lesbians?|bisexuals?|queers?|homosexuals?|lgbt\w*|pansexuals?|asexuals?|sexualit(?:y|ies)|"
    r"sexual orientation|straight people",
    # gender identity and gender
    r"trans|transgender\w*|transsexuals?|non ?binary|enby|genders?|pronouns|women|woman|girls?|"
    r"ladies|females?|males?",
    # age
    r"elderly|senile|geriatric|boomers?|grandpa|grandma|granny|gramps|wrinkl\w*|over the hill|"
    r"old (?:man|men|woman|women|lady|ladies|people|person|geezers?|timers?|farts?|fogeys?|hags?)|"
    r"millennials?|zoomers?",
    # pregnancy
    r"pregnant|pregnancy|maternity|baby bump",
)
_INSULT = _alternation(
    r"stupid\w*|dumb\w*|idiot\w*|moron\w*|ugly|disgusting|gross|inferior|subhuman|savages?|animals?|"
    r"vermin|filthy|dirty|lazy|worthless|pathetic|trash\w*|garbage|scum\w*|freak\w*|weirdos?|weird|"
    r"abominations?|degenerates?|sick|sicko|hate|hates|hating|hated|deport\w*|go back|kill\w*|die|"
    r"dies|burn|extermin\w*|genocide|(?:should ?n'?t|should not) exist|(?:don'?t|do not) belong|"
    r"not welcome|smell\w*|stink\w*|terrorists?|thie(?:f|ves)|criminals?|primitive|backwards?|"
    r"losers?|cursed|jokes?|clowns?|useless|crazy|insane|psycho\w*|defective|broken|"
    r"wrong with|problem with|plague|parasites?|invad\w*|infest\w*|breed\w*|ban|bans|banned|"
    r"embarrass\w*|cringe\w*|laughable|ridiculous"
)
_IDENTITY = re.compile(
    rf"\b(?:(?:black|white|brown|yellow) {_PEOPLE}|asians?|africans?|latin[oax]s?|hispanics?|arabs?|jews?|"
    r"jewish|gypsy|gypsies|aboriginals?|caucasians?|immigrants?|migrants?|refugees?|illegals?|"
    r"muslims?|moslems?|islam|islamic|christians?|catholics?|mormons?|hindus?|buddhists?|sikhs?|"
    r"atheists?|judaism|disabled|disabilit(?:y|ies)|handicapped|crippled|autis(?:m|tic)|aspergers?|"
    r"downs? syndrome|mentally ill|special needs|schizo\w*|gays?|lesbians?|bisexuals?|queers?|"
    r"homosexuals?|lgbt\w*|pansexuals?|asexuals?|trans|transgender\w*|transsexuals?|non ?binary|"
    r"pronouns|pregnant|pregnancy|elderly|senile|geriatric)\b"
)
_TRAIT_WITH_INSULT = (re.compile(rf"\b{_TRAIT}\b"), re.compile(rf"\b{_INSULT}\b"))
_TRAIT_AS_PUNCHLINE = re.compile(
    rf"\b(?:(?:because|cause|cuz|coz|since) (?:you'?re|you are|youre|ur|u r) (?:an? |so |such an? )?{_TRAIT}"
    rf"|typical {_TRAIT}|(?:for|like) an? {_TRAIT}|all {_TRAIT} (?:are|r)|you people|your kind|"
    rf"go back to (?:your|ur) (?:own )?(?:country|homeland)|"
    rf"(?:your|ur) (?:race|religion|ethnicity|skin colou?r|sexuality|gender|disability|accent|pronouns|"
    rf"pregnancy|nationality|age))\b"
)
_SENTENCE_END = re.compile(r"[.!?;:\n]+|\s[-–—]\s")


def _attacks_trait(variants: Sequence[str]) -> bool:
    has_trait, has_insult = _TRAIT_WITH_INSULT
    for variant in variants:
        text = variant.replace("’", "'")
        if _IDENTITY.search(text) or _TRAIT_AS_PUNCHLINE.search(text):
            return True
        # A match inside a sentence is one in the whole text (the split removes only non-word
        # characters): without both in the text, no sentence has both.
        if not (has_trait.search(text) and has_insult.search(text)):
            continue
        for sentence in _SENTENCE_END.split(text):
            if has_trait.search(sentence) and has_insult.search(sentence):
                return True
    return False


# --- contact details, links and handles: on the text as X will render it ---------------

_HANDLE = re.compile(r"(?<![A-Za-z0-9_!#$%&*@])@([A-Za-z0-9_]+)")
_SCHEME_OR_WWW = re.compile(r"\b(?:https?|hxxps?|ftp|file)\s*:\s*/\s*/|\bwww\s*\.\s*\w", re.I)
_BRACKETED_DOT = re.compile(r"\s*[\[({<]\s*(?:\.|dot)\s*[\])}>]\s*", re.I)
_SPOKEN_DOT = re.compile(
    r"(?<=\w)\s+(?:dot|\.)\s+(?=(?:com|net|org|io|co|ly|me|ai|gg|xyz|info|biz|app|dev|tv|us|uk|de|ru|cn|link|"
    r"site|online|shop|club|live)\b)",
    re.I,
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# "bob [at] example.com", "bob (at) example (dot) com", "alice at example dot com"; a plain
# "it at example.com" is a place (and a link), not an address.
_AT = r"[\[({<]\s*at\s*[\])}>]"
_DOT = r"(?:[\[({<]\s*(?:dot|\.)\s*[\])}>]|\bdot\b)"
_SPOKEN_EMAIL = re.compile(
    rf"\w+\s*{_AT}\s*\w+(?:\s*(?:{_DOT}|\.)\s*\w+)+|\w+\s+at\s+\w+(?:\s*{_DOT}\s*\w+)+", re.I
)
_SPOKEN_EMAIL_HINT = re.compile(r"[\[({<]|dot", re.I)
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d \t().\-/]{5,}\d(?!\w)")
_YEAR_RANGE = re.compile(r"(?:19|20)\d\d\s*[-/]\s*(?:19|20)?\d\d")
# Shown as nothing but still part of the text: hidden payloads, reordered lines.
_HIDDEN = re.compile(
    "[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _has_link(text: str) -> bool:
    if _SCHEME_OR_WWW.search(text):
        return True
    revealed = _SPOKEN_DOT.sub(".", _BRACKETED_DOT.sub(".", text))
    return bool(tweet_length.extract_urls(revealed))


def _third_party_handles(text: str, author_username: str) -> list[str]:
    author = author_username.lstrip("@").casefold()
    return [handle for handle in _HANDLE.findall(text) if handle.casefold() != author or not author]


def _has_phone_number(text: str) -> bool:
    for match in _PHONE.finditer(text):
        digits = sum(char.isdigit() for char in match.group(0))
        if 7 <= digits <= 15 and not _YEAR_RANGE.fullmatch(match.group(0).strip()):
            return True
    return False


def _has_email(text: str) -> bool:
    # Each pattern needs a character or word of its own: an "@", or a bracket or "dot".
    if "@" in text and _EMAIL.search(text):
        return True
    return _SPOKEN_EMAIL_HINT.search(text) is not None and _SPOKEN_EMAIL.search(text) is not None


# --- our own prompt, or a model breaking character, showing up in the reply ------------

_INJECTION_ECHO = re.compile(
    r"(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|my|previous|prior|above|earlier|"
    r"system|these|those|every|of|preceding|original)\s+){1,4}(?:instructions?|prompts?|rules|guidelines|"
    r"directions|directives|messages|programming)"
    r"|system\s*prompt|system\s*message|developer\s*mode|jailbr(?:eak|oken)|\bdan\s+mode|do anything now|"
    r"prompt\s*injection|\bas an ai\b|as a language model|\bi(?:'m| am) an ai\b|my (?:instructions|programming|"
    r"guidelines|system prompt)|new instructions|from now on,? you (?:are|will|must)"
    r"|<\s*/?\s*(?:mention|untrusted\w*|system|user|assistant|instructions?|bio|referenced\w*)\b|<\|[a-z_]+\|>|"
    r"\[/?inst\]|<<\s*/?sys\s*>>|###\s*(?:instruction|system)"
    r"|ignora\w*\s+(?:\w+\s+){0,3}(?:instrucciones|istruzioni|instruções)|ignorier\w*\s+(?:\w+\s+){0,3}anweisungen|"
    r"ignore[zr]?\s+(?:\w+\s+){0,3}(?:consignes|instructions)|игнорир\w*|инструкци\w*|忽略|无视|指令|"
    r"指示を無視|以前の指示|تجاهل|निर्देश"
)


# A piece of text every alternative of the pattern above contains (it matches case as written):
# a text with none of them cannot match, and most roasts have none.
_INJECTION_HINT = re.compile(
    r"ignor|disregard|forget|override|bypass|system|mode|jailbr|do anything now|prompt|an ai|"
    r"as a language model|instructions|programming|guidelines|from now on|<|\[|###|игнорир|инструкци|"
    r"忽略|无视|指令|指示を無視|以前の指示|تجاهل|निर्देश"
)


def _echoes_injection(casefolded: str, variants: Sequence[str]) -> bool:
    # The text is often its only folding: each distinct reading is searched once.
    return any(
        _INJECTION_HINT.search(text) and _INJECTION_ECHO.search(text)
        for text in dict.fromkeys((casefolded, *variants))
    )


def has_injection_marker(text: str) -> bool:
    """Whether ``text`` contains a known prompt-injection phrase (in any folding)."""
    return _echoes_injection(clean(text).casefold(), fold_variants(text))


# --- profanity: alt-profanity-check's linear model, read on first use (roasting/profanity.py)


def _profanity(texts: list[str]) -> list[float]:
    return profanity_model().probabilities(texts)


def warm_up() -> None:
    """Load the profanity model now rather than on the first roast."""
    _profanity(["warm up"])


# --- the checks ------------------------------------------------------------------------


def check_roast(
    text: str, author_username: str, *, profanity_threshold: float = PROFANITY_THRESHOLD
) -> SafetyVerdict:
    """Every rule ``text`` breaks as a reply to ``author_username``; ok when there are none."""
    visible = clean(text)
    if not visible.strip():
        return SafetyVerdict(False, (EMPTY,))
    casefolded = visible.casefold()
    variants = fold_variants(text)
    reasons: list[str] = []
    if max(_profanity([text, squeeze_runs(variants[0])])) > profanity_threshold:
        reasons.append(PROFANITY)
    if has_slur(variants, casefolded):
        reasons.append(SLUR)
    if _attacks_trait(variants):
        reasons.append(PROTECTED_TRAIT)
    if _third_party_handles(visible, author_username):
        reasons.append(THIRD_PARTY_MENTION)
    if _has_link(visible):
        reasons.append(LINK)
    if _has_email(visible):
        reasons.append(EMAIL)
    if _has_phone_number(visible):
        reasons.append(PHONE_NUMBER)
    if _echoes_injection(casefolded, variants):
        reasons.append(INJECTION_ECHO)
    parsed = parsed_tweet(text)
    if parsed.weightedLength > MAX_WEIGHTED_LENGTH:
        reasons.append(TOO_LONG)
    elif not parsed.valid or _HIDDEN.search(text) or _CONTROL.search(text):
        reasons.append(INVALID_CHARACTERS)
    return SafetyVerdict(not reasons, tuple(reasons))


@lru_cache(maxsize=4096)
def parsed_tweet(text: str) -> ParsedResult:
    """twitter-text's reading of ``text``, once per text: the offline roaster measures the draft
    it keeps and the check measures it again (``tweet_length``: the library's parse, without
    its emoji scan where no character of the text is in an emoji)."""
    return tweet_length.parse(text)


def safe_words(words: Iterable[str]) -> list[str]:
    """The words (kept in order) a roast may quote back: no slur, trait, instruction or profanity."""
    candidates = [word for word in dict.fromkeys(words) if _word_passes_rules(word)]
    if not candidates:
        return []
    scores = _profanity(candidates)
    return [word for word, score in zip(candidates, scores, strict=True) if score < WORD_PROFANITY_THRESHOLD]


_SENSITIVE_WORDS = word_set(
    """kill killed killing killer die died dies dying dead death deaths suicide suicidal murder murdered
    rape raped rapist shoot shooting shooter gun guns bomb bombs bombing terror terrorist terrorism war
    abuse abused cancer tumor disease sick illness depressed depression anxiety trauma fat obese skinny
    ugly weight body naked nude sex sexy porn drugs cocaine heroin meth hitler nazi nazis isis holocaust
    slave slaves slavery lynch lynching genocide hate hated hater kys cutting starve anorexia bulimia
    poor poverty homeless divorce funeral grief miscarriage abortion hostage victim victims blood stab
    stabbed overdose assault harass harassment pedo pedophile incest molest addict addicts addiction
    addicted rehab alcoholic sober therapy therapist diagnosis hospital slur slurs"""
)


# Words that only make sense as orders to a bot: quoting them back could assemble one.
_INSTRUCTION_WORDS = word_set(
    """ignore ignoring disregard forget override bypass instruction instructions prompt prompts system
    reply replies respond response say post tweet retweet tag tags mention mentions link links url
    follow dm message repeat output print write type pretend act roleplay jailbreak developer assistant
    admin moderator verbatim exactly rules command commands execute previous above delimiter
    call visit click contact email whatsapp telegram subscribe"""
)
_AVOIDED_WORDS = _SENSITIVE_WORDS | _INSTRUCTION_WORDS


def _word_passes_rules(word: str) -> bool:
    variants = fold_variants(word)
    if any(folded in _AVOIDED_WORDS or squeeze_runs(folded) in _AVOIDED_WORDS for folded in variants):
        return False
    if has_slur(variants, word.casefold()) or _echoes_injection(word.casefold(), variants):
        return False
    has_trait, has_insult = _TRAIT_WITH_INSULT
    return not any(has_trait.search(v) or has_insult.search(v) for v in variants)


def passes_word_rules(word: str) -> bool:
    """The word rules of ``safe_words`` without its profanity model: fast, for words vetted ahead."""
    return _word_passes_rules(word)
