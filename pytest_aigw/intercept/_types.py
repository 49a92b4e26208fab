"""The shapes every door shares: the fake's handlers and the predicate choosing requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

__all__ = ["AsyncHandler", "Handler", "Predicate"]

Handler = Callable[[httpx.Request], httpx.Response]
AsyncHandler = Callable[[httpx.Request], Awaitable[httpx.Response]]
Predicate = Callable[[httpx.Request], bool]
