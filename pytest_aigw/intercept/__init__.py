"""Route the app's requests for the gateway and Logs API hosts to the fake, in process.

One door per client family, each at the seam where the client would open a
connection: httpx and httpx2 through respx's pool mockers (`httpx_pool`), aiohttp
through its connector (`aiohttp_door`), requests through its session's adapter
(`requests_door`). A door whose client library is not installed is skipped, and
none of them is imported before a gateway starts. Requests for other hosts
behave as if the fake were not there.
"""

from __future__ import annotations

import importlib.util
from typing import Protocol

from ._types import AsyncHandler, Handler, Handlers, Predicate

__all__ = ["Interception"]


class _Door(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


class Interception(Handlers):
    """While started, requests that *wanted* accepts are answered by *handler*.

    Async clients' requests go to *async_handler* when one is given.
    """

    def __init__(
        self, handler: Handler, wanted: Predicate, async_handler: AsyncHandler | None = None
    ) -> None:
        super().__init__(handler, wanted, async_handler)
        self._doors: list[_Door] = []

    def _make_doors(self) -> list[_Door]:
        from .httpx_pool import HttpxPoolDoor

        doors: list[_Door] = [HttpxPoolDoor(self._handler, self._wanted, self._async_handler)]
        if _installed("aiohttp"):
            from .aiohttp_door import AiohttpDoor

            doors.append(AiohttpDoor(self._handler, self._wanted, self._async_handler))
        if _installed("requests"):
            from .requests_door import RequestsDoor

            doors.append(RequestsDoor(self._handler, self._wanted))
        return doors

    def start(self) -> None:
        for door in self._make_doors():
            door.start()
            self._doors.append(door)

    def stop(self) -> None:
        while self._doors:
            self._doors.pop().stop()
