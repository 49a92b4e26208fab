"""Streams, scripted replies and faults, as the official SDKs and plain clients see them.

Written only against APIs that openai 1.x (on httpx) and 3.x (on httpx2) share. Where
the SDKs differ in what they raise, the expected error is chosen by the HTTP library
the installed SDK is built on.
"""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import anthropic
import httpx
import httpx2
import openai
import pytest
from anthropic import Anthropic, AsyncAnthropic
from anthropic.types import (
    Message,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStreamEvent,
    TextBlock,
    TextDelta,
)
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.responses import Response, ResponseStreamEvent, ResponseTextDeltaEvent

from pytest_aigw import MockGateway
from pytest_aigw.fake.answers import DEFAULT_CONTENT
from pytest_aigw.fake.errors import TIMEOUT_MESSAGE

pytestmark = pytest.mark.sdk

KEY = "sk-test"
MODEL = "gpt-4o-mini"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]
CLAUDE = "claude-sonnet-5"
ANTHROPIC_KEY = "sk-ant-test"
CLAUDE_MESSAGES: list[MessageParam] = [{"role": "user", "content": "Hello"}]
WORKERS_MODEL = "@cf/meta/llama-3.1-8b-instruct"
# Workers AI reads a Cloudflare API token from Authorization, as OpenAI-shaped providers read keys.
CF_TOKEN = {"Authorization": "Bearer cf-api-token"}

CONTENT = "Streams arrive piece by piece."
WORDS = ["Streams", " arrive", " piece", " by", " piece."]  # how CONTENT is split when streamed
PIECES = ["Stre", "ams arr", "ive pie", "ce by piece", "."]  # given exactly as the stream pieces
RETRY_NOW = {"retry-after-ms": "1"}  # SDKs honour it, so their retries take a millisecond


def http_library(client_class: type) -> ModuleType:
    """The HTTP library an SDK is built on, from its public `DefaultHttpxClient` class."""
    return httpx2 if issubclass(client_class, httpx2.Client) else httpx


OPENAI_HTTP = http_library(openai.DefaultHttpxClient)
ANTHROPIC_HTTP = http_library(anthropic.DefaultHttpxClient)
# A connection dropped mid-stream: openai 3.x wraps it in APIConnectionError while
# iterating; openai 1.x and anthropic let their HTTP library's own error through.
OPENAI_CUT: type[Exception] = (
    openai.APIConnectionError if OPENAI_HTTP is httpx2 else httpx.RemoteProtocolError
)
ANTHROPIC_CUT: type[Exception] = ANTHROPIC_HTTP.RemoteProtocolError


def _has_responses_stream() -> bool:
    try:
        from openai.resources.responses import Responses
    except ImportError:
        return False
    return hasattr(Responses, "stream")


needs_responses_stream = pytest.mark.skipif(
    not _has_responses_stream(),
    reason=f"openai {openai.__version__} has no Responses API stream helper"
    " (client.responses.stream)",
)


# One TLS context for every client: each client that loads the CA bundle itself costs
# ~25 ms, which would dominate this file's run time. Passing `http_client` is ordinary
# SDK use; nothing else about the clients changes.
TLS = ssl.create_default_context()
T = TypeVar("T")


def _sdk(kind: Callable[..., T], api_key: str, http: Callable[..., Any]) -> Callable[..., T]:
    """A factory of *kind* clients on a base URL, no retries unless asked, sharing `TLS`."""

    def build(base_url: str, max_retries: int = 0) -> T:
        return kind(
            base_url=base_url,
            api_key=api_key,
            max_retries=max_retries,
            http_client=http(verify=TLS),
        )

    return build


sync_openai = _sdk(OpenAI, KEY, openai.DefaultHttpxClient)
async_openai = _sdk(AsyncOpenAI, KEY, openai.DefaultAsyncHttpxClient)
sync_anthropic = _sdk(Anthropic, ANTHROPIC_KEY, anthropic.DefaultHttpxClient)
async_anthropic = _sdk(AsyncAnthropic, ANTHROPIC_KEY, anthropic.DefaultAsyncHttpxClient)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def log_id_of(aigw: MockGateway, index: int = -1) -> str:
    log_id = aigw.calls[index].log_id
    assert log_id is not None
    return log_id


# --- openai chat completions ----------------------------------------------------------

Chunks = tuple[list[ChatCompletionChunk], dict[str, str]]
Raw = tuple[ChatCompletion, dict[str, str]]


