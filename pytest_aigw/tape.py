"""`Tape`: what a live test exchanged with Cloudflare, taken down as the answers pass.

`LiveGateway` hands each request it sends on (as sent: tagged, the gateway token added)
and the answer's stream to `Tape.sync` or `Tape.async_`, and relays the stream they
return. That stream yields each piece the moment the relay does, so a stream reaches the
app as fast as without a tape; each piece is decoded (the app reads decoded bytes, and
a replay hands them back) and kept with the seconds since the answer's headers.

A streamed answer (``text/event-stream``, NDJSON, or a request asking ``"stream":
true``) is kept as its chunks; any other as one body. gzip is decoded piece by piece;
another encoding (br, zstd, deflate) is decoded once the body ends, so its stream is
one chunk, at the time the last piece came.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import httpx

from .cassette import Body, Chunk, Exchange, RecordedRequest, RecordedResponse
from .logs_api import is_logs_path

__all__ = ["Tape"]

_STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl")
_DROPPED = frozenset({"content-encoding", "content-length"})  # the body is kept decoded


def _under(url: httpx.URL, base: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and (
        url.path == base.path or url.path.startswith(base.path + "/")
    )


def _streamed(request: httpx.Request, response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in _STREAM_TYPES:
        return True
    if b'"stream"' not in request.content:
        return False
    try:
        body = json.loads(request.content)
    except (ValueError, RecursionError):
        return False
    return isinstance(body, dict) and body.get("stream") is True


class _Decoder:
    """The answer's bytes as the app reads them: gzip piece by piece, others at the end."""

    def __init__(self, headers: httpx.Headers) -> None:
        self._headers = headers
        encodings = [
            e.strip().lower() for e in headers.get("content-encoding", "").split(",") if e.strip()
        ]
        encodings = [e for e in encodings if e != "identity"]
        self._gzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encodings == ["gzip"] else None
        self._whole = bool(encodings) and self._gzip is None
        self._held: list[bytes] = []

    def decode(self, raw: bytes) -> bytes:
        if self._gzip is not None:
            return self._gzip.decompress(raw)
        if self._whole:
            self._held.append(raw)
            return b""
        return raw

    def flush(self) -> bytes:
        if self._gzip is not None:
            return self._gzip.flush()
        if self._whole:
            held, self._held = b"".join(self._held), []
            return httpx.Response(200, headers=self._headers, content=held).content
        return b""


@dataclass
class _Take:
    """One exchange being taken down: the request, the answer's head, the pieces so far."""

    api: str
    request: RecordedRequest
    status: int
    headers: list[tuple[str, str]]
    streamed: bool
    decoder: _Decoder
    started: float
    pieces: list[Chunk] = field(default_factory=list)
    ended: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, raw: bytes, now: float) -> None:
        with self.lock:
            data = b"" if self.ended else self.decoder.decode(raw)
            if data:
                self.pieces.append(Chunk(now - self.started, Body(data)))

    def end(self, now: float) -> None:
        """No more pieces: what the decoder still holds is the last one."""
        with self.lock:
            if self.ended:
                return
            self.ended = True
            rest = self.decoder.flush()
            if rest:
                self.pieces.append(Chunk(now - self.started, Body(rest)))

    def exchange(self) -> Exchange:
        if self.streamed:
            response = RecordedResponse(self.status, self.headers, chunks=tuple(self.pieces))
        else:
            body = Body(b"".join(piece.body.data for piece in self.pieces))
            response = RecordedResponse(self.status, self.headers, body)
        return Exchange(self.api, self.request, response)


class Tape:
    """The exchanges of one test, in the order their requests were sent."""

    def __init__(
        self, gateway_url: str, rest_url: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._gateway = httpx.URL(gateway_url)
        self._rest = httpx.URL(rest_url)
        self._clock = clock
        self._takes: list[_Take] = []
        self._lock = threading.Lock()

    def api_of(self, url: httpx.URL) -> str:
        """``gateway``, ``rest`` or ``logs``: which surface *url* is on."""
        if _under(url, self._gateway):
            return "gateway"
        if _under(url, self._rest):
            return "rest"
        return "logs" if is_logs_path(url.path) else "gateway"

    def _start(self, sent: httpx.Request, response: httpx.Response) -> _Take:
        take = _Take(
            api=self.api_of(sent.url),
            request=RecordedRequest(
                sent.method,
                str(sent.url),
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in sent.headers.raw],
                Body(sent.content),
            ),
            status=response.status_code,
            headers=[
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in response.headers.raw
                if k.decode("latin-1").lower() not in _DROPPED
            ],
            streamed=_streamed(sent, response),
            decoder=_Decoder(response.headers),
            started=self._clock(),
        )
        with self._lock:
            self._takes.append(take)
        return take

    def sync(
        self, sent: httpx.Request, response: httpx.Response, relay: httpx.SyncByteStream
    ) -> httpx.SyncByteStream:
        """*relay*, taking down each piece of *response* (whose headers just came) as it passes."""
        return _TapedStream(relay, self._start(sent, response), self._clock)

    def async_(
        self, sent: httpx.Request, response: httpx.Response, relay: httpx.AsyncByteStream
    ) -> httpx.AsyncByteStream:
        """`sync` for async clients."""
        return _AsyncTapedStream(relay, self._start(sent, response), self._clock)

    def exchanges(self) -> list[Exchange]:
        """What was exchanged so far; an answer still open counts with what came of it."""
        with self._lock:
            takes = list(self._takes)
        now = self._clock()
        for take in takes:
            take.end(now)
        return [take.exchange() for take in takes]


class _TapedStream(httpx.SyncByteStream):
    def __init__(self, relay: httpx.SyncByteStream, take: _Take, clock: Callable[[], float]):
        self._relay, self._take, self._clock = relay, take, clock

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._relay:
            self._take.take(piece, self._clock())
            yield piece
        self._take.end(self._clock())

    def close(self) -> None:
        try:
            self._relay.close()
        finally:
            self._take.end(self._clock())


class _AsyncTapedStream(httpx.AsyncByteStream):
    def __init__(self, relay: httpx.AsyncByteStream, take: _Take, clock: Callable[[], float]):
        self._relay, self._take, self._clock = relay, take, clock

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._relay:
            self._take.take(piece, self._clock())
            yield piece
        self._take.end(self._clock())

    async def aclose(self) -> None:
        try:
            await self._relay.aclose()
        finally:
            self._take.end(self._clock())
