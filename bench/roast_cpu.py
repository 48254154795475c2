"""CPU per roast of the offline path: the roaster, the safety check, and generate_safe_roast.

    .venv/bin/python bench/roast_cpu.py [--passes N] [--json-only]

The same workload every run: every mention of the quality dev set (tests/data/quality), each
turned into a request as the consumer does (``roastbot.roast_request.roast_request``): once at first
sight (after a warm-up on the holdout set loads the models and word data), then ``--passes``
times over with the words already vetted. Process CPU time (not wall time), so a busy machine inflates the figures less;
the load average is printed with them. One JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HOME))

from bench.quality_data import MentionFactory, load_sets  # noqa: E402
from roastbot.roast_request import roast_request  # noqa: E402
from roastbot.roasting import check_roast, generate_safe_roast  # noqa: E402
from roastbot.roasting.base import RoastRequest  # noqa: E402
from roastbot.roasting.offline import OfflineRoaster  # noqa: E402
from roastbot.roasting.safety import parsed_tweet  # noqa: E402


def cpu_ms_per_call(calls: Sequence[Callable[[], object]], passes: int) -> float:
    """Median over passes of the mean CPU milliseconds one call takes."""
    per_pass = []
    for _ in range(passes):
        # Words recur across mentions (their vetting is cached on purpose); whole roast texts do
        # not, so each pass starts without the texts the last one measured.
        parsed_tweet.cache_clear()
        started = time.process_time()
        for call in calls:
            call()
        per_pass.append((time.process_time() - started) / len(calls) * 1000)
    return round(statistics.median(per_pass), 3)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/roast_cpu.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args(argv)

    factory = MentionFactory()
    sets = load_sets("both")
    requests: list[RoastRequest] = [roast_request(factory.mention(item), 0, ()) for item in sets["dev"]]
    roaster = OfflineRoaster(seed=0)
    for item in sets["holdout"]:  # loads the models and each language's word data, once
        roaster.roast(roast_request(factory.mention(item), 0, ()))
    # First sight: mentions this process has never roasted (their words not yet vetted).
    started = time.process_time()
    drafts = [roaster.roast(request).text for request in requests]
    first_sight_ms = round((time.process_time() - started) / len(requests) * 1000, 3)
    figures = {
        "mentions": len(requests),
        "passes": args.passes,
        "roaster_first_sight_cpu_ms": first_sight_ms,
        "roaster_cpu_ms": cpu_ms_per_call([lambda r=r: roaster.roast(r) for r in requests], args.passes),
        "safety_cpu_ms": cpu_ms_per_call(
            [
                lambda d=d, r=r: check_roast(d, r.author_username)
                for d, r in zip(drafts, requests, strict=True)
            ],
            args.passes,
        ),
        "pipeline_cpu_ms": cpu_ms_per_call(
            [lambda r=r: generate_safe_roast(roaster, r, r.author_username) for r in requests], args.passes
        ),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "nproc": os.cpu_count(),
    }
    if not args.json_only:
        print(
            f"{'offline roaster, new words':<28}{figures['roaster_first_sight_cpu_ms']:>8.3f} ms CPU a roast"
        )
        print(f"{'offline roaster':<28}{figures['roaster_cpu_ms']:>8.3f} ms CPU a roast")
        print(f"{'safety check':<28}{figures['safety_cpu_ms']:>8.3f} ms CPU a draft")
        print(f"{'generate_safe_roast':<28}{figures['pipeline_cpu_ms']:>8.3f} ms CPU a mention")
        print(
            f"({figures['mentions']} dev-set mentions x {args.passes} passes; load {figures['load_avg_1m']})"
        )
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