def stream_chat(mode: str, base_url: str, model: str = MODEL, **options: Any) -> Chunks:
    """Stream a chat completion through `with_streaming_response`: `(chunks, headers)`."""
    if mode == "sync":
        with (
            sync_openai(base_url) as client,
            client.chat.completions.with_streaming_response.create(
                model=model, messages=MESSAGES, stream=True, **options
            ) as response,
        ):
            return list(response.parse()), dict(response.headers)

    async def run() -> Chunks:
        async with (
            async_openai(base_url) as client,
            client.chat.completions.with_streaming_response.create(
                model=model, messages=MESSAGES, stream=True, **options
            ) as response,
        ):
            stream = await response.parse()
            return [chunk async for chunk in stream], dict(response.headers)

    return asyncio.run(run())


def chat_pieces(
    mode: str, base_url: str, received: list[str], max_retries: int = 0
) -> dict[str, str]:
    """Stream with `create(stream=True)`, appending each text piece to *received* as it comes.

    Returns the stream's response headers.
    """
    if mode == "sync":
        with (
            sync_openai(base_url, max_retries) as client,
            client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True) as stream,
        ):
            for chunk in stream:
                received.extend(choice.delta.content or "" for choice in chunk.choices)
            return dict(stream.response.headers)

    async def run() -> dict[str, str]:
        async with async_openai(base_url, max_retries) as client:
            stream = await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True
            )
            async with stream:
                async for chunk in stream:
                    received.extend(choice.delta.content or "" for choice in chunk.choices)
            return dict(stream.response.headers)

    return asyncio.run(run())


def chat(
    mode: str,
    base_url: str,
    *,
    max_retries: int = 0,
    model: str = MODEL,
    headers: dict[str, str] | None = None,
) -> Raw:
    """Create a chat completion through the raw response: `(completion, headers)`."""
    if mode == "sync":
        with sync_openai(base_url, max_retries) as client:
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=MESSAGES, extra_headers=headers
            )
        return raw.parse(), dict(raw.headers)

    async def run() -> Raw:
        async with async_openai(base_url, max_retries) as c:
            raw = await c.chat.completions.with_raw_response.create(
                model=model, messages=MESSAGES, extra_headers=headers
            )
        return raw.parse(), dict(raw.headers)

    return asyncio.run(run())


def test_openai_chat_stream_sends_one_chunk_per_word(aigw: MockGateway, mode: str) -> None:
    aigw.respond(CONTENT)
    chunks, headers = stream_chat(mode, aigw.url("openai"))
    log_id = log_id_of(aigw)
    assert len(chunks) == len(WORDS) + 2  # the role chunk, one per word, the finish chunk
    assert [chunk.choices[0].delta.content for chunk in chunks] == ["", *WORDS, None]
    assert [chunk.choices[0].delta.role for chunk in chunks] == ["assistant"] + [None] * (
        len(WORDS) + 1
    )
    assert [chunk.choices[0].finish_reason for chunk in chunks[:-1]] == [None] * (len(WORDS) + 1)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {chunk.id for chunk in chunks} == {f"chatcmpl-{log_id.lower()}"}
    assert {chunk.model for chunk in chunks} == {MODEL}
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert all(chunk.usage is None for chunk in chunks)
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cf-aig-log-id"] == log_id
    assert headers["cf-aig-cache-status"] == aigw.calls.last.cache_status == "MISS"
    assert aigw.log_ids == [log_id]


def test_openai_chat_stream_sends_scripted_pieces_exactly(aigw: MockGateway, mode: str) -> None:
    aigw.respond(PIECES)
    received: list[str] = []
    headers = chat_pieces(mode, aigw.url("openai"), received)
    assert received == ["", *PIECES, ""]  # the role chunk and the finish chunk carry no text
    assert "".join(received) == CONTENT
    assert headers["cf-aig-log-id"] == aigw.calls.last.log_id
    call = aigw.calls.last
    assert (call.status_code, call.fault, call.json["stream"]) == (200, None, True)


def test_openai_chat_stream_ends_with_a_usage_chunk_when_asked(
    aigw: MockGateway, mode: str
) -> None:
    aigw.respond(PIECES)
    chunks, _ = stream_chat(mode, aigw.url("openai"), stream_options={"include_usage": True})
    *replies, last = chunks
    assert [chunk.choices[0].delta.content for chunk in replies] == ["", *PIECES, None]
    assert all(chunk.usage is None for chunk in replies)
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == math.ceil(len(CONTENT) / 4)
    assert last.usage.prompt_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert aigw.calls.last.json["stream_options"] == {"include_usage": True}


