"""The REST inference API and the gateway's Run API, served by the same fake.

The official SDKs reach `aigw.rest_url` in process; user-level behaviour (auth,
gateway choice, model naming, headers, the run endpoints) runs in pytester; the
loopback server serves the same routes over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from typing import Any

import httpx
import pytest
from anthropic import Anthropic, AsyncAnthropic
from openai import AsyncOpenAI, OpenAI

from pytest_aigw import MockGateway, MockGatewayServer, tool_call
from pytest_aigw.fake.answers import DEFAULT_CONTENT

pytest_plugins = ["pytester"]

TOKEN = "cf-api-token-SECRET"
GPT = "openai/gpt-4.1"
CLAUDE = "anthropic/claude-sonnet-4"
HI: Any = [{"role": "user", "content": "Hello"}]  # typed loosely: one list for both SDKs


def openai_client(aigw: MockGateway) -> OpenAI:
    return OpenAI(base_url=aigw.rest_url + "/v1", api_key=TOKEN, max_retries=0)


def test_openai_chat_plain_and_streamed_reach_the_rest_surface() -> None:
    with MockGateway() as aigw:
        client = openai_client(aigw)
        reply = client.chat.completions.create(model=GPT, messages=HI)
        stream = client.chat.completions.create(model=GPT, messages=HI, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert reply.choices[0].message.content == text == DEFAULT_CONTENT
    call = aigw.calls[0]
    assert (call.endpoint, call.provider, call.path, call.model) == (
        "rest",
        "openai",
        "ai/v1/chat/completions",
        GPT,
    )
    assert call.url == httpx.URL(aigw.rest_url + "/v1/chat/completions")
    assert call.secret_matches("authorization", f"Bearer {TOKEN}")
    assert TOKEN not in repr(call.request.headers)
    assert [log.model for log in aigw.log_store.find([], now=1e12)] == [GPT, GPT]


def test_openai_responses_plain_streamed_and_async() -> None:
    with MockGateway() as aigw:
        aigw.respond("Hi there", times=3)
        client = openai_client(aigw)
        assert client.responses.create(model=GPT, input="Hello").output_text == "Hi there"
        with client.responses.stream(model=GPT, input="Hello") as stream:
            assert stream.get_final_response().output_text == "Hi there"

        async def main() -> str:
            async with AsyncOpenAI(base_url=aigw.rest_url + "/v1", api_key=TOKEN) as client:
                return (await client.responses.create(model=GPT, input="Hello")).output_text

        assert asyncio.run(main()) == "Hi there"
    assert {call.path for call in aigw.calls} == {"ai/v1/responses"}
    assert [call.prompt for call in aigw.calls] == ["Hello"] * 3


def test_anthropic_sdk_takes_rest_url_as_its_base_url() -> None:
    with MockGateway() as aigw:
        aigw.respond(["Hel", "lo!"], model="claude-sonnet-4", times=3)  # bare name matches
        client = Anthropic(base_url=aigw.rest_url, api_key=TOKEN, max_retries=0)
        message = client.messages.create(model=CLAUDE, max_tokens=64, messages=HI)
        with client.messages.stream(model=CLAUDE, max_tokens=64, messages=HI) as stream:
            assert list(stream.text_stream) == ["Hel", "lo!"]

        async def main() -> str:
            async with AsyncAnthropic(base_url=aigw.rest_url, api_key=TOKEN) as client:
                reply = await client.messages.create(model=CLAUDE, max_tokens=64, messages=HI)
                return reply.content[0].text  # type: ignore[union-attr]

        assert asyncio.run(main()) == "Hello!"
    assert message.content[0].text == "Hello!"  # type: ignore[union-attr]
    assert [(c.provider, c.path, c.model) for c in aigw.calls] == [
        ("anthropic", "ai/v1/messages", CLAUDE)
    ] * 3
    # anthropic 2.x sends api_key as a bearer token; older releases sent x-api-key.
    assert aigw.calls[0].secret_matches("authorization", f"Bearer {TOKEN}")


def test_x_api_key_is_a_token_on_the_messages_endpoint_only() -> None:
    body = {"model": CLAUDE, "max_tokens": 9, "messages": HI}
    with MockGateway() as aigw:
        messages = httpx.post(
            aigw.rest_url + "/v1/messages", json=body, headers={"x-api-key": TOKEN}
        )
        chat = httpx.post(
            aigw.rest_url + "/v1/chat/completions", json=body, headers={"x-api-key": TOKEN}
        )
    assert (messages.status_code, chat.status_code) == (200, 401)


def test_a_tool_call_through_the_rest_surface() -> None:
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "lookup_order",
                "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        }
    ]
    with MockGateway() as aigw:
        client = openai_client(aigw)
        forced = client.chat.completions.create(  # unscripted: a schema-valid call
            model="@cf/meta/llama-3.1-8b-instruct",
            messages=HI,
            tools=tools,
            tool_choice="required",
            extra_headers={"cf-aig-gateway-id": aigw.gateway_id},
        )
        aigw.respond(tool_calls=[tool_call("lookup_order", {"id": "A-1"})], tools="lookup_order")
        reply = client.chat.completions.create(model=GPT, messages=HI, tools=tools)
    called = reply.choices[0].message.tool_calls
    assert called is not None
    assert called[0].function.arguments == '{"id":"A-1"}'  # type: ignore[union-attr]
    unscripted = forced.choices[0].message.tool_calls
    assert unscripted is not None
    assert unscripted[0].function.name == "lookup_order"  # type: ignore[union-attr]
    assert aigw.calls[0].provider == "workers-ai"
    assert aigw.calls[1].tools == ["lookup_order"]


USER_TESTS = """
import json
import httpx
import pytest

