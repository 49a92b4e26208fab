"""ULID log ids, shaped like the `cf-aig-log-id` values the gateway issues.

A ULID is 26 Crockford base32 characters: 48 bits of milliseconds since the epoch,
then 80 random bits. Ids from one process are strictly increasing (the random part
is incremented within a millisecond), and 80 fresh random bits per millisecond keep
ids from different processes apart. A forked child draws fresh randomness, so it
never continues its parent's sequence.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable

__all__ = ["LogIdFactory", "is_log_id", "new_log_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_LOG_ID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")


def _encode(value: int) -> str:
    return "".join([_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5)])


def is_log_id(value: object) -> bool:
    """Tell whether *value* is a ULID string (26 Crockford base32 characters)."""
    return isinstance(value, str) and _LOG_ID.fullmatch(value) is not None


class LogIdFactory:
    """Issues monotonic ULIDs; safe to share between threads and asyncio tasks."""

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def __call__(self) -> str:
        with self._lock:
            now = self._clock_ms()
            if now > self._last_ms:
                self._last_ms = now
                self._last_random = int.from_bytes(os.urandom(10), "big")
            elif self._last_random < _RANDOM_MAX:
                self._last_random += 1
            else:
                # The random part ran out within one millisecond: borrow the next one.
                self._last_ms += 1
                self._last_random = int.from_bytes(os.urandom(10), "big")
            return _encode((self._last_ms << _RANDOM_BITS) | self._last_random)

    def reseed(self) -> None:
        """Forget the last id, so the next one draws fresh randomness."""
        with self._lock:
            self._last_ms = -1


new_log_id = LogIdFactory()
"""The process-wide id factory: `new_log_id()` returns a fresh ULID."""

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=new_log_id.reseed)
