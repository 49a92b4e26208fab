"""DLP on the wire: blocks, flags, the cf-aig-dlp header, streams, the cache and the logs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.client import log_filter
from pytest_aigw.fake.answers import DEFAULT_CONTENT

KEYS = {"authorization": "Bearer sk-test"}
PROFILE = "12345678-90ab-cdef-1234-567890abcdef"
REQUEST_BLOCKED = "Request content blocked due to DLP policy violations"
RESPONSE_BLOCKED = "Response content blocked due to DLP policy violations"
TTL = {"cf-aig-cache-ttl": "60"}


def post(
    gw: MockGateway, prompt: str = "hello", headers: Mapping[str, str] | None = None, **more: Any
) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], **more}
    url = gw.url("openai") + "/chat/completions"
    return httpx.post(url, json=body, headers={**KEYS, **(headers or {})})


def dlp_header(reply: httpx.Response) -> Any:
    return json.loads(reply.headers["cf-aig-dlp"])


def test_a_blocked_request_gets_400_code_2029_and_the_header() -> None:
    with MockGateway() as gw:
        gw.dlp("request", profiles=[PROFILE], policy="block_financial_data", prompt="4111")
        reply = post(gw, "my card is 4111 1111 1111 1111")
    assert reply.status_code == 400
    body = reply.json()
    assert (body["error"], body["internalCode"], body["name"]) == (
        [{"code": 2029, "message": REQUEST_BLOCKED}],
        2029,
        "AiGatewayError",
    )
    (finding,) = dlp_header(reply)["findings"]
    assert dlp_header(reply)["action"] == "BLOCK"
    assert finding["policy_ids"] == ["block_financial_data"]
    assert finding["check"] == "REQUEST"
    assert finding["profile"]["profile_id"] == PROFILE
    assert finding["profile"]["context"] == {}
    assert len(finding["profile"]["entry_ids"]) == 1
    assert gw.calls.last.response_headers["cf-aig-dlp"] == reply.headers["cf-aig-dlp"]


def test_a_blocked_response_gets_400_code_2030_and_the_answer_is_discarded() -> None:
    with MockGateway() as gw:
        gw.respond("the customer's SSN is 123-45-6789")
        gw.dlp("response", profiles=[PROFILE])
        reply = post(gw)
    assert reply.status_code == 400
    assert reply.json()["error"] == [{"code": 2030, "message": RESPONSE_BLOCKED}]
    assert "6789" not in reply.text
    assert dlp_header(reply)["findings"][0]["check"] == "RESPONSE"


def test_a_flag_returns_the_original_answer_with_the_header() -> None:
    with MockGateway() as gw:
        gw.dlp("both", action="flag", profiles=[PROFILE, "p-2"], policy="flag_pii")
        reply = post(gw)
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == DEFAULT_CONTENT
    header = dlp_header(reply)
    assert header["action"] == "FLAG"
    checks = [(f["check"], f["profile"]["profile_id"]) for f in header["findings"]]
    assert checks == [
        ("REQUEST", PROFILE),
        ("REQUEST", "p-2"),
        ("RESPONSE", PROFILE),
        ("RESPONSE", "p-2"),
    ]


def test_requests_no_policy_matches_carry_no_header() -> None:
    with MockGateway() as gw:
        gw.dlp("request", prompt="secret")
        reply = post(gw, "hello")
    assert reply.status_code == 200
    assert "cf-aig-dlp" not in reply.headers


def test_the_log_carries_the_dlp_fields_and_dlp_action_filters_on_them() -> None:
    with MockGateway() as gw:
        gw.dlp("request", action="flag", profiles=[PROFILE], policy="pii", prompt="flag me")
        gw.dlp("response", profiles=["p-9"], policy="secrets", prompt="block me")
        flagged = post(gw, "flag me").headers["cf-aig-log-id"]
        blocked = post(gw, "block me").headers["cf-aig-log-id"]
        clean = post(gw, "hello").headers["cf-aig-log-id"]

        def listed(*values: str, operator: str = "eq") -> list[str]:
            found = gw.logs.list(filters=[log_filter("dlp_action", operator, *values)])
            return [log.id for log in found.logs]

        log = gw.logs.get(flagged).raw
        assert listed("FLAG") == [flagged]
        assert listed("BLOCK") == [blocked]
        assert sorted(listed("FLAG", "BLOCK")) == sorted([flagged, blocked])
        assert clean in listed("BLOCK", operator="neq")
    assert log["dlp_action"] == "FLAG"
    assert log["dlp_check"] == "REQUEST"
    assert log["dlp_policy_ids"] == ["pii"]
    assert log["dlp_profile_ids"] == [PROFILE]
    assert len(log["dlp_entry_ids"]) == 1
    assert "dlp_action" not in gw.logs.get(clean).raw


def flagged_stream(check: Literal["request", "response"]) -> tuple[httpx.Response, list[bytes]]:
    """A chat stream through a gateway whose DLP flags in *check*: the reply, its chunks."""
    with MockGateway() as gw:
        gw.dlp(check, action="flag", profiles=[PROFILE])
        url = gw.url("openai") + "/chat/completions"
        body = {"model": "gpt-4o-mini", "messages": [], "stream": True}
        with httpx.stream("POST", url, json=body, headers=KEYS) as reply:
            return reply, list(reply.iter_raw())


def test_response_scanning_releases_a_stream_at_once_and_marks_it() -> None:
    reply, chunks = flagged_stream("response")
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert dlp_header(reply)["action"] == "FLAG"
    assert len(chunks) == 1
    assert chunks[0].rstrip().endswith(b"data: [DONE]")


def test_request_scanning_alone_leaves_a_stream_streaming() -> None:
    reply, chunks = flagged_stream("request")
    assert len(chunks) > 1
    assert dlp_header(reply)["findings"][0]["check"] == "REQUEST"


def test_cache_hits_skip_dlp() -> None:
    with MockGateway() as gw:
        gw.dlp("both", action="flag", profiles=[PROFILE])
        first = post(gw, headers=TTL)
        hit = post(gw, headers=TTL)
    assert (first.headers["cf-aig-cache-status"], "cf-aig-dlp" in first.headers) == ("MISS", True)
    assert (hit.headers["cf-aig-cache-status"], "cf-aig-dlp" in hit.headers) == ("HIT", False)
    assert hit.json()["choices"] == first.json()["choices"]
    assert "dlp_action" not in gw.logs.get(hit.headers["cf-aig-log-id"]).raw


def test_a_policy_added_later_does_not_touch_cached_answers() -> None:
    with MockGateway() as gw:
        post(gw, headers=TTL)
        gw.dlp("response", profiles=[PROFILE])
        hit = post(gw, headers=TTL)
    assert (hit.status_code, hit.headers["cf-aig-cache-status"]) == (200, "HIT")


def test_blocked_answers_are_not_cached() -> None:
    with MockGateway() as gw:
        gw.respond("secret", optional=True)
        gw.respond("fine")
        gw.dlp("response", profiles=[PROFILE], match=lambda call: len(gw.calls) == 0)
        assert post(gw, headers=TTL).status_code == 400
        again = post(gw, headers=TTL)
    assert again.headers["cf-aig-cache-status"] == "MISS"
    assert again.json()["choices"][0]["message"]["content"] == "fine"


def test_a_blocked_request_never_reaches_the_provider() -> None:
    with MockGateway() as gw:
        gw.respond("never sent", optional=True)
        gw.dlp("request", profiles=[PROFILE])
        post(gw)
        assert gw.scripts[0].used == 0
    assert (gw.calls.last.status_code, gw.calls.last.attempts) == (400, 0)


def test_made_up_ids_are_stable() -> None:
    with MockGateway() as gw:
        policy = gw.dlp("request", action="flag")
        first = dlp_header(post(gw))
        second = dlp_header(post(gw))
    assert first == second
    assert first["findings"][0]["policy_ids"] == [policy.policy_id] == ["dlp_policy_1"]
    assert policy.profiles == (first["findings"][0]["profile"]["profile_id"],)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"check": "body"}, "check= must be 'request', 'response' or 'both', got 'body'"),
        ({"action": "redact"}, "action= must be 'block' or 'flag', got 'redact'"),
        ({"profiles": PROFILE}, "profiles= must be a list of DLP profile ids"),
        ({"profiles": [""]}, "profiles= must be a list of DLP profile ids"),
        ({"policy": ""}, "policy= must be a policy id"),
        ({"metadata": "x"}, "metadata= must be a dict"),
    ],
)
def test_bad_declarations_say_what_to_write(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MockGateway().dlp(**given)


def test_a_policy_describes_itself_as_written() -> None:
    policy = MockGateway().dlp("response", action="flag", profiles=["p"], prompt="x")
    assert policy.text == "aigw.dlp(check='response', action='flag', profiles=['p'], prompt='x')"