TOKEN = {"authorization": "Bearer cf-token"}
CHAT = {"model": "openai/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}

def post(aigw, path, body, **headers):
    return httpx.post(aigw.rest_url + path, json=body, headers={**TOKEN, **headers})

@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer "}, {"authorization": "k"}])
def test_no_token_is_refused_in_the_api_envelope(aigw, headers):
    response = httpx.post(aigw.rest_url + "/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "errors": [{"code": 10000, "message": "Authentication error"}],
        "messages": [],
        "result": None,
    }
    assert "cf-aig-log-id" not in response.headers
    assert (aigw.calls.last.status_code, aigw.calls.last.log_id) == (401, None)

def test_the_gateway_header_or_none_reaches_this_gateway(aigw):
    assert post(aigw, "/v1/chat/completions", CHAT).status_code == 200
    chosen = post(aigw, "/v1/chat/completions", CHAT, **{"cf-aig-gateway-id": aigw.gateway_id})
    assert chosen.status_code == 200
    assert len(aigw.log_ids) == 2

@pytest.mark.aigw(gateway_id="default")
def test_a_fake_named_default_is_chosen_by_name(aigw):
    response = post(aigw, "/v1/chat/completions", CHAT, **{"cf-aig-gateway-id": "default"})
    assert response.status_code == 200

def test_workers_ai_models_need_the_gateway_header(aigw):
    body = {"model": "@cf/meta/llama-3.1-8b-instruct", "messages": CHAT["messages"]}
    response = post(aigw, "/v1/chat/completions", body)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 7001, "message": (
        "cf-aig-gateway-id is required: Workers AI models (@cf/meta/llama-3.1-8b-instruct)"
        " always need the cf-aig-gateway-id header")}]
    ok = post(aigw, "/v1/chat/completions", body, **{"cf-aig-gateway-id": aigw.gateway_id})
    assert ok.json()["model"] == "@cf/meta/llama-3.1-8b-instruct"

def test_a_model_without_its_provider_is_not_found(aigw):
    response = post(aigw, "/v1/chat/completions", {**CHAT, "model": "gpt-4.1"})
    assert response.status_code == 404
    assert response.json()["internalCode"] == 7003
    assert response.json()["message"].startswith("Model not found: 'gpt-4.1'")

def test_models_are_logged_as_provider_slash_model(aigw):
    log_id = post(aigw, "/v1/chat/completions", CHAT).headers["cf-aig-log-id"]
    log = aigw.logs.get(log_id)
    assert (log.model, log.provider) == ("openai/gpt-4.1", "openai")
    assert aigw.calls.last.endpoint == "rest"

