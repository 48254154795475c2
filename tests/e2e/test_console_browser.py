"""The console in a real browser against the whole stack in sandbox mode (supervisord, Kafka,
Redis, X sandbox, LLM fake): live numbers, fetch now, pause and resume, a dead letter replayed
from the page until it is replied to. Screenshots of every page go to test-artifacts/."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from roastbot.control import Control
from roastbot.dead_letters import DeadLetter, dead_letter_headers
from roastbot.kafka_wiring import make_producer
from roastbot.keys import RedisKeys
from roastbot.lifecycle import State
from roastbot.mention_store import ClaimVerdict, MentionStore
from roastbot.models import Mention
from roastbot.redis_conn import connect_redis
from tests.console.seeding import read_topic, seed_results, source
from tests.helpers import wait_for
from tests.stack_fixture import RunningStack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGES = {
    "overview": "overview",
    "roasts": "roasts",
    "results": "results",
    "dead_letters": "dead-letters",
    "approvals": "approvals",
    "controls": "controls",
    "processes": "processes",
}
UI_TIMEOUT_MS = 30_000
expect.set_options(timeout=UI_TIMEOUT_MS)


HOME = Path(__file__).resolve().parents[2]
# What supervisord runs in sandbox mode (python -m sandbox.x_api, python -m sandbox.llm_fake,
# the consumer's roaster). Without them the stack cannot start: say so instead of failing.
STACK_PARTS = ("sandbox/x_api/__main__.py", "sandbox/llm_fake/__main__.py", "roastbot/roasting/__init__.py")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    missing = [part for part in STACK_PARTS if not (HOME / part).exists()]
    if missing:
        pytest.skip(f"the sandbox stack is not complete yet (missing {', '.join(missing)})")
    # No per-author limit: every sandbox mention comes from the same author. The tracker reads
    # each reply 1 s and 3 s after posting (its +1 h and +24 h, scaled for the test).
    with running_stack(
        tmp_path_factory.mktemp("console-e2e"),
        console=True,
        PER_AUTHOR_LIMIT_PER_HOUR="0",
        ENGAGEMENT_CHECKS_S="[1, 3]",
        ENGAGEMENT_INTERVAL_S="0.5",
    ) as running:
        # RUNNING in Supervisor's eyes precedes listening: wait until both servers answer.
        wait_for(lambda: answers(running.x, "/sandbox/health"), 30, "the X sandbox to answer")
        with httpx.Client(base_url=running.console_url, timeout=5) as console:
            wait_for(lambda: answers(console, "/_stcore/health"), 30, "the console to answer")
        # The producer's first poll starts from "now": mentions made before it are history.
        since_id = RedisKeys.of(running.settings).since_id
        wait_for(lambda: connect_redis(running.settings).exists(since_id), 60, "the producer's first poll")
        yield running


def answers(client: httpx.Client, path: str) -> bool:
    try:
        return client.get(path).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})  # type: ignore[attr-defined]
    opened = context.new_page()
    opened.set_default_timeout(UI_TIMEOUT_MS)
    yield opened
    context.close()


# --- helpers ---------------------------------------------------------------------------------
HEADINGS = {
    "overview": "Overview",
    "roasts": "Roasts",
    "results": "Results",
    "dead_letters": "Dead letters",
    "approvals": "Approvals",
    "controls": "Controls",
    "processes": "Processes",
}


def open_console(page: object, stack: RunningStack, name: str) -> None:
    """Load a page and wait until its script has drawn the heading."""
    page.goto(f"{stack.console_url}/{PAGES[name]}")  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name=HEADINGS[name]).first).to_be_visible()  # type: ignore[attr-defined]
    wait_until_idle(page)


def wait_until_idle(page: object) -> None:
    """The script run finished (Streamlit marks its root with the run state)."""
    idle = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')  # type: ignore[attr-defined]
    expect(idle).to_be_visible()
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)  # type: ignore[attr-defined]


def visible_text(page: object, text: str | re.Pattern[str]) -> object:
    """Text a person sees (not the data grid's hidden accessibility copy)."""
    return page.get_by_text(text).filter(visible=True)  # type: ignore[attr-defined]


def screenshot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)  # type: ignore[attr-defined]


