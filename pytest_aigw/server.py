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

import h11
import httpx

from ._errors import AigwError, ConfigError
from ._memory import RELEASE_AFTER, release_memory
from ._request_target import Answer, resolve
from ._server_limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_CONNECTIONS,
    ServerLimits,
)
from ._wire import READ_SIZE, BodyTooLarge, Wire, reason
from .calls import redact_url
from .fake.transport import TransportFault

__all__ = ["LoopbackServer", "ServerError", "ServerLimits"]

Handler = Callable[[httpx.Request], httpx.Response]

log = logging.getLogger("pytest_aigw.server")

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

    Limits (see `ServerLimits` for what each does): *header_timeout* (default 10 s),
    *idle_timeout* (60 s), *max_connections* (4096, or fewer if the process's file
    descriptor limit is lower) and *max_body_size* (100 MB, Cloudflare's default).
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    ) -> None:
        check_port(port)
        if not isinstance(host, str) or "\x00" in host:
            raise ConfigError(f"host must be a host name or an IP address, got {host!r}")
        self.handler = handler
        self.host = host
        self.port = port
        self.limits = ServerLimits(header_timeout, idle_timeout, max_connections, max_body_size)
        self.connections_opened = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._served = 0  # connections being served now (refused ones not counted)
        self._cap = self.limits.max_connections

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
        self._cap = self.limits.connection_cap()
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_loop_error)
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
        wire = Wire(reader, writer, self.limits, task)
        try:
            if self._served >= self._cap:
                await self._refuse_over_cap(wire)
                return
            self._served += 1
            try:
                await self._serve(wire)
            finally:
                self._served -= 1
        except asyncio.CancelledError:
            pass  # the server is stopping, perhaps while a refusal lingers
        finally:
            wire.watchdog.close()
            writer.close()
            self._tasks.discard(task)

    async def _serve(self, wire: Wire) -> None:
        _no_delay(wire.writer)
        peer = _peer(wire.writer)
        first = True
        try:
            while True:
                more = await self._exchange(wire, peer, first)
                if wire.body_size >= RELEASE_AFTER:  # the request is gone: free its memory
                    wire.body_size = 0
                    release_memory()
                if not more:
                    break
                wire.conn.start_next_cycle()
                first = False
        except asyncio.CancelledError:
            if wire.timed_out:  # else the server is stopping: nothing to answer
                await _time_out(wire, peer)
        except ConnectionError:
            pass  # the client went away: nothing to answer
        except h11.RemoteProtocolError as error:
            if wire.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                text = f"malformed HTTP request: {error}"
                await wire.refuse(Answer(error.error_status_hint, text))

    async def _refuse_over_cap(self, wire: Wire) -> None:
        log.warning(
            "%s -> 503 [%d connections open, the limit: refused]", _peer(wire.writer), self._cap
        )
        text = (
            f"the server is serving {self._cap} connections, its limit; retry in a moment,"
            " or close idle connections (the limit is max_connections, serve --max-connections)."
        )
        await wire.refuse(Answer(503, text, (("retry-after", "1"),)))

    async def _exchange(self, wire: Wire, peer: str, first: bool) -> bool:
        """Serve one request; True if the connection can take another."""
        wire.expect_request(first)
        event = await wire.next_event()
        if not isinstance(event, h11.Request):
            return False
        exchange = _Exchange(
            peer, event.method.decode("ascii"), event.target.decode("latin-1"), time.perf_counter()
        )
        try:
            request = await self._request(wire, event, exchange)
        except _Refused as refused:
            exchange.status = refused.answer.status
            # Not parsed as a URL, so not redacted as one: the query (a key?) is left out.
            path, query, _ = exchange.target.partition("?")
            exchange.target = path + ("?[query not shown]" if query else "")
            _log(exchange)
            await wire.refuse(refused.answer, head_only=exchange.method == "HEAD")
            return False
        try:
            handler = self.handler
            if handler is None:
                response = httpx.Response(503, content=NO_GATEWAY)
            else:
                response = handler(request)
            await self._send(wire.conn, wire.writer, response, exchange)
        except TransportFault as fault:
            await _misbehave(fault, wire.reader, wire.writer, exchange)
            return False
        except ConnectionError:
            exchange.note = "client disconnected"
            raise
        except Exception:  # a bug in the fake: answer it, never drop the connection
            return await _fail(wire, exchange)
        finally:
            _log(exchange)
        return wire.conn.our_state is h11.DONE and wire.conn.their_state is h11.DONE

    async def _request(self, wire: Wire, event: h11.Request, exchange: _Exchange) -> httpx.Request:
        """The request as the handler takes it, body read; `_Refused` if it is not served."""
        hosts = [value for name, value in event.headers if name == b"host"]
        target = resolve(event.method, event.target, hosts, self.host, self.port)
        if isinstance(target, Answer):
            raise _Refused(target)
        try:
            wire.check_declared_size(event)
            if wire.conn.they_are_waiting_for_100_continue:
                wire.writer.write(
                    wire.conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            body = await wire.read_body()
        except BodyTooLarge as error:
            raise _Refused(_too_large(error, self.limits.max_body_size)) from None
        try:
            request = httpx.Request(
                exchange.method, self.url + target, headers=event.headers.raw_items(), content=body
            )
        except Exception as error:  # pragma: no cover - h11 checks the target first
            raise _Refused(Answer(400, f"cannot read the request: {error}")) from None
        exchange.target = str(redact_url(request.url).raw_path, "ascii")
        return request

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
            reason=reason(response.status_code),
        )
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)  # the fake's bodies are both kinds
        if exchange.method == "HEAD":
            writer.write(conn.send(head) + conn.send(h11.EndOfMessage()))
        elif "content-length" in response.headers:
            # A whole body: one write, so one TCP segment for small replies. The body is
            # read before h11 hears of the head, so a failing body can still get a 500.
            chunks = [chunk async for chunk in stream]
            parts = [conn.send(head)]
            parts.extend(conn.send(h11.Data(data=chunk)) for chunk in chunks)
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