def test_cf_aig_headers_are_honoured(aigw):
    headers = {"cf-aig-metadata": json.dumps({"user": "u1"}), "cf-aig-cache-ttl": "60"}
    first = post(aigw, "/v1/chat/completions", CHAT, **headers)
    second = post(aigw, "/v1/chat/completions", CHAT, **headers)
    assert [first.headers["cf-aig-cache-status"], second.headers["cf-aig-cache-status"]] == [
        "MISS", "HIT"]
    assert aigw.calls.last.metadata == {"user": "u1"}
    assert aigw.calls.last.options.cache_ttl == 60
    assert aigw.logs.get(first.headers["cf-aig-log-id"]).metadata == {"user": "u1"}
    unlogged = post(aigw, "/v1/chat/completions", {**CHAT, "n": 2},
                    **{"cf-aig-collect-log": "false"})
    assert aigw.log_store.find([], now=1e12)[0].id != unlogged.headers["cf-aig-log-id"]
    bad = post(aigw, "/v1/chat/completions", CHAT, **{"cf-aig-max-attempts": "9"})
    assert (bad.status_code, bad.json()["internalCode"]) == (400, 7003)

def test_scripts_and_failures_apply(aigw):
    aigw.respond("scripted", provider="openai", path="ai/v1/chat/completions")
    aigw.fail(429, model="openai/gpt-4.1")
    assert post(aigw, "/v1/chat/completions", CHAT).json()["choices"][0]["message"]["content"] == (
        "scripted")
    limited = post(aigw, "/v1/chat/completions", CHAT)
    assert (limited.status_code, limited.json()["internalCode"]) == (429, 2003)

def test_ai_run_takes_model_and_input(aigw):
    body = {"model": "openai/gpt-4.1", "input": {"messages": CHAT["messages"], "max_tokens": 9}}
    response = post(aigw, "/run", body)
    assert response.json() == {
        "result": {"response": aigw_default(), "usage": response.json()["result"]["usage"]},
        "success": True, "errors": [], "messages": [],
    }
    assert (aigw.calls.last.path, aigw.calls.last.prompt) == ("ai/run", "hi")
    streamed = post(aigw, "/run", {**body, "input": {**body["input"], "stream": True}})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.text.endswith("data: [DONE]\\n\\n")
    assert post(aigw, "/run", {"model": "openai/gpt-4.1"}).status_code == 400

def test_the_legacy_workers_ai_path(aigw):
    response = post(aigw, "/run/@cf/meta/llama-3.1-8b-instruct", {"prompt": "hey"},
                    **{"cf-aig-gateway-id": aigw.gateway_id})
    assert response.json()["result"]["response"] == aigw_default()
    call = aigw.calls.last
    assert (call.provider, call.model, call.prompt) == (
        "workers-ai", "@cf/meta/llama-3.1-8b-instruct", "hey")

def test_the_gateway_run_api(aigw):
    body = {"model": "google/nano-banana", "input": {"prompt": "a cat"}}
    response = httpx.post(aigw.gateway_url + "/run", json=body)
    assert response.json() == {
        "state": "Completed",
        "result": {"response": aigw_default(), "usage": response.json()["result"]["usage"]},
        "usedBYOKKey": False, "provider": "google", "model": "google/nano-banana",
    }
    assert (aigw.calls.last.endpoint, aigw.calls.last.path) == ("run", "run")
    pinned = httpx.post(aigw.gateway_url + "/run", json={**body, "provider": "google-vertex-ai"})
    assert pinned.json()["provider"] == "google-vertex-ai"
    aigw.fail(503, origin="provider")
    failed = httpx.post(aigw.gateway_url + "/run", json=body)
    assert failed.json() == {"state": "Failed", "error": {
        "code": "provider_unavailable", "message": "Service Unavailable"}}
    assert httpx.post(aigw.gateway_url + "/run", json={"input": {}}).status_code == 404

def test_the_logs_api_still_answers_on_the_same_host(aigw):
    post(aigw, "/run", {"model": "openai/gpt-4.1", "input": {"prompt": "x"}})
    assert aigw.logs.list().total_count == 1

def aigw_default():
    from pytest_aigw.fake.answers import DEFAULT_CONTENT
    return DEFAULT_CONTENT
