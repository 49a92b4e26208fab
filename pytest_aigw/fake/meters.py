"""Windows that count what a gateway limit measures: requests or spend, on `aigw.clock`.

A fixed window starts at a whole multiple of its length (a 60 s window clears on the
clock minute, as observed); a sliding one adds the previous window weighted by how
much of it still overlaps the last *length* seconds. Calendar windows (UTC hours,
days, weeks from Monday, months) are fixed windows of uneven length.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["CALENDAR", "Meter", "calendar_index"]

_DAY = 86400
# Day 0 (1970-01-01) was a Thursday: three days on, weeks start on Monday.
_CALENDAR_INDEX: dict[str, Callable[[float], int]] = {
    "hourly": lambda now: math.floor(now / 3600),
    "daily": lambda now: math.floor(now / _DAY),
    "weekly": lambda now: (math.floor(now / _DAY) + 3) // 7,
    "monthly": lambda now: _month(now),
}
CALENDAR = tuple(_CALENDAR_INDEX)


def _month(now: float) -> int:
    moment = datetime.fromtimestamp(now, timezone.utc)
    return moment.year * 12 + moment.month


def calendar_index(period: str) -> Callable[[float], int]:
    """The number of the UTC calendar *period* (``hourly`` ... ``monthly``) a moment is in."""
    return _CALENDAR_INDEX[period]


@dataclass
class Meter:
    """What was used in the current window (and, sliding, the previous one).

    *length* is the window in seconds; *index* numbers calendar windows instead.
    *grace* is how many requests still pass once the limit is reached: the gateway
    records use after a request completes, so one more gets through (observed).
    """

    length: float = 0.0
    sliding: bool = False
    index: Callable[[float], int] | None = None
    grace: int = 0
    _used: dict[int, float] = field(default_factory=dict)
    _passed: int = 0  # requests let through since the limit was reached

    def _window(self, now: float) -> int:
        return self.index(now) if self.index else math.floor(now / self.length)

    def used(self, now: float) -> float:
        window = self._window(now)
        current = self._used.get(window, 0.0)
        if not self.sliding:
            return current
        overlap = 1 - (now - window * self.length) / self.length
        return self._used.get(window - 1, 0.0) * overlap + current

    def admits(self, now: float, limit: float) -> bool:
        """Whether one more request passes: under *limit*, or within the grace."""
        if self.used(now) < limit:
            self._passed = 0
            return True
        if self._passed < self.grace:
            self._passed += 1
            return True
        return False

    def add(self, now: float, amount: float) -> None:
        window = self._window(now)
        self._used[window] = self._used.get(window, 0.0) + amount
        for old in [w for w in self._used if w < window - 1]:
            del self._used[old]

    def clear(self) -> None:
        self._used.clear()
        self._passed = 0
