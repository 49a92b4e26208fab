"""The record both guards keep of the requests they refused, safe across threads."""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TypeVar

__all__ = ["Refusals"]


class _Refused(Protocol):
    def describe(self) -> str: ...


R = TypeVar("R", bound=_Refused)


class Refusals(Generic[R]):
    """The refused requests, in order; each one's `describe` is a teardown finding.

    Requests come from the app's threads and event loops, so every access holds a lock.
    """

    def __init__(self) -> None:
        self._refused: list[R] = []
        self._lock = threading.Lock()

    def _keep(self, refused: R) -> None:
        with self._lock:
            self._refused.append(refused)

    def _kept(self) -> list[R]:
        with self._lock:
            return list(self._refused)

    def findings(self) -> list[str]:
        """One line a refused request, for the test's teardown report."""
        return [refused.describe() for refused in self._kept()]

    def clear(self) -> None:
        """Forget the requests refused so far."""
        with self._lock:
            self._refused.clear()