"""


def test_rest_surface_behaviour_as_a_user_sees_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(textwrap.dedent(USER_TESTS))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=14)


def test_an_unknown_gateway_or_route_is_refused_and_fails_the_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import httpx

        def test_other_gateway(aigw):
            response = httpx.post(
                aigw.rest_url + "/v1/chat/completions",
                json={"model": "openai/gpt-4.1", "messages": []},
                headers={"authorization": "Bearer t", "cf-aig-gateway-id": "prod"},
            )
            assert response.status_code == 404
            assert response.json()["errors"][0]["code"] == 2001
            assert len(aigw.calls) == 0

        def test_other_route(aigw):
            url = aigw.api_url + f"/accounts/{aigw.account_id}/workers/scripts"
            response = httpx.get(url, headers={"authorization": "Bearer t"})
            (error,) = response.json()["errors"]
            assert error["code"] == 7000
            assert error["message"].startswith(
                "No route for that URI (pytest-aigw: GET"
                f" /client/v4/accounts/{aigw.account_id}/workers/scripts refused: the fake serves"
            )
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*unexpected request POST https://api.cloudflare.com/client/v4/accounts/*/ai/v1/chat"
            "/completions: its cf-aig-gateway-id header names gateway 'prod', but the fake"
            " serves gateway 'test-gateway'",
            "*Fix: send cf-aig-gateway-id: aigw.gateway_id (or no header*",
            "*unexpected request GET https://api.cloudflare.com/client/v4/accounts/*/workers"
            "/scripts: the fake serves the AI Gateway Logs API and the REST inference API*",
        ]
    )


def test_the_loopback_server_serves_the_rest_routes() -> None:
    with MockGatewayServer() as aigw:
        assert aigw.rest_url == f"{aigw.server.url}/client/v4/accounts/{aigw.account_id}/ai"
        client = OpenAI(base_url=aigw.rest_url + "/v1", api_key=TOKEN, max_retries=0)
        reply = client.chat.completions.create(model=GPT, messages=HI)
        anthropic = Anthropic(base_url=aigw.rest_url, api_key=TOKEN, max_retries=0)
        with anthropic.messages.stream(model=CLAUDE, max_tokens=9, messages=HI) as stream:
            streamed = stream.get_final_text()
        run = httpx.post(
            aigw.rest_url + "/run",
            json={"model": GPT, "input": {"prompt": "x"}},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
        gateway_run = httpx.post(aigw.gateway_url + "/run", json={"model": GPT, "input": {}})
        refused = httpx.post(aigw.rest_url + "/run", json={"model": GPT, "input": {}})
        assert aigw.logs.list().total_count == 4
    assert reply.choices[0].message.content == streamed == DEFAULT_CONTENT
    assert run.json()["success"] is True
    assert gateway_run.json()["state"] == "Completed"
    assert refused.status_code == 401
    assert [call.endpoint for call in aigw.calls] == ["rest", "rest", "rest", "run", "rest"]


def test_metadata_reaches_the_log_through_the_sdk_extra_headers() -> None:
    with MockGateway() as aigw:
        openai_client(aigw).chat.completions.create(
            model=GPT,
            messages=HI,
            extra_headers={"cf-aig-metadata": json.dumps({"team": "qa"})},
        )
        assert aigw.logs.get(aigw.log_ids[0]).metadata == {"team": "qa"}


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "rate_limited"), (401, "provider_auth_failed"), (400, "provider_error")],
)
def test_run_api_errors_carry_a_string_code(status: int, code: str) -> None:
    body = {"model": "google/nano-banana", "input": {}}
    with MockGateway() as aigw:
        aigw.fail(status, origin="provider")
        failed = httpx.post(aigw.gateway_url + "/run", json=body)
        bad_input = httpx.post(aigw.gateway_url + "/run", json={**body, "input": "a cat"})
    assert failed.json()["error"]["code"] == code
    assert (bad_input.status_code, bad_input.json()["internalCode"]) == (400, 7003)


def test_rest_refusals_outside_the_happy_path() -> None:
    token = {"authorization": f"Bearer {TOKEN}"}
    body = {"model": GPT, "messages": HI}
    with MockGateway(strict=False) as aigw:
        other = aigw.rest_url.replace(aigw.account_id, "another-account")
        elsewhere = httpx.post(other + "/v1/chat/completions", json=body, headers=token)
        got = httpx.get(aigw.rest_url + "/v1/chat/completions", headers=token)
        bad_header = httpx.post(
            aigw.rest_url + "/v1/chat/completions",
            json=body,
            headers={**token, "cf-aig-request-timeout": "soon"},
        )
    assert (elsewhere.status_code, elsewhere.json()["errors"][0]["code"]) == (403, 9109)
    assert (got.status_code, got.json()["errors"][0]["code"]) == (404, 7000)
    assert (bad_header.status_code, bad_header.json()["internalCode"]) == (400, 7003)
    assert len(aigw.unexpected) == 2
    assert aigw.calls.last.log_id is None