class _Refused(Exception):
    """A request the server answers itself (`answer`) instead of handing it on."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def check_port(port: object) -> None:
    """Refuse a port no socket can bind, as a `ConfigError` rather than an OverflowError."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(
            f"port must be a whole number from 0 to 65535 (0: a free one), got {port!r}"
        )


def _too_large(error: BodyTooLarge, cap: int) -> Answer:
    size = f"{error.size} bytes" if error.declared else f"more than {cap} bytes"
    return Answer(
        413,
        f"the request body ({size}) is over the server's limit of {cap} bytes (Cloudflare's"
        " default request limit on the Free and Pro plans is 100 MB). Send less, or raise"
        " max_body_size (serve --max-body-size).",
    )


async def _fail(wire: Wire, exchange: _Exchange) -> bool:
    """Answer 500 for an exception in the handler; drop the line only if the reply is half sent."""
    log.exception(
        "%s %s %s: the fake failed on this request", exchange.peer, exchange.method, exchange.target
    )
    if wire.conn.our_state is not h11.SEND_RESPONSE:
        exchange.note = "failed mid-reply: connection dropped"
        wire.writer.transport.abort()
        return False
    exchange.status = 500
    exchange.note = "the fake failed: see the traceback logged"
    answer = Answer(
        500,
        "the fake gateway failed on this request (a bug in pytest-aigw; the traceback is"
        " in the server's log).",
    )
    await wire.refuse(answer, head_only=exchange.method == "HEAD")
    return False


async def _time_out(wire: Wire, peer: str) -> None:
    """Close a connection whose deadline passed: 408 if a request was coming in, else quietly."""
    if not wire.partial_request or wire.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    seconds = (
        wire.limits.header_timeout
        if wire.conn.their_state is h11.IDLE
        else wire.limits.idle_timeout
    )
    part = "request head" if wire.conn.their_state is h11.IDLE else "request body"
    log.info("%s -> 408 [%s not complete within %g s]", peer, part, seconds)
    text = f"the {part} did not arrive within {seconds:g} s (header_timeout / idle_timeout)."
    await wire.refuse(Answer(408, text))


def _log(exchange: _Exchange) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info("%s", exchange.line())


def _loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """One line for an accept() out of descriptors (asyncio retries it); else the default."""
    error = context.get("exception")
    if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
        log.warning("out of file descriptors: new connections wait (%s)", error.strerror)
        return
    loop.default_exception_handler(context)


def _bind(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port))
    except (OSError, ValueError) as error:  # ValueError: a NUL in the host, a label too long
        if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
            reason = "the port is already in use by another process"
            fix = "pick another port, or port 0 for a free one"
        else:
            reason = (getattr(error, "strerror", None) or str(error)).split(" (while attempting")[0]
            fix = "check the host (127.0.0.1 serves this machine only) and the port"
        code = getattr(error, "errno", None) or 0
        raise ServerError(
            code, f"pytest-aigw cannot serve on {host}:{port}: {reason}. Fix: {fix}."
        ) from None


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