def click(page: object, label: str) -> None:
    """Click a button; callers then wait for what the click must show."""
    page.get_by_role("button", name=label, exact=True).first.click()  # type: ignore[attr-defined]


def new_mention(stack: RunningStack, text: str) -> str:
    """Mention the bot in the sandbox (from a new author each time); returns the mention's id."""
    author = {"username": f"fan_{uuid.uuid4().hex[:8]}"}
    answer = stack.x.post("/sandbox/mentions", json={"text": text, "author": author})
    answer.raise_for_status()
    return str(answer.json()["ids"][0])


def replies_to(stack: RunningStack, tweet_id: str) -> list[dict[str, object]]:
    """The bot's replies to a tweet, as the sandbox saw them posted."""
    answer = stack.x.get(f"/sandbox/tweets/{tweet_id}/replies")
    answer.raise_for_status()
    return [reply for reply in answer.json()["replies"] if reply.get("by_bot")]


def counter(stack: RunningStack, name: str) -> int:
    client = connect_redis(stack.settings)
    return int(client.hget(RedisKeys.of(stack.settings).counters, name) or 0)


def polls_settled(stack: RunningStack, quiet_s: float = 3.0) -> object:
    """A condition: no poll for ``quiet_s`` (the producer sleeps on its interval)."""
    seen = {"count": counter(stack, "polls"), "since": time.monotonic()}

    def settled() -> bool:
        count = counter(stack, "polls")
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= quiet_s

    return settled


def consumers_paused(stack: RunningStack, paused: bool, after: float) -> bool:
    """Every consumer beat since ``after`` (plus a switch check) and reports the wanted state."""
    client = connect_redis(stack.settings)
    keys = RedisKeys.of(stack.settings)
    beats = [client.hgetall(keys.heartbeat(w)) for w in client.zrange(keys.workers, 0, -1)]
    consumers = [b for b in beats if b.get("role") == "consumer"]
    return bool(consumers) and all(
        float(b.get("last_beat") or 0) > after + 1.0 and (b.get("status") == "paused") == paused
        for b in consumers
    )


def published_mention(stack: RunningStack, mention_id: str) -> tuple[bytes, bytes] | None:
    """The mention's Kafka value as the producer published it (key, value), once it is there."""
    for value in read_topic(stack.settings, stack.settings.kafka_topic_mentions):
        if Mention.from_bytes(value).id == mention_id:
            return Mention.from_bytes(value).conversation_id.encode(), value
    return None


# --- the scenarios ---------------------------------------------------------------------------
def test_overview_shows_live_numbers(stack: RunningStack, page: object) -> None:
    mention_id = new_mention(stack, f"roast my live numbers {uuid.uuid4().hex[:6]}")
    open_console(page, stack, "overview")
    replies_out = (
        page.get_by_test_id("stMetric").filter(has_text="Replies out").get_by_test_id("stMetricValue")
    )  # type: ignore[attr-defined]
    # The fragment refreshes itself: no reload, the number moves once the reply is posted.
    wait_for(
        lambda: replies_to(stack, mention_id), 60, "the reply in the sandbox (the group may still rebalance)"
    )
    expect(replies_out).not_to_have_text("0", timeout=30_000)
    expect(visible_text(page, re.compile(r"\d+ running"))).to_be_visible()  # type: ignore[attr-defined]
    screenshot(page, "overview")


