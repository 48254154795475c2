"""The OpenAI-compatible roaster, the guard model and the persona through the runner, over real
Redis and HTTP (X sandbox, LLM fake): what a mention's records keep and how it waits."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from pydantic import SecretStr

from roastbot.approvals import Decision
from roastbot.holds import Holds
from roastbot.roasting import load_persona
from roastbot.settings import Settings
from sandbox.llm_fake.model import GUARD_UNSAFE_MARKER
from tests.helpers import ServerThread, free_port, wait_for
from tests.integration.pipeline import Pipeline, pipeline
from tests.integration.runner_bench import runner_bench

pytestmark = pytest.mark.integration

GUARD = "meta-llama/Llama-Guard-4-12B"


@pytest.fixture
def openai_settings(sandbox_settings: Settings, llm_fake: ServerThread) -> Settings:
    return sandbox_settings.model_copy(
        update={
            "roaster": "openai",
            "llm_base_url": f"{llm_fake.url}/v1",
            "llm_api_key": SecretStr("sandbox-openai-key"),
            "roast_model": "fake/roaster-1",
            "llm_timeout_s": 2.0,
        }
    )


def roast_records(bot: Pipeline, mention_id: str) -> list[dict[str, object]]:
    raw = bot.control.client.lrange(bot.keys.recent_roasts, 0, -1)
    return [record for record in map(json.loads, raw) if record["mention_id"] == mention_id]


def test_each_roast_records_roaster_model_and_persona_version_on_both_paths(
    x: httpx.Client, openai_settings: Settings
) -> None:
    version = load_persona().version
    with runner_bench(openai_settings, x) as bot:
        direct = bot.mention("roast my sourdough starter")
        assert bot.deliver(direct)["state"] == "posted"
        [posted] = roast_records(bot, direct)
        assert (posted["roaster"], posted["model"], posted["prompt_version"]) == (
            "openai",
            "fake/roaster-1",
            version,
        )
        assert "sourdough" in str(posted["roast"])

        # Approval used to lose it: the run applying the decision starts from the state hash.
        parked = bot.park("roast my marathon training schedule")
        assert bot.decide(parked, Decision.APPROVE)["state"] == "posted"
        records = {record["status"]: record for record in roast_records(bot, parked)}
        assert set(records) == {"pending_approval", "posted"}
        for record in records.values():
            assert (record["roaster"], record["prompt_version"]) == ("openai", version), record


def test_a_refused_openai_key_holds_generation_naming_llm_api_key(
    x: httpx.Client, llm: httpx.Client, openai_settings: Settings
) -> None:
    llm.post("/sandbox/keys", json={"revoked": ["sandbox-openai-key"]})
    with runner_bench(openai_settings, x) as bot:
        mention_id = bot.mention("roast me while the key is bad")
        holds = Holds(bot.runner.store.client, bot.keys)
        delivery = threading.Thread(target=bot.deliver, args=(mention_id,), daemon=True)
        delivery.start()
        [hold] = wait_for(holds.active, 30, "the hold")
        assert (hold.code, hold.stops, hold.credential) == ("llm_auth", "generating", "LLM_API_KEY")
        assert bot.state(mention_id)["state"] == "generating"  # waiting, not dead-lettered
        llm.post("/sandbox/keys", json={"revoked": []})  # the operator's new key
        holds.lift()
        delivery.join(timeout=30)
        assert bot.state(mention_id)["state"] == "posted"
        assert bot.counter("dead_lettered") == 0


def test_the_guard_refuses_what_it_classifies_unsafe(x: httpx.Client, openai_settings: Settings) -> None:
    settings = openai_settings.model_copy(update={"guard_model": GUARD})
    with runner_bench(settings, x) as bot:
        flagged = bot.mention(f"roast my {GUARD_UNSAFE_MARKER}")
        state = bot.deliver(flagged)
        assert (state["state"], state.get("reason")) == ("skipped", "safety:guard:S10"), state
        assert not bot.replies(flagged)
        assert bot.deliver(bot.mention("roast my standing desk"))["state"] == "posted"


def test_a_guard_that_cannot_answer_lets_nothing_through(x: httpx.Client, openai_settings: Settings) -> None:
    settings = openai_settings.model_copy(
        update={
            "guard_model": GUARD,
            "guard_base_url": f"http://127.0.0.1:{free_port()}/v1",  # nobody listens
            "guard_api_key": SecretStr("guard-key"),
            "consumer_max_retries": 1,
        }
    )
    with runner_bench(settings, x) as bot:
        mention_id = bot.mention("roast my standing desk")
        state = bot.deliver(mention_id)
        # Retried as a transient error, then given up on: never posted unclassified.
        assert (state["state"], state["reason"]) == ("dead_lettered", "retries_exhausted"), state
        assert bot.counter("failed:roast_transient") == 2
        assert not bot.replies(mention_id)


def test_through_the_consumer_with_a_guard_each_roast_records_its_persona_version(
    x: httpx.Client, openai_settings: Settings
) -> None:
    settings = openai_settings.model_copy(update={"guard_model": GUARD})
    with pipeline(settings, x) as bot:
        good = bot.mention("roast my mechanical keyboard addiction", author={"username": "keys"})
        flagged = bot.mention(f"roast my {GUARD_UNSAFE_MARKER} collection", author={"username": "bait"})
        assert bot.final_state(good)["state"] == "posted"
        assert bot.final_state(flagged)["reason"] == "safety:guard:S10"
        [posted] = roast_records(bot, good)
    assert (posted["roaster"], posted["prompt_version"]) == ("openai", load_persona().version)
    assert not bot.replies(flagged)
