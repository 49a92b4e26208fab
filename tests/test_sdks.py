"""The official SDKs and plain httpx/httpx2 clients reach the fake unchanged, sync and async.

Written only against APIs that openai 1.x (on httpx) and 3.x (on httpx2) share.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import httpx
import httpx2
import pytest
from anthropic import Anthropic, AsyncAnthropic
from anthropic.types import Message, MessageParam, TextBlock
from openai import AsyncOpenAI, OpenAI
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.responses import Response

from pytest_aigw import MockGateway
from pytest_aigw.fake.answers import DEFAULT_CONTENT
from pytest_aigw.fake.formats.embeddings import DEFAULT_DIMENSIONS as DEFAULT_EMBEDDING_DIMENSIONS
from pytest_aigw.ids import is_uuid7

pytestmark = pytest.mark.sdk

KEY = "sk-test"
MODEL = "gpt-4o-mini"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]
METADATA = {"user": "u-42", "test": True}
HEADERS = {"cf-aig-metadata": json.dumps(METADATA), "cf-aig-event-id": "evt-42"}
WORKERS_MODEL = "@cf/meta/llama-3.1-8b-instruct"
CLAUDE = "claude-sonnet-5"
ANTHROPIC_KEY = "sk-ant-test"

Raw = tuple[ChatCompletion, dict[str, str]]
Post = Callable[[str, dict[str, str], dict[str, Any]], tuple[int, Any]]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- openai ----------------------------------------------------------------------------


def chat(mode: str, base_url: str, model: str = MODEL, **options: Any) -> Raw:
    """Create a chat completion through the raw response, as `(completion, headers)`."""
    if mode == "sync":
        with OpenAI(base_url=base_url, api_key=KEY, max_retries=0, **options) as client:
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=MESSAGES, extra_headers=HEADERS
            )
        return raw.parse(), dict(raw.headers)

    async def run() -> Raw:
        async with AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0, **options) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model=model, messages=MESSAGES, extra_headers=HEADERS
            )
        return raw.parse(), dict(raw.headers)

    return asyncio.run(run())


def respond(mode: str, base_url: str) -> Response:
    if mode == "sync":
        with OpenAI(base_url=base_url, api_key=KEY, max_retries=0) as client:
            return client.responses.create(model=MODEL, input="Hello", extra_headers=HEADERS)

    async def run() -> Response:
        async with AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0) as client:
            return await client.responses.create(model=MODEL, input="Hello", extra_headers=HEADERS)

    return asyncio.run(run())


def embed(mode: str, base_url: str, **options: Any) -> CreateEmbeddingResponse:
    model, texts = "text-embedding-3-small", ["first text", "second text"]
    if mode == "sync":
        with OpenAI(base_url=base_url, api_key=KEY, max_retries=0) as client:
            return client.embeddings.create(model=model, input=texts, **options)

    async def run() -> CreateEmbeddingResponse:
        async with AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0) as client:
            return await client.embeddings.create(model=model, input=texts, **options)

    return asyncio.run(run())


def test_openai_chat_completion_parses_into_typed_object(aigw: MockGateway, mode: str) -> None:
    completion, _ = chat(mode, aigw.url("openai"))
    call = aigw.calls.last
    assert completion.choices[0].message.content == DEFAULT_CONTENT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.id == f"chatcmpl-{str(call.log_id).lower()}"
    assert completion.model == call.model == MODEL
    assert (call.provider, call.path) == ("openai", "chat/completions")


def test_openai_metadata_and_event_id_are_recorded(aigw: MockGateway, mode: str) -> None:
    _, headers = chat(mode, aigw.url("openai"))
    call = aigw.calls.last
    assert call.metadata == METADATA
    assert call.metadata_header == HEADERS["cf-aig-metadata"]
    assert call.event_id == "evt-42" == headers["cf-aig-event-id"]
    assert call.json["messages"] == MESSAGES


def test_openai_raw_response_carries_the_gateway_log_id_and_cache_status(
    aigw: MockGateway, mode: str
) -> None:
    _, headers = chat(mode, aigw.url("openai"))
    log_id = headers["cf-aig-log-id"]
    assert log_id == aigw.calls.last.log_id
    assert is_uuid7(log_id)  # the gateway's format since 2026-10-08
    assert headers["cf-aig-request-id"] == log_id  # one id for a single-step request
    assert headers["cf-aig-event-id"] == "evt-42"  # the app's own is echoed
    assert headers["cf-aig-cache-status"] == aigw.calls.last.cache_status == "MISS"
    assert aigw.log_ids == [log_id]


def test_openai_api_key_is_redacted_but_can_be_matched(aigw: MockGateway, mode: str) -> None:
    chat(mode, aigw.url("openai"))
    call = aigw.calls.last
    assert call.request.headers["authorization"] == "Bearer [redacted]"
    assert KEY not in str(call.request.headers.raw)
    assert call.secret_matches("authorization", f"Bearer {KEY}")
    assert not call.secret_matches("authorization", "Bearer sk-other")


def test_openai_responses_create_gives_output_text(aigw: MockGateway, mode: str) -> None:
    response = respond(mode, aigw.url("openai"))
    assert response.output_text == DEFAULT_CONTENT
    assert response.id == f"resp_{str(aigw.calls.last.log_id).lower()}"
    assert (aigw.calls.last.path, aigw.calls.last.model) == ("responses", MODEL)
    assert aigw.calls.last.metadata == METADATA


@pytest.mark.parametrize(
    ("options", "size"),
    [({}, DEFAULT_EMBEDDING_DIMENSIONS), ({"dimensions": 4}, 4)],
    ids=["default-size", "dimensions-4"],
)
def test_openai_embeddings_decode_from_base64_into_floats(
    aigw: MockGateway, mode: str, options: dict[str, Any], size: int
) -> None:
    result = embed(mode, aigw.url("openai"), **options)
    assert aigw.calls.last.json["encoding_format"] == "base64"
    assert aigw.calls.last.json.get("dimensions") == options.get("dimensions")
    assert [item.index for item in result.data] == [0, 1]
    for item in result.data:
        assert len(item.embedding) == size
        assert all(isinstance(x, float) for x in item.embedding)
        assert math.fsum(x * x for x in item.embedding) == pytest.approx(1.0, abs=1e-4)
    assert result.data[0].embedding != result.data[1].embedding
    assert aigw.calls.last.model == "text-embedding-3-small"


def azure_chat(aigw: MockGateway, mode: str) -> ChatCompletion:
    """Call Azure OpenAI the way the gateway's docs show: the deployment in the base URL."""
    completion, _ = chat(
        mode,
        aigw.url("azure-openai") + "/my-resource/my-deployment",
        default_query={"api-version": "2024-06-01"},
        default_headers={"api-key": "azure-key"},
    )
    return completion


