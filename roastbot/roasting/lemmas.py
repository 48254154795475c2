"""simplemma's lemmas, with its per-language dictionaries decoded once per user, not per process.

simplemma ships each language's dictionary lzma-compressed and front-coded; decoding one
takes 0.15 s of CPU (English) to 0.8 s (Portuguese), at every worker start (English) and on
each language's first mention. The decoded dictionary is cached in this user's cache directory
(marshal: read in a third to a fifth of the decoding time), keyed by a digest of the shipped
file, simplemma's version and the interpreter's marshal format, so an upgrade reads afresh.
The lemmas are simplemma's own: the same strategy as ``simplemma.lemmatize`` (not greedy),
over the same bytes-to-bytes dictionary.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from simplemma import Lemmatizer
from simplemma import __version__ as simplemma_version
from simplemma.strategies import DefaultStrategy
from simplemma.strategies.dictionaries import dictionary_factory as shipped
from simplemma.strategies.dictionaries.dictionary_factory import (
    CachingDictionaryFactory,
    MappingStrToByteString,
)

from roastbot.local_redis import cache_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bump when the cached form changes: a cache of another format is decoded from the package again."""


def lemmatize(word: str, lang: str) -> str:
    """``simplemma.lemmatize(word, lang=lang)``, from the cached dictionaries."""
    return _lemmatizer().lemmatize(word, lang)


@cache
def _lemmatizer() -> Lemmatizer:
    return Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=CachedDictionaryFactory()))


class CachedDictionaryFactory(CachingDictionaryFactory):
    """simplemma's default factory, reading each decoded dictionary from the cache when it can."""

    __slots__ = ()

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        return MappingStrToByteString(dictionary(lang))


def dictionary(lang: str) -> dict[bytes, bytes]:
    """The decoded dictionary of ``lang`` (ValueError for a language simplemma does not ship)."""
    if lang not in shipped.SUPPORTED_LANGUAGES:
        raise ValueError(f"Unsupported language: {lang}")
    fingerprint = data_fingerprint(lang)
    path = cache_file(lang, fingerprint)
    decoded = _read_cache(path, fingerprint)
    if decoded is None:
        decoded = shipped._load_dictionary_from_disk(lang)
        _write_cache(path, fingerprint, decoded)
    return decoded


def data_fingerprint(lang: str) -> str:
    digest = hashlib.sha256(f"format {CACHE_FORMAT} simplemma {simplemma_version}".encode())
    digest.update(f" marshal {marshal.version} python {sys.version_info[:2]}".encode())
    digest.update((shipped.DATA_FOLDER / f"{lang}.plzma").read_bytes())
    return digest.hexdigest()


def cache_file(lang: str, fingerprint: str) -> Path:
    return cache_dir() / f"simplemma-{lang}-{fingerprint[:16]}.marshal"


def _read_cache(path: Path, fingerprint: str) -> dict[bytes, bytes] | None:
    # marshal, not JSON: the file is this user's own, as trusted as the installed packages.
    try:
        saved = marshal.loads(path.read_bytes())
        if not isinstance(saved, tuple) or len(saved) != 2 or saved[0] != fingerprint:
            raise ValueError("not this dictionary's cache")
        decoded = saved[1]
        if not isinstance(decoded, dict):
            raise TypeError(f"a {type(decoded).__name__}, not a dictionary")
        return decoded
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, TypeError) as error:  # damaged: rebuilt
        log.warning("ignoring the cached lemma dictionary %s (%s); decoding the package's", path, error)
        return None


def _write_cache(path: Path, fingerprint: str, decoded: dict[bytes, bytes]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: workers starting together never read half a file.
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as out:
            marshal.dump((fingerprint, decoded), out)
        os.replace(out.name, path)
    except OSError as error:  # a read-only home: every start decodes the package, nothing worse
        log.info("could not cache simplemma's %s dictionary in %s: %s", path.name, path.parent, error)
