"""The one JSON loader: bounded nesting and numbers, one error type, never a crash."""

from __future__ import annotations

import contextlib
import json
import sys
from types import FrameType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw import _json
from pytest_aigw._json import MAX_DEPTH, MAX_DIGITS, JsonError, depth, loads


def nested(levels: int, opener: str = "[", closer: str = "]") -> str:
    return opener * levels + closer * levels


def refusal(text: str | bytes) -> JsonError:
    with pytest.raises(JsonError) as refused:
        loads(text)
    return refused.value


@pytest.mark.parametrize("text", [b'{"a": [1, 2.5, "x", null, true]}', '{"a": [1, 2.5]}'])
def test_json_reads_as_the_standard_library_reads_it(text: str | bytes) -> None:
    assert loads(text) == json.loads(text)


def test_nesting_up_to_the_bound_is_read_and_one_more_level_is_refused() -> None:
    assert loads(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    mixed = '{"a":' * 50 + nested(50) + "}" * 50
    assert loads(mixed) is not None
    refused = refusal(nested(MAX_DEPTH + 1))
    assert refused.limit is True
    assert str(refused) == "JSON nested deeper than 100 levels"
    assert refusal('{"a":' * 51 + nested(50) + "}" * 51).limit is True


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_deep_nesting_is_refused_without_recursion(levels: int) -> None:
    assert refusal(nested(levels)).limit is True
    assert refusal(nested(levels, "{", "}")).limit is True  # not JSON either: still refused


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"text": "[" * 500 + '\\"[' + "{" * 500})
    assert loads(text) == json.loads(text)
    escaped = '["\\\\", ' + nested(MAX_DEPTH - 1) + "]"  # an escaped backslash ends no string
    assert loads(escaped) == json.loads(escaped)
    assert loads('"' + "[" * 200 + '"') == "[" * 200


def test_depth_counts_the_deepest_point_only_when_it_may_pass_the_bound() -> None:
    assert depth(nested(MAX_DEPTH).encode()) == 0  # few brackets: not scanned
    assert depth(nested(MAX_DEPTH + 1).encode()) == MAX_DEPTH + 1
    assert depth(b"[]" * 200) == 1
    assert depth(b'["' + b"[" * 300 + b'"]') == 1  # the brackets are in a string
    assert depth(b'["\\"' + b"[" * 300 + b'"]') == 1  # an escaped quote ends no string
    assert depth(b'["\\\\",' + b"[" * 300) == 301  # an escaped backslash does not hide it
    assert depth(b"]" * 200) == 0


@pytest.mark.parametrize(
    "text",
    [
        "1" + "0" * 400,  # 10**400: beyond float range
        "-1" + "0" * 400,
        "9" * 5_000,  # past Python's 4,300-digit int() limit
        "9" * MAX_DIGITS,
        "1e400",
        "-1E+0400",
        '{"a": [1' + "0" * 309 + "]}",
    ],
)
def test_numbers_beyond_float_range_are_refused(text: str) -> None:
    refused = refusal(text)
    assert refused.limit is True
    assert "is beyond the range of a JSON number (about 1.8e308)" in str(refused)


def test_numbers_just_inside_float_range_are_read() -> None:
    largest = int(sys.float_info.max)
    assert loads(str(largest)) == largest
    assert loads(str(-largest)) == -largest
    assert loads("9" * (MAX_DIGITS - 1)) == int("9" * (MAX_DIGITS - 1))
    assert loads("1e308") == 1e308
    assert loads("1e-400") == 0.0  # underflow is a number, not an error
    assert loads("1e100") == 1e100
    refused = refusal(str(largest + 10**300))
    assert refused.limit is True


