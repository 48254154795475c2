"""English for a noun phrase dropped into a template: articles, number, agreement.

A template names its slots (``{a_subject}``, ``{your_subject}``, ``{is}``...); ``slots``
fills every one of them for one subject, so a template reads right whether the
subject is "sourdough starter", "browser tabs" or a phrase quoted in another language.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache, lru_cache
from importlib import resources

from roastbot.roasting.lemmas import lemmatize
from roastbot.roasting.subject import Subject

SLOT = re.compile(r"\{(\w+)\}")


@cache
def _rules() -> dict[str, frozenset[str] | tuple[str, ...]]:
    source = resources.files("roastbot.roasting").joinpath("data/grammar.toml").read_text("utf-8")
    data = tomllib.loads(source)
    return {
        "an_prefixes": tuple(data["an_prefixes"]),
        "a_prefixes": tuple(data["a_prefixes"]),
        "plural_words": frozenset(data["plural_words"]),
        "singular_words": frozenset(data["singular_words"]),
    }


def indefinite_article(phrase: str) -> str:
    """ "a" or "an" for the phrase's first word ("an hour", "a unicorn", "an air fryer")."""
    word = phrase.lstrip("“\"'").casefold()
    if word.startswith(_rules()["an_prefixes"]):  # type: ignore[arg-type]
        return "an"
    if word.startswith(_rules()["a_prefixes"]):  # type: ignore[arg-type]
        return "a"
    return "an" if word[:1] in "aeiou" else "a"


def is_plural(word: str) -> bool:
    """An English noun in the plural ("tabs", "mice"), by its lemma: a word whose lemma drops an -s."""
    word = word.casefold()
    if word in _rules()["plural_words"]:
        return True
    if word in _rules()["singular_words"] or not word.endswith("s") or word.endswith("ss"):
        return False
    return lemmatize(word, "en").casefold() != word


def shown(subject: Subject) -> str:
    """The phrase as the roast prints it: English as is, any other language quoted as written."""
    return f"“{subject.phrase}”" if subject.foreign else subject.phrase


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def slots(subject: Subject, prefix: str = "subject") -> dict[str, str]:
    """Every slot a template may name for ``subject`` (``prefix`` names the second subject "other")."""
    return dict(_slots(subject, prefix))  # the caller's own copy: the cached one stays as built


@lru_cache(maxsize=4096)
def _slots(subject: Subject, prefix: str) -> dict[str, str]:
    # A subject's slots depend on it alone, and a thread of mentions about it asks again and again.
    phrase = shown(subject)
    plural = not subject.foreign and is_plural(subject.head)
    article = "" if plural else indefinite_article(phrase) + " "
    values = {
        prefix: phrase,
        f"a_{prefix}": f"{article}{phrase}",
        f"your_{prefix}": f"your {phrase}",
        f"the_{prefix}": f"the {phrase}",
    }
    if prefix == "subject":
        values.update(
            {
                "is": "are" if plural else "is",
                "was": "were" if plural else "was",
                "has": "have" if plural else "has",
                "does": "do" if plural else "does",
                "doesnt": "don't" if plural else "doesn't",
                "isnt": "aren't" if plural else "isn't",
                "s": "" if plural else "s",
                "es": "" if plural else "es",
                "it": "they" if plural else "it",
                "its": "their" if plural else "its",
                "it_is": "they are" if plural else "it is",
                "its_contracted": "they're" if plural else "it's",
                "this": "these" if plural else "this",
                "that": "those" if plural else "that",
                "one": "ones" if plural else "one",
            }
        )
    else:
        values.update(
            {
                f"{prefix}_is": "are" if plural else "is",
                f"{prefix}_was": "were" if plural else "was",
                f"{prefix}_has": "have" if plural else "has",
                f"{prefix}_does": "do" if plural else "does",
                f"{prefix}_s": "" if plural else "s",
                f"{prefix}_es": "" if plural else "es",
                f"{prefix}_it": "they" if plural else "it",
                f"{prefix}_its": "their" if plural else "its",
            }
        )
    values.update({capitalised(name): capitalised(value) for name, value in list(values.items())})
    return values


def skeleton(template: str) -> str:
    """The template with every slot blanked: what stays the same whatever the subject."""
    return SLOT.sub("_", template)
