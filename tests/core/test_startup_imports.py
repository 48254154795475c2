"""A worker's start-up imports: the SDKs of the LLM roasters load only when a roaster uses them.

Every supervisord program is a fresh interpreter, and the test suite starts hundreds of them;
importing openai and together costs about a second of CPU each time, for nothing on the
offline roaster, the producer, the tracker and the console. YAKE (numpy, networkx: about
0.25 s) loads for the offline roaster's first keyword ranking, twitter-text (about 0.3 s)
for the first post priced or roast checked: neither at the producer's or tracker's start,
nor the roasters' word data, which the persona check in their settings once pulled in.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

SDKS = ("openai", "together")
WORKERS = ("workers.consumer", "workers.producer", "workers.tracker")


def _modules_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(run.stdout.split())


@pytest.mark.parametrize("worker", WORKERS)
def test_a_worker_starts_without_the_llm_sdks(worker: str) -> None:
    loaded = _modules_after(f"import {worker}")
    assert loaded.isdisjoint(SDKS), sorted(loaded & set(SDKS))


@pytest.mark.parametrize("worker", WORKERS)
def test_a_worker_starts_without_yake(worker: str) -> None:
    assert "yake" not in _modules_after(f"import {worker}")


@pytest.mark.parametrize("worker", ["workers.producer", "workers.tracker"])
def test_a_worker_that_never_roasts_starts_without_the_roasters_data(worker: str) -> None:
    # Its settings, validated, read the persona: that must not import the whole roasting package.
    loaded = _modules_after(f"import {worker}; from roastbot.settings import Settings; Settings()")
    assert "roastbot.roasting.persona" in loaded  # the validation ran
    heavy = {"twitter_text", "wordfreq", "simplemma", "yake", "roastbot.roasting.offline"}
    assert loaded.isdisjoint(heavy), sorted(loaded & heavy)


def test_pricing_a_post_loads_twitter_text() -> None:
    loaded = _modules_after(
        "from roastbot.spend import X_POST_WITH_URL, Prices; "
        "assert Prices.post_item('see https://x.com') == X_POST_WITH_URL"
    )
    assert "twitter_text" in loaded


def test_the_together_roaster_loads_its_sdk_when_it_is_built() -> None:
    loaded = _modules_after(
        "from roastbot.roasting import build_roaster; "
        "build_roaster('together', api_key='k', base_url='http://127.0.0.1:9', model='m', timeout_s=1, seed=1)"
    )
    assert "together" in loaded
