"""Roast quality: any roaster over the hand-written quality sets, through the consumer's own path.

    .venv/bin/python bench/quality.py [--roaster offline|together|openai] [--set dev|holdout|both]
        [--seed N] [--limit N] [--json-only] [--persona FILE | --compare-persona A B]

The roaster comes from ``roaster_from_settings`` (settings from the environment, with ROASTER,
ROAST_SEED and PERSONA_FILE taken from the options), each mention is built as the producer
publishes it and turned into a request by ``roastbot.roast_request.roast_request``, and each roast is
written by ``generate_safe_roast`` with ROAST_MAX_ATTEMPTS drafts, as the consumer does. Per-author
memory as the consumer keeps it: every request carries the author's last three roasts of this
run (newest first) as ``recent_roasts`` and the skeletons they got as ``avoid_skeletons``.

An LLM roaster with nothing configured (no TOGETHER_API_KEY for together, no LLM_BASE_URL for
openai) runs against the embedded LLM fake, started in-process on a free port.

Prints a table per set, then ONE JSON object on the last line (``--json-only``: only that).
The figures are defined in ``bench/quality_metrics.py``. Exit status: 0, 1 when an approved
roast fails the safety check (unsafe must be 0), 2 when the run cannot be set up.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from pydantic import ValidationError  # noqa: E402

from bench.quality_data import SLICES, Item, MentionFactory, load_sets  # noqa: E402
from bench.quality_metrics import Record, summarize  # noqa: E402
from roastbot.outcomes import Permanent, RateLimited, Transient  # noqa: E402
from roastbot.roast_request import roast_request  # noqa: E402
from roastbot.roasting import Roaster, generate_safe_roast, roaster_from_settings  # noqa: E402
from roastbot.settings import Settings  # noqa: E402

ROASTERS = ("offline", "together", "openai")
FAKE_API_KEY = "quality-harness"
FAKE_MODEL = "fake/roaster-1"  # the model name the tests ask the fake for
MEMORY_ROASTS = 3  # the last roasts an author got that a request carries, as the consumer does
RATE_LIMIT_RETRIES = 3
MAX_RATE_LIMIT_WAIT_S = 60.0
PERSONA_SETTING = "persona_file"  # Settings field (PERSONA_FILE) the LLM roasters read their voice from


class SetupError(Exception):
    """The run cannot start: a message for the operator, exit status 2."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/quality.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--roaster", choices=ROASTERS, default="offline")
    parser.add_argument("--set", dest="which", choices=("dev", "holdout", "both"), default="dev")
    parser.add_argument(
        "--seed", type=int, default=0, help="ROAST_SEED for the offline roaster, seed of the fake"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N mentions of each set")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON object")
    persona = parser.add_mutually_exclusive_group()
    persona.add_argument("--persona", type=Path, help="persona file (PERSONA_FILE) for an LLM roaster")
    persona.add_argument(
        "--compare-persona", nargs=2, type=Path, metavar=("A", "B"), help="two persona files"
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


# --- the roaster ----------------------------------------------------------------------


@contextmanager
def llm_fake(seed: int) -> Iterator[str]:
    """The embedded LLM fake on a free port in this process, as the tests start it."""
    from sandbox.llm_fake import FakeConfig, create_app
    from tests.helpers import ServerThread, free_port

    port = free_port()
    with ServerThread(create_app(FakeConfig(port=port, seed=seed)), port=port) as server:
        yield server.url


@contextmanager
def endpoint_settings(kind: str, seed: int) -> Iterator[tuple[dict[str, object], str]]:
    """Settings overrides that point ``kind`` at its endpoint, and where that is ("" for none).

    A configured endpoint (TOGETHER_API_KEY, or LLM_BASE_URL for openai) is used as it is;
    otherwise the LLM fake serves the run.
    """
    overrides: dict[str, object] = {"roaster": kind, "roast_seed": seed}
    if kind == "offline":
        yield overrides, ""
        return
    configured = _environment_settings()
    if kind == "together" and configured.together_api_key.get_secret_value():
        yield overrides, configured.together_base_url or "api.together.ai"
        return
    if kind == "openai" and getattr(configured, "llm_base_url", ""):
        yield overrides, str(configured.llm_base_url)
        return
    with llm_fake(seed) as url:
        overrides["roast_model"] = FAKE_MODEL
        if kind == "together":
            overrides |= {"together_api_key": FAKE_API_KEY, "together_base_url": url}
        else:  # the OpenAI SDK wants the /v1 prefix in its base URL; Together's SDK adds it itself
            overrides |= {"llm_api_key": FAKE_API_KEY, "llm_base_url": f"{url}/v1"}
        yield overrides, f"LLM fake at {url}"


def _environment_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SetupError(f"the settings in the environment are invalid: {error}") from None


def build(overrides: dict[str, object], persona: Path | None) -> tuple[Settings, Roaster]:
    """Settings from the environment with ``overrides``, and the roaster they build."""
    kind = overrides["roaster"]
    if persona is not None:
        if PERSONA_SETTING not in Settings.model_fields:
            raise SetupError(
                "--persona has nothing to read yet: this build's settings have no PERSONA_FILE "
                "(persona files arrive with issue 12, section 6)"
            )
        if not persona.is_file():
            raise SetupError(f"persona file {persona} does not exist")
        overrides = overrides | {PERSONA_SETTING: str(persona)}
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise SetupError(f"roaster {kind!r} is not available in this build: settings have no {unknown}")
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        return settings, roaster_from_settings(settings)
    except (ValidationError, ValueError) as error:
        raise SetupError(f"roaster {kind!r} cannot be built by roastbot.roasting.factory: {error}") from None


# --- one run ---------------------------------------------------------------------------


def run_set(roaster: Roaster, settings: Settings, items: Sequence[Item]) -> list[Record]:
    """Every item through roast_request and generate_safe_roast, in order, with author memory
    (empty at the start of each set, so the dev figures do not depend on the holdout's)."""
    factory = MentionFactory()
    memory: dict[str, list[tuple[str, str]]] = {}  # author -> (roast, skeleton), oldest first
    records = []
    for item in items:
        mention = factory.mention(item)
        got = memory.setdefault(item.author_username.casefold(), [])
        request = replace(
            roast_request(mention, 0, ()),
            recent_roasts=tuple(text for text, _ in reversed(got[-MEMORY_ROASTS:])),
            avoid_skeletons=tuple(dict.fromkeys(skeleton for _, skeleton in reversed(got) if skeleton)),
        )
        record = _roast_one(roaster, settings, item, request)
        if record.text is not None:
            got.append((record.text, record.skeleton))
        records.append(record)
    return records


def _roast_one(roaster: Roaster, settings: Settings, item: Item, request: Any) -> Record:
    for _ in range(RATE_LIMIT_RETRIES + 1):
        started = time.perf_counter()
        try:
            result = generate_safe_roast(
                roaster, request, request.author_username, max_attempts=settings.roast_max_attempts
            )
        except RateLimited as error:
            time.sleep(min(max(0.0, error.reset_at - time.time()), MAX_RATE_LIMIT_WAIT_S))
            continue
        except (Transient, Permanent) as error:
            return Record(item, None, error=type(error).__name__, latency_s=time.perf_counter() - started)
        latency = time.perf_counter() - started
        draft = result.draft
        if draft is None:
            return Record(item, None, attempts=result.attempts, reasons=result.reasons, latency_s=latency)
        return Record(
            item,
            draft.text,
            skeleton=draft.skeleton,
            attempts=result.attempts,
            reasons=result.reasons,
            latency_s=latency,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
            roaster=draft.roaster,
            model=draft.model,
            prompt_version=draft.prompt_version,
        )
    return Record(item, None, error="RateLimited")


def report(kind: str, args: argparse.Namespace, persona: Path | None) -> dict[str, object]:
    """One roaster over the chosen sets: the JSON-ready report."""
    sets = load_sets(args.which)
    with endpoint_settings(kind, args.seed) as (overrides, endpoint):
        settings, roaster = build(overrides, persona)
        results: dict[str, object] = {}
        drafts: list[Record] = []
        for name, items in sets.items():
            records = run_set(roaster, settings, items[: args.limit])
            drafts.extend(r for r in records if r.text is not None)
            results[name] = summarize(records, timed=kind != "offline")
    models, versions = _counts(r.model for r in drafts), _counts(r.prompt_version for r in drafts)
    return {
        "roaster": kind,
        "endpoint": endpoint,
        "model": _most_common(models),
        "prompt_version": _most_common(versions),
        "models": models,
        "prompt_versions": versions,
        "persona": str(persona) if persona else None,
        "seed": args.seed,
        "limit": args.limit,
        "max_attempts": settings.roast_max_attempts,
        "sets": results,
    }


def _most_common(counts: dict[str, int]) -> str:
    """The key with the highest count ("" for none; "-" stands for an empty value)."""
    return max(counts, key=lambda key: counts[key]) if counts else ""


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value or "-"] = counts.get(value or "-", 0) + 1
    return dict(sorted(counts.items()))