def test_fetch_now_turns_a_new_mention_into_a_roast(stack: RunningStack, page: object) -> None:
    open_console(page, stack, "controls")
    page.get_by_label("Seconds between polls").fill("3600")  # type: ignore[attr-defined]
    page.get_by_label("Seconds between polls").press("Enter")  # type: ignore[attr-defined]
    click(page, "Apply")
    expect(visible_text(page, "Polling interval: 3600 s")).to_be_visible()  # type: ignore[attr-defined]
    wait_for(polls_settled(stack), 30, "the producer to sleep on the long interval")
    marker = uuid.uuid4().hex[:8]
    mention_id = new_mention(stack, f"roast my fetch-now button {marker}")
    with pytest.raises(AssertionError):  # the producer sleeps on the one-hour interval
        wait_for(lambda: replies_to(stack, mention_id), 3, "no reply before fetch now")

    click(page, "Fetch now")
    expect(visible_text(page, "Asked the producer to poll X now.")).to_be_visible()  # type: ignore[attr-defined]
    wait_for(lambda: replies_to(stack, mention_id), 30, "the reply after fetch now")

    open_console(page, stack, "roasts")
    page.get_by_label("Search mention, roast, author or reason").fill(marker)  # type: ignore[attr-defined]
    page.get_by_label("Search mention, roast, author or reason").press("Enter")  # type: ignore[attr-defined]
    # The table's cells also hold the text, in the grid's hidden accessibility layer.
    expect(visible_text(page, f"roast my fetch-now button {marker}").first).to_be_visible()  # type: ignore[attr-defined]
    expect(visible_text(page, re.compile(r"^1 of \d+ recent roasts"))).to_be_visible()  # type: ignore[attr-defined]
    screenshot(page, "roasts")
    Control(connect_redis(stack.settings), RedisKeys.of(stack.settings)).set_switch("poll_interval_s", None)


def test_pause_stops_replies_and_resume_restarts_them(stack: RunningStack, page: object) -> None:
    open_console(page, stack, "controls")
    paused_at = time.time()
    click(page, "Pause consumers")
    expect(visible_text(page, "Consumers: paused")).to_be_visible()  # type: ignore[attr-defined]
    wait_for(lambda: consumers_paused(stack, True, paused_at), 15, "every consumer to report paused")
    published = counter(stack, "published")
    mention_id = new_mention(stack, f"roast my pause button {uuid.uuid4().hex[:6]}")
    click(page, "Fetch now")
    wait_for(lambda: counter(stack, "published") > published, 20, "the mention on Kafka")
    with pytest.raises(AssertionError):
        wait_for(lambda: replies_to(stack, mention_id), 4, "no reply while paused")

    click(page, "Resume consumers")
    expect(visible_text(page, "Consumers: running")).to_be_visible()  # type: ignore[attr-defined]
    wait_for(lambda: replies_to(stack, mention_id), 30, "the reply after resume")
    screenshot(page, "controls")


def test_dead_letter_replayed_from_the_page_ends_replied(stack: RunningStack, page: object) -> None:
    settings = stack.settings
    client = connect_redis(settings)
    keys = RedisKeys.of(settings)
    control = Control(client, keys)
    # Consumers gave up on this mention: it is marked dead-lettered (what a consumer does
    # after its retries) before it reaches Kafka, and its bytes go to the DLQ with the headers.
    paused_at = time.time()
    control.set_switch("paused", True)
    wait_for(lambda: consumers_paused(stack, True, paused_at), 15, "every consumer to report paused")
    mention_id = new_mention(stack, f"roast my dead letter {uuid.uuid4().hex[:6]}")
    states = MentionStore(client, keys, "e2e-consumer", lease_s=30)
    claim = states.claim(mention_id)
    assert claim.verdict == ClaimVerdict.CLAIMED, (claim, states.record(mention_id))
    states.move(mention_id, State.CLAIMED, State.DEAD_LETTERED, reason="retries_exhausted")
    control.request_fetch_now()
    key, value = wait_for(lambda: published_mention(stack, mention_id), 30, "the mention on Kafka")
    producer = make_producer(settings)

    producer.produce(
        settings.kafka_topic_dlq,
        key=key,
        value=value,
        headers=dead_letter_headers(
            DeadLetter("retries_exhausted", "post: gave up", 6, time.time()),
            source(settings.kafka_topic_mentions, 0, 0),
        ),
    )
    assert producer.flush(15) == 0
    duplicates = counter(stack, "duplicate_delivery")
    control.set_switch("paused", False)
    wait_for(
        lambda: counter(stack, "duplicate_delivery") > duplicates, 30, "the original delivery to be dropped"
    )
    assert not replies_to(stack, mention_id)

    open_console(page, stack, "dead_letters")
    expect(visible_text(page, re.compile(r"\d+ matching of \d+ dead letters"))).to_be_visible()  # type: ignore[attr-defined]
    click(page, "Replay this one")  # the detail shows the newest dead letter: ours
    expect(visible_text(page, "Replayed 1 of 1 dead letters.")).to_be_visible()  # type: ignore[attr-defined]
    wait_for(lambda: replies_to(stack, mention_id), 30, "the replayed mention's reply")
    replayed = [Mention.from_bytes(v) for v in read_topic(settings, settings.kafka_topic_mentions)]
    assert sum(1 for m in replayed if m.id == mention_id and m.replay_of) == 1
    open_console(page, stack, "dead_letters")
    expect(visible_text(page, re.compile(rf"Newest: mention {mention_id} .* replied"))).to_be_visible()  # type: ignore[attr-defined]
    screenshot(page, "dead_letters")