# --- openai responses API -------------------------------------------------------------

RESPONSE_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    *["response.output_text.delta"] * len(WORDS),
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def stream_response_events(mode: str, base_url: str) -> list[ResponseStreamEvent]:
    if mode == "sync":
        with (
            sync_openai(base_url) as client,
            client.responses.create(model=MODEL, input="Hello", stream=True) as stream,
        ):
            return list(stream)

    async def run() -> list[ResponseStreamEvent]:
        async with async_openai(base_url) as client:
            stream = await client.responses.create(model=MODEL, input="Hello", stream=True)
            async with stream:
                return [event async for event in stream]

    return asyncio.run(run())


def stream_response_helper(mode: str, base_url: str) -> tuple[list[str], Response]:
    """Use the `client.responses.stream(...)` helper: `(text deltas, final response)`."""
    if mode == "sync":
        with (
            sync_openai(base_url) as client,
            client.responses.stream(model=MODEL, input="Hello") as stream,
        ):
            deltas = [e.delta for e in stream if isinstance(e, ResponseTextDeltaEvent)]
            return deltas, stream.get_final_response()

    async def run() -> tuple[list[str], Response]:
        async with (
            async_openai(base_url) as client,
            client.responses.stream(model=MODEL, input="Hello") as stream,
        ):
            deltas = [e.delta async for e in stream if isinstance(e, ResponseTextDeltaEvent)]
            return deltas, await stream.get_final_response()

    return asyncio.run(run())


@needs_responses_stream
def test_openai_responses_stream_events_carry_the_deltas(aigw: MockGateway, mode: str) -> None:
    aigw.respond(CONTENT)
    events = stream_response_events(mode, aigw.url("openai"))
    assert [event.type for event in events] == RESPONSE_EVENTS
    assert [event.sequence_number for event in events] == list(range(len(RESPONSE_EVENTS)))
    deltas = [event.delta for event in events if isinstance(event, ResponseTextDeltaEvent)]
    assert deltas == WORDS
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == CONTENT
    assert completed.response.status == "completed"
    assert completed.response.id == f"resp_{log_id_of(aigw).lower()}"
    assert (aigw.calls.last.path, aigw.calls.last.model) == ("responses", MODEL)


@needs_responses_stream
def test_openai_responses_stream_helper_gives_deltas_and_final_response(
    aigw: MockGateway, mode: str
) -> None:
    aigw.respond(PIECES)
    deltas, final = stream_response_helper(mode, aigw.url("openai"))
    assert deltas == PIECES
    assert final.output_text == CONTENT
    assert final.id == f"resp_{log_id_of(aigw).lower()}"
    assert final.usage is not None
    assert final.usage.output_tokens == math.ceil(len(CONTENT) / 4)
    assert aigw.calls.last.json["stream"] is True


# --- anthropic ------------------------------------------------------------------------


def claude_stream(mode: str, base_url: str) -> tuple[list[str], Message, str]:
    """`messages.stream(...)`: `(text_stream pieces, final message, cf-aig-log-id header)`."""
    if mode == "sync":
        with (
            sync_anthropic(base_url) as client,
            client.messages.stream(model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES) as stream,
        ):
            texts = list(stream.text_stream)
            return texts, stream.get_final_message(), stream.response.headers["cf-aig-log-id"]

    async def run() -> tuple[list[str], Message, str]:
        async with (
            async_anthropic(base_url) as client,
            client.messages.stream(model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES) as stream,
        ):
            texts = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
            return texts, final, stream.response.headers["cf-aig-log-id"]

    return asyncio.run(run())


def claude_text(mode: str, base_url: str, received: list[str]) -> None:
    """`messages.stream(...)`, appending each `text_stream` piece to *received* as it comes."""
    if mode == "sync":
        with (
            sync_anthropic(base_url) as client,
            client.messages.stream(model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES) as stream,
        ):
            received.extend(stream.text_stream)
        return

    async def run() -> None:
        async with (
            async_anthropic(base_url) as client,
            client.messages.stream(model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES) as stream,
        ):
            async for text in stream.text_stream:
                received.append(text)

    asyncio.run(run())


