"""The aiohttp door: the app's aiohttp requests reach the fake over an in-memory connection.

`aiohttp.TCPConnector._create_connection` is patched on the class, so sessions made
before the gateway started (long-lived ones, as litellm keeps) are caught too. For a
wanted request it returns aiohttp's own protocol attached to an in-memory transport
instead of a socket: aiohttp writes and parses the HTTP itself, so headers, `json=`
and `data=` bodies, streaming and its own errors are exactly those of a real
connection. Other requests take the real path, untouched. Each in-memory connection
serves one exchange, so none lingers in a pool after the gateway stops.

A user's own `aioresponses` mock (it replaces `ClientSession._request`) lets wanted
requests through to this door while a gateway runs; other hosts stay its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler

from ..fake.transport import TransportFault
from ._types import Handlers
from ._wire import ServerEnd, async_chunks

__all__ = ["AiohttpDoor"]

_Connect = Callable[[aiohttp.TCPConnector, Any, Any, Any], Awaitable[ResponseHandler]]

_doors: list[AiohttpDoor] = []  # started doors, newest first: a nested gateway answers
_real_connect: _Connect | None = None
_real_request_mock: Callable[..., Awaitable[Any]] | None = None


def _read_timeout() -> Exception:
    """What aiohttp raises when its socket read times out (3.10+ has a subclass for it)."""
    error_type: type[Exception] = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)
    return error_type("Timeout on reading data from socket")


class _MemoryTransport(asyncio.Transport):
    """The client's side of an in-memory connection: what it writes reaches the fake."""

    def __init__(self, door: AiohttpDoor, protocol: ResponseHandler, scheme: str) -> None:
        super().__init__()
        self._door = door
        self._protocol = protocol
        self._server = ServerEnd(scheme)
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._readable = asyncio.Event()
        self._readable.set()
        self._reply: asyncio.Task[None] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed or self._reply is not None:
            return
        request = self._server.receive(bytes(data))
        if request is not None:
            self._reply = self._loop.create_task(self._respond(request))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(bytes(part) for part in list_of_data))

    async def _respond(self, request: httpx.Request) -> None:
        try:
            response = await self._door.answer(request)
            self._feed(self._server.head(response))
            if self._server.has_body:
                async for chunk in async_chunks(response):
                    await self._readable.wait()  # the client paused reading: hold on
                    self._feed(self._server.data(chunk))
                    await asyncio.sleep(0)  # let the client take this chunk before the next
            self._feed(self._server.end())
        except TransportFault as fault:
            if fault.error_name == "ReadTimeout":
                self._protocol.set_exception(_read_timeout())
            else:
                self.close()  # the peer hangs up: aiohttp reports the cut its own way

    def _feed(self, data: bytes) -> None:
        if data and not self._closed:
            self._protocol.data_received(data)

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reply is not None and asyncio.current_task() is not self._reply:
            self._reply.cancel()
        self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        self._readable.clear()

    def resume_reading(self) -> None:
        self._readable.set()

    def is_reading(self) -> bool:
        return self._readable.is_set()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False


class AiohttpDoor(Handlers):
    """While started, aiohttp requests that *wanted* accepts are answered by the fake."""

    def wants(self, method: str, url: str) -> bool:
        return self._wanted(httpx.Request(method, url))

    async def answer(self, request: httpx.Request) -> httpx.Response:
        if self._async_handler is not None:
            return await self._async_handler(request)
        return self._handler(request)

    def connect(self, scheme: str) -> ResponseHandler:
        protocol = ResponseHandler(asyncio.get_running_loop())
        protocol.connection_made(_MemoryTransport(self, protocol, scheme))
        protocol.force_close()  # one exchange per connection: none lingers in the pool
        return protocol

    def start(self) -> None:
        if not _doors:
            _patch()
        _doors.insert(0, self)

    def stop(self) -> None:
        if self in _doors:
            _doors.remove(self)
        if not _doors:
            _unpatch()


def _door_for(method: str, url: str) -> AiohttpDoor | None:
    return next((door for door in _doors if door.wants(method, url)), None)


async def _create_connection(
    connector: aiohttp.TCPConnector, req: Any, traces: Any, timeout: Any
) -> ResponseHandler:
    door = _door_for(req.method, str(req.url))
    if door is not None:
        return door.connect(req.url.scheme)
    assert _real_connect is not None  # set while patched
    return await _real_connect(connector, req, traces, timeout)


async def _request_mock(
    mock: Any, session: aiohttp.ClientSession, method: str, url: Any, *args: Any, **kwargs: Any
) -> Any:
    """Stand-in for aioresponses' hook: the gateway's requests go on to this door."""
    if _door_for(method, str(url)) is not None:
        return await mock.patcher.temp_original(session, method, url, *args, **kwargs)
    assert _real_request_mock is not None  # set while patched
    return await _real_request_mock(mock, session, method, url, *args, **kwargs)


def _patch() -> None:
    global _real_connect, _real_request_mock
    _real_connect = aiohttp.TCPConnector._create_connection
    aiohttp.TCPConnector._create_connection = _create_connection  # type: ignore[assignment,method-assign]
    mock_class = _aioresponses()
    if mock_class is not None:
        _real_request_mock = mock_class._request_mock
        mock_class._request_mock = _request_mock


def _unpatch() -> None:
    global _real_connect, _real_request_mock
    if _real_connect is not None:
        aiohttp.TCPConnector._create_connection = _real_connect  # type: ignore[assignment,method-assign]
        _real_connect = None
    mock_class = _aioresponses()
    if mock_class is not None and _real_request_mock is not None:
        mock_class._request_mock = _real_request_mock
        _real_request_mock = None


def _aioresponses() -> Any:
    """The `aioresponses` class when it is installed and has the hook this door wraps."""
    if importlib.util.find_spec("aioresponses") is None:
        return None
    with contextlib.suppress(ImportError):
        from aioresponses import aioresponses

        if hasattr(aioresponses, "_request_mock"):
            return aioresponses
    return None  # pragma: no cover - an aioresponses without the hook: passthrough= still works
