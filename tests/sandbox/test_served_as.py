"""The sandbox serves X's longest posts and, on request, a mention the way a broken or changed X
might: fields left out or with odd values. The store keeps the real tweet."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import BEARER, BOT_ID, mention

LONGEST_POST = 25_000


def mentions_json(control: httpx.Client) -> list[dict[str, object]]:
    answer = control.get(
        f"/2/users/{BOT_ID}/mentions",
        params={"tweet.fields": "author_id,created_at,conversation_id,entities", "expansions": "author_id"},
        headers=BEARER,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_a_post_of_x_longest_length_is_accepted_and_served_whole(control: httpx.Client) -> None:
    text = "roast me " + "a" * (LONGEST_POST - len("roast me "))
    mention_id = mention(control, text)
    [served] = mentions_json(control)
    assert served["id"] == mention_id and served["text"] == f"@roastbot {text}"
    too_long = control.post("/sandbox/mentions", json={"text": text + "a"})
    assert too_long.status_code == 422


def test_served_as_leaves_fields_out_or_serves_odd_values(control: httpx.Client) -> None:
    plain = mention(control, "plain")
    odd = mention(
        control,
        "odd",
        served_as={"omit": ["author_id"], "replace": {"created_at": 7, "entities": {"holograms": []}}},
    )
    by_id = {str(t["id"]): t for t in mentions_json(control)}
    assert "author_id" in by_id[plain] and isinstance(by_id[plain]["created_at"], str)
    assert "author_id" not in by_id[odd]
    assert by_id[odd]["created_at"] == 7 and by_id[odd]["entities"] == {"holograms": []}
    # The real tweet is unchanged: the sandbox's own view still has its author and time.
    view = control.get(f"/sandbox/tweets/{odd}").json()["tweet"]
    assert view["author_id"] == by_id[plain]["author_id"] and isinstance(view["created_at"], str)


def test_served_as_accepts_only_omit_and_replace(control: httpx.Client) -> None:
    answer = control.post("/sandbox/mentions", json={"text": "x", "served_as": {"explode": True}})
    assert answer.status_code == 422