def claude_raw_events(mode: str, base_url: str) -> list[RawMessageStreamEvent]:
    """`messages.create(stream=True)`: the raw stream events as the SDK parses them."""
    if mode == "sync":
        with (
            sync_anthropic(base_url) as client,
            client.messages.create(
                model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES, stream=True
            ) as stream,
        ):
            return list(stream)

    async def run() -> list[RawMessageStreamEvent]:
        async with async_anthropic(base_url) as client:
            stream = await client.messages.create(
                model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES, stream=True
            )
            async with stream:
                return [event async for event in stream]

    return asyncio.run(run())


def claude(mode: str, base_url: str, *, max_retries: int = 0) -> Message:
    if mode == "sync":
        with sync_anthropic(base_url, max_retries) as c:
            return c.messages.create(model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES)

    async def run() -> Message:
        async with async_anthropic(base_url, max_retries) as c:
            return await c.messages.create(model=CLAUDE, max_tokens=64, messages=CLAUDE_MESSAGES)

    return asyncio.run(run())


def text_of(message: Message) -> str:
    block = message.content[0]
    assert isinstance(block, TextBlock)
    return block.text


def test_anthropic_message_stream_gives_text_and_final_message(
    aigw: MockGateway, mode: str
) -> None:
    aigw.respond(CONTENT)
    texts, final, log_id = claude_stream(mode, aigw.url("anthropic"))
    call = aigw.calls.last
    assert texts == WORDS
    assert text_of(final) == CONTENT
    assert len(final.content) == 1
    assert final.stop_reason == "end_turn"
    assert final.model == call.model == CLAUDE
    assert final.usage.output_tokens == math.ceil(len(CONTENT) / 4)
    assert final.usage.input_tokens > 0
    assert log_id == call.log_id
    assert final.id == f"msg_{log_id.lower()}"
    assert (call.provider, call.path, call.json["stream"]) == ("anthropic", "v1/messages", True)


def test_anthropic_create_stream_gives_the_raw_events(aigw: MockGateway, mode: str) -> None:
    aigw.respond(PIECES)
    events = claude_raw_events(mode, aigw.url("anthropic"))
    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * len(PIECES),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the SDK drops the ping event
    deltas = [event.delta for event in events if isinstance(event, RawContentBlockDeltaEvent)]
    assert [delta.text for delta in deltas if isinstance(delta, TextDelta)] == PIECES
    start, end = events[0], events[-2]
    assert isinstance(start, RawMessageStartEvent)
    assert start.message.id == f"msg_{log_id_of(aigw).lower()}"
    assert start.message.model == CLAUDE
    assert isinstance(end, RawMessageDeltaEvent)
    assert end.delta.stop_reason == "end_turn"
    assert end.usage.output_tokens == math.ceil(len(CONTENT) / 4)


# --- Workers AI and plain clients -----------------------------------------------------

Plain = tuple[ModuleType, str]


@pytest.fixture(
    params=[(httpx, "sync"), (httpx, "async"), (httpx2, "sync"), (httpx2, "async")],
    ids=["httpx-sync", "httpx-async", "httpx2-sync", "httpx2-async"],
)
def plain(request: pytest.FixtureRequest) -> Plain:
    module, how = request.param
    return module, how


def stream_lines(plain: Plain, url: str, body: Any, received: list[str]) -> dict[str, str]:
    """POST with `client.stream`, appending each body line to *received*; return the headers."""
    module, how = plain
    if how == "sync":
        with (
            module.Client(verify=TLS, headers=CF_TOKEN) as client,
            client.stream("POST", url, json=body) as reply,
        ):
            received.extend(reply.iter_lines())
            return dict(reply.headers)

    async def run() -> dict[str, str]:
        async with (
            module.AsyncClient(verify=TLS, headers=CF_TOKEN) as client,
            client.stream("POST", url, json=body) as reply,
        ):
            async for line in reply.aiter_lines():
                received.append(line)
            return dict(reply.headers)

    return asyncio.run(run())


