"""alt-profanity-check's model, evaluated without scikit-learn's per-call overhead.

The package scores a text with a TF-IDF vectorizer and five sigmoid-calibrated linear SVMs
(``CalibratedClassifierCV``). Through scikit-learn one short text costs about 7 ms, almost all
of it input validation repeated for each of the five classifiers; the arithmetic itself is a
few dozen multiplications. This module reads the same fitted parameters from the package's
own files once and does only the arithmetic: the same probability (equal to 1e-9, tested
against ``profanity_check.predict_prob``) in a few microseconds. The model is the package's;
nothing of it is copied here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass
from functools import cache
from operator import mul
from pathlib import Path
from typing import Any

from roastbot.local_redis import cache_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Bump when the cached form changes: a cache of another format is read from the package again."""


@dataclass(frozen=True)
class LinearProfanityModel:
    """TF-IDF weights and, per calibrated classifier, its SVM and sigmoid parameters."""

    token: re.Pattern[str]
    lowercase: bool
    stop_words: frozenset[str]
    terms: dict[str, tuple[float, tuple[float, ...]]]
    """term -> (idf, that term's SVM coefficient in each classifier)."""
    intercepts: tuple[float, ...]
    sigmoids: tuple[tuple[float, float], ...]
    """(a, b) per classifier: p = 1 / (1 + exp(a * decision + b))."""

    def probability(self, text: str) -> float:
        """The calibrated probability that ``text`` is profane."""
        counts: dict[str, int] = {}
        for term in self.token.findall(text.lower() if self.lowercase else text):
            if term in self.terms and term not in self.stop_words:
                counts[term] = counts.get(term, 0) + 1
        entries = [self.terms[term] for term in counts]
        weights = [count * idf for count, (idf, _) in zip(counts.values(), entries, strict=True)]
        norm = math.sqrt(sum(map(mul, weights, weights))) or 1.0
        # One column of coefficients per classifier, in term order: the same products summed in
        # the same order as a loop over the terms, without a Python step for each.
        columns = list(zip(*(coefficients for _, coefficients in entries), strict=True))
        columns = columns or [()] * len(self.intercepts)
        total = 0.0
        for intercept, (a, b), column in zip(self.intercepts, self.sigmoids, columns, strict=True):
            decision = intercept + sum(map(mul, column, weights)) / norm
            total += _sigmoid(-(a * decision + b))
        return total / len(self.intercepts)

    def probabilities(self, texts: list[str]) -> list[float]:
        return [self.probability(text) for text in texts]


def _sigmoid(x: float) -> float:
    # As scipy's expit, without overflow for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@cache
def profanity_model() -> LinearProfanityModel:
    """The package's fitted model, read once per process: from this user's cache when it holds
    the parameters of the installed package's model files (about 0.06 s), else from the
    package itself (about 2 s of CPU: unpickling imports scikit-learn) and then cached. Every
    worker start, and every restart after a crash, would pay the 2 s."""
    fingerprint = package_fingerprint()
    path = cache_dir() / f"profanity-model-{fingerprint[:16]}.json"
    model = _read_cache(path, fingerprint)
    if model is None:
        model = _from_package()
        _write_cache(path, fingerprint, model)
    return model


def package_fingerprint() -> str:
    """A digest of the installed model files (found without importing the package, which
    would load scikit-learn) and of this module's cache format."""
    spec = importlib.util.find_spec("profanity_check")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("alt-profanity-check is not installed (requirements.txt)")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    digest = hashlib.sha256(f"format {CACHE_FORMAT}".encode())
    for name in ("model.joblib", "vectorizer.joblib"):
        digest.update(name.encode() + b"\0" + (data / name).read_bytes())
    return digest.hexdigest()


def _read_cache(path: Path, fingerprint: str) -> LinearProfanityModel | None:
    try:
        saved = json.loads(path.read_text("utf-8"))
        if saved["fingerprint"] != fingerprint:
            return None
        return LinearProfanityModel(
            token=re.compile(saved["token"]),
            lowercase=bool(saved["lowercase"]),
            stop_words=frozenset(str(word) for word in saved["stop_words"]),
            terms={
                str(term): (float(idf), tuple(float(c) for c in coefficients))
                for term, (idf, coefficients) in saved["terms"].items()
            },
            intercepts=tuple(float(i) for i in saved["intercepts"]),
            sigmoids=tuple((float(a), float(b)) for a, b in saved["sigmoids"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, re.error) as error:  # damaged: rebuilt
        log.warning("ignoring the cached profanity model %s (%s); reading the package's", path, error)
        return None


def _write_cache(path: Path, fingerprint: str, model: LinearProfanityModel) -> None:
    saved: dict[str, Any] = {
        "fingerprint": fingerprint,
        "token": model.token.pattern,
        "lowercase": model.lowercase,
        "stop_words": sorted(model.stop_words),
        "terms": model.terms,
        "intercepts": model.intercepts,
        "sigmoids": model.sigmoids,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: workers starting together never read half a file.
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as out:
            json.dump(saved, out)
        os.replace(out.name, path)
    except OSError as error:  # a read-only home: every start reads the package, nothing worse
        log.info("could not cache the profanity model in %s: %s", path.parent, error)


def _from_package() -> LinearProfanityModel:
    from profanity_check import profanity_check as package

    vectorizer, calibrated = package.vectorizer, package.model
    settings = vectorizer.get_params()
    if settings["ngram_range"] != (1, 1) or settings["analyzer"] != "word" or settings["norm"] != "l2":
        raise RuntimeError(
            "alt-profanity-check's vectorizer changed shape; update roastbot/roasting/profanity.py"
        )
    if calibrated.method != "sigmoid" or list(calibrated.classes_) != [0, 1]:
        raise RuntimeError("alt-profanity-check's model changed shape; update roastbot/roasting/profanity.py")
    classifiers = calibrated.calibrated_classifiers_
    coefficients = [c.estimator.coef_[0] for c in classifiers]
    terms = {
        term: (float(vectorizer.idf_[column]), tuple(float(coef[column]) for coef in coefficients))
        for term, column in vectorizer.vocabulary_.items()
    }
    stop_words = vectorizer.get_stop_words() or frozenset()
    return LinearProfanityModel(
        token=re.compile(settings["token_pattern"]),
        lowercase=bool(settings["lowercase"]),
        stop_words=frozenset(stop_words),
        terms=terms,
        intercepts=tuple(float(c.estimator.intercept_[0]) for c in classifiers),
        sigmoids=tuple((float(c.calibrators[0].a_), float(c.calibrators[0].b_)) for c in classifiers),
    )
