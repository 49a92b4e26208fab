"""Gateway behaviours on the wire: streams, universal and compat routes, cache, auth, options."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.fake.answers import DEFAULT_CONTENT
from pytest_aigw.fake.errors import TIMEOUT_MESSAGE

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
TIMEOUT_30 = {"cf-aig-request-timeout": "30"}
WORKERS_MODEL = "@cf/meta/llama-3.1-8b-instruct"
STEPS_WANTED = (
    "the universal endpoint takes a JSON array of steps"
    ' [{"provider": ..., "endpoint": ..., "query": {...}}, ...]'
)


# The provider keys the app's clients send; the gateway checks them (credentials="provider").
KEYS = {"authorization": "Bearer sk-test", "x-goog-api-key": "test-key"}


def post(url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """`httpx.post` with the provider keys; *headers* add to or replace them."""
    return httpx.post(url, headers={**KEYS, **(headers or {})}, **kwargs)


def events(response: httpx.Response) -> list[Any]:
    """The `data:` payloads of an SSE body, JSON-decoded where they are JSON."""
    found: list[Any] = []
    for line in response.text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            found.append(data if data == "[DONE]" else json.loads(data))
    return found


def step(provider: str, endpoint: str, query: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "provider": provider,
        "endpoint": endpoint,
        "query": CHAT if query is None else query,
        **extra,
    }


# --- streaming -----------------------------------------------------------------------------


def test_openai_chat_stream_sends_a_chunk_per_piece_usage_and_done() -> None:
    with MockGateway() as gw:
        gw.respond(["Hel", "lo"])
        body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        reply = post(gw.url("openai") + "/chat/completions", json=body)
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "content-length" not in reply.headers
    sent = events(reply)
    deltas = [e["choices"][0]["delta"] for e in sent[:-2]]
    assert deltas == [
        {"role": "assistant", "content": "", "refusal": None},
        {"content": "Hel"},
        {"content": "lo"},
        {},
    ]
    assert sent[-3]["choices"][0]["finish_reason"] == "stop"
    assert sent[-2]["choices"] == []
    assert sent[-2]["usage"]["completion_tokens"] == 2  # "Hello": 5 characters, 4 a token
    assert sent[-1] == "[DONE]"
    assert {e["id"] for e in sent[:-1]} == {f"chatcmpl-{str(gw.calls.last.log_id).lower()}"}


def test_default_content_streams_word_by_word() -> None:
    with MockGateway() as gw:
        reply = post(gw.url("openai") + "/chat/completions", json={**CHAT, "stream": True})
    pieces = [e["choices"][0]["delta"].get("content") for e in events(reply)[1:-2]]
    assert len(pieces) == len(DEFAULT_CONTENT.split())
    assert "".join(pieces) == DEFAULT_CONTENT


def test_anthropic_stream_has_the_full_event_sequence() -> None:
    with MockGateway() as gw:
        gw.respond("Hi there")
        body = {"model": "claude-sonnet-5", "messages": [], "stream": True}
        reply = post(gw.url("anthropic") + "/v1/messages", json=body)
    names = [line[len("event: ") :] for line in reply.text.splitlines() if line.startswith("event")]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    texts = [e["delta"]["text"] for e in events(reply) if e["type"] == "content_block_delta"]
    assert texts == ["Hi", " there"]


def test_workers_ai_and_google_streams() -> None:
    with MockGateway() as gw:
        gw.respond("one two", times=2)
        workers = post(f"{gw.url('workers-ai')}/{WORKERS_MODEL}", json={"stream": True})
        google = post(
            gw.url("google-ai-studio")
            + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            json={"contents": []},
        )
    sent = events(workers)
    assert [e["response"] for e in sent[:-1]] == ["one", " two", ""]
    assert sent[-2]["usage"]["completion_tokens"] == 2
    assert sent[-1] == "[DONE]"
    parts = [e["candidates"][0]["content"]["parts"][0]["text"] for e in events(google)]
    assert parts == ["one", " two"]
    assert gw.calls.last.model == "gemini-2.5-flash"


def test_stream_false_in_a_script_answers_a_streaming_request_with_json() -> None:
    with MockGateway() as gw:
        gw.respond("plain", stream=False)
        reply = post(gw.url("openai") + "/chat/completions", json={**CHAT, "stream": True})
    assert reply.json()["choices"][0]["message"]["content"] == "plain"


# --- universal endpoint --------------------------------------------------------------------


def test_universal_falls_back_to_the_next_step_and_says_which_answered() -> None:
    with MockGateway() as gw:
        gw.fail(503, provider="openai")
        gw.respond("from workers", provider="workers-ai")
        reply = post(
            gw.gateway_url,
            json=[step("openai", "chat/completions"), step("workers-ai", WORKERS_MODEL, {})],
        )
    assert reply.status_code == 200
    assert reply.headers["cf-aig-step"] == "1"
    assert reply.json()["result"]["response"] == "from workers"
    call = gw.calls.last
    assert (call.provider, call.path, call.model, call.step) == (
        "workers-ai",
        WORKERS_MODEL,
        WORKERS_MODEL,
        1,
    )
    assert call.json == {}


def test_universal_step_timeout_moves_on_to_the_next_step() -> None:
    with MockGateway() as gw:
        gw.respond("slow", provider="openai", latency=0.2)
        gw.respond("fast", provider="groq")
        reply = post(
            gw.gateway_url,
            json=[
                step("openai", "chat/completions", config={"requestTimeout": 20}),
                step("groq", "chat/completions"),
            ],
        )
    assert reply.headers["cf-aig-step"] == "1"
    assert reply.json()["choices"][0]["message"]["content"] == "fast"


def test_universal_when_every_step_fails_answers_with_the_last_failure() -> None:
    with MockGateway() as gw:
        gw.fail(500, provider="openai")
        gw.fail(503, provider="groq")
        reply = post(
            gw.gateway_url,
            json=[step("openai", "chat/completions"), step("groq", "chat/completions")],
        )
    assert (reply.status_code, reply.headers["cf-aig-step"]) == (503, "1")
    assert gw.calls.last.step == 1


def test_universal_takes_a_single_object_and_step_metadata_wins() -> None:
    with MockGateway() as gw:
        reply = post(
            gw.gateway_url,
            json=step("openai", "chat/completions", headers={"cf-aig-metadata": '{"s": 1}'}),
            headers={"cf-aig-metadata": '{"top": 1}'},
        )
    assert reply.headers["cf-aig-step"] == "0"
    assert gw.calls.last.metadata == {"s": 1}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ([], STEPS_WANTED),
        ("text", STEPS_WANTED),
        ([1], "step 0 must be an object, got int"),
        ([{"endpoint": "x"}], "step 0 needs a provider slug in 'provider', got None"),
        ([{"provider": "openai", "endpoint": 5}], "step 0 needs a string 'endpoint', got 5"),
        ([{"provider": "openai", "headers": []}], "step 0: 'headers' and 'config' must be objects"),
    ],
)
def test_a_bad_universal_body_gets_the_input_error(body: Any, detail: str) -> None:
    with MockGateway() as gw:
        reply = post(gw.gateway_url, json=body)
    assert reply.status_code == 400
    assert reply.json()["error"] == [{"code": 7003, "message": f"User Input Error: {detail}"}]
    assert (gw.calls.last.status_code, gw.calls.last.log_id) == (400, None)


def test_get_on_the_gateway_root_is_unexpected() -> None:
    with MockGateway(strict=False) as gw:
        reply = httpx.get(gw.gateway_url)
    assert (reply.status_code, reply.json()["internalCode"]) == (400, 2008)
    assert "takes POST, not GET" in gw.findings()[0]


# --- compat endpoint -----------------------------------------------------------------------


def test_compat_answers_openai_shaped_and_records_the_provider() -> None:
    with MockGateway() as gw:
        gw.respond("via compat", provider="anthropic", model="anthropic/claude-sonnet-5")
        reply = post(
            gw.url("compat") + "/chat/completions",
            json={**CHAT, "model": "anthropic/claude-sonnet-5"},
        )
    assert reply.json()["choices"][0]["message"]["content"] == "via compat"
    assert reply.json()["model"] == "claude-sonnet-5"
    assert reply.headers["cf-aig-provider"] == "anthropic"
    assert reply.headers["cf-aig-model"] == "claude-sonnet-5"
    call = gw.calls.last
    assert (call.provider, call.model, call.path) == (
        "anthropic",
        "claude-sonnet-5",
        "chat/completions",
    )
    assert call.json["model"] == "anthropic/claude-sonnet-5"  # as the app sent it


def test_compat_provider_errors_are_openai_shaped() -> None:
    with MockGateway() as gw:
        gw.fail(500, provider="anthropic")
        reply = post(
            gw.url("compat") + "/chat/completions", json={**CHAT, "model": "anthropic/claude"}
        )
    assert reply.json()["error"]["type"] == "server_error"


def test_compat_without_a_provider_prefix_gets_the_validation_error() -> None:
    with MockGateway() as gw:
        reply = post(gw.url("compat") + "/chat/completions", json=CHAT)
    assert reply.status_code == 400
    assert reply.json()["error"] == [
        {
            "code": 7003,
            "message": "Model not found: gpt-4o-mini (the compat endpoint takes"
            " 'provider/model', for example 'openai/gpt-4o-mini')",
        }
    ]
    assert (gw.calls.last.provider, gw.calls.last.log_id) == ("compat", None)


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "Bearer ", "Basic abc", "token-without-scheme"])
def test_an_authenticated_gateway_refuses_requests_without_a_bearer_token(
    token: str | None,
) -> None:
    headers = {} if token is None else {"cf-aig-authorization": token}
    with MockGateway(authenticated=True) as gw:
        reply = post(gw.url("openai") + "/chat/completions", json=CHAT, headers=headers)
    assert reply.status_code == 401
    body = reply.json()
    assert (body["internalCode"], body["message"], body["error"]) == (
        2009,
        "Unauthorized",
        [{"code": 2009, "message": "Unauthorized"}],
    )
    assert "cf-aig-log-id" not in reply.headers
    assert (gw.calls.last.status_code, gw.log_ids) == (401, [])


def test_an_authenticated_gateway_answers_with_a_token_and_never_stores_it() -> None:
    with MockGateway(authenticated=True) as gw:
        reply = post(
            gw.url("openai") + "/chat/completions",
            json=CHAT,
            headers={"cf-aig-authorization": "Bearer cf-secret"},
        )
    assert reply.status_code == 200
    call = gw.calls.last
    assert call.headers["cf-aig-authorization"] == "Bearer [redacted]"
    assert call.secret_matches("cf-aig-authorization", "Bearer cf-secret")


# --- request-handling headers --------------------------------------------------------------


def test_request_handling_headers_are_parsed_and_recorded() -> None:
    headers = {
        "cf-aig-request-timeout": "5000",
        "cf-aig-max-attempts": "3",
        "cf-aig-retry-delay": "250",
        "cf-aig-backoff": "exponential",
    }
    with MockGateway() as gw:
        post(gw.url("openai") + "/chat/completions", json=CHAT, headers=headers)
    options = gw.calls.last.options
    assert (
        options.request_timeout,
        options.max_attempts,
        options.retry_delay,
        options.backoff,
    ) == (
        5000,
        3,
        250,
        "exponential",
    )
    assert repr(options) == (
        "RequestOptions(request_timeout=5000, max_attempts=3, retry_delay=250,"
        " backoff='exponential')"
    )


@pytest.mark.parametrize(
    ("header", "value", "rule"),
    [
        ("cf-aig-request-timeout", "0", "a whole number >= 1"),
        ("cf-aig-request-timeout", "1.5", "a whole number >= 1"),
        ("cf-aig-max-attempts", "6", "a whole number from 1 to 5"),
        ("cf-aig-max-attempts", "+3", "a whole number from 1 to 5"),
        ("cf-aig-retry-delay", "5001", "a whole number from 0 to 5000"),
        ("cf-aig-backoff", "random", "constant or linear or exponential"),
        ("cf-aig-cache-ttl", "-1", "a whole number from 0 to 2592000"),
        ("cf-aig-skip-cache", "yes", "true or false"),
        ("cf-skip-cache", "1", "true or false"),
    ],
)
def test_out_of_range_values_get_the_gateway_input_error(
    header: str, value: str, rule: str
) -> None:
    with MockGateway() as gw:
        reply = post(gw.url("openai") + "/chat/completions", json=CHAT, headers={header: value})
    assert reply.status_code == 400
    message = f"User Input Error: {header} must be {rule}, got {value!r}"
    assert reply.json()["error"] == [{"code": 7003, "message": message}]
    assert gw.calls.last.log_id is None


def test_a_provider_slower_than_the_request_timeout_gets_the_gateway_timeout() -> None:
    with MockGateway() as gw:
        gw.respond("late", latency=5)
        reply = post(
            gw.url("openai") + "/chat/completions",
            json=CHAT,
            headers={"cf-aig-request-timeout": "30"},
        )
    assert reply.status_code == 504
    body = reply.json()
    assert body["error"] == [{"message": TIMEOUT_MESSAGE}]
    assert "internalCode" not in body  # no documented code: none is made up by default
    assert reply.headers["x-pytest-aigw-invented"] == "cf-aig-request-timeout"
    assert reply.headers["cf-aig-log-id"] == gw.calls.last.log_id


def test_the_timeout_answer_never_uses_a_documented_code() -> None:
    with MockGateway() as gw:
        gw.respond("late", latency=5)
        reply = post(gw.url("openai") + "/chat/completions", json=CHAT, headers=TIMEOUT_30)
    assert "2016" not in reply.text  # 2016 is the Guardrails prompt block


def test_the_timeout_status_and_code_are_settings() -> None:
    with MockGateway(timeout_status=408, timeout_code=2099) as gw:
        gw.respond("late", latency=5)
        reply = post(gw.url("openai") + "/chat/completions", json=CHAT, headers=TIMEOUT_30)
    assert reply.status_code == 408
    assert reply.json()["error"] == [{"code": 2099, "message": TIMEOUT_MESSAGE}]
    assert reply.json()["internalCode"] == 2099


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"timeout_status": 200}, "timeout_status must be an HTTP error status from 400 to 599"),
        ({"timeout_code": 0}, "timeout_code must be a whole-number error code >= 1, or None"),
    ],
)
def test_bad_timeout_settings_are_refused(given: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MockGateway(**given)  # type: ignore[arg-type]


def test_the_gateway_retries_provider_errors_up_to_max_attempts() -> None:
    with MockGateway() as gw:
        gw.fail(500, times=2)
        gw.respond("third time lucky")
        gw.fail(400)  # not retried: the request itself is wrong
        retried = post(
            gw.url("openai") + "/chat/completions", json=CHAT, headers={"cf-aig-max-attempts": "3"}
        )
        not_retried = post(
            gw.url("openai") + "/chat/completions", json=CHAT, headers={"cf-aig-max-attempts": "3"}
        )
        gw.respond("after the 400")
        post(gw.url("openai") + "/chat/completions", json=CHAT)
    assert retried.json()["choices"][0]["message"]["content"] == "third time lucky"
    assert not_retried.status_code == 400
    assert [c.attempts for c in gw.calls] == [3, 1, 1]


def test_latency_delays_the_first_byte() -> None:
    with MockGateway() as gw:
        gw.respond("slow", latency=0.05)
        reply = post(gw.url("openai") + "/chat/completions", json=CHAT)
    assert reply.elapsed.total_seconds() >= 0.05


# --- cache ---------------------------------------------------------------------------------


def post_cached(gw: MockGateway, headers: dict[str, str], **body: Any) -> httpx.Response:
    return post(gw.url("openai") + "/chat/completions", json={**CHAT, **body}, headers=headers)


@pytest.mark.parametrize(
    "headers", [{"cf-aig-cache-ttl": "60"}, {"cf-cache-ttl": "60"}, {"cf-aig-cache-key": "k"}]
)
def test_identical_requests_hit_the_cache_within_the_ttl(headers: dict[str, str]) -> None:
    with MockGateway() as gw:
        gw.respond("cached answer")  # used once: the hit never reaches the provider
        first = post_cached(gw, headers)
        second = post_cached(gw, {**headers, "cf-aig-metadata": '{"other": 1}'})
    assert [first.headers["cf-aig-cache-status"], second.headers["cf-aig-cache-status"]] == [
        "MISS",
        "HIT",
    ]
    assert second.content == first.content
    assert second.headers["cf-aig-log-id"] != first.headers["cf-aig-log-id"]
    assert [(c.cache_status, c.attempts) for c in gw.calls] == [("MISS", 1), ("HIT", 0)]


def test_the_cache_expires_on_the_test_clock() -> None:
    with MockGateway() as gw:
        gw.respond("first", times=None)
        post_cached(gw, {"cf-aig-cache-ttl": "60"})
        gw.clock.advance(59)
        assert post_cached(gw, {"cf-aig-cache-ttl": "60"}).headers["cf-aig-cache-status"] == "HIT"
        gw.clock.advance(1)
        assert post_cached(gw, {"cf-aig-cache-ttl": "60"}).headers["cf-aig-cache-status"] == "MISS"


@pytest.mark.parametrize("skip", ["cf-aig-skip-cache", "cf-skip-cache"])
def test_skip_cache_bypasses_it(skip: str) -> None:
    with MockGateway() as gw:
        post_cached(gw, {"cf-aig-cache-ttl": "60"})
        reply = post_cached(gw, {"cf-aig-cache-ttl": "60", skip: "true"})
    assert reply.headers["cf-aig-cache-status"] == "MISS"


def test_different_bodies_and_failures_are_not_shared_through_the_cache() -> None:
    with MockGateway() as gw:
        gw.fail(500)
        gw.respond("ok", times=None)
        ttl = {"cf-aig-cache-ttl": "60"}
        statuses = [post_cached(gw, ttl).status_code, post_cached(gw, ttl).status_code]
        other = post_cached(gw, ttl, model="gpt-4o")
    assert statuses == [500, 200]
    assert other.headers["cf-aig-cache-status"] == "MISS"


def test_a_gateway_wide_cache_ttl_caches_every_identical_request() -> None:
    with MockGateway(cache_ttl=300) as gw:
        post_cached(gw, {})
        assert post_cached(gw, {}).headers["cf-aig-cache-status"] == "HIT"
        gw.clock.advance(300)
        assert post_cached(gw, {}).headers["cf-aig-cache-status"] == "MISS"


def test_the_clock_only_moves_forward() -> None:
    expected = "seconds= must be a number of seconds from 0 to 3.1536e+09 (the clock only moves"
    with pytest.raises(ValueError, match=re.escape(expected)):
        MockGateway().clock.advance(-1)