def post(plain: Plain, url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    """POST and read the whole reply: `(status, headers, json)`."""
    module, how = plain
    if how == "sync":
        with module.Client(verify=TLS, headers=CF_TOKEN) as client:
            reply = client.post(url, json=body, headers=headers)
        return reply.status_code, dict(reply.headers), reply.json()

    async def run() -> Any:
        async with module.AsyncClient(verify=TLS, headers=CF_TOKEN) as client:
            reply = await client.post(url, json=body, headers=headers)
        return reply.status_code, dict(reply.headers), reply.json()

    return asyncio.run(run())


def data_of(lines: list[str]) -> list[str]:
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


def workers_url(aigw: MockGateway) -> str:
    return f"{aigw.url('workers-ai')}/{WORKERS_MODEL}"


def test_workers_ai_stream_sends_data_events_then_done(aigw: MockGateway, plain: Plain) -> None:
    aigw.respond(CONTENT)
    lines: list[str] = []
    headers = stream_lines(plain, workers_url(aigw), {"prompt": "Hello", "stream": True}, lines)
    data = data_of(lines)
    assert data[-1] == "[DONE]"
    events = [json.loads(item) for item in data[:-1]]
    assert [event["response"] for event in events[:-1]] == WORDS
    assert events[-1]["response"] == ""
    assert events[-1]["usage"]["completion_tokens"] == math.ceil(len(CONTENT) / 4)
    assert len(lines) == 2 * len(data)  # each event is one data line and a blank line
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cf-aig-log-id"] == aigw.calls.last.log_id
    assert (aigw.calls.last.provider, aigw.calls.last.model) == ("workers-ai", WORKERS_MODEL)


# --- a stream cut mid-way -------------------------------------------------------------


def test_openai_stream_cut_mid_way_raises_after_the_first_pieces(
    aigw: MockGateway, mode: str
) -> None:
    aigw.respond(PIECES, cut_after=3)  # the role chunk and two pieces get through
    received: list[str] = []
    with pytest.raises(OPENAI_CUT) as raised:
        chat_pieces(mode, aigw.url("openai"), received)
    assert not isinstance(raised.value, openai.APITimeoutError)
    assert received == ["", *PIECES[:2]]
    call = aigw.calls.last
    assert (call.status_code, call.fault) == (200, "cut")
    assert call.log_id is not None


def test_anthropic_stream_cut_mid_way_raises_after_the_first_pieces(
    aigw: MockGateway, mode: str
) -> None:
    aigw.respond(PIECES, cut_after=5)  # message_start, block start, ping and two deltas
    received: list[str] = []
    with pytest.raises(ANTHROPIC_CUT):
        claude_text(mode, aigw.url("anthropic"), received)
    assert received == PIECES[:2]
    assert (aigw.calls.last.status_code, aigw.calls.last.fault) == (200, "cut")


def test_plain_client_stream_cut_raises_its_remote_protocol_error(
    aigw: MockGateway, plain: Plain
) -> None:
    module, _ = plain
    aigw.respond(PIECES, cut_after=2)
    lines: list[str] = []
    with pytest.raises(module.RemoteProtocolError):
        stream_lines(plain, workers_url(aigw), {"prompt": "Hello", "stream": True}, lines)
    assert [json.loads(item)["response"] for item in data_of(lines)] == PIECES[:2]
    assert aigw.calls.last.fault == "cut"


# --- errors, and the SDKs' own retries ------------------------------------------------


def statuses(aigw: MockGateway) -> list[int | None]:
    return [call.status_code for call in aigw.calls]


def assert_distinct_log_ids(aigw: MockGateway) -> None:
    log_ids = [call.log_id for call in aigw.calls]
    assert None not in log_ids
    assert len(set(log_ids)) == len(log_ids)
    assert aigw.log_ids == log_ids


@pytest.mark.parametrize(
    "status", [429, 500], ids=["a-gateway-rate-limit", "a-provider-server-error"]
)
def test_openai_retries_then_succeeds(aigw: MockGateway, mode: str, status: int) -> None:
    aigw.fail(status, headers=RETRY_NOW)
    aigw.respond("ok")
    completion, headers = chat(mode, aigw.url("openai"), max_retries=2)
    assert completion.choices[0].message.content == "ok"
    assert statuses(aigw) == [status, 200]
    assert_distinct_log_ids(aigw)
    assert headers["cf-aig-log-id"] == aigw.log_ids[1]
    if status == 429:
        assert aigw.calls[0].response_headers["retry-after-ms"] == "1"


def test_openai_retries_a_rate_limited_stream_then_streams(aigw: MockGateway, mode: str) -> None:
    aigw.fail(429, headers=RETRY_NOW)
    aigw.respond(PIECES)
    received: list[str] = []
    headers = chat_pieces(mode, aigw.url("openai"), received, max_retries=1)
    assert received == ["", *PIECES, ""]
    assert statuses(aigw) == [429, 200]
    assert headers["cf-aig-log-id"] == aigw.log_ids[1]


def test_openai_rate_limit_without_retries_carries_the_gateway_error(
    aigw: MockGateway, mode: str
) -> None:
    aigw.fail(429)
    with pytest.raises(openai.RateLimitError) as raised:
        chat(mode, aigw.url("openai"))
    error = raised.value
    assert error.status_code == 429
    assert error.body == [{"code": 2003, "message": "Rate limited"}]
    assert error.response.json()["name"] == "AiGatewayError"
    assert error.response.headers["cf-aig-log-id"] == aigw.calls.last.log_id


def test_openai_provider_server_error_comes_in_openai_format(aigw: MockGateway, mode: str) -> None:
    aigw.fail(500, message="The server had an error")
    with pytest.raises(openai.InternalServerError) as raised:
        chat(mode, aigw.url("openai"))
    assert raised.value.body == {
        "message": "The server had an error",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    assert raised.value.message.startswith("Error code: 500")


def test_anthropic_retries_a_gateway_rate_limit_then_succeeds(aigw: MockGateway, mode: str) -> None:
    aigw.fail(429, headers=RETRY_NOW)
    aigw.respond("ok")
    message = claude(mode, aigw.url("anthropic"), max_retries=2)
    assert text_of(message) == "ok"
    assert statuses(aigw) == [429, 200]
    assert_distinct_log_ids(aigw)
    assert message.id == f"msg_{aigw.log_ids[1].lower()}"


def test_anthropic_retries_a_provider_server_error_then_succeeds(
    aigw: MockGateway, mode: str
) -> None:
    aigw.fail(500, headers=RETRY_NOW)
    aigw.respond("ok")
    message = claude(mode, aigw.url("anthropic"), max_retries=2)
    assert text_of(message) == "ok"
    assert statuses(aigw) == [500, 200]
    assert_distinct_log_ids(aigw)


def test_anthropic_provider_server_error_comes_in_anthropic_format(
    aigw: MockGateway, mode: str
) -> None:
    aigw.fail(503, message="Overloaded for a moment")
    with pytest.raises(anthropic.InternalServerError) as raised:
        claude(mode, aigw.url("anthropic"))
    assert raised.value.status_code == 503
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "api_error", "message": "Overloaded for a moment"},
    }


