"""A recorded answer put back on the wire, and the `Call` that records its request.

The status, the headers (``cf-aig-log-id`` and every other) and the body bytes come
back as recorded. A whole body gets its ``content-length``; a stream's chunks come one
by one, paced by their recorded times divided by *speed* (0: no waiting). Framing
headers (``content-length``, ``transfer-encoding``, ``content-encoding``) are the
transport's, never the cassette's: recorded bodies are decoded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from time import sleep

import httpx
from anyio import sleep as async_sleep

from .. import metadata
from ..calls import Call, Received
from ..cassette import Body, Chunk, RecordedResponse
from ..live_calls import live_call
from .options import NO_OPTIONS, InvalidOption, RequestOptions, cf_headers, parse_options

__all__ = ["PacedStream", "gaps", "replayed_call", "replayed_response"]

FRAMING = frozenset({"content-length", "transfer-encoding", "content-encoding"})


def gaps(chunks: Sequence[Chunk], speed: float) -> list[float]:
    """Seconds to wait before each chunk: the recorded gap over *speed*; 0 waits none."""
    if not speed:
        return [0.0] * len(chunks)
    waits, before = [], 0.0
    for chunk in chunks:
        waits.append(max(0.0, chunk.at - before) / speed)
        before = max(before, chunk.at)
    return waits


class PacedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Recorded chunks, sync or async, each after its wait."""

    def __init__(self, chunks: Sequence[Chunk], speed: float = 0.0) -> None:
        self._parts = list(
            zip(gaps(chunks, speed), (chunk.body.data for chunk in chunks), strict=True)
        )

    def __iter__(self) -> Iterator[bytes]:
        for wait, data in self._parts:
            if wait:
                sleep(wait)
            yield data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for wait, data in self._parts:
            if wait:
                await async_sleep(wait)
            yield data


def replayed_response(recorded: RecordedResponse, speed: float = 0.0) -> httpx.Response:
    """The recorded answer as an `httpx.Response` whose body is still to be read."""
    headers = [(name, value) for name, value in recorded.headers if name.lower() not in FRAMING]
    if recorded.chunks is not None:
        return httpx.Response(
            recorded.status, headers=headers, stream=PacedStream(recorded.chunks, speed)
        )
    body = recorded.content
    headers.append(("content-length", str(len(body))))
    whole = PacedStream([Chunk(0.0, Body(body))])
    return httpx.Response(recorded.status, headers=headers, stream=whole)


def replayed_call(
    request: httpx.Request,
    api: str,
    path: str,
    recorded: RecordedResponse,
    tags: Mapping[str, metadata.MetadataValue],
) -> Call:
    """The `Call` live mode would have recorded for *request* and its recorded answer.

    As in live mode, the metadata is the app's with *tags* (``test: true``...) merged in.
    """
    answer = dict(httpx.Headers(recorded.headers))
    return live_call(
        request,
        api,
        path,
        recorded.status,
        answer,
        metadata_header=_tagged(request.headers.get(metadata.HEADER), tags),
        received=Received((recorded.content,)),  # the reply its failure section shows
        options=_options(request),
        attempts=0 if answer.get("cf-aig-cache-status") == "HIT" else 1,
    )


def _tagged(header: str | None, tags: Mapping[str, metadata.MetadataValue]) -> str | None:
    """The app's header with *tags* merged, as live mode sends it; as sent where it cannot be."""
    parsed = metadata.parse(header)
    if not tags or parsed.problems:
        return header
    return metadata.encode(metadata.merge(parsed.stored or {}, tags))


def _options(request: httpx.Request) -> RequestOptions:
    try:
        return parse_options(cf_headers(request.headers.raw))
    except InvalidOption:
        return NO_OPTIONS