# --- the table -------------------------------------------------------------------------


def table(run: dict[str, Any]) -> str:
    lines = [
        f"quality: roaster={run['roaster']} models={_inline(run['models'])} "
        f"prompt_versions={_inline(run['prompt_versions'])} seed={run['seed']}"
        + (f" persona={run['persona']}" if run["persona"] else "")
        + (f" ({run['endpoint']})" if run["endpoint"] else "")
    ]
    for name, summary in run["sets"].items():
        spec = summary["specificity"]
        lines.append(f"\n[{name}] {summary['mentions']} mentions, {summary['approved']} approved")
        lines.append(f"  {'slice':<12}{'scored':>8}{'named':>8}  specificity")
        for slice_name in SLICES:
            row = spec["per_slice"][slice_name]
            lines.append(f"  {slice_name:<12}{row['scored']:>8}{row['named']:>8}  {_fmt(row['share'])}")
        lines.append(f"  {'all':<12}{spec['scored']:>8}{spec['named']:>8}  {_fmt(spec['share'])}")
        div, safety = summary["diversity"], summary["safety"]
        repeats = div["author_repeats"]
        lines.append(
            f"  diversity: distinct-1 {_fmt(div['distinct_1'])}  distinct-2 {_fmt(div['distinct_2'])}  "
            f"skeletons {div['distinct_skeletons']}, largest {_fmt(div['largest_skeleton_share'])} "
            f"({div['largest_skeleton_count']}x): {div['largest_skeleton'][:90]!r}"
        )
        lines.append(f"  same author again: text {repeats['same_text']}, skeleton {repeats['same_skeleton']}")
        drafts = safety["drafts_per_approved"]
        lines.append(
            f"  safety: unsafe {safety['unsafe']}  refused {summary['refused']}  errors "
            f"{_inline(summary['errors'])}  drafts/approved {_fmt(drafts['mean'])} {_inline(drafts['histogram'])}"
        )
        lines.append(f"  refusal reasons: {_inline(safety['refusal_reasons'])}")
        length, tokens, latency = (
            summary["weighted_length"],
            summary["tokens_per_roast"],
            summary["latency_ms"],
        )
        lines.append(
            f"  weighted length p50 {length['p50']} p95 {length['p95']}  tokens/roast prompt "
            f"{tokens['prompt']} completion {tokens['completion']}"
            + (f"  latency ms p50 {latency['p50']} p95 {latency['p95']}" if latency else "")
        )
    return "\n".join(lines)


