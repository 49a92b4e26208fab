"""The cassette file format: byte-exact round trips and clear errors for bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw.cassette import (
    Body,
    Cassette,
    CassetteError,
    Chunk,
    Exchange,
    GatewayPlace,
    RecordedRequest,
    RecordedResponse,
    cassette_path,
)

PLACE = GatewayPlace("acc", "gw", "https://gateway.ai.cloudflare.com/v1/acc/gw", "https://api")

header_names = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
headers = st.lists(st.tuples(header_names, st.text(max_size=20)), max_size=4)
bodies = st.builds(Body, st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
chunks = st.lists(st.builds(Chunk, st.floats(0, 60, allow_nan=False), bodies), max_size=4).map(
    tuple
)
responses = st.builds(RecordedResponse, st.integers(100, 599), headers, bodies) | st.builds(
    RecordedResponse, st.integers(100, 599), headers, st.none(), chunks
)
requests = st.builds(RecordedRequest, st.sampled_from(["GET", "POST"]), st.text(), headers, bodies)
exchanges = st.builds(Exchange, st.sampled_from(["gateway", "rest", "logs"]), requests, responses)


@given(st.lists(exchanges, max_size=4))
def test_a_cassette_reads_back_byte_for_byte(recorded: list[Exchange]) -> None:
    cassette = Cassette("tests/test_app.py::test_x", PLACE, "2026-12-02T00:00:00Z", recorded)
    back = Cassette.loads(cassette.dumps())
    assert [e.response.content for e in back.exchanges] == [e.response.content for e in recorded]
    for got, sent in zip(back.exchanges, recorded, strict=True):
        assert got.request == sent.request
        assert got.response.headers == sent.response.headers
        assert got.response.status == sent.response.status
        if sent.response.chunks is not None:
            assert [c.body for c in got.response.chunks or ()] == [
                c.body for c in sent.response.chunks
            ]
    assert back.dumps() == cassette.dumps()


def test_text_of_several_lines_is_kept_as_lines_for_diffs() -> None:
    assert Body(b'{\n  "a": 1\n}').as_json() == {"lines": ["{", '  "a": 1', "}"]}
    assert Body(b"one line").as_json() == {"text": "one line"}
    assert Body(b"\xff\x00").as_json() == {"base64": "/wA="}


def test_a_response_header_is_found_in_any_case() -> None:
    response = RecordedResponse(200, [("CF-AIG-Log-Id", "abc")])
    assert response.header("cf-aig-log-id") == "abc"
    assert response.header("cf-aig-step") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"pytest_aigw_cassette": 2},
            "'pytest_aigw_cassette' must be 1, got 2: not a pytest-aigw cassette,"
            " or one from another version; record it again",
        ),
        ({"test": 3}, "test must be a string, got int"),
        ({"exchanges": {}}, "exchanges must be a JSON array, got dict"),
        ({"logs": [1]}, "logs[0] must be a JSON object, got int"),
        (
            {"exchanges": [{"api": "ftp"}]},
            "exchanges[0] 'api' must be one of ['gateway', 'rest', 'logs'], got 'ftp'",
        ),
    ],
)
def test_a_bad_cassette_names_the_file_and_the_place(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    data = Cassette("t::x", PLACE).as_json() | change
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CassetteError) as caught:
        Cassette.load(path)
    assert str(caught.value) == f"{path}: {message}"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"status": 99}, "'status' must be an HTTP status 100-599, got 99"),
        ({"status": 200, "body": {}}, "body must have exactly one of 'text', 'lines', 'base64'"),
        ({"status": 200, "body": {"base64": "!!"}}, "body 'base64' is not valid base64"),
        ({"status": 200, "body": {"text": ""}, "chunks": []}, "has both 'body' and 'chunks'"),
        ({"status": 200, "chunks": [{"at": -1, "text": ""}]}, "chunks[0] 'at' must be seconds"),
        ({"status": 200, "headers": [["a"]]}, "headers[0] must be a [name, value] pair"),
    ],
)
def test_a_bad_response_is_named_by_its_place(response: dict[str, object], message: str) -> None:
    exchange = {"api": "gateway", "request": {"method": "GET", "url": "u"}, "response": response}
    text = json.dumps(Cassette("t::x", PLACE).as_json() | {"exchanges": [exchange]})
    with pytest.raises(CassetteError, match=r"^f\.json: exchanges\[0\]\.response") as caught:
        Cassette.loads(text, "f.json")
    assert message in str(caught.value)


def test_an_unreadable_cassette_says_so(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="cannot be read"):
        Cassette.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(CassetteError, match="not a readable cassette"):
        Cassette.load(tmp_path / "bad.json")


def test_cassette_paths_are_per_module_and_safe(tmp_path: Path) -> None:
    assert cassette_path(tmp_path, "tests/test_app.py::test_x") == tmp_path / "test_app/test_x.json"
    assert (
        cassette_path(tmp_path, "t.py::TestA::test_b[1-2]") == tmp_path / "t/TestA.test_b[1-2].json"
    )
    odd = cassette_path(tmp_path, "t.py::test_c[a/b c]")
    assert odd.parent == tmp_path / "t"
    assert odd.name.startswith("test_c[a_b_c]-")
    assert odd != cassette_path(tmp_path, "t.py::test_c[a_b c]")
    long = cassette_path(tmp_path, "t.py::test_" + "x" * 300)
    assert len(long.name) < 140


def test_each_header_is_one_line_of_the_file() -> None:
    request = RecordedRequest("POST", "u", [("a", "1"), ("b", '\x00header-0\x00"')])
    response = RecordedResponse(200, [("cf-aig-log-id", "x")], Body(b"{}"))
    text = Cassette("t::x", PLACE, exchanges=[Exchange("gateway", request, response)]).dumps()
    assert '"headers": [\n          ["a", "1"],\n          ["b", ' in text
    assert '"headers": [\n          ["cf-aig-log-id", "x"]\n        ],' in text
    assert text.count('"headers"') == 2
    assert Cassette.loads(text).exchanges[0].request.headers == request.headers


def test_logs_and_missing_logs_read_back_and_an_empty_list_is_left_out(tmp_path: Path) -> None:
    full = Cassette("t::x", PLACE, logs=[{"id": "a", "cost": 0.5}], missing_logs=["b"])
    path = tmp_path / "deep" / "er" / "x.json"
    full.save(path)
    Cassette("t::y", PLACE).save(path.with_name("y.json"))  # a second file beside it
    back = Cassette.load(path)
    assert (back.logs, back.missing_logs) == ([{"id": "a", "cost": 0.5}], ["b"])
    assert '"missing_logs": [' in path.read_text()
    assert "missing_logs" not in Cassette("t::x", PLACE).dumps()


def test_optional_fields_have_their_defaults() -> None:
    exchange = {
        "api": "rest",
        "request": {"method": "GET", "url": "u"},
        "response": {"status": 204},
    }
    minimal = {"pytest_aigw_cassette": 1, "test": "t::x", "gateway": PLACE.as_json()}
    assert Cassette.loads(json.dumps(minimal)).exchanges == []
    back = Cassette.loads(json.dumps(minimal | {"exchanges": [exchange]}))
    assert (back.recorded_at, back.logs, back.missing_logs) == ("", [], [])
    (read,) = back.exchanges
    assert (read.request.headers, read.request.body) == ([], Body(b""))
    assert (read.response.headers, read.response.body, read.response.chunks) == (
        [],
        Body(b""),
        None,
    )
    assert read.response.content == b""


def test_the_file_is_indented_readable_text() -> None:
    request = RecordedRequest("POST", "u", [("x-note", "café")], Body("déjà vu".encode()))
    text = Cassette(
        "t::x", PLACE, exchanges=[Exchange("gateway", request, RecordedResponse(200))]
    ).dumps()
    assert text.startswith('{\n  "pytest_aigw_cassette": 1,\n  "test": "t::x",\n')
    assert '["x-note", "café"]' in text
    assert '"text": "déjà vu"' in text
    assert Chunk(0.1234567, Body()).as_json()["at"] == 0.123457


def _broken(change: dict[str, Any], where: str = "request") -> str:
    exchange: dict[str, Any] = {
        "api": "gateway",
        "request": {"method": "GET", "url": "u"},
        "response": {"status": 200},
    }
    exchange[where] = exchange[where] | change
    return json.dumps(Cassette("t::x", PLACE).as_json() | {"exchanges": [exchange]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_broken({"method": 1}), "exchanges[0].request.method must be a string, got int"),
        (_broken({"url": None}), "exchanges[0].request.url must be a string, got NoneType"),
        (_broken({"headers": {}}), "exchanges[0].request.headers must be a JSON array, got dict"),
        (_broken({"body": {"text": 1}}), "exchanges[0].request.body.text must be a string"),
        (_broken({"body": {"lines": ["a", 2]}}), "exchanges[0].request.body.lines must be a str"),
        (_broken({"body": {"lines": "a"}}), "exchanges[0].request.body.lines must be a JSON arr"),
        (_broken({"status": 600}, "response"), "'status' must be an HTTP status 100-599, got 600"),
        (_broken({"status": True}, "response"), "'status' must be an HTTP status 100-599, got Tr"),
        (_broken({"chunks": {}}, "response"), "exchanges[0].response.chunks must be a JSON array"),
        (_broken({"chunks": [{"at": 86_400, "text": ""}]}, "response"), "'at' must be seconds"),
        (_broken({"chunks": [{"at": True, "text": ""}]}, "response"), "'at' must be seconds"),
        (
            _broken({"chunks": [{"at": 0, "text": 5}]}, "response"),
            "exchanges[0].response.chunks[0].text must be a string",
        ),
        (
            _broken({"body": {"text": 5}}, "response"),
            "exchanges[0].response.body.text must be a string",
        ),
        (
            json.dumps(Cassette("t::x", PLACE).as_json() | {"gateway": None}),
            "gateway must be a JSON object, got NoneType",
        ),
        (
            json.dumps(
                Cassette("t::x", PLACE).as_json() | {"gateway": {**PLACE.as_json(), "api_url": 1}}
            ),
            "gateway.api_url must be a string, got int",
        ),
        (
            json.dumps(Cassette("t::x", PLACE).as_json() | {"recorded_at": 1}),
            "recorded_at must be a string, got int",
        ),
        (
            json.dumps(Cassette("t::x", PLACE).as_json() | {"missing_logs": [1]}),
            "missing_logs[0] must be a string, got int",
        ),
        (
            json.dumps(Cassette("t::x", PLACE).as_json() | {"missing_logs": "a"}),
            "missing_logs must be a JSON array, got str",
        ),
        (json.dumps([1]), "the file must be a JSON object, got list"),
        (
            json.dumps(Cassette("t::x", PLACE).as_json() | {"logs": {}}),
            "logs must be a JSON array, got dict",
        ),
    ],
)
def test_every_place_is_named_when_it_is_wrong(text: str, message: str) -> None:
    with pytest.raises(CassetteError) as caught:
        Cassette.loads(text, "c.json")
    assert str(caught.value).startswith("c.json: ")
    assert message in str(caught.value)


def test_the_edges_of_status_and_time_are_accepted() -> None:
    text = _broken({"status": 599, "chunks": [{"at": 86_399.5, "text": "x"}]}, "response")
    (read,) = Cassette.loads(text).exchanges
    assert read.response.status == 599
    assert read.response.chunks == (Chunk(86_399.5, Body(b"x")),)


def test_names_at_the_limit_keep_their_name_and_a_test_without_a_module_goes_under_tests(
    tmp_path: Path,
) -> None:
    at_limit = "test_" + "x" * 115
    assert cassette_path(tmp_path, f"t.py::{at_limit}").name == f"{at_limit}.json"
    assert cassette_path(tmp_path, "::test_x") == tmp_path / "tests/test_x.json"
    odd = cassette_path(tmp_path, "t.py::test_c[a/b c]")
    assert re.fullmatch(r"test_c\[a_b_c\]-[0-9a-f]{8}\.json", odd.name)
