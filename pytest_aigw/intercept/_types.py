"""The shapes every door shares: the fake's handlers and the predicate choosing requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

__all__ = ["AsyncHandler", "Handler", "Handlers", "Predicate"]

Handler = Callable[[httpx.Request], httpx.Response]
AsyncHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]
Predicate = Callable[[httpx.Request], bool]


class Handlers:
    """What the interception and each door are built from: the fake's handlers and *wanted*.

    Async clients' requests go to *async_handler* when one is given.
    """

    def __init__(
        self, handler: Handler, wanted: Predicate, async_handler: AsyncHandler | None = None
    ) -> None:
        self._handler = handler
        self._async_handler = async_handler
        self._wanted = wanted
