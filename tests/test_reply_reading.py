"""Reading what a reply says from the bytes received: each shape, its odd corners, encodings."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from pytest_aigw.reply_reading import Reply, read_reply


def _read(body: Any, content_type: str = "application/json") -> Reply:
    return read_reply(json.dumps(body).encode(), content_type)


def _sse(*events: Any) -> bytes:
    return b"".join(f"data: {json.dumps(event)}\n\n".encode() for event in events)


CASES: dict[str, tuple[Any, Reply]] = {
    "cloudflare envelope": (
        {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]},
        Reply(error="code 10000: Authentication error"),
    ),
    "unsuccessful, no errors listed": (
        {"success": False, "errors": [], "message": "went wrong"},
        Reply(error="went wrong"),
    ),
    "error as text": ({"error": "plain"}, Reply(error="plain")),
    "an error that is neither": ({"error": 5}, Reply('{"error":5}')),
    "odd choices first": (
        {"choices": ["x", {"delta": None}, {"delta": {"content": "a"}}]},
        Reply("a"),
    ),
    "tool calls of two choices": (
        {
            "choices": [
                {"message": {"tool_calls": [{"function": {"name": "f", "arguments": "1"}}]}},
                {"message": {"tool_calls": [{"function": {"name": "g", "arguments": "2"}}]}},
            ]
        },
        Reply(None, (("f", "1"), ("g", "2"))),
    ),
    "error without a message": ({"error": {"type": "x"}}, Reply(error='{"type":"x"}')),
    "error with an empty code": (
        {"error": {"message": "m", "code": ""}},
        Reply(error="m"),
    ),
    "error with a string code": (
        {"state": "Failed", "error": {"code": "rate_limited", "message": "slow down"}},
        Reply(error="code rate_limited: slow down"),
    ),
    "an empty error list": ({"error": [], "x": 1}, Reply('{"error":[],"x":1}')),
    "base64 embeddings": (
        {"object": "list", "data": [{"embedding": "AAAA"}, {"embedding": "BBBB"}]},
        Reply("[2 embedding(s), base64]"),
    ),
    "embeddings of two kinds": (
        {"data": [{"embedding": [0.1, 0.2]}, {"embedding": "AAAA"}]},
        Reply("[2 embedding(s), 2 dimensions]"),
    ),
    "data that is no list": ({"data": {"embedding": [1]}}, Reply('{"data":{"embedding":[1]}}')),
    "not ASCII": ({"answer": "café ☕"}, Reply('{"answer":"café ☕"}')),
    "a tool call with no name": (
        {"choices": [{"message": {"tool_calls": [{"function": {"arguments": "{}"}}]}}]},
        Reply(None, (("", "{}"),)),
    ),
    "a tool call whose name is no text": (
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": 5, "args": {}}}]}}]},
        Reply(None, (("", "{}"),)),
    ),
    "a tool use without input": (
        {"type": "message", "content": [{"type": "tool_use", "name": "f"}]},
        Reply(None, (("f", "{}"),)),
    ),
    "data that is not embeddings": ({"data": [{"id": 1}]}, Reply('{"data":[{"id":1}]}')),
    "empty data": ({"data": []}, Reply('{"data":[]}')),
    "legacy completions": ({"choices": [{"text": "hi"}, 3]}, Reply("hi")),
    "content parts": (
        {
            "choices": [
                {
                    "message": {
                        "content": [{"type": "text", "text": "a"}, "b", 7, {"type": "image"}],
                        "refusal": None,
                    }
                }
            ]
        },
        Reply("ab"),
    ),
    "chat tool calls, odd entries skipped": (
        {
            "choices": [
                {
                    "message": {
                        "content": None,
                        "tool_calls": [
                            "x",
                            {"function": "nope"},
                            {"function": {"name": "f", "arguments": {"a": 1}}},
                        ],
                    }
                }
            ]
        },
        Reply(None, (("f", '{"a":1}'),)),
    ),
    "responses items": (
        {
            "object": "response",
            "output": [
                "odd",
                {"type": "reasoning", "summary": []},
                {"type": "message", "content": [{"type": "refusal", "refusal": "no"}]},
                {"type": "function_call", "name": "f", "arguments": "{}"},
                {"type": "function_call", "name": "g"},
            ],
        },
        Reply("no", (("f", "{}"), ("g", ""))),
    ),
    "a response with no output yet": ({"object": "response", "output": None}, Reply("")),
    "a message whose content is text": ({"type": "message", "content": "t"}, Reply("t")),
    "anthropic blocks": (
        {
            "type": "message",
            "content": [
                "odd",
                {"type": "text", "text": "a"},
                {"type": "server_tool_use", "name": "web_search", "input": {"q": "x"}},
                {"type": "tool_use", "name": "g", "input": {}},
            ],
        },
        Reply("a", (("web_search", '{"q":"x"}'), ("g", "{}"))),
    ),
    "gemini parts": (
        {
            "candidates": [
                "odd",
                {
                    "content": {
                        "parts": ["odd", {"text": "thinking", "thought": True}, {"text": "a"}]
                    }
                },
                {"content": {"parts": [{"functionCall": {"name": "f"}}]}},
            ]
        },
        Reply("a", (("f", "{}"),)),
    ),
    "workers ai result text": ({"result": "just text", "success": True}, Reply("just text")),
    "workers ai result list": ({"result": [1, 2], "success": True}, Reply("[1,2]")),
    "workers ai result null": ({"result": None, "x": 1}, Reply('{"result":null,"x":1}')),
    "workers ai structured response": (
        {"result": {"response": {"a": 1}, "tool_calls": ["odd", {"name": "f", "arguments": "{}"}]}},
        Reply('{"a":1}', (("f", "{}"),)),
    ),
    "workers ai tool calls only": (
        {"result": {"tool_calls": [{"name": "f", "arguments": {"x": 1}}]}},
        Reply(None, (("f", '{"x":1}'),)),
    ),
    "the fake's generic reply": ({"object": "aigw.mock_reply", "content": "c"}, Reply("c")),
    "an empty reply": ({"choices": [{"message": {"content": ""}}]}, Reply("")),
    "a JSON scalar": (42, Reply("42")),
}


@pytest.mark.parametrize(("body", "expected"), CASES.values(), ids=CASES)
def test_whole_bodies(body: Any, expected: Reply) -> None:
    assert _read(body) == expected


STREAMS: dict[str, tuple[bytes, Reply]] = {
    "chat deltas by index": (
        _sse(
            {"choices": [{"delta": {"tool_calls": [{"index": 1, "function": {"name": "b"}}]}}]},
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "a"}}]}}]},
            {
                "choices": [
                    {"delta": {"tool_calls": [{"index": 1, "function": {"arguments": "{"}}]}}
                ]
            },
            {
                "choices": [
                    {"delta": {"tool_calls": [{"index": 1, "function": {"arguments": "}"}}]}}
                ]
            },
        )
        + b"data: [DONE]\n\n",
        Reply(None, (("b", "{}"), ("a", ""))),
    ),
    "responses completed without deltas": (
        _sse(
            {"type": "response.created", "response": {"output": []}},
            {
                "type": "response.completed",
                "response": {"object": "response", "output": [{"type": "message", "content": "x"}]},
            },
        ),
        Reply("x"),
    ),
    "responses deltas then completed": (
        _sse(
            {"type": "response.output_text.delta", "delta": "a"},
            {"type": "response.output_item.added", "output_index": 1, "item": "odd"},
            {"type": "response.output_item.added", "output_index": 2, "item": {"type": "message"}},
            {
                "type": "response.completed",
                "response": {"object": "response", "output": [{"type": "message", "content": "a"}]},
            },
        ),
        Reply("a"),
    ),
    "responses deltas, cut before the end": (
        _sse(
            {"type": "response.output_text.delta", "delta": "a"},
            {"type": "response.refusal.delta", "delta": "b"},
        ),
        Reply("ab"),
    ),
    "responses incomplete without deltas": (
        _sse(
            {
                "type": "response.incomplete",
                "response": {"object": "response", "output": [{"type": "message", "content": "x"}]},
            }
        ),
        Reply("x"),
    ),
    "[DONE] before the end": (
        _sse({"response": "a"}) + b"data: [DONE]\n\n" + _sse({"response": "b"}),
        Reply("ab"),
    ),
    "broken events, and an error": (
        b"data: {oops\n\ndata: {oops\n\n"
        + _sse({"error": {"message": "late"}}, {"error": {"message": "later"}}),
        Reply(None, (), "late; later", "2 stream event(s) not JSON"),
    ),
    "responses failed": (
        _sse(
            {
                "type": "response.failed",
                "response": {"error": {"code": "server_error", "message": "boom"}},
            },
            {"type": "response.failed", "response": "odd"},
        ),
        Reply(None, (), "code server_error: boom"),
    ),
    "anthropic events": (
        _sse(
            {"type": "message_start", "message": {}},
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "hi"},
            },
            {"type": "content_block_delta", "index": 0, "delta": "odd"},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "name": "f", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"a"'},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": ":1}"},
            },
            {"type": "ping"},
            {"type": "message_stop"},
        ),
        Reply("hi", (("f", '{"a":1}'),)),
    ),
    "anthropic with no content": (
        _sse({"type": "message_start", "message": {}}, {"type": "message_stop"}),
        Reply(""),
    ),
    "an error event": (
        _sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        Reply(error="Overloaded"),
    ),
    "workers ai pieces": (
        _sse({"response": "a"}, {"response": "b", "p": "x"}, {"response": "", "usage": {}}),
        Reply("ab"),
    ),
    "unknown events show as JSON": (_sse({"x": 1}, None, 2), Reply('[{"x":1},2]')),
    "nothing but [DONE]": (b"data: [DONE]\n\n", Reply(None)),
    "CRLF, comments, named and multi-line events": (
        b': keep-alive\r\n\r\nevent: delta\r\ndata: {"response":\r\ndata: "a"}\r\n\r\n'
        b'event: other\rdata:{"response":"b"}\r\r',
        Reply("ab"),
    ),
}


@pytest.mark.parametrize(("content", "expected"), STREAMS.values(), ids=STREAMS)
def test_streams(content: bytes, expected: Reply) -> None:
    assert read_reply(content, "text/event-stream; charset=utf-8") == expected


def test_a_json_array_is_a_stream_of_chunks() -> None:
    chunks = [{"candidates": [{"content": {"parts": [{"text": "a"}]}}]}, {"candidates": []}, 3]
    assert _read(chunks) == Reply("a")


def test_a_stream_is_known_by_its_first_line_too() -> None:
    assert read_reply(b'event: x\ndata: {"response": "a"}\n\n') == Reply("a")
    assert read_reply(b'  data: {"response": "a"}\n\n') == Reply("a")


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"", "application/json", Reply()),
        (b"  \n", "application/json", Reply()),
        (b"plain words", "text/plain; charset=utf-8", Reply("plain words")),
        (b"<html>502</html>", "TEXT/HTML", Reply("<html>502</html>")),
        (b"{oops", "text/json", Reply("{oops", unreadable="not JSON")),
        (b"{oops", "", Reply("{oops", unreadable="not JSON")),
        (b"\x89PNG\x00\xff", "image/png", Reply(unreadable="6 bytes of image/png")),
        (b"\xff", "", Reply(unreadable="1 bytes of binary data")),
    ],
)
def test_bodies_that_are_not_json(content: bytes, content_type: str, expected: Reply) -> None:
    assert read_reply(content, content_type) == expected


def test_a_body_nested_too_deeply_shows_raw() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert read_reply(deep) == Reply(deep.decode(), unreadable="nested too deeply to read")


def test_binary_without_a_content_type() -> None:
    assert read_reply(b"\xff") == Reply(unreadable="1 bytes of binary data")


def test_encoded_bodies_are_decoded() -> None:
    body = json.dumps({"result": {"response": "zipped"}}).encode()
    assert read_reply(gzip.compress(body), "application/json", "gzip") == Reply("zipped")
    assert read_reply(body, "application/json", " Identity ") == Reply("zipped")
    assert read_reply(body, "application/json", "  ") == Reply("zipped")
    assert read_reply(b"not gzip", "application/json", "gzip") == Reply(
        "not gzip", unreadable="not JSON"
    )