def test_azure_openai_routes_by_resource_and_deployment(aigw: MockGateway, mode: str) -> None:
    completion = azure_chat(aigw, mode)
    call = aigw.calls.last
    assert completion.choices[0].message.content == DEFAULT_CONTENT
    assert call.provider == "azure-openai"
    assert call.path == "my-resource/my-deployment/chat/completions"
    assert call.request.url.params["api-version"] == "2024-06-01"
    assert call.request.headers["api-key"] == "[redacted]"
    assert call.secret_matches("api-key", "azure-key")


def test_azure_openai_records_the_deployment_as_the_model(aigw: MockGateway, mode: str) -> None:
    azure_chat(aigw, mode)
    assert aigw.calls.last.model == "my-deployment"


@pytest.mark.parametrize(
    ("provider", "suffix", "model"),
    [
        ("workers-ai", "/v1", WORKERS_MODEL),
        ("groq", "", "llama-3.1-8b-instant"),
        ("mistral", "/v1", "mistral-small-latest"),
    ],
)
def test_openai_compatible_providers_answer_chat_completions(
    aigw: MockGateway, mode: str, provider: str, suffix: str, model: str
) -> None:
    completion, headers = chat(mode, aigw.url(provider) + suffix, model=model)
    call = aigw.calls.last
    assert completion.choices[0].message.content == DEFAULT_CONTENT
    assert completion.model == call.model == model
    assert call.provider == provider
    assert call.path == suffix.lstrip("/") + ("/" if suffix else "") + "chat/completions"
    assert headers["cf-aig-log-id"] == call.log_id


