"""The tape: exchanges taken down as their answers pass, decoded, each piece with its time."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from pytest_aigw.tape import Tape

GATEWAY = "https://gateway.ai.cloudflare.com/v1/acc/gw"
REST = "https://api.cloudflare.com/client/v4/accounts/acc/ai"
LOGS = "https://api.cloudflare.com/client/v4/accounts/acc/ai-gateway/gateways/gw/logs"


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Pieces(httpx.SyncByteStream):
    def __init__(self, pieces: list[bytes], clock: Clock) -> None:
        self.pieces, self.clock, self.closed = pieces, clock, False

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.clock.now += 0.5  # each piece takes half a second to come
            yield piece

    def close(self) -> None:
        self.closed = True


class AsyncPieces(httpx.AsyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces, self.closed = pieces, False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece

    async def aclose(self) -> None:
        self.closed = True


def sent(url: str = GATEWAY + "/openai/chat/completions", body: bytes = b"{}") -> httpx.Request:
    return httpx.Request("POST", url, content=body, headers={"authorization": "Bearer k"})


def answer(**headers: str) -> httpx.Response:
    return httpx.Response(200, headers={"cf-aig-log-id": "l1", **headers})


def test_a_stream_is_relayed_unchanged_and_kept_decoded_piece_by_piece() -> None:
    clock = Clock()
    tape = Tape(GATEWAY, REST, clock)
    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    events = [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]
    raw = [packer.compress(e) + packer.flush(zlib.Z_SYNC_FLUSH) for e in events] + [packer.flush()]
    relay = Pieces(raw, clock)
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    stream = tape.sync(sent(), answer(**headers, **{"content-length": "9"}), relay)
    assert list(stream) == raw  # the app gets the bytes as they came, still encoded
    stream.close()
    assert relay.closed
    [exchange] = tape.exchanges()
    chunks = exchange.response.chunks
    assert chunks is not None
    assert [c.body.data for c in chunks] == events
    assert [c.at for c in chunks] == [0.5, 1.0, 1.5]
    assert exchange.response.headers == [
        ("cf-aig-log-id", "l1"),
        ("content-type", "text/event-stream"),
    ]
    assert ("authorization", "Bearer k") in exchange.request.headers


def test_an_answer_in_another_encoding_is_decoded_once_it_ends() -> None:
    clock = Clock()
    tape = Tape(GATEWAY, REST, clock)
    packed = zlib.compress(b'{"ok": true}')
    stream = tape.sync(
        sent(body=b'{"stream": true}'),
        answer(**{"content-encoding": "deflate"}),
        Pieces([packed[:4], packed[4:]], clock),
    )
    list(stream)
    stream.close()
    [exchange] = tape.exchanges()
    chunks = exchange.response.chunks
    assert chunks is not None  # the request asked for a stream
    assert [(c.at, c.body.data) for c in chunks] == [(1.0, b'{"ok": true}')]


def test_a_whole_answer_is_one_body_gzip_or_not() -> None:
    clock = Clock()
    tape = Tape(GATEWAY, REST, clock)
    packed = gzip.compress(b"hello world")
    for headers, pieces in (({"content-encoding": "gzip"}, [packed]), ({}, [b"hello ", b"world"])):
        stream = tape.sync(sent(), answer(**headers), Pieces(pieces, clock))
        list(stream)
        stream.close()
    plain = [e.response for e in tape.exchanges()]
    assert [(r.chunks, r.content) for r in plain] == [(None, b"hello world")] * 2


def test_an_answer_still_open_counts_with_what_came_of_it() -> None:
    clock = Clock()
    tape = Tape(GATEWAY, REST, clock)
    stream = iter(
        tape.sync(
            sent(), answer(**{"content-type": "text/event-stream"}), Pieces([b"a", b"b"], clock)
        )
    )
    next(stream)
    [exchange] = tape.exchanges()
    assert exchange.response.content == b"a"
    assert list(stream) == [b"b"]  # a piece after the snapshot still reaches the app
    assert tape.exchanges()[0].response.content == b"a"


def test_async_streams_are_taken_down_too() -> None:
    tape = Tape(GATEWAY, REST)
    relay = AsyncPieces([b"data: 1\n\n", b"data: 2\n\n"])
    stream = tape.async_(sent(), answer(**{"content-type": "text/event-stream"}), relay)

    async def read() -> list[bytes]:
        pieces = [piece async for piece in stream]
        await stream.aclose()
        return pieces

    assert asyncio.run(read()) == relay.pieces
    assert relay.closed
    chunks = tape.exchanges()[0].response.chunks
    assert chunks is not None
    assert [c.body.data for c in chunks] == relay.pieces
    assert all(c.at >= 0 for c in chunks)


def test_each_exchange_is_named_by_its_surface() -> None:
    tape = Tape(GATEWAY, REST)
    urls = [
        GATEWAY + "/openai/chat/completions",
        REST + "/v1/chat/completions",
        LOGS + "/l1",
        "https://elsewhere.example/v1/x",
    ]
    assert [tape.api_of(httpx.URL(url)) for url in urls] == ["gateway", "rest", "logs", "gateway"]


def test_a_stream_is_told_by_its_content_type_or_the_requests_stream_field() -> None:
    tape = Tape(GATEWAY, REST)
    cases = [
        (b"{}", {"content-type": "application/x-ndjson"}),
        (b'{"stream": true}', {}),
        (b'{"stream": false}', {}),
        (b'{"messages": [{"content": "\\"stream\\": true"}]}', {}),
        (b'"stream"', {}),
        (b'{"stream": true', {}),
    ]
    for body, headers in cases:
        stream = tape.sync(sent(body=body), answer(**headers), Pieces([b"x"], Clock()))
        list(stream)
    kept = [e.response.chunks is not None for e in tape.exchanges()]
    assert kept == [True, True, False, False, False, False]
