"""Scripted reply arguments one by one: each form they may take, and each exact complaint."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import BaseModel

from pytest_aigw import ConfigError, reply, tool_call
from pytest_aigw.fake.formats.base import ToolCall, Usage
from pytest_aigw.fake.replies import (
    ReplyParts,
    content_parts,
    finish_reason_of,
    tool_calls_of,
    usage_of,
)


class Item(BaseModel):
    name: str
    when: datetime.date | None = None


def message_of(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        fn(*args, **kwargs)
    return str(raised.value)


# --- tool_call -----------------------------------------------------------------------------


def test_tool_call_arguments_none_a_dict_or_a_json_object_string() -> None:
    assert tool_call("f") == ToolCall("f", "{}", None)
    assert tool_call("f", None, "c1") == ToolCall("f", "{}", "c1")
    assert tool_call("f", {"a": [1, 2], "b": None}).arguments == '{"a":[1,2],"b":null}'
    assert tool_call("f", MappingProxyType({"a": 1})).arguments == '{"a":1}'
    assert tool_call("f", {}).arguments == "{}"
    # a JSON string is sent as written, not re-encoded
    assert tool_call("f", '{"a": 1}').arguments == '{"a": 1}'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("",), "tool_call name= must be a non-empty string, got ''"),
        ((None,), "tool_call name= must be a non-empty string, got None"),
        ((3,), "tool_call name= must be a non-empty string, got 3"),
        (("f", None, ""), "tool_call id= must be a non-empty string or None, got ''"),
        (("f", None, 7), "tool_call id= must be a non-empty string or None, got 7"),
        (("f", "{"), "tool_call arguments= must be a dict or a JSON object string, got '{'"),
        (("f", ""), "tool_call arguments= must be a dict or a JSON object string, got ''"),
        (("f", "[1]"), "tool_call arguments= must be a JSON object string, got '[1]'"),
        (("f", '"a"'), "tool_call arguments= must be a JSON object string, got '\"a\"'"),
        (("f", "null"), "tool_call arguments= must be a JSON object string, got 'null'"),
        (("f", [1]), "tool_call arguments= must be a dict or a JSON string, got [1]"),
        (("f", 1), "tool_call arguments= must be a dict or a JSON string, got 1"),
        (("f", b"{}"), "tool_call arguments= must be a dict or a JSON string, got b'{}'"),
        (
            ("f", {"a": {1, 2}}),
            "tool_call arguments= must be JSON-serialisable (Object of type set is not JSON"
            " serializable), got {'a': {1, 2}}",
        ),
    ],
)
def test_bad_tool_call_arguments_say_what_is_wrong(args: tuple[Any, ...], message: str) -> None:
    assert message_of(tool_call, *args) == message


def test_a_circular_value_is_not_json() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    assert message_of(tool_call, "f", loop) == (
        "tool_call arguments= must be JSON-serialisable (Circular reference detected),"
        " got {'self': {'self': {...}}}"
    )


# --- tool_calls= ---------------------------------------------------------------------------


def calls() -> Iterator[Any]:
    yield {"name": "a"}
    yield tool_call("b", {"x": 1}, id="c2")


def test_tool_calls_are_any_iterable_of_tool_calls_and_dicts() -> None:
    made = tool_call("b", {"x": 1}, id="c2")
    assert tool_calls_of(None) == ()
    assert tool_calls_of([]) == ()
    assert tool_calls_of(calls()) == (ToolCall("a", "{}"), made)
    assert tool_calls_of((made,)) == (made,)
    assert tool_calls_of(
        [{"name": "a", "arguments": '{"q":1}', "id": "c1"}, made, {"name": "c", "arguments": None}]
    ) == (ToolCall("a", '{"q":1}', "c1"), made, ToolCall("c", "{}"))
    assert tool_calls_of([MappingProxyType({"name": "m", "arguments": {"k": True}})]) == (
        ToolCall("m", '{"k":true}'),
    )


LIST = (
    "tool_calls= must be a list of tool calls (dicts with 'name' and 'arguments',"
    " or pytest_aigw.tool_call(...)), got "
)
ENTRY = "tool_calls entry= must be a dict with 'name', 'arguments' and optionally 'id', got "


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("f", LIST + "'f'"),
        (b"f", LIST + "b'f'"),
        ({"name": "f"}, LIST + "{'name': 'f'}"),
        (3, LIST + "3"),
        ([{"arguments": {}}], ENTRY + "{'arguments': {}}"),
        ([{"name": "f", "args": {}}], ENTRY + "{'name': 'f', 'args': {}}"),
        ([{"name": "f", "id": "c", "type": "function"}], ENTRY + "{'name': 'f', 'id': 'c', "),
        (["f"], ENTRY + "'f'"),
        ([("name", "f")], ENTRY + "('name', 'f')"),
        ([{"name": ""}], "tool_call name= must be a non-empty string, got ''"),
        ([{"name": "f", "id": 1}], "tool_call id= must be a non-empty string or None, got 1"),
        ([{"name": "f", "arguments": "[]"}], "tool_call arguments= must be a JSON object string"),
    ],
)
def test_bad_tool_calls_say_what_is_wrong(value: object, message: str) -> None:
    assert message_of(tool_calls_of, value).startswith(message)


# --- usage= --------------------------------------------------------------------------------


def test_usage_counts_left_out_are_estimated_or_zero() -> None:
    assert usage_of(None) is None
    given = Usage(1, 2, 3, 4)
    assert usage_of(given) is given
    assert usage_of({}) == Usage(None, None, 0, 0)
    assert usage_of({"output": 9}) == Usage(None, 9, 0, 0)
    assert usage_of({"input": 0, "cached": 5}) == Usage(0, None, 5, 0)
    assert usage_of({"reasoning": 7, "input": 3}) == Usage(3, None, 0, 7)
    assert usage_of(MappingProxyType({"output": 1})) == Usage(None, 1, 0, 0)


USAGE = (
    "usage= must be a dict of token counts with keys from input, output, cached, reasoning, got "
)
COUNT = "= must be a whole number of tokens from 0 to 2147483647, got "


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"prompt": 1}, USAGE + "{'prompt': 1}"),
        ({"input": 1, "total": 2}, USAGE + "{'input': 1, 'total': 2}"),
        ([("input", 1)], USAGE + "[('input', 1)]"),
        (5, USAGE + "5"),
        ({"input": -1}, "usage['input']" + COUNT + "-1"),
        ({"output": True}, "usage['output']" + COUNT + "True"),
        ({"cached": False}, "usage['cached']" + COUNT + "False"),
        ({"reasoning": 1.0}, "usage['reasoning']" + COUNT + "1.0"),
        ({"input": "3"}, "usage['input']" + COUNT + "'3'"),
        ({"input": None}, "usage['input']" + COUNT + "None"),
        ({"input": 1, "output": -2}, "usage['output']" + COUNT + "-2"),
    ],
)
def test_bad_usage_says_what_is_wrong(value: object, message: str) -> None:
    assert message_of(usage_of, value) == message


# --- finish_reason= ------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "stop", "length", "tool_calls", "content_filter"])
def test_finish_reasons(reason: str | None) -> None:
    assert finish_reason_of(reason) == reason


@pytest.mark.parametrize("reason", ["", "STOP", "end_turn", 1])
def test_bad_finish_reason_says_which_are_allowed(reason: object) -> None:
    assert message_of(finish_reason_of, reason) == (
        "finish_reason= must be one of ('stop', 'length', 'tool_calls', 'content_filter'),"
        f" got {reason!r}"
    )


# --- content -------------------------------------------------------------------------------


def test_text_and_stream_pieces_are_kept() -> None:
    assert content_parts(None) is None
    assert content_parts("") == ""
    assert content_parts("hi") == "hi"
    assert content_parts(["a", "b"]) == ("a", "b")
    assert content_parts(("a",)) == ("a",)
    assert content_parts([]) == ()


def test_json_values_are_sent_as_compact_json() -> None:
    assert content_parts({"a": [1, {"b": None}], "c": "é"}) == '{"a":[1,{"b":null}],"c":"\\u00e9"}'
    assert content_parts(MappingProxyType({"a": 1})) == '{"a":1}'
    assert content_parts([{"n": 1}, {"n": 2}]) == '[{"n":1},{"n":2}]'
    assert content_parts(({"n": 1},)) == '[{"n":1}]'


def test_pydantic_models_and_lists_of_them_are_sent_as_json() -> None:
    day = datetime.date(2025, 1, 2)
    assert content_parts(Item(name="pen", when=day)) == '{"name":"pen","when":"2025-01-02"}'
    assert content_parts([Item(name="a", when=day), Item(name="b")]) == (
        '[{"name":"a","when":"2025-01-02"},{"name":"b","when":null}]'
    )
    assert content_parts([{"name": "x"}, Item(name="y")]) == (
        '[{"name":"x"},{"name":"y","when":null}]'
    )


CONTENT = (
    "content= must be a string, a list of strings (the stream's pieces), a dict,"
    " a list of dicts or a pydantic model, got "
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (42, CONTENT + "42"),
        (b"x", CONTENT + "b'x'"),
        ([1, "a"], CONTENT + "[1, 'a']"),
        (["a", {"b": 1}], CONTENT + "['a', {'b': 1}]"),
        ([{"b": 1}, "a"], CONTENT + "[{'b': 1}, 'a']"),
        ({"a"}, CONTENT + "{'a'}"),
        (
            {"a": {1}},
            "content= must be JSON-serialisable (Object of type set is not JSON serializable),"
            " got {'a': {1}}",
        ),
        (
            [{"a": {1}}],
            "content= must be JSON-serialisable (Object of type set is not JSON serializable),"
            " got [{'a': {1}}]",
        ),
    ],
)
def test_bad_content_says_what_is_wrong(value: object, message: str) -> None:
    assert message_of(content_parts, value) == message


def test_a_long_bad_value_is_cut_to_eighty_characters() -> None:
    assert message_of(content_parts, 10**100) == CONTENT + str(10**100)[:77] + "..."


# --- reply() -------------------------------------------------------------------------------


def test_reply_reads_every_part() -> None:
    assert reply() == ReplyParts(None, (), None, None, None)
    assert reply(
        ["a", "b"],
        tool_calls=({"name": "f"},),
        finish_reason="length",
        usage={"output": 2},
        refusal="no",
    ) == ReplyParts(("a", "b"), (ToolCall("f", "{}"),), "length", Usage(None, 2, 0, 0), "no")
    assert reply({"k": 1}).content == '{"k":1}'
    assert reply(refusal="").refusal == ""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"refusal": 3}, "refusal= must be a string, got 3"),
        ({"refusal": b"no"}, "refusal= must be a string, got b'no'"),
        ({"content": 3}, CONTENT + "3"),
        ({"tool_calls": "f"}, LIST + "'f'"),
        ({"finish_reason": "end"}, "finish_reason= must be one of"),
        ({"usage": {"input": True}}, "usage['input']" + COUNT + "True"),
    ],
)
def test_bad_reply_arguments_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    assert message_of(reply, **kwargs).startswith(message)
