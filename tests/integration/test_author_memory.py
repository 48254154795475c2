"""Per-author memory over real Redis: an author never gets the same roast or skeleton twice
within the window, the memory stays bounded, and the runner fills it and reads it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace

import httpx
import pytest
import redis

from roastbot.author_memory import AuthorMemory
from roastbot.keys import AUTHOR_MEMORY_CAP, AUTHOR_MEMORY_WINDOW_S, RedisKeys
from roastbot.models import Mention
from roastbot.roast_request import roast_request
from roastbot.roasting import OfflineRoaster, RoastDraft, RoastRequest
from roastbot.settings import Settings
from tests.integration.runner_bench import runner_bench

pytestmark = pytest.mark.integration


def sourdough_mention(number: int) -> Mention:
    return Mention.model_validate(
        {
            "id": str(9_000_000 + number),
            "text": "@roastbot roast my sourdough starter, it died again",
            "author_id": "4242",
            "conversation_id": str(9_000_000 + number),
            "created_at": "2026-12-01T12:00:00Z",
            "processed_at": "2026-12-01T12:00:01Z",
            "author": {"id": "4242", "username": "mayabakes", "name": "Maya"},
        }
    )


def test_one_author_never_gets_the_same_roast_or_skeleton_twice(
    redis_client: redis.Redis, settings: Settings
) -> None:
    memory = AuthorMemory(redis_client, RedisKeys.of(settings))
    roaster = OfflineRoaster(seed=3)
    texts, skeletons = [], []
    # The same mention text forty times, as the consumer builds each request.
    for number in range(40):
        mention = sourdough_mention(number)
        draft = roaster.roast(roast_request(mention, 0, (), memory.history(mention.author_id)))
        memory.remember(mention.author_id, draft.text, draft.skeleton)
        texts.append(draft.text)
        skeletons.append(draft.skeleton)
    assert len(set(texts)) == len(texts)
    assert len(set(skeletons)) == len(skeletons), [s for s in skeletons if skeletons.count(s) > 1]
    assert all("sourdough starter" in text for text in texts)


def test_memory_is_bounded_expires_and_forgets_old_roasts(
    redis_client: redis.Redis, settings: Settings
) -> None:
    keys = RedisKeys.of(settings)
    memory = AuthorMemory(redis_client, keys)
    key = keys.author_roast_memory("77")
    stale = json.dumps({"text": "an old roast", "skeleton": "old _"})
    redis_client.zadd(key, {stale: time.time() - AUTHOR_MEMORY_WINDOW_S - 60})
    assert memory.history("77").texts == ()  # outside the window: not held against anyone

    for number in range(AUTHOR_MEMORY_CAP + 10):
        memory.remember("77", f"roast number {number}", f"skeleton {number} _")
    assert redis_client.zcard(key) == AUTHOR_MEMORY_CAP
    assert 0 < redis_client.ttl(key) <= AUTHOR_MEMORY_WINDOW_S
    history = memory.history("77")
    assert history.texts[0] == f"roast number {AUTHOR_MEMORY_CAP + 9}"  # newest first
    assert history.recent == tuple(
        f"roast number {n}" for n in range(AUTHOR_MEMORY_CAP + 9, AUTHOR_MEMORY_CAP + 6, -1)
    )
    assert "skeleton 0 _" not in history.skeletons and len(history.skeletons) == AUTHOR_MEMORY_CAP
    assert stale not in set(redis_client.zrange(key, 0, -1))


def test_another_author_starts_with_a_clean_memory(redis_client: redis.Redis, settings: Settings) -> None:
    memory = AuthorMemory(redis_client, RedisKeys.of(settings))
    memory.remember("1", "for the first author", "first _")
    assert memory.history("2").texts == ()
    assert memory.history("1").skeletons == ("first _",)


@dataclass
class RecordingRoaster:
    """The offline roaster, keeping every request the runner sends it."""

    inner: OfflineRoaster = field(default_factory=OfflineRoaster)
    requests: list[RoastRequest] = field(default_factory=list)
    drafts: list[RoastDraft] = field(default_factory=list)
    name: str = "offline"

    def roast(self, request: RoastRequest) -> RoastDraft:
        self.requests.append(request)
        self.drafts.append(self.inner.roast(request))
        return self.drafts[-1]


def test_the_runner_shows_the_roaster_what_the_author_got_and_remembers_what_it_writes(
    x: httpx.Client, sandbox_settings: Settings
) -> None:
    settings = replace_limits(sandbox_settings)
    roaster = RecordingRoaster()
    with runner_bench(settings, x, roaster=roaster) as bot:
        first = bot.mention("roast my sourdough starter, it died again", author={"username": "mayabakes"})
        first_state = bot.deliver(first)
        first_draft = roaster.drafts[-1]
        second = bot.mention("roast my sourdough starter again", author={"username": "mayabakes"})
        second_state = bot.deliver(second)
        assert first_state["state"] == second_state["state"] == "posted"
        assert first_draft.text == first_state["roast"] and first_draft.skeleton
        request = roaster.requests[-1]
        assert request.recent_roasts == (first_state["roast"],)
        assert request.avoid_skeletons == (first_draft.skeleton,)
        assert first_state["roast"] in request.avoid_texts
        assert roaster.drafts[-1].skeleton != first_draft.skeleton
        author_id = bot.fetched(second).author_id
        history = AuthorMemory(bot.runner.store.client, bot.keys).history(author_id)
        assert history.texts == (second_state["roast"], first_state["roast"])


def replace_limits(settings: Settings) -> Settings:
    return settings.model_copy(update={"per_author_limit_per_hour": 10, "per_conversation_limit": 0})


def test_roast_request_without_history_avoids_only_the_runs_texts() -> None:
    request = roast_request(sourdough_mention(1), 2, ("already refused",))
    assert request.avoid_texts == ("already refused",)
    assert request.recent_roasts == () and request.avoid_skeletons == ()
    assert replace(request, attempt=0).attempt == 0
