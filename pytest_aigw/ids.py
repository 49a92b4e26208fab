"""Log ids shaped like the `cf-aig-log-id` values the gateway issues.

Since 2026-10-08 the gateway issues lowercase UUIDv7 ids (RFC 9562), the default here;
older accounts' logs carry ULIDs, available as ``id_format="ulid"``. Both are
time-ordered: a 48-bit Unix millisecond timestamp comes first.

- UUIDv7: ``tttttttt-tttt-7ccc-Vrrr-rrrrrrrrrrrr``. The 12-bit ``rand_a`` field is a
  counter seeded with 11 random bits at each new millisecond (RFC 9562 §6.2, method 1;
  the zero top bit leaves at least 2048 steps), and ``rand_b`` holds 62 fresh random
  bits per id, which keep ids from different processes apart.
- ULID: 26 Crockford base32 characters, the timestamp then 80 random bits that are
  incremented within a millisecond.

Ids from one factory are strictly increasing. When a millisecond's counter runs out,
the factory borrows the next millisecond. A forked child draws fresh randomness, so it
never continues its parent's sequence.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Literal, get_args

from ._validation import fail

__all__ = [
    "DEFAULT_ID_FORMAT",
    "ID_FORMATS",
    "IdFormat",
    "UlidFactory",
    "Uuid7Factory",
    "check_id_format",
    "id_factory",
    "is_log_id",
    "is_ulid",
    "is_uuid7",
    "new_id",
    "new_log_id",
    "new_ulid",
    "new_uuid7",
]

IdFormat = Literal["uuid7", "ulid"]
ID_FORMATS: tuple[IdFormat, ...] = get_args(IdFormat)
DEFAULT_ID_FORMAT: IdFormat = "uuid7"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_UUID7 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_MS_MASK = (1 << 48) - 1
_UUID7_BITS = (7 << 76) | (0b10 << 62)  # version 7 and the RFC 9562 variant


def is_ulid(value: object) -> bool:
    """Tell whether *value* is a ULID string (26 Crockford base32 characters)."""
    return isinstance(value, str) and _ULID.fullmatch(value) is not None


def is_uuid7(value: object) -> bool:
    """Tell whether *value* is a lowercase UUIDv7 string, as the gateway writes them."""
    return isinstance(value, str) and _UUID7.fullmatch(value) is not None


def is_log_id(value: object) -> bool:
    """Tell whether *value* is a log id the gateway issues: a UUIDv7 or a ULID."""
    return is_uuid7(value) or is_ulid(value)


def check_id_format(value: object, where: str = "id_format") -> IdFormat:
    """Return *value* if it names an id format; else raise `ConfigError` naming both."""
    for known in ID_FORMATS:
        if isinstance(value, str) and value == known:
            return known
    allowed = " or ".join(repr(name) for name in ID_FORMATS)
    return fail(
        where,
        value,
        f"{allowed} (the gateway issues 'uuid7' since 2026-10-08; 'ulid' for older accounts' logs)",
    )


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _MonotonicFactory:
    """Issues ids from (millisecond, counter) pairs that never repeat or go back."""

    _COUNTER_MAX: int

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self._clock_ms = clock_ms or _now_ms
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def __call__(self) -> str:
        with self._lock:
            now = self._clock_ms()
            if now > self._last_ms:
                self._last_ms, self._counter = now, self._seed()
            elif self._counter < self._COUNTER_MAX:
                self._counter += 1  # same millisecond, or the clock went back
            else:
                # The counter ran out within one millisecond: borrow the next one.
                self._last_ms += 1
                self._counter = self._seed()
            return self._encode(self._last_ms & _MS_MASK, self._counter)

    def reseed(self) -> None:
        """Forget the last id, so the next one draws fresh randomness."""
        with self._lock:
            self._last_ms = -1

    def _seed(self) -> int:  # pragma: no cover - every factory defines it
        raise NotImplementedError

    def _encode(self, ms: int, counter: int) -> str:  # pragma: no cover - likewise
        raise NotImplementedError


class Uuid7Factory(_MonotonicFactory):
    """Issues monotonic lowercase UUIDv7s; safe to share between threads and asyncio tasks."""

    _COUNTER_MAX = (1 << 12) - 1

    def _seed(self) -> int:
        return int.from_bytes(os.urandom(2), "big") >> 5  # 11 bits: the top one stays 0

    def _encode(self, ms: int, counter: int) -> str:
        rand_b = int.from_bytes(os.urandom(8), "big") >> 2
        text = f"{(ms << 80) | (counter << 64) | rand_b | _UUID7_BITS:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class UlidFactory(_MonotonicFactory):
    """Issues monotonic ULIDs; safe to share between threads and asyncio tasks."""

    _COUNTER_MAX = (1 << 80) - 1

    def _seed(self) -> int:
        return int.from_bytes(os.urandom(10), "big")

    def _encode(self, ms: int, counter: int) -> str:
        value = (ms << 80) | counter
        return "".join([_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5)])


new_uuid7 = Uuid7Factory()
"""The process-wide UUIDv7 factory: `new_uuid7()` returns a fresh UUIDv7."""

new_ulid = UlidFactory()
"""The process-wide ULID factory: `new_ulid()` returns a fresh ULID."""

new_log_id = new_uuid7
"""A fresh log id in the gateway's current format (UUIDv7)."""

_FACTORIES: dict[IdFormat, Callable[[], str]] = {"uuid7": new_uuid7, "ulid": new_ulid}


def id_factory(format: IdFormat = DEFAULT_ID_FORMAT) -> Callable[[], str]:
    """The process-wide factory of *format* ids; `ConfigError` for an unknown format."""
    return _FACTORIES[check_id_format(format)]


def new_id(format: IdFormat = DEFAULT_ID_FORMAT) -> str:
    """A fresh log id of *format*: ``"uuid7"`` (the default) or ``"ulid"``."""
    return id_factory(format)()


if hasattr(os, "register_at_fork"):
    for _factory in (new_uuid7, new_ulid):
        os.register_at_fork(after_in_child=_factory.reseed)
