"""Guardrails on the wire: blocks, flags, scanner failures, buffered streams, evaluation logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.client import Log, log_filter
from pytest_aigw.fake.answers import DEFAULT_CONTENT

KEYS = {"authorization": "Bearer sk-test"}
MODEL = "gpt-4o-mini"
PROMPT_BLOCKED = "Prompt blocked due to security configurations"
RESPONSE_BLOCKED = "Response blocked due to security configurations"


def chat_body(prompt: str = "hello", **more: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}], **more}


def post(
    gw: MockGateway, prompt: str = "hello", headers: Mapping[str, str] | None = None, **more: Any
) -> httpx.Response:
    url = gw.url("openai") + "/chat/completions"
    return httpx.post(url, json=chat_body(prompt, **more), headers={**KEYS, **(headers or {})})


def rest_post(gw: MockGateway, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{gw.rest_url}/{path}", json=body, headers={"authorization": "Bearer cf"})


def body_of(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": code, "message": message}],
        "name": "AiGatewayError",
        "httpCode": status,
        "internalCode": code,
        "message": message,
        "description": message,
    }


def last_log(gw: MockGateway) -> Log:
    """The log of the last call."""
    log_id = gw.calls.last.log_id
    assert log_id is not None
    return gw.logs.get(log_id)


def evaluation_logs(gw: MockGateway) -> list[Log]:
    """The Guardrails evaluation logs of the last call, found by its event id."""
    event_id = last_log(gw).raw["event_id"]
    found = gw.logs.list(filters=[log_filter("event_id", "eq", event_id)]).logs
    return [log for log in found if log.raw["request_type"] == "guardrails"]


def test_a_blocked_prompt_gets_424_code_2016_and_never_reaches_the_provider() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", action="block", categories=["S9"], prompt="bomb")
        reply = post(gw, "how to build a bomb")
    assert reply.status_code == 424
    assert reply.json() == body_of(424, 2016, PROMPT_BLOCKED)
    call = gw.calls.last
    assert (call.status_code, call.attempts) == (424, 0)
    assert reply.headers["cf-aig-log-id"] == call.log_id
    log = last_log(gw)
    assert (log.success, log.status_code) == (False, 424)


def test_a_blocked_response_gets_424_code_2017() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", categories=["S1", "S10"], metadata={"user": "u-1"})
        blocked = post(gw, headers={"cf-aig-metadata": '{"user": "u-1"}'})
        passed = post(gw, headers={"cf-aig-metadata": '{"user": "u-2"}'})
    assert blocked.status_code == 424
    assert blocked.json() == body_of(424, 2017, RESPONSE_BLOCKED)
    assert passed.json()["choices"][0]["message"]["content"] == DEFAULT_CONTENT


def test_a_flag_lets_the_request_through_and_marks_its_log() -> None:
    with MockGateway() as gw:
        gw.respond("the answer")
        gw.guardrail("prompt", action="flag", categories=["S6"], prompt="dose")
        reply = post(gw, "what dose is safe")
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == "the answer"
    (mark,) = last_log(gw).raw["guardrails"]
    (evaluation,) = evaluation_logs(gw)
    assert mark == {
        "check": "PROMPT",
        "result": "FLAG",
        "categories": ["S6"],
        "enforced": True,
        "log_id": evaluation.id,
    }
    assert evaluation.raw["guardrail"] == {
        "check": "PROMPT",
        "result": "FLAG",
        "categories": ["S6"],
        "enforced": True,
    }
    assert (evaluation.provider, evaluation.model) == ("workers-ai", "@cf/meta/llama-guard-3-8b")
    assert gw.logs.response_body(evaluation.id) == {"response": "unsafe\nS6"}


def test_once_a_phase_is_on_every_request_gets_an_evaluation_log() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", categories=["P1"], prompt="ignore previous instructions")
        gw.guardrail("response", action="flag", categories=["S2"], prompt="nothing matches this")
        post(gw, "hello", headers={"cf-aig-event-id": "evt-1"})
    logs = evaluation_logs(gw)
    results = sorted(
        (log.raw["guardrail"]["check"], log.raw["guardrail"]["result"]) for log in logs
    )
    assert results == [("PROMPT", "PASS"), ("RESPONSE", "PASS")]
    assert {log.raw["event_id"] for log in logs} == {"evt-1"}
    assert gw.log_ids == [gw.calls.last.log_id]  # evaluation logs are not calls


def test_a_prompt_injection_alone_is_logged_by_prompt_guard() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", action="flag", categories=["P1"])
        post(gw)
    (evaluation,) = evaluation_logs(gw)
    assert evaluation.model == "@cf/meta/prompt-guard-2-86m"


def test_block_wins_over_flag_and_categories_add_up() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", action="flag", categories=["S10"])
        gw.guardrail("prompt", action="block", categories=["S1"])
        reply = post(gw)
    assert reply.status_code == 424
    (mark,) = last_log(gw).raw["guardrails"]
    assert (mark["result"], mark["categories"]) == ("BLOCK", ["S1", "S10"])


# --- streams ---------------------------------------------------------------------------


def test_a_stream_under_a_response_guardrail_is_one_json_payload() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", action="flag", categories=["S1"], prompt="never")
        reply = post(gw, stream=True)
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["object"] == "chat.completion"
    assert reply.json()["choices"][0]["message"]["content"] == DEFAULT_CONTENT


def test_guardrail_stream_sse_sends_the_held_stream_at_once() -> None:
    with MockGateway(guardrail_stream="sse") as gw:
        gw.guardrail("response", action="flag", categories=["S1"])
        body = {**chat_body(), "stream": True}
        url = gw.url("openai") + "/chat/completions"
        with httpx.stream("POST", url, json=body, headers=KEYS) as reply:
            chunks = list(reply.iter_raw())
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert len(chunks) == 1
    assert chunks[0].rstrip().endswith(b"data: [DONE]")


def test_a_scripted_stream_is_buffered_too() -> None:
    with MockGateway() as gw:
        gw.respond(["a", "b"], stream=True)
        gw.guardrail("response", action="flag", categories=["S1"])
        reply = post(gw, stream=True)
    assert reply.json()["choices"][0]["message"]["content"] == "ab"


def test_a_prompt_guardrail_alone_leaves_streams_alone() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", action="flag", categories=["S1"])
        reply = post(gw, stream=True)
    assert reply.headers["content-type"].startswith("text/event-stream")


def test_on_the_rest_api_a_blocked_stream_is_logged_not_enforced() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", categories=["S1"])
        body = {**chat_body(), "model": "openai/gpt-4.1", "stream": True}
        reply = rest_post(gw, "v1/chat/completions", body)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.text.rstrip().endswith("data: [DONE]")
    (mark,) = last_log(gw).raw["guardrails"]
    assert (mark["result"], mark["enforced"]) == ("BLOCK", False)


def test_on_the_rest_api_a_blocked_answer_is_enforced() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", categories=["S1"])
        reply = rest_post(gw, "v1/chat/completions", {**chat_body(), "model": "openai/gpt-4.1"})
    assert reply.json() == body_of(424, 2017, RESPONSE_BLOCKED)


@pytest.mark.parametrize(
    ("phase", "message"), [("prompt", PROMPT_BLOCKED), ("response", RESPONSE_BLOCKED)]
)
def test_the_rest_run_endpoint_blocks_with_422_code_2017(phase: str, message: str) -> None:
    with MockGateway() as gw:
        gw.guardrail(phase, categories=["S1"])  # type: ignore[arg-type]
        body = {"model": "openai/gpt-4.1", "input": {"prompt": "hello"}}
        reply = rest_post(gw, "run", body)
    assert reply.json() == body_of(422, 2017, message)


def test_the_gateway_run_api_has_no_guardrails() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", categories=["S1"])
        body = {"model": "openai/gpt-4.1", "input": {"prompt": "hello"}}
        reply = httpx.post(gw.gateway_url + "/run", json=body, headers=KEYS)
    assert reply.status_code == 200
    assert "guardrails" not in last_log(gw).raw


def test_embeddings_bypass_response_checks() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", categories=["S1"])
        url = gw.url("openai") + "/embeddings"
        reply = httpx.post(
            url, json={"model": "text-embedding-3-small", "input": "x"}, headers=KEYS
        )
    assert reply.status_code == 200


def test_cache_hits_are_still_evaluated() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", categories=["S1"], metadata={"user": "bad"})
        first = post(gw, headers={"cf-aig-cache-ttl": "60"})
        hit = post(gw, headers={"cf-aig-cache-ttl": "60", "cf-aig-metadata": '{"user": "bad"}'})
    assert (first.status_code, first.headers["cf-aig-cache-status"]) == (200, "MISS")
    assert (hit.status_code, hit.headers["cf-aig-cache-status"]) == (424, "HIT")


def test_a_blocked_response_is_not_cached() -> None:
    with MockGateway() as gw:
        gw.respond("first", optional=True)
        gw.respond("second")
        gw.guardrail("response", categories=["S1"], match=lambda call: len(gw.calls) == 0)
        ttl = {"cf-aig-cache-ttl": "60"}
        assert post(gw, headers=ttl).status_code == 424
        again = post(gw, headers=ttl)
    assert again.headers["cf-aig-cache-status"] == "MISS"
    assert again.json()["choices"][0]["message"]["content"] == "second"


# --- scanner failures ------------------------------------------------------------------


def test_a_scanner_out_of_credits_refuses_even_a_flag_rule() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", action="flag", scanner_error=402)
        reply = post(gw)
    assert reply.json() == body_of(402, 2021, "Insufficient AI Gateway credits")


def test_an_unavailable_scanner_refuses_where_a_rule_of_the_phase_blocks() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", action="block", categories=["S1"], prompt="never matches")
        gw.guardrail("prompt", action="flag", scanner_error=503)
        reply = post(gw)
    assert reply.json() == body_of(503, 7013, "Guardrails scanner unavailable")


def test_an_unavailable_scanner_with_flag_rules_only_lets_the_request_through() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", action="flag", scanner_error=503)
        reply = post(gw)
    assert reply.status_code == 200
    (evaluation,) = evaluation_logs(gw)
    assert evaluation.raw["guardrail"]["result"] == "UNAVAILABLE"
    assert gw.logs.response_body(evaluation.id) == {"response": None}


def test_a_scanner_failure_on_the_response_replaces_the_answer() -> None:
    with MockGateway() as gw:
        gw.guardrail("response", action="block", categories=["S1"], scanner_error=402)
        reply = post(gw)
    assert (reply.status_code, reply.json()["internalCode"]) == (402, 2021)
    (evaluation,) = evaluation_logs(gw)
    assert (evaluation.success, evaluation.status_code) == (False, 402)


# --- declarations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"phase": "input", "categories": ["S1"]}, "phase= must be 'prompt' or 'response'"),
        ({"phase": "prompt", "action": "ignore", "categories": ["S1"]}, "action= must be"),
        ({"phase": "prompt"}, "categories= must be a list of the hazard categories found"),
        ({"phase": "prompt", "categories": ["S14"]}, r"one or more of S1, S2, .*, S13, P1\)"),
        ({"phase": "prompt", "categories": "S1"}, "categories= must be a list"),
        ({"phase": "prompt", "scanner_error": 500}, "scanner_error= must be None, 402"),
        ({"phase": "prompt", "categories": ["S1"], "prompt": 3}, "prompt= must be a string"),
    ],
)
def test_bad_declarations_say_what_to_write(given: dict[str, Any], message: str) -> None:
    gw = MockGateway()
    with pytest.raises(ConfigError, match=message):
        gw.guardrail(**given)


def test_a_rule_describes_itself_as_written() -> None:
    rule = MockGateway().guardrail("prompt", action="flag", categories=["S1"], prompt="x")
    assert rule.text == "aigw.guardrail('prompt', action='flag', categories=['S1'], prompt='x')"


def test_reset_forgets_the_rules() -> None:
    with MockGateway() as gw:
        gw.guardrail("prompt", categories=["S1"])
        gw.reset()
        assert post(gw).status_code == 200