def test_a_long_number_is_shortened_in_the_message() -> None:
    assert str(refusal("1" + "0" * 400)) == (
        "the number 1000000000...(401 characters) is beyond the range of a JSON number"
        " (about 1.8e308)"
    )
    assert str(refusal("1e400")).startswith("the number 1e400 is")
    twenty = "1" + "0" * 18 + "e400"  # 23 characters
    assert str(refusal(twenty)).startswith("the number 1000000000...(23 characters) is")
    exactly = "1" * 16 + "e400"  # 20 characters: shown whole
    assert str(refusal(exactly)).startswith(f"the number {exactly} is")


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}'])
def test_nan_and_infinity_literals_are_not_json(text: str) -> None:
    refused = refusal(text)
    assert refused.limit is False
    assert str(refused).endswith(" is not valid JSON")
    assert str(refused).split()[0] in ("NaN", "Infinity", "-Infinity")


@pytest.mark.parametrize("text", ["", "{", "x", b"\xff\xfe\x00", "[1,]"])
def test_text_that_is_not_json_is_refused_as_such(text: str | bytes) -> None:
    refused = refusal(text)
    assert refused.limit is False
    assert isinstance(refused, ValueError)


def test_the_message_of_plain_invalid_json_is_the_decoders() -> None:
    assert (
        str(refusal("{"))
        == "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    )


def test_bytes_in_any_json_encoding_are_read() -> None:
    assert loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert loads("\ufeff[1]".encode()) == [1]


def test_a_nearly_full_stack_gets_a_refusal_not_a_recursion_error() -> None:
    frames = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        frames, frame = frames + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 30)  # room for loads itself, not for 100 levels of JSON
    try:
        with pytest.raises(JsonError) as refused:
            loads(nested(MAX_DEPTH))
    finally:
        sys.setrecursionlimit(limit)
    assert refused.value.limit is True
    assert str(refused.value) == "JSON nested too deeply to read here"


def test_the_constants_match_what_the_module_says() -> None:
    assert MAX_DEPTH == 100
    assert len(str(int(sys.float_info.max))) == MAX_DIGITS
    assert _json.__all__ == ["MAX_DEPTH", "MAX_DIGITS", "JsonError", "depth", "loads"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**1023), 2**1023)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=20,
)


@given(json_values)
def test_any_json_value_within_bounds_reads_back_as_itself(value: Any) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


@given(st.binary(max_size=64) | st.text(max_size=64))
def test_any_input_is_read_or_refused_with_json_error(text: str | bytes) -> None:
    with contextlib.suppress(JsonError):
        loads(text)


def test_nesting_exactly_at_the_bound_is_read_even_when_brackets_are_many() -> None:
    text = "[" + nested(MAX_DEPTH - 1) + ",[]]"  # 101 openers, 100 deep
    assert depth(text.encode()) == MAX_DEPTH
    assert loads(text) == json.loads(text)


def test_depth_of_text_whose_brackets_are_all_in_strings_is_zero() -> None:
    assert depth(b'"' + b"[" * 300 + b'"') == 0


def test_a_lone_surrogate_in_text_is_read_as_the_standard_library_reads_it() -> None:
    assert loads('"\ud800"') == "\ud800"
    assert loads('["\udfff", ' + nested(MAX_DEPTH - 1) + "]") is not None


def test_a_number_of_21_characters_is_shortened() -> None:
    exactly = "1" * 17 + "e400"  # 21 characters
    assert str(refusal(exactly)).startswith("the number 1111111111...(21 characters) is")


def test_only_text_with_long_numbers_takes_the_slower_number_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refusing(json.JSONDecoder):
        def decode(self, s: str, *args: Any) -> Any:
            raise AssertionError("the number-checking decoder was used")

    monkeypatch.setattr(_json, "_CHECKED", Refusing())
    assert loads('{"a": [1, 2.5, 1e99, "' + "9" * 308 + '"]}')["a"][:3] == [1, 2.5, 1e99]
    with pytest.raises(JsonError):
        loads("1e400")  # floats are checked on the fast path too
    with pytest.raises(AssertionError):
        loads("9" * MAX_DIGITS)
    with pytest.raises(AssertionError):
        loads('"' + "9" * MAX_DIGITS + '"')  # a digit run in a string: checked, to be safe