# --- network faults -------------------------------------------------------------------


def test_openai_retries_a_timeout_then_succeeds(aigw: MockGateway, mode: str) -> None:
    aigw.fail("timeout")
    aigw.respond("ok")
    completion, _ = chat(mode, aigw.url("openai"), max_retries=1)  # backs off ~0.5 s once
    assert completion.choices[0].message.content == "ok"
    assert [(call.status_code, call.fault) for call in aigw.calls] == [
        (None, "timeout"),
        (200, None),
    ]
    assert aigw.calls[0].log_id is None
    assert aigw.log_ids == [aigw.calls[1].log_id]


def test_openai_timeout_without_retries_raises_api_timeout_error(
    aigw: MockGateway, mode: str
) -> None:
    aigw.fail("timeout")
    with pytest.raises(openai.APITimeoutError):
        chat(mode, aigw.url("openai"))
    assert len(aigw.calls) == 1
    assert aigw.calls.last.fault == "timeout"


def test_openai_disconnect_raises_api_connection_error(aigw: MockGateway, mode: str) -> None:
    aigw.fail("disconnect")
    with pytest.raises(openai.APIConnectionError) as raised:
        chat(mode, aigw.url("openai"))
    assert not isinstance(raised.value, openai.APITimeoutError)
    assert aigw.calls.last.fault == "disconnect"


def test_anthropic_timeout_without_retries_raises_api_timeout_error(
    aigw: MockGateway, mode: str
) -> None:
    aigw.fail("timeout")
    with pytest.raises(anthropic.APITimeoutError):
        claude(mode, aigw.url("anthropic"))
    assert aigw.calls.last.fault == "timeout"


def test_plain_client_timeout_raises_its_read_timeout(aigw: MockGateway, plain: Plain) -> None:
    module, _ = plain
    aigw.fail("timeout")
    with pytest.raises(module.ReadTimeout):
        post(plain, workers_url(aigw), {"prompt": "Hello"})
    assert (aigw.calls.last.status_code, aigw.calls.last.fault) == (None, "timeout")