def page_not_found(page: object) -> object:
    """Streamlit's dialog for a URL no registered page has (it then runs the default page)."""
    return visible_text(page, "Page not found")


def test_every_page_opens_at_its_own_url(stack: RunningStack, page: object) -> None:
    for name, path in PAGES.items():
        open_console(page, stack, name)  # typed in the address bar: a new session each time
        expect(page_not_found(page)).to_have_count(0)
        assert page.url == f"{stack.console_url}/{path}"  # type: ignore[attr-defined]
    page.goto(stack.console_url)  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", name="Overview").first).to_be_visible()  # type: ignore[attr-defined]
    wait_until_idle(page)
    expect(page_not_found(page)).to_have_count(0)
    assert page.url == f"{stack.console_url}/overview"  # type: ignore[attr-defined]


def test_screenshots_of_the_remaining_pages(stack: RunningStack, page: object) -> None:
    for name in ("approvals", "processes"):
        open_console(page, stack, name)
        screenshot(page, name)
    program = page.locator("code", has_text="consumer:consumer_00")  # type: ignore[attr-defined]
    expect(program).to_be_visible()
    expect(page.get_by_role("button", name="Restart", exact=True)).to_have_count(7)  # type: ignore[attr-defined]


def test_results_show_a_posted_roast_read_by_the_tracker(stack: RunningStack, page: object) -> None:
    """The whole path: a reply posted by a consumer, read twice by the tracker program through
    the sandbox, then on the Results page beside seeded history (forged text shown as text)."""
    client = connect_redis(stack.settings)
    keys = RedisKeys.of(stack.settings)
    mention_id = new_mention(stack, f"roast my houseplant collection {uuid.uuid4().hex[:6]}")
    Control(client, keys).request_fetch_now()
    reply = wait_for(lambda: replies_to(stack, mention_id), 60, "the bot's reply")[0]
    tracked = keys.engagement_post(str(reply["id"]))
    wait_for(lambda: client.hget(tracked, "checks_done") == "2", 60, "the tracker's two reads of the reply")
    seed_results(client, stack.settings)
    open_console(page, stack, "results")
    posted = page.get_by_test_id("stMetric").filter(has_text="Posted roasts").get_by_test_id("stMetricValue")  # type: ignore[attr-defined]
    expect(posted).to_have_text(re.compile(r"^(2[5-9]|[3-9]\d)$"))  # the 24 seeded and at least ours
    expect(visible_text(page, "By origin")).to_be_visible()
    expect(page.locator('a[href*="127.0.0.1:9"]')).to_have_count(0)  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 1500, "height": 1900})  # type: ignore[attr-defined]  # the whole page
    wait_until_idle(page)
    screenshot(page, "results")
