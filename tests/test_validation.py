"""The one argument checker: what each check takes, and its one message form."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from pytest_aigw import ConfigError
from pytest_aigw._validation import (
    check,
    check_choice,
    check_headers,
    check_json,
    check_mapping,
    check_number,
    check_string,
    check_type,
    fail,
    is_number,
    is_whole,
    short_repr,
)


def message(call: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as error:
        call()
    return str(error.value)


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_the_message_names_the_value_what_it_must_be_and_what_it_got() -> None:
    assert message(lambda: fail("status=", 700, "an HTTP status")) == (
        "status= must be an HTTP status, got 700"
    )
    assert message(lambda: check("x", "a", False, "b")) == "x must be b, got 'a'"
    check("x", "a", True, "b")


def test_a_long_value_is_cut_and_a_broken_repr_still_gives_the_message() -> None:
    assert short_repr("a" * 10, limit=8) == "'aaaa..."
    assert short_repr("a" * 6, limit=8) == "'aaaaaa'"
    assert short_repr("a" * 78) == repr("a" * 78)
    assert short_repr("a" * 79) == repr("a" * 76)[:77] + "..."
    assert short_repr(BrokenRepr()) == "<BrokenRepr object>"
    assert short_repr(10**5000) == "<int object>"
    assert message(lambda: fail("x", BrokenRepr(), "y")) == "x must be y, got <BrokenRepr object>"


@pytest.mark.parametrize(
    ("value", "number", "whole"),
    [
        (0, True, True),
        (-3, True, True),
        (1.5, True, False),
        (-0.0, True, False),
        (1e308, True, False),
        (10**308, True, True),
        pytest.param(10**309, False, True, id="beyond-float"),
        pytest.param(-(10**309), False, True, id="below-float"),
        (math.nan, False, False),
        (math.inf, False, False),
        (-math.inf, False, False),
        (True, False, False),
        (False, False, False),
        ("1", False, False),
        (None, False, False),
    ],
)
def test_numbers_are_finite_ints_and_floats_never_bools(
    value: object, number: bool, whole: bool
) -> None:
    assert is_number(value) is number
    assert is_whole(value) is whole


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "a number"),
        ({"min": 0}, "a number >= 0"),
        ({"max": 5}, "a number <= 5"),
        ({"min": 0, "max": 5}, "a number from 0 to 5"),
        ({"integer": True, "min": 1}, "a whole number >= 1"),
        ({"optional": True}, "a number, or None"),
        ({"expected": "seconds"}, "seconds"),
    ],
)
def test_a_number_check_says_the_range_it_takes(kwargs: dict[str, Any], expected: str) -> None:
    assert message(lambda: check_number("n=", "x", **kwargs)) == f"n= must be {expected}, got 'x'"


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (math.nan, {}),
        (math.inf, {}),
        (-math.inf, {"max": 0}),
        (10**400, {"integer": True}),
        (True, {}),
        (None, {}),
        (1.5, {"integer": True}),
        (-1, {"min": 0}),
        (6, {"max": 5}),
        (5.000001, {"min": 0, "max": 5}),
    ],
)
def test_a_number_check_refuses(value: object, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        check_number("n=", value, **kwargs)


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (0, {"min": 0}),
        (5, {"max": 5}),
        (5.0, {"min": 0, "max": 5}),
        (3, {"integer": True}),
        (None, {"optional": True}),
        (1e308, {}),
        (-7, {}),
    ],
)
def test_a_number_check_takes_and_gives_back(value: object, kwargs: dict[str, Any]) -> None:
    assert check_number("n=", value, **kwargs) is value


def test_a_type_check_takes_instances_and_a_bool_only_where_bool_is_named() -> None:
    assert check_type("t=", 3, int, "an int") == 3
    assert check_type("t=", True, (int, bool), "an int or a bool") is True
    assert check_type("t=", True, bool, "a bool") is True
    assert message(lambda: check_type("t=", True, int, "an int")) == "t= must be an int, got True"
    assert message(lambda: check_type("t=", "3", (int, float), "a number")) == (
        "t= must be a number, got '3'"
    )


class Text(str):
    pass


def test_a_choice_is_compared_by_kind_too() -> None:
    assert check_choice("s=", True, (None, True, False)) is True
    assert check_choice("s=", None, (None, True, False)) is None
    assert check_choice("s=", Text("a"), ("a", "b")) == "a"
    assert type(check_choice("s=", Text("a"), ("a", "b"))) is str
    assert message(lambda: check_choice("s=", 1, (None, True, False))) == (
        "s= must be None or True or False, got 1"
    )
    assert message(lambda: check_choice("s=", 0, (False,), "False")) == "s= must be False, got 0"
    assert message(lambda: check_choice("s=", True, (1, 2))) == "s= must be 1 or 2, got True"
    assert message(lambda: check_choice("s=", "c", ("a", "b"))) == "s= must be 'a' or 'b', got 'c'"
    assert message(lambda: check_choice("s=", None, ("a",))) == "s= must be 'a', got None"
    assert check_choice("s=", 2, (1, 2)) == 2


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (3, {}, "a string"),
        ("", {"non_empty": True}, "a non-empty string"),
        (None, {}, "a string"),
        (3, {"optional": True}, "a string or None"),
        (3, {"non_empty": True, "optional": True}, "a non-empty string or None"),
        (3, {"expected": "text"}, "text"),
    ],
)
def test_a_string_check_refuses(value: object, kwargs: dict[str, Any], expected: str) -> None:
    got = repr(value)
    assert (
        message(lambda: check_string("s=", value, **kwargs)) == f"s= must be {expected}, got {got}"
    )


def test_a_string_check_takes_strings_and_none_where_optional() -> None:
    assert check_string("s=", "") == ""
    assert check_string("s=", "a", non_empty=True) == "a"
    assert check_string("s=", None, optional=True) is None


def test_a_mapping_check_copies_and_checks_keys_and_values() -> None:
    given = {"a": 1}
    copied = check_mapping("m=", given, "a dict")
    assert copied == given
    assert copied is not given
    assert check_mapping("m=", {}, "a dict", keys=lambda k: False) == {}
    assert message(lambda: check_mapping("m=", [("a", 1)], "a dict")) == (
        "m= must be a dict, got [('a', 1)]"
    )
    assert message(lambda: check_mapping("m=", {1: 1}, "a dict", keys=lambda k: k == "a")) == (
        "m= must be a dict, got {1: 1}"
    )
    assert message(lambda: check_mapping("m=", {"a": 2}, "a dict", values=lambda v: v == 1)) == (
        "m= must be a dict, got {'a': 2}"
    )


HEADERS = "headers= must be a dict of header names to string values (ASCII, no line breaks), got "


@pytest.mark.parametrize(
    "value",
    [
        {"x-a": "é"},
        {"x-a": "a\r\nb: c"},
        {"x-a": "a\nb"},
        {"x-a": "\x00"},
        {"x-a": "\x7f"},
        {"bad name": "v"},
        {"": "v"},
        {"x:y": "v"},
        {"x-a": 1},
        {1: "v"},
        [("x-a", "v")],
        "x-a: v",
    ],
)
def test_headers_must_be_sendable_as_they_are(value: object) -> None:
    assert message(lambda: check_headers("headers=", value)) == HEADERS + short_repr(value)


def test_headers_that_can_be_sent_are_taken() -> None:
    given = {"x-a": "b c\td ~!", "Retry-After": "1", "a!#$%&'*+-.^_`|~9": ""}
    assert check_headers("headers=", given) == given


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"a": [1, 2.5, None, True, "x"]}, '{"a":[1,2.5,null,true,"x"]}'),
        ([], "[]"),
        ("é", '"\\u00e9"'),
        (10**400, "1" + "0" * 400),
    ],
)
def test_json_is_given_back_compact(value: object, text: str) -> None:
    assert check_json("json=", value) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (math.nan, "Out of range float values are not JSON compliant"),
        ({"a": [math.inf]}, "Out of range float values are not JSON compliant"),
        ({1, 2}, "Object of type set is not JSON serializable"),
        (b"x", "Object of type bytes is not JSON serializable"),
        (10**5000, "Exceeds the limit (4300 digits) for integer string conversion"),
    ],
    ids=["nan", "inf", "set", "bytes", "digits"],
)
def test_what_json_cannot_carry_is_refused(value: object, reason: str) -> None:
    got = message(lambda: check_json("json=", value))
    assert got.startswith(f"json= must be JSON-serialisable ({reason}")
    assert got.endswith(f", got {short_repr(value)}")


def test_json_nested_too_deep_is_refused_not_a_crash() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert message(lambda: check_json("json=", deep)) == (
        "json= must be JSON-serialisable (too deeply nested), got <list object>"
    )
