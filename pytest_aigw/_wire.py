"""One connection of the loopback server: reading requests under deadlines and caps.

`Wire` wraps h11 and the asyncio streams of one connection. It reads a request head
within the header timeout, waits for the next request at most the idle timeout, reads a
body of at most the body cap, and writes the server's own answers (`Answer`) when a
request is refused before it reaches the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
from http import HTTPStatus

import h11

from ._request_target import Answer
from ._server_limits import ServerLimits, Watchdog

__all__ = ["BodyTooLarge", "Wire", "reason"]

READ_SIZE = 65536
# A refused connection is read (the bytes dropped) before it is closed, so that a client
# still sending its request reads our answer instead of a reset: while bytes keep coming,
# up to LINGER_SECONDS in all; once the client falls silent, LINGER_SILENCE later.
LINGER_SECONDS = 2.0
LINGER_SILENCE = 0.2


class BodyTooLarge(Exception):
    """The request body is over the cap; *size* is what it declared, or the bytes seen so far."""

    def __init__(self, size: int, declared: bool) -> None:
        super().__init__(size)
        self.size = size
        self.declared = declared


class Wire:
    """A connection's h11 state, streams and deadline."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: ServerLimits,
        task: asyncio.Task[None],
    ) -> None:
        self.conn = h11.Connection(h11.SERVER)
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self.timed_out = False
        self.body_size = 0  # of the last request body read, for `release_memory`
        self._task = task
        self._waiting_for_head = False
        self.watchdog = Watchdog(asyncio.get_running_loop(), self._expire)

    def _expire(self) -> None:
        self.timed_out = True
        self._task.cancel()

    def expect_request(self, first: bool) -> None:
        """Start the clock for the next request: a head for the first, else the idle time."""
        self._waiting_for_head = first
        self.watchdog.arm(self.limits.header_timeout if first else self.limits.idle_timeout)

    async def next_event(self) -> object:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            if (
                not self._waiting_for_head
                and self.conn.their_state is h11.IDLE
                and self.conn.trailing_data[0]
            ):
                # Part of a head came after an idle wait: the head's own clock starts now.
                self._waiting_for_head = True
                self.watchdog.arm(self.limits.header_timeout)
            self.conn.receive_data(await self.reader.read(READ_SIZE))

    @property
    def partial_request(self) -> bool:
        """Whether part of a request (head or body) came in that no answer covers yet."""
        if self.conn.their_state is h11.SEND_BODY:
            return True
        return self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])

    def check_declared_size(self, request: h11.Request) -> None:
        """Refuse a body whose Content-Length is over the cap before reading any of it."""
        for name, value in request.headers:
            if name == b"content-length" and int(value) > self.limits.max_body_size:
                raise BodyTooLarge(int(value), declared=True)

    async def read_body(self) -> bytes:
        """The whole body; each read may wait at most the idle time."""
        parts: list[bytes] = []
        size = 0
        cap = self.limits.max_body_size
        idle = self.limits.idle_timeout
        while True:
            self.watchdog.arm(idle)
            event = await self.next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > cap:
                    self.body_size = size
                    raise BodyTooLarge(size, declared=False)
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.watchdog.disarm()
                self.body_size = size
                return b"".join(parts)
            else:  # the client hung up mid-body
                raise ConnectionResetError("client closed the connection before sending its body")

    async def refuse(self, answer: Answer, *, head_only: bool = False) -> None:
        """Send *answer* with ``Connection: close``, then linger so the client reads it."""
        self.watchdog.close()
        self.writer.write(render(answer, head_only=head_only))
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await self.writer.drain()
            if self.writer.can_write_eof():
                self.writer.write_eof()
            await asyncio.wait_for(_discard_until_closed(self.reader), LINGER_SECONDS)


def render(answer: Answer, *, head_only: bool = False) -> bytes:
    """*answer* as HTTP/1.1 bytes: a short text body, and the connection closing."""
    body = f"pytest-aigw: {answer.text}\n".encode() if answer.text else b""
    lines = [
        f"HTTP/1.1 {answer.status} {reason(answer.status).decode('ascii')}",
        "content-type: text/plain; charset=utf-8",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in answer.headers),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body


async def _discard_until_closed(reader: asyncio.StreamReader) -> None:
    while await asyncio.wait_for(reader.read(READ_SIZE), LINGER_SILENCE):
        pass


def reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""
