"""The fake's end of one in-memory HTTP/1.1 connection, framed by h11.

The aiohttp and requests doors let the client's own HTTP stack write its request
and parse the reply, as on a socket; this end reads the request bytes into an
`httpx.Request` for the fake and frames the fake's reply (chunked when it has no
length, so that a stream reaches the client chunk by chunk).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import h11
import httpx

from ..fake.transport import TransportFault

__all__ = ["ServerEnd", "async_chunks", "sync_chunks"]


class ServerEnd:
    """Reads one request and frames the reply to it."""

    def __init__(self, scheme: str) -> None:
        self._scheme = scheme
        self._conn = h11.Connection(h11.SERVER)
        self._head: h11.Request | None = None
        self._body: list[bytes] = []
        self._method = b""

    def receive(self, data: bytes) -> httpx.Request | None:
        """Take bytes the client wrote; the request once it is whole, else None."""
        self._conn.receive_data(data)
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return None
            if isinstance(event, h11.Request):
                self._head = event
            elif isinstance(event, h11.Data):
                self._body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return self._request()

    def _request(self) -> httpx.Request:
        head = self._head
        assert head is not None  # h11 yields the head before the end of the message
        self._method = head.method
        target = head.target.decode("latin-1")
        if target.startswith("/"):
            host = next(value for name, value in head.headers if name == b"host")
            target = f"{self._scheme}://{host.decode('latin-1')}{target}"
        return httpx.Request(
            head.method.decode("ascii"),
            target,
            headers=head.headers.raw_items(),
            content=b"".join(self._body),
        )

    @property
    def has_body(self) -> bool:
        """Whether the reply carries a body (not for HEAD)."""
        return self._method != b"HEAD"

    def head(self, response: httpx.Response) -> bytes:
        return self._conn.send(
            h11.Response(
                status_code=response.status_code,
                headers=response.headers.raw,
                reason=response.reason_phrase.encode("ascii"),
            )
        )

    def data(self, chunk: bytes) -> bytes:
        return self._conn.send(h11.Data(data=chunk)) if chunk else b""

    def end(self) -> bytes:
        return self._conn.send(h11.EndOfMessage())


def sync_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The reply's body as the fake produces it; a cut raises `TransportFault`."""
    stream = response.stream
    if not isinstance(stream, httpx.SyncByteStream):  # pragma: no cover - the fake's are both
        raise TransportFault.cut()
    yield from stream


async def async_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    stream = response.stream
    if isinstance(stream, httpx.AsyncByteStream):
        async for chunk in stream:
            yield chunk
    else:
        for chunk in sync_chunks(response):
            yield chunk
