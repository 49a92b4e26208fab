"""Property: any recorded exchange set, written to a file and replayed, gives back its bytes.

The cassette goes through its file (dumps, then load) and each recorded request is sent
again through httpx, in order: every answer has the recorded status, the recorded
header values (framing headers are the transport's) and the recorded body, byte for
byte, whether it was one body or a stream's chunks.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st
from replay_cassettes import PLACE

from pytest_aigw.cassette import (
    Body,
    Cassette,
    Chunk,
    Exchange,
    RecordedRequest,
    RecordedResponse,
)
from pytest_aigw.fake.replayed import FRAMING
from pytest_aigw.replay_gateway import ReplayGateway

PATHS = ("openai/chat/completions", "anthropic/v1/messages", "workers-ai/@cf/meta/m", "")
bodies = st.builds(Body, st.binary(max_size=80) | st.text(max_size=80).map(str.encode))
names = st.from_regex(r"x-[a-z0-9-]{1,12}|cf-aig-[a-z-]{1,12}", fullmatch=True).filter(
    lambda name: name not in FRAMING
)
values = st.from_regex(r"[!-~]([ -~]{0,30}[!-~])?", fullmatch=True)  # visible, no edge spaces
headers = st.lists(st.tuples(names, values), max_size=5)
chunk_lists = st.lists(st.builds(Chunk, st.floats(0, 5, allow_nan=False), bodies), max_size=5)


@st.composite
def exchanges(draw: st.DrawFn) -> Exchange:
    path = draw(st.sampled_from(PATHS))
    url = f"{PLACE.gateway_url}/{path}".rstrip("/")
    sent = RecordedRequest("POST", url, draw(headers), draw(bodies))
    status = draw(st.integers(200, 599))
    if draw(st.booleans()):
        answer = RecordedResponse(status, draw(headers), chunks=tuple(draw(chunk_lists)))
    else:
        answer = RecordedResponse(status, draw(headers), draw(bodies))
    return Exchange("gateway", sent, answer)


@given(recorded=st.lists(exchanges(), max_size=4))
def test_replayed_answers_are_the_recorded_bytes_and_headers(recorded: list[Exchange]) -> None:
    cassette = Cassette.loads(Cassette("t", PLACE, "", recorded).dumps())
    with ReplayGateway(cassette, strict=False) as aigw, httpx.Client() as client:
        for exchange in recorded:
            path = exchange.request.url[len(PLACE.gateway_url) :]
            sent = client.post(aigw.gateway_url + path, content=exchange.request.body.data)
            expected = exchange.response
            assert sent.status_code == expected.status
            assert sent.content == expected.content
            kept = [(k.lower(), v) for k, v in sent.headers.multi_items() if k not in FRAMING]
            assert kept == [(k.lower(), v) for k, v in expected.headers]
        assert aigw.findings() == []
    assert [call.status_code for call in aigw.calls] == [e.response.status for e in recorded]


def test_a_cassette_file_on_disk_replays_the_same(tmp_path: Path) -> None:
    chunks = (Chunk(0.1, Body(b"\xff\x00")), Chunk(0.2, Body(b"line\nnext")))
    answer = RecordedResponse(200, [("cf-aig-log-id", "L1")], chunks=chunks)
    sent = RecordedRequest("POST", f"{PLACE.gateway_url}/openai/x", body=Body(b"\x00\x01"))
    path = tmp_path / "c.json"
    Cassette("t", PLACE, exchanges=[Exchange("gateway", sent, answer)]).save(path)
    with ReplayGateway(Cassette.load(path)) as aigw:
        got = httpx.post(aigw.url("openai") + "/x", content=b"\x00\x01")
    assert (got.content, got.headers["cf-aig-log-id"]) == (b"\xff\x00line\nnext", "L1")
    assert "content-length" not in got.headers  # a stream: chunked, as it came
