"""The fake's clock: real time plus an offset the test moves forward."""

from __future__ import annotations

import threading
import time

from ._validation import check_number

__all__ = ["MAX_OFFSET", "Clock"]

MAX_OFFSET = 100 * 365 * 24 * 3600.0  # a century: timestamps stay within what dates can show


class Clock:
    """Wall-clock seconds that a test can move forward with `advance`.

    Cache expiry and timestamps in replies and logs read this clock, so a test can
    step past a cache TTL without sleeping. Real time keeps flowing underneath.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, as the fake sees them."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by *seconds* (e.g. past a cache TTL)."""
        with self._lock:
            room = MAX_OFFSET - self._offset
            expected = (
                f"a number of seconds from 0 to {room:g} (the clock only moves forward,"
                f" {MAX_OFFSET:g} seconds in all)"
            )
            self._offset += check_number("seconds=", seconds, min=0, max=room, expected=expected)

    def __repr__(self) -> str:
        return f"<Clock offset={self._offset:+g}s>"