COMPARED = (
    ("specificity", ("specificity", "share")),
    ("distinct-2", ("diversity", "distinct_2")),
    ("largest skeleton", ("diversity", "largest_skeleton_share")),
    ("refused", ("refused",)),
)


def comparison(first: dict[str, Any], second: dict[str, Any]) -> str:
    """The headline figures of two persona runs side by side, per set."""
    lines = [f"persona A: {first['persona']}   persona B: {second['persona']}"]
    for name in first["sets"]:
        lines.append(f"  [{name}] {'':<18}{'A':>8}{'B':>8}")
        for label, path in COMPARED:
            values = [_dig(run["sets"][name], path) for run in (first, second)]
            lines.append(f"  {label:<24}" + "".join(f"{_cell(value):>8}" for value in values))
    return "\n".join(lines)


def _cell(value: object) -> str:
    return _fmt(value) if isinstance(value, float) else "-" if value is None else str(value)


def _dig(summary: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        summary = summary[key]
    return summary


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _inline(counts: dict[str, object]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in counts.items()) or "-"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    personas = args.compare_persona or [args.persona]
    try:
        runs = [report(args.roaster, args, persona) for persona in personas]
    except SetupError as error:
        print(f"quality: {error}", file=sys.stderr)
        return 2
    if not args.json_only:
        for run in runs:
            print(table(run) + "\n")
        if len(runs) == 2:
            print(comparison(*runs) + "\n")
    result: dict[str, Any] = runs[0] if len(runs) == 1 else {"compare_persona": runs}
    print(json.dumps(result, sort_keys=True, ensure_ascii=False))
    unsafe = sum(summary["safety"]["unsafe"] for run in runs for summary in run["sets"].values())
    return 1 if unsafe else 0


if __name__ == "__main__":
    sys.exit(main())
