"""X's refusals named from its structured problem: status, type, title, codes, then known texts."""

from __future__ import annotations

import pytest

from roastbot.x_refusals import KNOWN_TEXTS, refusal_code

FORBIDDEN = {"title": "Forbidden", "type": "about:blank", "status": 403}


def forbidden(detail: str) -> dict[str, object]:
    return {**FORBIDDEN, "detail": detail}


@pytest.mark.parametrize(("text", "code"), KNOWN_TEXTS)
def test_every_known_text_names_its_refusal(text: str, code: str) -> None:
    assert refusal_code(403, forbidden(text)) == code


def test_the_2026_reply_rule_is_reply_restricted() -> None:
    # X's wording since 23 Feb 2026 for self-serve tiers; the old word sniffing made it http_403.
    detail = "You can only reply to or quote posts where you are mentioned or are the author"
    assert refusal_code(403, forbidden(detail)) == "reply_restricted"
    assert refusal_code(403, forbidden(detail + ".")) == "reply_restricted"


def test_a_known_text_that_x_extends_still_matches() -> None:
    detail = (
        "Your Tweet text is too long. For more information on how X determines text length see "
        "https://github.com/twitter/twitter-text."
    )
    assert refusal_code(403, forbidden(detail)) == "too_long"
    automated = "This request looks like it might be automated. To protect our users from spam, ..."
    assert refusal_code(403, forbidden(automated)) == "automation_block"


def test_an_unknown_text_is_named_by_its_status_never_guessed_from_a_word() -> None:
    # Each of these has a word the old sniffing keyed on ("conversation", "length", "not found").
    for detail in (
        "This conversation is archived.",
        "The length of your patience is admirable.",
        "Media not found in the upload session.",
        "You are not permitted to perform this action.",
    ):
        assert refusal_code(403, forbidden(detail)) == "http_403", detail


def test_status_comes_first_then_type_then_title() -> None:
    # 401 whatever the body says.
    assert refusal_code(401, forbidden("You are not allowed to create a Tweet with duplicate content.")) == (
        "unauthorized"
    )
    unsupported = {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
        "status": 403,
    }
    assert refusal_code(403, unsupported) == "unsupported_authentication"
    assert refusal_code(403, {**unsupported, "type": "about:blank"}) == "unsupported_authentication"


def test_legacy_error_codes_before_texts() -> None:
    assert (
        refusal_code(403, {"errors": [{"code": 187, "message": "Status is a duplicate."}]}, [187])
        == "duplicate"
    )
    assert refusal_code(403, {}, [226]) == "automation_block"
    assert refusal_code(403, {}, [433]) == "reply_restricted"


def test_invalid_request_messages_are_read_after_the_detail() -> None:
    problem = {
        "errors": [{"parameters": {"text": ["..."]}, "message": "Your Tweet text is too long."}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    assert refusal_code(400, problem) == "too_long"


def test_no_body() -> None:
    assert refusal_code(403, None) == "http_403"
    assert refusal_code(404, {}) == "http_404"