# --- anthropic -------------------------------------------------------------------------


def claude(mode: str, base_url: str) -> Message:
    messages: list[MessageParam] = [{"role": "user", "content": "Hello"}]
    if mode == "sync":
        with Anthropic(base_url=base_url, api_key=ANTHROPIC_KEY, max_retries=0) as client:
            return client.messages.create(
                model=CLAUDE, max_tokens=64, messages=messages, extra_headers=HEADERS
            )

    async def run() -> Message:
        async with AsyncAnthropic(base_url=base_url, api_key=ANTHROPIC_KEY, max_retries=0) as c:
            return await c.messages.create(
                model=CLAUDE, max_tokens=64, messages=messages, extra_headers=HEADERS
            )

    return asyncio.run(run())


def test_anthropic_message_parses_into_typed_object(aigw: MockGateway, mode: str) -> None:
    message = claude(mode, aigw.url("anthropic"))
    call = aigw.calls.last
    block = message.content[0]
    assert isinstance(block, TextBlock)
    assert block.text == DEFAULT_CONTENT
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    assert message.id == f"msg_{str(call.log_id).lower()}"
    assert (call.provider, call.path) == ("anthropic", "v1/messages")
    assert message.model == call.model == CLAUDE
    assert call.metadata == METADATA


def test_anthropic_api_key_is_redacted_but_can_be_matched(aigw: MockGateway, mode: str) -> None:
    claude(mode, aigw.url("anthropic"))
    call = aigw.calls.last
    # Older anthropic SDKs send the key as x-api-key; newer ones as a bearer token.
    if "x-api-key" in call.headers:
        header, sent, stored = "x-api-key", ANTHROPIC_KEY, "[redacted]"
    else:
        header, sent, stored = "authorization", f"Bearer {ANTHROPIC_KEY}", "Bearer [redacted]"
    assert call.headers[header] == stored
    assert ANTHROPIC_KEY not in str(call.headers.raw)
    assert call.secret_matches(header, sent)
    assert not call.secret_matches(header, sent.replace("test", "other"))


def test_anthropic_x_api_key_header_is_redacted_but_can_be_matched(
    aigw: MockGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    headers = {"x-api-key": ANTHROPIC_KEY}
    with Anthropic(base_url=aigw.url("anthropic"), default_headers=headers) as client:
        client.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
        )
    call = aigw.calls.last
    assert call.headers["x-api-key"] == "[redacted]"
    assert ANTHROPIC_KEY not in str(call.headers.raw)
    assert call.secret_matches("x-api-key", ANTHROPIC_KEY)
    assert not call.secret_matches("x-api-key", "sk-ant-other")


# --- plain httpx and httpx2 ------------------------------------------------------------


