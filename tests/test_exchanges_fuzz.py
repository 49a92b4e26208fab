"""Whatever body or stream a call received, summarising it never raises (it runs in
pytest's report hook) and never needs its last-resort guard: a broken body shows as such."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from json_strategies import json_values

from pytest_aigw import MockGateway
from pytest_aigw.calls import Call, Received
from pytest_aigw.exchanges import fold, summarize
from pytest_aigw.reply_reading import Reply, read_reply

# The keys the readers look for, so generated bodies come near every known shape.
KEYS = [
    "choices",
    "message",
    "delta",
    "content",
    "refusal",
    "tool_calls",
    "function",
    "function_call",
    "name",
    "arguments",
    "index",
    "text",
    "output",
    "object",
    "type",
    "item",
    "output_index",
    "delta",
    "arguments",
    "candidates",
    "parts",
    "functionCall",
    "args",
    "thought",
    "result",
    "response",
    "error",
    "errors",
    "success",
    "message",
    "code",
    "data",
    "embedding",
    "content_block",
    "partial_json",
    "input",
    "state",
]
TYPES = [
    "message",
    "response",
    "response.output_text.delta",
    "response.output_item.added",
    "response.function_call_arguments.delta",
    "response.completed",
    "response.failed",
    "content_block_start",
    "content_block_delta",
    "message_start",
    "text_delta",
    "input_json_delta",
    "tool_use",
    "function_call",
    "text",
    "error",
]

_, any_json = json_values(st.integers(), st.floats(), text=8)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(TYPES)
near_shapes = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=16,
)
bodies = near_shapes | any_json


def _sse(events: list[Any], names: list[str]) -> bytes:
    parts = []
    for n, event in enumerate(events):
        name = f"event: {names[n % len(names)]}\n" if names else ""
        parts.append(f"{name}data: {json.dumps(event)}\n\n")
    return "".join(parts).encode()


streams = st.builds(
    _sse, st.lists(near_shapes, max_size=6), st.lists(st.sampled_from(TYPES), max_size=3)
)
raw = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
contents = bodies.map(lambda b: json.dumps(b).encode()) | streams | raw
content_types = st.sampled_from(
    ["", "application/json", "text/event-stream", "text/plain", "image/png", "TEXT/HTML"]
)
encodings = st.sampled_from(["", "identity", "gzip", "br", "deflate", "zstd", "bogus"])


def _check(reply: Reply) -> None:
    assert reply.text is None or isinstance(reply.text, str)
    assert reply.error is None or isinstance(reply.error, str)
    assert reply.unreadable is None or isinstance(reply.unreadable, str)
    for name, arguments in reply.tool_calls:
        assert isinstance(name, str)
        assert isinstance(arguments, str)


@given(bodies)
def test_any_json_body_reads(body: Any) -> None:
    _check(read_reply(json.dumps(body).encode(), "application/json"))


@given(streams)
def test_any_stream_reads(content: bytes) -> None:
    _check(read_reply(content, "text/event-stream"))


@given(contents, content_types, encodings)
def test_any_bytes_read(content: bytes, content_type: str, encoding: str) -> None:
    _check(read_reply(content, content_type, encoding))


def test_a_body_nested_too_deeply_shows_raw() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    reply = read_reply(deep, "application/json")
    assert reply.unreadable in ("nested too deeply to read", "not JSON")


@pytest.fixture(scope="module")
def recorded() -> Iterator[Call]:
    with MockGateway(strict=False, credentials=None) as gateway:
        httpx.post(gateway.url("openai") + "/chat/completions", json={"model": "m"})
        yield gateway.calls.last


@given(contents, content_types, encodings, st.sampled_from([None, "cut", "timeout"]))
def test_any_received_body_is_summarised(
    recorded: Call, content: bytes, content_type: str, encoding: str, fault: str | None
) -> None:
    headers = {"Content-Type": content_type, "content-encoding": encoding}
    call = dataclasses.replace(
        recorded, _received=Received([content]), response_headers=headers, fault=fault
    )
    summary = summarize(call, dashboard=("a", "g"))
    assert not (summary.reply or "").startswith("[could not be summarised")
    assert "\n".join(summary.lines(1))


@given(any_json, st.integers(min_value=0, max_value=3))
def test_any_request_body_is_summarised(recorded: Call, body: Any, step: int) -> None:
    for endpoint, provider in (("gateway", "openai"), ("universal", "")):
        call = dataclasses.replace(recorded, json=body, endpoint=endpoint, provider=provider)
        summary = summarize(dataclasses.replace(call, step=step))
        assert summary.prompt is None or isinstance(summary.prompt, str)


@given(st.text(max_size=2000), st.integers(min_value=1, max_value=700))
def test_a_fold_is_never_longer_than_its_limit_and_a_marker(text: str, limit: int) -> None:
    folded = fold(text, limit=limit)
    if len(text) <= limit:
        assert folded == text
    else:
        assert len(folded) <= limit + len(f"[… {len(text)} characters cut …]")
        assert "characters cut …]" in folded
