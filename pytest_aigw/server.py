"""`LoopbackServer`: serve a request handler over real HTTP/1.1 on a local port.

One background thread runs an asyncio loop; h11 does the HTTP framing (keep-alive,
chunked bodies, ``Expect: 100-continue``), so any client or process can talk to the
fake. Connections are served concurrently; a streamed body is written to the socket
chunk by chunk as the handler yields it, never buffered whole.

The handler is the same one the in-process interception uses: it takes an
`httpx.Request` and returns an `httpx.Response` whose stream may be async, or raises
`TransportFault` to drop the connection (``disconnect``) or go silent (``timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import h11
import httpx

from ._errors import AigwError
from .calls import redact_url
from .fake.transport import TransportFault

__all__ = ["LoopbackServer", "ServerError"]

Handler = Callable[[httpx.Request], httpx.Response]

log = logging.getLogger("pytest_aigw.server")

READ_SIZE = 65536
# How long a scripted "timeout" keeps the connection silent before dropping it: long
# enough for any sensible client read timeout to fire first, short enough that a client
# without one does not hang a test run.
SILENCE_SECONDS = 10.0
STOP_SECONDS = 5.0
NO_GATEWAY = (
    b'{"success":false,"error":[{"code":0,"message":"pytest-aigw: no fake gateway is being'
    b' served right now (the test that owned this server has finished)"}]}'
)


class ServerError(AigwError, OSError):
    """The loopback server could not start (the port is taken, the host is unknown, ...)."""

    def __str__(self) -> str:
        # The message already says what went wrong; OSError's "[Errno 98] " prefix is noise.
        return str(self.strerror) if self.strerror else super().__str__()


@dataclass
class _Exchange:
    """One request on the wire, for the request log line."""

    peer: str
    method: str
    target: str
    started: float
    status: int | None = None
    log_id: str | None = None
    note: str = ""

    def line(self) -> str:
        status = "-" if self.status is None else str(self.status)
        log_id = f" cf-aig-log-id={self.log_id}" if self.log_id else ""
        note = f" [{self.note}]" if self.note else ""
        elapsed = (time.perf_counter() - self.started) * 1000
        return f"{self.peer} {self.method} {self.target} -> {status}{log_id}{note} {elapsed:.1f} ms"


class LoopbackServer:
    """An HTTP/1.1 server on *host*:*port* (0: a free port) answering with `handler`.

    `handler` may be swapped while the server runs (a session-wide server serves each
    test's gateway in turn); each request uses the handler set when it arrived.
    """

    def __init__(
        self, handler: Handler | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.connections_opened = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """``http://host:port``, the root every route hangs off."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Bind the port and start serving; raises `ServerError` if the port is taken."""
        if self._thread is not None:
            return
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(loop, sock, ready), name=f"pytest-aigw server :{self.port}"
        )
        thread.daemon = True  # never keep the interpreter alive, even if stop() is skipped
        self._loop, self._thread = loop, thread
        thread.start()
        ready.wait()

    def stop(self) -> None:
        """Close every connection, release the port and join the server thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_SECONDS)
        self._loop = self._thread = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, ready: threading.Event
    ) -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(asyncio.start_server(self._connection, sock=sock))
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close(server))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _close(self, server: asyncio.Server) -> None:
        server.close()  # accept no more
        # A connection accepted just before the stop is still being set up (asyncio's
        # accept task, then our handler's task, not yet started). Let each reach the
        # handler, which registers it, so that cancelling it closes its socket.
        me = asyncio.current_task()
        for _ in range(100):
            if asyncio.all_tasks() <= self._tasks | {me}:
                break
            await asyncio.sleep(0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections_opened += 1
        _no_delay(writer)
        peer = _peer(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while await self._exchange(conn, reader, writer, peer):
                conn.start_next_cycle()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the server is stopping: nothing to answer
        except h11.RemoteProtocolError as error:
            await _refuse_bad_http(conn, writer, error)
        finally:
            writer.close()
            self._tasks.discard(task)

    async def _exchange(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
    ) -> bool:
        """Serve one request; True if the connection can take another."""
        event = await _next_event(conn, reader)
        if not isinstance(event, h11.Request):
            return False
        if conn.they_are_waiting_for_100_continue:
            writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        body = await _read_body(conn, reader)
        target = event.target.decode("latin-1")
        exchange = _Exchange(peer, event.method.decode("ascii"), target, time.perf_counter())
        request = httpx.Request(
            exchange.method, self.url + target, headers=event.headers.raw_items(), content=body
        )
        exchange.target = str(redact_url(request.url).raw_path, "ascii")
        try:
            handler = self.handler
            if handler is None:
                response = httpx.Response(503, content=NO_GATEWAY)
            else:
                response = handler(request)
            await self._send(conn, writer, response, exchange)
        except TransportFault as fault:
            await _misbehave(fault, reader, writer, exchange)
            return False
        except ConnectionError:
            exchange.note = "client disconnected"
            raise
        finally:
            if log.isEnabledFor(logging.INFO):
                log.info("%s", exchange.line())
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    async def _send(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        response: httpx.Response,
        exchange: _Exchange,
    ) -> None:
        exchange.status = response.status_code
        exchange.log_id = response.headers.get("cf-aig-log-id")
        head = h11.Response(
            status_code=response.status_code,
            headers=response.headers.raw,
            reason=_reason(response.status_code),
        )
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # the fake's bodies are both kinds
        if exchange.method == "HEAD":
            writer.write(conn.send(head) + conn.send(h11.EndOfMessage()))
        elif "content-length" in response.headers:
            # A whole body: one write, so one TCP segment for small replies.
            parts = [conn.send(head)]
            async for chunk in stream:
                parts.append(conn.send(h11.Data(data=chunk)))
            parts.append(conn.send(h11.EndOfMessage()))
            writer.write(b"".join(parts))
        else:
            # A stream: the head at once, then each chunk as the fake yields it;
            # drain() waits only when the client reads slower than we write.
            writer.write(conn.send(head))
            async for chunk in stream:
                writer.write(conn.send(h11.Data(data=chunk)))
                await writer.drain()
            writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


def _bind(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = "the port is already in use by another process"
            fix = "pick another port, or port 0 for a free one"
        else:
            reason = error.strerror or str(error)
            fix = "check the host (127.0.0.1 serves this machine only) and the port"
        raise ServerError(
            error.errno or 0, f"pytest-aigw cannot serve on {host}:{port}: {reason}. Fix: {fix}."
        ) from None


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(READ_SIZE))


async def _read_body(conn: h11.Connection, reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        event = await _next_event(conn, reader)
        if isinstance(event, h11.Data):
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(parts)
        else:  # the client hung up mid-body
            raise ConnectionResetError("client closed the connection before sending its body")


async def _misbehave(
    fault: TransportFault,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    exchange: _Exchange,
) -> None:
    """Fail like a network would: go silent for a timeout, drop the line otherwise."""
    if fault.error_name == "ReadTimeout":
        exchange.note = "timeout: silent until the client gives up"
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(_until_closed(reader), SILENCE_SECONDS)
    else:
        exchange.note = "connection dropped" if exchange.status is None else "stream cut"
    transport = writer.transport
    transport.abort()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(READ_SIZE):
        pass


async def _refuse_bad_http(
    conn: h11.Connection, writer: asyncio.StreamWriter, error: h11.RemoteProtocolError
) -> None:
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = f"pytest-aigw: malformed HTTP request: {error}\n".encode()
    head = h11.Response(
        status_code=error.error_status_hint,
        headers=[("content-type", "text/plain"), ("content-length", str(len(body)))],
    )
    with contextlib.suppress(h11.LocalProtocolError, ConnectionError):
        writer.write(
            conn.send(head) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        )
        await writer.drain()


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """Send each write at once.

    Without it, Nagle's algorithm and the client's delayed ACK hold a response's
    second segment for ~40 ms. asyncio sets it only when the accepted socket reports
    proto IPPROTO_TCP, which Linux's accepted sockets do not.
    """
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "-"


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""
