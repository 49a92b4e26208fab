"""The requests door: the app's `requests` calls reach the fake over an in-memory socket.

`requests.Session.get_adapter` is patched on the class, so sessions made before the
gateway started are caught too. For a wanted URL it hands back an `HTTPAdapter`
whose urllib3 connection talks to an in-memory socket: requests, urllib3 and
http.client write the request and parse the reply themselves, so headers, bodies,
`stream=True` reads and errors (`ReadTimeout`, `ConnectionError`,
`ChunkedEncodingError`) are those of a real connection. The adapter keeps the
retries of the one the session would have used. Other URLs get the session's own
adapter, untouched, so a user's `responses` mock (it patches `HTTPAdapter.send`)
and the network work as before.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import requests
import urllib3
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

from ..fake.transport import TransportFault
from ._types import Handler, Predicate
from ._wire import ServerEnd, sync_chunks

__all__ = ["RequestsDoor"]

_doors: list[RequestsDoor] = []  # started doors, newest first: a nested gateway answers
_real_get_adapter = requests.Session.get_adapter


def _genuine_send() -> Any:
    """`HTTPAdapter.send` itself, even while `responses` has it patched."""
    send = HTTPAdapter.__dict__["send"]
    if getattr(send, "__module__", None) == "requests.adapters":
        return send
    return getattr(sys.modules.get("responses"), "_real_send", send)  # pragma: no cover


class _MemorySocket:
    """A socket whose peer is the fake: the request goes in, the reply comes out."""

    def __init__(self, door: RequestsDoor, scheme: str) -> None:
        self._door = door
        self._server = ServerEnd(scheme)
        self._reply: Iterator[bytes] | None = None
        self._timeout: float | None = None

    def sendall(self, data: bytes) -> None:
        request = self._server.receive(bytes(data))
        if request is not None:
            self._reply = self._wire(request)

    def _wire(self, request: httpx.Request) -> Iterator[bytes]:
        try:
            response = self._door.answer(request)
            yield self._server.head(response)
            if self._server.has_body:
                for chunk in sync_chunks(response):
                    yield self._server.data(chunk)
            yield self._server.end()
        except TransportFault as fault:
            if fault.error_name == "ReadTimeout":
                raise TimeoutError("timed out") from None
            # Otherwise the peer hangs up: the client reads the end of the stream.

    def recv_into(self, buffer: memoryview) -> int:
        """Read what the fake sent next: one piece at a time, as a socket does."""
        if self._reply is None:
            return 0
        piece = next(self._reply, b"")
        buffer[: len(piece)] = piece
        return len(piece)

    def makefile(self, mode: str = "rb", **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self))

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def gettimeout(self) -> float | None:
        return self._timeout

    def setsockopt(self, *args: Any) -> None:
        pass

    def close(self) -> None:
        self._reply = None


class _Reader(io.RawIOBase):
    def __init__(self, sock: _MemorySocket) -> None:
        self._sock = sock
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            scratch = bytearray(1 << 16)
            size = self._sock.recv_into(memoryview(scratch))
            self._pending = bytes(scratch[:size])
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _InMemory:
    """Mixed into urllib3's connection classes: connect to the fake, no socket, no TLS."""

    scheme_name = "http"

    def __init__(self, *args: Any, door: RequestsDoor, **kwargs: Any) -> None:
        self._door = door
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        self.sock: Any = _MemorySocket(self._door, self.scheme_name)
        self.is_verified = True


class _MemoryHTTPConnection(_InMemory, HTTPConnection):
    pass


class _MemoryHTTPSConnection(_InMemory, HTTPSConnection):
    scheme_name = "https"


class _MemoryHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _MemoryHTTPConnection


class _MemoryHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _MemoryHTTPSConnection


class _MemoryAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections lead to the fake; one pool per request."""

    send = _genuine_send()

    def __init__(self, door: RequestsDoor, max_retries: Any) -> None:
        super().__init__(max_retries=max_retries)
        self._door = door

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> urllib3.HTTPConnectionPool:
        return self._pool(request.url or "")

    def get_connection(  # pragma: no cover - requests < 2.32.2
        self, url: str | bytes, proxies: Mapping[str, str] | None = None
    ) -> urllib3.HTTPConnectionPool:
        return self._pool(url.decode() if isinstance(url, bytes) else url)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        pass  # no TLS in memory

    def request_url(self, request: requests.PreparedRequest, proxies: Any) -> str:
        return super().request_url(request, {})  # no proxy between the app and the fake

    def _pool(self, url: str) -> urllib3.HTTPConnectionPool:
        parsed = urllib3.util.parse_url(url)
        pool_type = _MemoryHTTPSPool if parsed.scheme == "https" else _MemoryHTTPPool
        return pool_type(parsed.host or "", parsed.port, door=self._door)


class RequestsDoor:
    """While started, `requests` calls that *wanted* accepts are answered by the fake."""

    def __init__(self, handler: Handler, wanted: Predicate) -> None:
        self._handler = handler
        self._wanted = wanted

    def answer(self, request: httpx.Request) -> httpx.Response:
        return self._handler(request)

    def wants(self, url: str) -> bool:
        return self._wanted(httpx.Request("GET", url))

    def start(self) -> None:
        if not _doors:
            requests.Session.get_adapter = _get_adapter  # type: ignore[assignment,method-assign]
        _doors.insert(0, self)

    def stop(self) -> None:
        if self in _doors:
            _doors.remove(self)
        if not _doors:
            requests.Session.get_adapter = _real_get_adapter  # type: ignore[method-assign]


def _get_adapter(session: requests.Session, url: str) -> BaseAdapter:
    """The adapter for *url*: the fake's when a started door wants it, else the session's."""
    own = _real_get_adapter(session, url)
    door = next((door for door in _doors if door.wants(url)), None)
    if door is None:
        return own
    retries = own.max_retries if isinstance(own, HTTPAdapter) else 0
    return _MemoryAdapter(door, retries)
