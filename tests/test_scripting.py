"""Scripted replies and failures: matching, order, reuse, teardown findings, messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}


# The provider keys the app's clients send; the gateway checks them (credentials="provider").
KEYS = {"authorization": "Bearer sk-test", "x-goog-api-key": "test-key"}


def post(url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """`httpx.post` with the provider keys; *headers* add to or replace them."""
    return httpx.post(url, headers={**KEYS, **(headers or {})}, **kwargs)


def chat(gw: MockGateway, provider: str = "openai", **body: Any) -> httpx.Response:
    return post(gw.url(provider) + "/chat/completions", json={**CHAT, **body})


def content_of(response: httpx.Response) -> str:
    return str(response.json()["choices"][0]["message"]["content"])


def test_scripted_content_is_shaped_like_each_provider() -> None:
    with MockGateway() as gw:
        gw.respond("Bonjour", provider="anthropic")
        gw.respond("Hola", provider="workers-ai")
        reply = post(
            gw.url("anthropic") + "/v1/messages", json={"model": "claude-sonnet-5", "messages": []}
        )
        workers = post(gw.url("workers-ai") + "/@cf/meta/llama-3.1-8b-instruct", json={})
    assert reply.json()["content"] == [{"type": "text", "text": "Bonjour"}]
    assert workers.json()["result"]["response"] == "Hola"


def test_scripts_answer_in_order_and_times_limits_reuse() -> None:
    with MockGateway() as gw:
        first = gw.respond("one", times=2)
        gw.respond("two")
        answers = [content_of(chat(gw)) for _ in range(3)]
    assert answers == ["one", "one", "two"]
    assert first.used == 2


def test_matchers_pick_provider_model_and_path() -> None:
    with MockGateway() as gw:
        gw.respond("mini", model="gpt-4o-mini", times=None)
        gw.respond("big", model=re.compile(r"^gpt-4o$"), times=None)
        gw.respond("groq", provider="groq", path="chat/completions", times=None)
        assert content_of(chat(gw, model="gpt-4o")) == "big"
        assert content_of(chat(gw)) == "mini"
        assert content_of(chat(gw, "groq", model="llama")) == "groq"


def test_json_status_and_headers_are_sent_as_scripted() -> None:
    with MockGateway() as gw:
        gw.respond(json={"exact": True}, status=202, headers={"x-request-id": "req-1"})
        reply = chat(gw)
    assert reply.status_code == 202
    assert reply.json() == {"exact": True}
    assert reply.headers["x-request-id"] == "req-1"
    assert gw.calls.last.status_code == 202


def test_unlimited_and_optional_scripts_leave_no_findings() -> None:
    with MockGateway() as gw:
        gw.respond("any", times=None)
        gw.respond("never", provider="anthropic", optional=True)
        for _ in range(3):
            chat(gw)
    assert gw.findings() == []


def test_an_unused_script_is_a_finding_naming_it_and_the_fix() -> None:
    gw = MockGateway(strict=False)
    gw.respond("hello", provider="openai", model="gpt-4o", times=2)
    gw.respond("optional", optional=True)
    with gw:
        gw.respond("x", model="gpt-4o", times=None)  # unlimited: never a finding
    assert gw.findings() == [
        "scripted reply #1 aigw.respond('hello', provider='openai', model='gpt-4o', times=2)"
        " was used 0 times of 2 times: no request matched it. Fix the matcher, lower times=,"
        " or pass optional=True if the app may not send it."
    ]


def test_a_request_no_script_matches_names_the_closest_scripts_and_the_fix() -> None:
    gw = MockGateway(strict=False)
    gw.respond("used", model="gpt-4o-mini")
    gw.respond("wrong model", model="gpt-4o")
    gw.respond("wrong provider", provider="anthropic", path="v1/messages")
    with gw:
        chat(gw)
        reply = chat(gw)
    expected = (
        "unexpected request POST https://gateway.ai.cloudflare.com/v1/"
        "0123456789abcdef0123456789abcdef/test-gateway/openai/chat/completions:"
        " no scripted reply matches it (provider 'openai', model 'gpt-4o-mini',"
        " path 'chat/completions'). Closest scripted replies, unused first:\n"
        "       #2 aigw.respond('wrong model', model='gpt-4o'): model is 'gpt-4o-mini',"
        " not 'gpt-4o'\n"
        "       #3 aigw.respond('wrong provider', provider='anthropic', path='v1/messages'):"
        " provider is 'openai', not 'anthropic'; path is 'chat/completions', not 'v1/messages'\n"
        "       #1 aigw.respond('used', model='gpt-4o-mini'): used up (1 time of 1 time)\n"
        "     Fix: add an aigw.respond(...) or aigw.fail(...) that matches this request,"
        " loosen a matcher, or allow more uses with times=N (times=None for any number)."
    )
    assert gw.findings()[0] == expected
    assert reply.status_code == 404
    assert reply.json()["error"][0]["message"] == "pytest-aigw: " + expected
    assert len(gw.calls) == 1  # the unmatched request is not a gateway call


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [(429, 2003, "Rate limited"), (401, 2009, "Unauthorized"), (402, 2021, "Insufficient credits")],
)
def test_fail_with_a_gateway_status_gives_the_gateway_error(
    status: int, code: int, message: str
) -> None:
    with MockGateway() as gw:
        gw.fail(status)
        reply = chat(gw)
    assert reply.status_code == status
    body = reply.json()
    assert (body["name"], body["internalCode"], body["message"]) == (
        "AiGatewayError",
        code,
        message,
    )
    assert body["error"] == [{"code": code, "message": message}]
    assert reply.headers["cf-aig-log-id"] == gw.calls.last.log_id  # logged, as observed


def test_fail_with_a_code_and_message_overrides_them() -> None:
    with MockGateway() as gw:
        gw.fail(429, code=2045, message="Spend limit exceeded")
        body = chat(gw).json()
    assert body["error"] == [{"code": 2045, "message": "Spend limit exceeded"}]


@pytest.mark.parametrize(
    ("provider", "path", "expected"),
    [
        (
            "openai",
            "chat/completions",
            {
                "error": {
                    "message": "Internal Server Error",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            },
        ),
        (
            "anthropic",
            "v1/messages",
            {"type": "error", "error": {"type": "api_error", "message": "Internal Server Error"}},
        ),
        (
            "workers-ai",
            "@cf/meta/llama-3.1-8b-instruct",
            {
                "result": None,
                "success": False,
                "errors": [{"code": 500, "message": "Internal Server Error"}],
                "messages": [],
            },
        ),
        (
            "google-ai-studio",
            "v1/models/gemini-2.5-flash:generateContent",
            {"error": {"code": 500, "message": "Internal Server Error", "status": "INTERNAL"}},
        ),
    ],
)
def test_provider_failures_come_in_the_providers_format(
    provider: str, path: str, expected: dict[str, Any]
) -> None:
    with MockGateway() as gw:
        gw.fail(500)
        reply = post(f"{gw.url(provider)}/{path}", json={})
    assert reply.status_code == 500
    assert reply.json() == expected


def test_a_rate_limit_can_come_from_the_provider() -> None:
    with MockGateway() as gw:
        gw.fail(429, origin="provider", message="Slow down")
        body = chat(gw).json()
    assert body["error"]["type"] == "requests"
    assert body["error"]["message"] == "Slow down"


def test_network_faults_raise_the_clients_own_errors_and_are_recorded() -> None:
    with MockGateway() as gw:
        gw.fail("timeout")
        gw.fail("disconnect")
        with pytest.raises(httpx.ReadTimeout):
            chat(gw)
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
            chat(gw)
    assert [(c.status_code, c.fault, c.log_id) for c in gw.calls] == [
        (None, "timeout", None),
        (None, "disconnect", None),
    ]


def test_a_cut_stream_sends_the_first_chunks_then_drops() -> None:
    received: list[str] = []
    with MockGateway() as gw:
        gw.respond(["a", "b", "c", "d"], cut_after=3)
        with (
            httpx.Client() as client,
            client.stream(
                "POST", gw.url("openai") + "/chat/completions", json=STREAM, headers=KEYS
            ) as reply,
            pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
        ):
            received.extend(reply.iter_lines())
    events = [line for line in received if line.startswith("data:")]
    assert len(events) == 3  # the role chunk, then "a" and "b"
    assert '"content":"b"' in events[-1]
    assert gw.calls.last.fault == "cut"


def test_the_handler_raises_httpx_errors_for_mock_transport_users() -> None:
    gw = MockGateway()
    gw.fail("timeout")
    with (
        httpx.Client(transport=httpx.MockTransport(gw.handler)) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(gw.url("openai") + "/chat/completions", json=CHAT, headers=KEYS)


def test_reset_forgets_calls_scripts_and_findings() -> None:
    with MockGateway() as gw:
        gw.respond("left over")
        gw.fail(429)
        chat(gw)
        httpx.get(gw.gateway_url)  # unexpected: GET on the root
        gw.reset()
        assert (list(gw.calls), gw.scripts, gw.findings()) == ([], [], [])
        assert content_of(chat(gw)).startswith("This is a mock reply")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": "a", "json": {}}, "content= must be left out when json= is given"),
        (
            {"content": b"x"},
            "content= must be a string, a list of strings (the stream's pieces), a dict",
        ),
        ({"times": 0}, "times= must be a whole number >= 1, or None for any number of uses"),
        ({"status": 700}, "status= must be an HTTP status from 100 to 599, got 700"),
        ({"provider": "Open AI"}, "provider= must be a provider slug such as 'openai'"),
        ({"model": 4}, "model= must be a string or a compiled regex"),
        ({"latency": -1}, "latency= must be seconds from 0 to 3600, got -1"),
        ({"cut_after": -1}, "cut_after= must be a number of chunks >= 0, got -1"),
        ({"stream": "yes"}, "stream= must be True, False or None"),
        (
            {"headers": {"x": 1}},
            "headers= must be a dict of header names to string values (ASCII, no line breaks),"
            " got {'x': 1}",
        ),
    ],
)
def test_bad_respond_arguments_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        MockGateway().respond(**kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            ("slow",),
            {},
            "status= must be an HTTP error status from 400 to 599, or 'timeout' or"
            " 'disconnect', got 'slow'",
        ),
        (
            (200,),
            {},
            "status= must be an HTTP error status from 400 to 599, or 'timeout' or"
            " 'disconnect', got 200",
        ),
        (
            (500,),
            {"code": 2003, "origin": "provider"},
            "code= must be left out for a provider error",
        ),
        (
            (418,),
            {"origin": "gateway"},
            "code= must be given for gateway status 418, which has no known code. Known: 401",
        ),
        ((500,), {"origin": "nobody"}, "origin= must be 'gateway' or 'provider', got 'nobody'"),
    ],
)
def test_bad_fail_arguments_say_what_is_wrong(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        MockGateway().fail(*args, **kwargs)
