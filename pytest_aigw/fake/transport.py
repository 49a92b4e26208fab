"""What the fake puts on the wire: a body in chunks, a delay, a dropped connection.

The fake raises `TransportFault` where a real network would fail. The interception
layer turns it into the error type of the client library in use (httpcore's,
httpcore2's or httpx's own), so each client raises exactly what it raises for real.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from types import ModuleType

import anyio
import httpx

__all__ = ["ChunkStream", "TranslatedStream", "TransportFault"]


class TransportFault(Exception):
    """A network failure, named by the exception class every client library shares."""

    def __init__(self, error_name: str, message: str) -> None:
        super().__init__(message)
        self.error_name = error_name
        self.message = message

    @classmethod
    def timeout(cls) -> TransportFault:
        return cls("ReadTimeout", "The read operation timed out")

    @classmethod
    def disconnect(cls) -> TransportFault:
        return cls("RemoteProtocolError", "Server disconnected without sending a response.")

    @classmethod
    def cut(cls) -> TransportFault:
        return cls(
            "RemoteProtocolError",
            "peer closed connection without sending complete message body"
            " (incomplete chunked read)",
        )

    def as_error(self, library: ModuleType) -> Exception:
        """The same failure as *library* (httpcore, httpcore2, httpx) would raise it."""
        error_type: type[Exception] = getattr(library, self.error_name)
        return error_type(self.message)


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent chunk by chunk, sync or async.

    *delay* seconds pass before the first byte (the provider's latency). With
    *cut_after*, the connection drops after that many chunks.
    """

    def __init__(
        self, chunks: Sequence[bytes], *, delay: float = 0.0, cut_after: int | None = None
    ) -> None:
        self.chunks = chunks
        self.delay = delay
        self.cut_after = cut_after

    def _sent(self) -> Sequence[bytes]:
        return self.chunks if self.cut_after is None else self.chunks[: self.cut_after]

    def __iter__(self) -> Iterator[bytes]:
        if self.delay:
            time.sleep(self.delay)
        yield from self._sent()
        if self.cut_after is not None:
            raise TransportFault.cut()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.delay:
            await anyio.sleep(self.delay)
        for chunk in self._sent():
            yield chunk
        if self.cut_after is not None:
            raise TransportFault.cut()


class TranslatedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Wraps a body so that a `TransportFault` mid-way surfaces as *library*'s error."""

    def __init__(self, inner: ChunkStream, library: ModuleType) -> None:
        self._inner = inner
        self._library = library

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except TransportFault as fault:
            raise fault.as_error(self._library) from None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except TransportFault as fault:
            raise fault.as_error(self._library) from None
