"""The drift report's comparisons: value shapes, key paths, stream events, differences."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from json_strategies import json_values

from pytest_aigw.drift.compare import (
    Answer,
    Difference,
    compare_answers,
    compare_bodies,
    compare_headers,
    compare_logs,
    compare_streams,
)
from pytest_aigw.drift.shapes import (
    body_form,
    header_shape,
    key_paths,
    stream_events,
    text_shape,
    value_shape,
)
from pytest_aigw.ids import new_ulid, new_uuid7

SHAPES = {
    "empty text", "uuid7", "ulid", "uuid4", "uuid", "timestamp", "integer text",
    "number text", "json object text", "json array text", "json string text",
    "json number text", "json boolean text", "json null text", "text",
}  # fmt: skip
_, VALUES = json_values(st.integers(), st.floats(allow_nan=False, allow_infinity=False), text=8)
KEYS = st.text("abcdefgh_", min_size=1, max_size=4)  # no '.' or '[]': they would join paths
OBJECTS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


def json_answer(value: object, status: int = 200, **headers: str) -> Answer:
    pairs = [("content-type", "application/json"), *headers.items()]
    return Answer(status, pairs, json.dumps(value).encode())


def sse(*events: str) -> bytes:
    return "".join(f"{event}\n\n" for event in events).encode()


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("", "empty text"),
        ("01a23558-8115-762d-811b-3f8d327523ae", "uuid7"),
        ("01JADMCQQQBWH3NXZ5GCRN98DP", "ulid"),
        ("0b5e1a7c-5f2c-4c41-9d3e-2b8f6a1c4e07", "uuid4"),
        ("0B5E1A7C-5F2C-1C41-9D3E-2B8F6A1C4E07", "uuid"),
        ("2026-12-02T06:02:02.389Z", "timestamp"),
        ("2026-12-02T06:02:02+01:00", "timestamp"),
        ("0", "integer text"),
        ("-12", "integer text"),
        ("0.25", "number text"),
        ("2.8e-06", "number text"),
        ('{"action": "FLAG"}', "json object text"),
        ("[1]", "json array text"),
        ("{not json", "text"),
        ("HIT", "text"),
        ("chatcmpl-01a23558", "text"),
    ],
)
def test_text_shapes(text: str, shape: str) -> None:
    assert text_shape(text) == shape


@given(st.text())
def test_every_text_has_a_known_shape(text: str) -> None:
    assert text_shape(text) in SHAPES


@given(st.integers())
def test_whole_numbers_as_text_are_integer_text(number: int) -> None:
    assert text_shape(str(number)) == "integer text"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_as_json_text_are_number_text(number: float) -> None:
    assert text_shape(json.dumps(number)) == "number text"


def test_ids_of_each_format_are_told_apart() -> None:
    assert {text_shape(new_uuid7()), text_shape(new_ulid()), text_shape(str(uuid.uuid4()))} == {
        "uuid7",
        "ulid",
        "uuid4",
    }
    assert text_shape(str(uuid.uuid1())) == "uuid"


@pytest.mark.parametrize(
    ("value", "shape"),
    [(None, "null"), (True, "boolean"), (0, "number"), (2.8e-06, "number"), ([], "array"),
     ({}, "object"), ("0", "integer text")],
)  # fmt: skip
def test_value_shapes(value: object, shape: str) -> None:
    assert value_shape(value) == shape


def test_the_cache_status_keeps_its_word() -> None:
    assert header_shape("CF-AIG-Cache-Status", " hit ") == "HIT"
    assert header_shape("cf-aig-cache-status", "") == "empty text"
    assert header_shape("cf-aig-step", "0") == "integer text"


def test_key_paths_collapse_arrays_and_join_item_types() -> None:
    reply = {
        "choices": [{"message": {"content": "a"}}, {"message": {"content": None}}],
        "n": [1, "x"],
    }
    assert key_paths(reply) == {
        "(root)": "object",
        "choices": "array",
        "choices[]": "object",
        "choices[].message": "object",
        "choices[].message.content": "null/string",
        "n": "array",
        "n[]": "number/string",
    }
    assert key_paths([[1]]) == {"(root)": "array", "[]": "array", "[][]": "number"}


@pytest.mark.parametrize(
    ("content_type", "content", "form"),
    [
        ("text/event-stream; charset=utf-8", b"", "sse"),
        ("application/json", b" ", "empty"),
        (None, b"\xff\xfe", "binary"),
        (None, b"Bad Gateway", "text"),
        ("text/plain", b'{"a": 1}', "json"),
    ],
)
def test_body_forms(content_type: str | None, content: bytes, form: str) -> None:
    assert body_form(content_type, content) == form


def test_stream_events_by_name_type_or_object_runs_collapsed() -> None:
    anthropic = sse(
        'event: message_start\ndata: {"type": "message_start"}',
        'event: content_block_delta\ndata: {"type": "content_block_delta"}',
        'event: content_block_delta\ndata: {"type": "content_block_delta"}',
        ": a comment",
        'event: message_stop\ndata: {"type": "message_stop"}',
    )
    assert stream_events(anthropic) == ["message_start", "content_block_delta", "message_stop"]
    chat = sse(*['data: {"object": "chat.completion.chunk"}'] * 3, "data: [DONE]")
    assert stream_events(chat.replace(b"\n", b"\r\n")) == ["chat.completion.chunk", "[DONE]"]
    other = sse('data: {"response": "x"}', "data: {oops", 'data: ["x"]', 'data: {"type": 3}')
    assert stream_events(other) == ["data"]
    assert stream_events(sse('data:{"type":"a"}', 'data: {"type":\ndata: "b"}')) == [
        "a",
        "b",
    ]


def test_a_stream_difference_is_placed_after_the_last_shared_event() -> None:
    real = sse("event: a", "event: b", "event: c", "event: d")
    fake = sse("event: a", "event: c", "event: x", "event: d")
    assert compare_streams("anthropic-messages", real, fake) == [
        Difference("stream", "anthropic-messages after a", "b", "missing"),
        Difference("stream", "anthropic-messages after c", "missing", "x"),
    ]
    assert compare_streams("f", sse("event: a"), sse("event: b", "event: c")) == [
        Difference("stream", "f after start", "a", "b c")
    ]
    assert compare_streams("f", sse("event: a", "event: b"), sse("event: c")) == [
        Difference("stream", "f after start", "a b", "c")
    ]


def test_a_long_stream_s_one_extra_event_is_one_difference() -> None:
    # Past 200 events difflib would by default skip events it sees often: not here.
    real = [f"event: {name}" for name in ["a", "b"] * 150]
    fake = [*real[:151], "event: c", *real[151:]]
    assert compare_streams("f", sse(*real), sse(*fake)) == [
        Difference("stream", "f after a", "missing", "c")
    ]


def test_headers_only_cf_aig_first_value_any_case() -> None:
    real = [("CF-AIG-Log-Id", new_ulid()), ("cf-aig-log-id", "x"), ("server", "cloudflare")]
    fake = [("cf-aig-log-id", new_uuid7()), ("cf-aig-step", "0")]
    assert compare_headers(real, fake) == [
        Difference("header", "cf-aig-log-id", "ulid", "uuid7"),
        Difference("header", "cf-aig-step", "missing", "integer text"),
    ]


def test_a_status_difference_leaves_the_bodies_out() -> None:
    real = json_answer({"choices": []}, 200, **{"cf-aig-log-id": new_uuid7()})
    fake = json_answer({"error": {}}, 401)
    assert compare_answers("openai-chat", real, fake) == [
        Difference("status", "openai-chat", "200", "401"),
        Difference("header", "cf-aig-log-id", "uuid7", "missing"),
    ]


def test_error_bodies_are_placed_apart_from_replies() -> None:
    real, fake = json_answer({"error": {"code": 1}}, 429), json_answer({"error": {}}, 429)
    assert compare_answers("openai-chat", real, fake) == [
        Difference("body", "openai-chat error error.code", "number", "missing")
    ]
    assert compare_answers("x", json_answer({"a": 1}, 399), json_answer({}, 399)) == [
        Difference("body", "x a", "number", "missing")
    ]
    assert compare_answers("x", json_answer({"a": 1}, 400), json_answer({}, 400)) == [
        Difference("body", "x error a", "number", "missing")
    ]


def test_bodies_of_another_form_are_one_difference() -> None:
    stream = Answer(200, [("content-type", "text/event-stream")], sse("data: [DONE]"))
    assert compare_bodies("openai-chat", stream, json_answer({})) == [
        Difference("body", "openai-chat (body)", "sse", "json")
    ]
    text = Answer(200, [], b"ok")
    assert compare_bodies("generic", text, Answer(200, [], b"fine")) == []
    assert compare_bodies(
        "s", stream, Answer(200, [("Content-Type", "text/event-stream")], b"")
    ) == [Difference("stream", "s after start", "[DONE]", "missing")]


def test_log_fields_by_name_and_shape() -> None:
    real = {"id": new_ulid(), "cost": 0, "metadata": {"a": 1}, "timings": {}}
    fake = {"id": new_uuid7(), "cost": 2.8e-06, "metadata": '{"a": 1}'}
    assert compare_logs(real, fake) == [
        Difference("log", "id", "ulid", "uuid7"),
        Difference("log", "metadata", "object", "json object text"),
        Difference("log", "timings", "object", "missing"),
    ]


def test_a_key_is_its_row_s_first_four_cells() -> None:
    assert Difference("log", "id", "ulid", "uuid7").key == "log | id | ulid | uuid7"


@given(VALUES)
def test_a_value_compared_with_itself_has_no_differences(value: Any) -> None:
    answer = json_answer(value)
    assert compare_answers("f", answer, answer) == []
    assert compare_logs({"field": value}, {"field": value}) == []
    headers = [("cf-aig-x", json.dumps(value))]
    assert compare_headers(headers, headers) == []
    stream = sse(*(f"data: {json.dumps(value)}" for _ in range(2)))
    assert compare_streams("f", stream, stream) == []


def _objects(value: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every object inside *value* with its key path (as `key_paths` writes paths)."""
    found = []
    if isinstance(value, dict):
        found.append((path, value))
        for key, item in value.items():
            found += _objects(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            found += _objects(item, f"{path}[]")
    return found


@given(st.dictionaries(KEYS, OBJECTS, max_size=4), st.data())
def test_any_new_key_path_is_found(value: dict[str, Any], data: st.DataObject) -> None:
    before = json.loads(json.dumps(value))
    path, target = data.draw(st.sampled_from(_objects(value)))
    key = data.draw(KEYS.filter(lambda key: key not in target))
    target[key] = data.draw(OBJECTS)
    where = f"{path}.{key}" if path else key
    if where in key_paths(before):
        return  # another object at the same path already has the key: no new path
    found = compare_answers("f", json_answer(value), json_answer(before))
    assert Difference("body", f"f {where}", key_paths(value)[where], "missing") in found


@given(st.dictionaries(KEYS, OBJECTS, max_size=4), st.dictionaries(KEYS, OBJECTS, max_size=4))
def test_bodies_differ_exactly_when_their_key_paths_do(one: Any, other: Any) -> None:
    found = compare_answers("f", json_answer(one), json_answer(other))
    assert (found == []) == (key_paths(one) == key_paths(other))


def test_a_stream_with_bytes_that_are_not_utf8_is_still_read() -> None:
    assert stream_events(b"event: a\ndata: \xff\n\nevent: b\n\n") == ["a", "b"]
