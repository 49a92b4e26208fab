"""The loopback server's limits: timeouts, the connection cap and the request body cap.

They keep a client that misbehaves (half-sent requests, idle connections held open,
huge bodies) from starving the others or the test process.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import ConfigError

__all__ = ["ServerLimits", "Watchdog"]

# A request head takes one write on loopback; ten seconds is far beyond any honest client.
DEFAULT_HEADER_TIMEOUT = 10.0
# Longer than the idle expiry of common client pools (httpx 5 s, aiohttp 15 s), so a
# pooled connection is the client's to close, not ours: no race on reuse.
DEFAULT_IDLE_TIMEOUT = 60.0
DEFAULT_MAX_CONNECTIONS = 4096
# Cloudflare's default request body limit on the Free and Pro plans: 100 MB.
DEFAULT_MAX_BODY_SIZE = 100 * 1024 * 1024


@dataclass(frozen=True)
class ServerLimits:
    """How long a client may take and how much it may hold or send.

    *header_timeout*: seconds for a request head to arrive in full (408 when part of it
    came). *idle_timeout*: seconds a keep-alive connection may sit idle between requests,
    or silent in the middle of a body. *max_connections*: connections served at once; more
    get a 503 (lowered at start to what the process's file descriptor limit allows).
    *max_body_size*: bytes in one request body; more get a 413.
    """

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_body_size: int = DEFAULT_MAX_BODY_SIZE

    def __post_init__(self) -> None:
        _seconds("header_timeout", self.header_timeout)
        _seconds("idle_timeout", self.idle_timeout)
        _count("max_connections", self.max_connections, least=1)
        _count("max_body_size", self.max_body_size, least=0)

    def connection_cap(self) -> int:
        """*max_connections*, lowered to leave file descriptors for the rest of the process."""
        soft = _descriptor_limit()
        if soft is None:
            return self.max_connections
        return max(1, min(self.max_connections, soft - max(32, soft // 8)))


def _seconds(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{name} must be a finite number of seconds above 0, got {value!r}")


def _count(name: str, value: object, *, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{name} must be a whole number of at least {least}, got {value!r}")


def _descriptor_limit() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows has no descriptor limit to respect
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


class Watchdog:
    """One timer per connection that calls *expire* once the current deadline passes.

    Moving the deadline later only records it: the timer, when it fires early, sets
    itself again. So the usual request (the deadline moves later each time) costs no
    timer operations at all.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, expire: Callable[[], None]) -> None:
        self._loop = loop
        self._expire = expire
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, seconds: float) -> None:
        deadline = self._loop.time() + seconds
        self._deadline = deadline
        if self._timer is not None and self._timer.when() <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._fire)

    def disarm(self) -> None:
        self._deadline = None

    def close(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        assert self._timer is not None
        when, self._timer = self._timer.when(), None
        if self._deadline is None:
            return
        if self._deadline <= when:
            self._deadline = None
            self._expire()
        else:
            self._timer = self._loop.call_at(self._deadline, self._fire)
