"""Fixtures for the roasting tests: the LLM fake over real HTTP, the hostile corpus."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from bench.ports import free_port
from roastbot.roasting import OpenAIRoaster, RoastRequest, TogetherRoaster
from roastbot.roasting.chat_roaster import ChatRoaster
from sandbox.llm_fake import FakeConfig, create_app

CORPUS_PATH = Path(__file__).resolve().parent.parent / "data" / "hostile_mentions.json"
MODEL = "fake/roaster-1"


@dataclass
class FakeLLM:
    """Handle on a running fake: its URL and its control API."""

    url: str
    http: httpx.Client

    def faults(self, **changes: object) -> dict[str, object]:
        response = self.http.post(f"{self.url}/sandbox/faults", json=changes)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, object]:
        return self.http.get(f"{self.url}/sandbox/stats").json()

    def reset(self) -> None:
        self.http.post(f"{self.url}/sandbox/reset").raise_for_status()

    def roaster(self, timeout_s: float = 5.0, api_key: str = "test-key") -> TogetherRoaster:
        return TogetherRoaster(api_key=api_key, base_url=self.url, model=MODEL, timeout_s=timeout_s)

    def openai_roaster(self, timeout_s: float = 5.0, api_key: str = "test-key") -> OpenAIRoaster:
        """The openai SDK's base URL is the API root: /v1 included."""
        return OpenAIRoaster(api_key=api_key, base_url=f"{self.url}/v1", model=MODEL, timeout_s=timeout_s)

    def sdk_roaster(self, sdk: str, **options: object) -> ChatRoaster:
        return self.openai_roaster(**options) if sdk == "openai" else self.roaster(**options)  # type: ignore[arg-type]

    def revoke(self, *keys: str) -> None:
        self.http.post(f"{self.url}/sandbox/keys", json={"revoked": list(keys)}).raise_for_status()

    def last_request(self) -> dict[str, object]:
        return self.http.get(f"{self.url}/sandbox/last_request").json()


def _wait_ready(url: str, thread: threading.Thread, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the LLM fake's server thread died during start-up")
        try:
            if httpx.get(f"{url}/sandbox/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.02)
    raise TimeoutError(f"LLM fake not ready at {url} after {deadline_s}s: {last}")


@pytest.fixture(scope="session")
def llm_fake_server() -> Iterator[FakeLLM]:
    """The fake on a free port, served by uvicorn in a thread for the whole session."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(FakeConfig(port=port, seed=7)), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, name="llm-fake", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, thread, deadline_s=15)
    with httpx.Client(timeout=5) as http:
        yield FakeLLM(url, http)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def llm_fake(llm_fake_server: FakeLLM) -> FakeLLM:
    """The session's fake with start-up faults and zeroed counters."""
    llm_fake_server.reset()
    return llm_fake_server


def load_corpus() -> list[dict[str, object]]:
    return json.loads(CORPUS_PATH.read_text(encoding="utf-8"))


def corpus_request(entry: dict[str, object], attempt: int = 0) -> RoastRequest:
    return RoastRequest(
        mention_id=str(entry["id"]),
        text=str(entry["text"]),
        author_username=str(entry["author_username"]),
        author_name=str(entry.get("author_name", "")),
        author_description=str(entry.get("author_description", "")),
        referenced_text=entry.get("referenced_text"),  # type: ignore[arg-type]
        referenced_author_username=entry.get("referenced_author_username"),  # type: ignore[arg-type]
        attempt=attempt,
    )


def varied_mentions(count: int = 60) -> list[RoastRequest]:
    """Ordinary mentions with different topics, hashtags, emoji, bios and replies."""
    topics = [
        ("my 14 browser tabs", "#productivity", "😭"),
        ("my sourdough starter obsession", "#baking", "🍞"),
        ("my crypto portfolio going sideways", "#HODL", "📉"),
        ("my gym selfies", "#GymLife", "💪"),
        ("my spreadsheet of every coffee I drank", "#data", "☕"),
        ("my fantasy football team", "#FantasyFootball", "🏈"),
        ("my houseplant collection", "#PlantParent", "🌿"),
        ("my side hustle selling candles", "#entrepreneur", "🕯️"),
        ("my mechanical keyboard addiction", "#keyboards", "⌨️"),
        ("my podcast with four listeners", "#podcast", "🎙️"),
        ("my marathon training schedule", "#running", "🏃"),
        ("my unfinished novel", "#amwriting", "📚"),
        ("my smart fridge", "#smarthome", "🤖"),
        ("my pineapple pizza takes", "#pizza", "🍕"),
        ("my vinyl records", "#vinyl", "🎶"),
        ("my standing desk", "#wfh", "💻"),
        ("my habit of replying to every thread", "#threads", "🧵"),
        ("my daily motivational quotes", "#MondayMotivation", "🚀"),
        ("my indie game that is almost done", "#gamedev", "🎮"),
        ("my collection of conference lanyards", "#networking", "🎉"),
    ]
    bios = [
        "Founder. Visionary. Coffee enthusiast.",
        "",
        "Professional overthinker and part time chef",
        "DMs open for hot takes",
    ]
    openers = ["@roastbot roast", "@roastbot go on, roast", "@roastbot please roast", "hey @roastbot roast"]
    mentions = []
    for index in range(count):
        topic, tag, emoji = topics[index % len(topics)]
        opener = openers[index % len(openers)]
        text = f"{opener} {topic} {tag} {emoji}" if index % 3 else f"{opener} {topic}!"
        referenced = None
        if index % 7 == 0:
            text, referenced = "@roastbot roast this", f"Unpopular opinion: {topic[3:]} is a personality"
        mentions.append(
            RoastRequest(
                mention_id=str(1_000_000 + index),
                text=text,
                author_username=f"poster{index}",
                author_name=f"Poster {index}",
                author_description=bios[index % len(bios)],
                referenced_text=referenced,
                referenced_author_username="someone" if referenced else None,
            )
        )
    return mentions