def test_openai_request_timeout_header_gets_the_gateway_504(aigw: MockGateway, mode: str) -> None:
    aigw.respond("too late", latency=5.0)
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as raised:
        chat(mode, aigw.url("openai"), headers={"cf-aig-request-timeout": "50"})
    waited = time.monotonic() - started
    assert raised.value.status_code == 504
    assert raised.value.body == [{"message": TIMEOUT_MESSAGE}]  # no documented code exists
    assert 0.05 <= waited < 1.0
    assert aigw.calls.last.options.request_timeout == 50


# --- the compat endpoint through the openai SDK ---------------------------------------

COMPAT_MODEL = f"anthropic/{CLAUDE}"


def test_compat_endpoint_answers_openai_shaped_for_another_provider(
    aigw: MockGateway, mode: str
) -> None:
    completion, headers = chat(mode, aigw.url("compat"), model=COMPAT_MODEL)
    call = aigw.calls.last
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == DEFAULT_CONTENT
    assert completion.id == f"chatcmpl-{log_id_of(aigw).lower()}"
    assert (call.provider, call.model, call.path) == ("anthropic", CLAUDE, "chat/completions")
    assert call.json["model"] == COMPAT_MODEL
    assert headers["cf-aig-provider"] == "anthropic"
    assert headers["cf-aig-model"] == CLAUDE
    assert headers["cf-aig-log-id"] == call.log_id


def test_compat_endpoint_streams_openai_chunks(aigw: MockGateway, mode: str) -> None:
    aigw.respond(PIECES, model=COMPAT_MODEL)
    chunks, headers = stream_chat(mode, aigw.url("compat"), model=COMPAT_MODEL)
    assert [chunk.choices[0].delta.content for chunk in chunks] == ["", *PIECES, None]
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (headers["cf-aig-provider"], headers["cf-aig-model"]) == ("anthropic", CLAUDE)
    assert aigw.calls.last.provider == "anthropic"


def test_compat_endpoint_refuses_a_model_without_a_provider(aigw: MockGateway, mode: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        chat(mode, aigw.url("compat"), model=MODEL)
    error = raised.value
    # The gateway's body lists its errors under "error"; the SDK keeps that list as `body`.
    assert isinstance(error.body, list)
    assert error.body[0]["message"].startswith(f"Model not found: {MODEL}")
    assert error.status_code == 400
    assert error.response.json()["name"] == "AiGatewayError"
    assert (aigw.calls.last.status_code, aigw.calls.last.log_id) == (400, None)


# --- the universal endpoint -----------------------------------------------------------


def steps(first_config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """An OpenAI step, then a Workers AI fallback."""
    return [
        {
            "provider": "openai",
            "endpoint": "chat/completions",
            "headers": {"authorization": f"Bearer {KEY}", "content-type": "application/json"},
            "query": {"model": MODEL, "messages": MESSAGES},
            "config": first_config or {},
        },
        {
            "provider": "workers-ai",
            "endpoint": WORKERS_MODEL,
            "headers": {"authorization": "Bearer cf-token"},
            "query": {"prompt": "Hello"},
        },
    ]


def test_universal_endpoint_falls_back_when_the_first_step_fails(
    aigw: MockGateway, plain: Plain
) -> None:
    aigw.fail(500, provider="openai")
    aigw.respond("fallback", provider="workers-ai")
    status, headers, body = post(plain, aigw.gateway_url, steps())
    call = aigw.calls.last
    assert status == 200
    assert body["result"]["response"] == "fallback"
    assert headers["cf-aig-step"] == "1"
    assert len(aigw.calls) == 1
    assert (call.step, call.provider, call.model) == (1, "workers-ai", WORKERS_MODEL)
    assert headers["cf-aig-log-id"] == call.log_id


def test_universal_endpoint_falls_back_when_the_first_step_times_out(
    aigw: MockGateway, plain: Plain
) -> None:
    aigw.respond("too late", provider="openai", latency=5.0)
    aigw.respond("fallback", provider="workers-ai")
    started = time.monotonic()
    status, headers, body = post(plain, aigw.gateway_url, steps({"requestTimeout": 50}))
    waited = time.monotonic() - started
    assert 0.05 <= waited < 1.0  # the gateway waits out step 0's timeout, not its latency
    assert status == 200
    assert body["result"]["response"] == "fallback"
    assert headers["cf-aig-step"] == "1"
    assert (aigw.calls.last.step, aigw.calls.last.provider) == (1, "workers-ai")
