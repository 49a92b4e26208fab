"""cf-aig-metadata parsing and encoding follow the gateway's rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw import MetadataError
from pytest_aigw.metadata import MAX_ENTRIES, encode, merge, parse, validate

scalars = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
keys = st.text(max_size=10).filter(lambda k: not k.startswith("cf."))
valid_entries = st.dictionaries(keys, scalars, max_size=MAX_ENTRIES)


@given(valid_entries)
def test_encoded_metadata_is_stored_exactly_and_ascii_only(entries: dict[str, object]) -> None:
    header = encode(entries)
    assert header.isascii()
    parsed = parse(header)
    assert parsed.stored == entries
    assert parsed.problems == ()


@given(st.text())
def test_any_header_value_parses_without_crashing(header: str) -> None:
    parsed = parse(header)
    assert parsed.stored is None or len(parsed.stored) <= MAX_ENTRIES
    assert (parsed.stored is None) <= bool(parsed.problems)


@given(st.dictionaries(keys, scalars, min_size=MAX_ENTRIES + 1, max_size=12))
def test_the_first_five_entries_are_kept(entries: dict[str, object]) -> None:
    parsed = parse(json.dumps(entries))
    assert parsed.stored == dict(list(entries.items())[:MAX_ENTRIES])
    [problem] = parsed.problems
    assert problem.kind == "too_many_entries"
    assert problem.keys == tuple(list(entries)[MAX_ENTRIES:])


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ('{"a": null}', "unsupported_value"),
        ('{"a": 1, "b": {"c": 1}}', "unsupported_value"),
        ('{"a": [1]}', "unsupported_value"),
        ('{"a": NaN}', "invalid_json"),
        ('{"a": Infinity}', "invalid_json"),
        ("{'a': 1}", "invalid_json"),
        ("", "invalid_json"),
        ("[]", "not_an_object"),
        ('"text"', "not_an_object"),
        ("7", "not_an_object"),
    ],
)
def test_headers_the_gateway_stores_as_null(header: str, kind: str) -> None:
    parsed = parse(header)
    assert parsed.stored is None
    assert [p.kind for p in parsed.problems] == [kind]


def test_reserved_keys_are_dropped_and_the_rest_kept() -> None:
    parsed = parse('{"cf.user_id": "u", "team": "ai"}')
    assert parsed.stored == {"team": "ai"}
    assert parsed.problems[0].keys == ("cf.user_id",)


def test_a_missing_header_is_no_metadata_and_no_problem() -> None:
    assert parse(None).stored is None
    assert parse(None).problems == ()


def test_an_empty_object_is_stored_as_empty() -> None:
    assert parse("{}").stored == {}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"a": None}, "metadata value for 'a' must be a str, int, float or bool, got None"),
        ({"a": {"b": 1}}, "Flatten it, or send it as a string"),
        ({"a": float("nan")}, "metadata value for 'a'"),
        ({1: "x"}, "metadata keys must be strings, got 1"),
        ({"cf.x": 1}, "metadata key 'cf.x' starts with 'cf.'"),
        ({str(i): i for i in range(6)}, "metadata has 6 entries but the gateway keeps at most 5"),
    ],
)
def test_encode_refuses_what_the_gateway_would_lose(entries: object, message: str) -> None:
    with pytest.raises(MetadataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        encode(entries)  # type: ignore[arg-type]


def test_validate_refuses_a_non_mapping() -> None:
    with pytest.raises(MetadataError, match="metadata must be a mapping"):
        validate(["a"])  # type: ignore[arg-type]


def test_merge_keeps_the_apps_entries_and_adds_the_extra_ones() -> None:
    assert merge({"user": "u1", "test": False}, {"test": True, "run": "r1"}) == {
        "user": "u1",
        "test": True,
        "run": "r1",
    }


def test_merge_says_how_much_room_is_left_when_it_cannot_fit() -> None:
    app = {str(i): i for i in range(4)}
    with pytest.raises(MetadataError) as info:
        merge(app, {"test": True, "run": "r1"})
    assert str(info.value) == (
        "cannot add 'test', 'run' to the app's metadata ('0', '1', '2', '3'): the gateway"
        " keeps at most 5 entries and the app uses 4, leaving room for 1"
    )