def sync_post(module: ModuleType) -> Post:
    """POST with *module*'s sync client (httpx and httpx2 share the API)."""

    def post(url: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        with module.Client() as client:
            reply = client.post(url, headers=headers, json=body)
        return reply.status_code, reply.json()

    return post


def async_post(module: ModuleType) -> Post:
    """POST with *module*'s async client, run to completion."""

    def post(url: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        async def run() -> tuple[int, Any]:
            async with module.AsyncClient() as client:
                reply = await client.post(url, headers=headers, json=body)
            return reply.status_code, reply.json()

        return asyncio.run(run())

    return post


@pytest.fixture(
    params=[sync_post(httpx), async_post(httpx), sync_post(httpx2), async_post(httpx2)],
    ids=["httpx-sync", "httpx-async", "httpx2-sync", "httpx2-async"],
)
def post(request: pytest.FixtureRequest) -> Post:
    function: Post = request.param
    return function


def test_google_ai_studio_generate_content_answers_with_candidates(
    aigw: MockGateway, post: Post
) -> None:
    url = aigw.url("google-ai-studio") + "/v1beta/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}
    status, reply = post(url, {"x-goog-api-key": "goog-key"}, body)
    call = aigw.calls.last
    assert status == 200
    assert reply["candidates"][0]["content"]["parts"][0]["text"] == DEFAULT_CONTENT
    assert (call.provider, call.model) == ("google-ai-studio", "gemini-2.5-flash")
    assert call.request.headers["x-goog-api-key"] == "[redacted]"
    assert call.secret_matches("x-goog-api-key", "goog-key")


def test_workers_ai_native_run_answers_with_result_response(aigw: MockGateway, post: Post) -> None:
    url = aigw.url("workers-ai") + "/" + WORKERS_MODEL
    status, reply = post(url, {"authorization": "Bearer cf-token"}, {"prompt": "Hello"})
    call = aigw.calls.last
    assert status == 200
    assert reply["result"]["response"] == DEFAULT_CONTENT
    assert reply["success"] is True
    assert (call.provider, call.model) == ("workers-ai", WORKERS_MODEL)
    assert call.secret_matches("authorization", "Bearer cf-token")


def test_unknown_provider_gets_a_generic_json_reply(aigw: MockGateway, post: Post) -> None:
    status, reply = post(aigw.url("some-new-provider") + "/v1/anything", {}, {"q": 1})
    call = aigw.calls.last
    assert status == 200
    assert reply["object"] == "aigw.mock_reply"
    assert reply["content"] == DEFAULT_CONTENT
    assert (call.provider, call.path, call.json) == ("some-new-provider", "v1/anything", {"q": 1})
    assert aigw.unexpected == []


# --- concurrency -----------------------------------------------------------------------

COUNT = 20


def question(i: int) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": f"q{i}"}]


def assert_one_call_per_question(aigw: MockGateway, log_ids: list[str]) -> None:
    asked = {call.json["messages"][0]["content"]: call.log_id for call in aigw.calls}
    assert len(aigw.calls) == COUNT
    assert asked == {f"q{i}": log_id for i, log_id in enumerate(log_ids)}
    assert len(set(log_ids)) == COUNT
    assert sorted(aigw.log_ids) == sorted(set(log_ids))


def test_concurrent_threads_each_get_a_recorded_call_and_unique_log_id(
    aigw: MockGateway,
) -> None:
    barrier = threading.Barrier(COUNT, timeout=30)
    url = aigw.url("openai")

    def ask(i: int) -> str:
        barrier.wait()
        if i % 2:
            body = {"model": MODEL, "messages": question(i)}
            return httpx.post(url + "/chat/completions", json=body).headers["cf-aig-log-id"]
        raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=question(i))
        return raw.headers["cf-aig-log-id"]

    with (
        OpenAI(base_url=url, api_key=KEY, max_retries=0) as client,
        ThreadPoolExecutor(COUNT) as pool,
    ):
        log_ids = list(pool.map(ask, range(COUNT)))
    assert_one_call_per_question(aigw, log_ids)


def test_concurrent_tasks_each_get_a_recorded_call_and_unique_log_id(aigw: MockGateway) -> None:
    url = aigw.url("openai")

    async def ask_all() -> list[str]:
        async with (
            AsyncOpenAI(base_url=url, api_key=KEY, max_retries=0) as client,
            httpx.AsyncClient() as plain,
        ):

            async def ask(i: int) -> str:
                if i % 2:
                    body = {"model": MODEL, "messages": question(i)}
                    reply = await plain.post(url + "/chat/completions", json=body)
                    return reply.headers["cf-aig-log-id"]
                raw = await client.chat.completions.with_raw_response.create(
                    model=MODEL, messages=question(i)
                )
                return raw.headers["cf-aig-log-id"]

            return list(await asyncio.gather(*(ask(i) for i in range(COUNT))))

    assert_one_call_per_question(aigw, asyncio.run(ask_all()))
