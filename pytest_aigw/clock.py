"""The fake's clock: real time plus an offset the test moves forward."""

from __future__ import annotations

import threading
import time

from ._errors import ConfigError

__all__ = ["Clock"]


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
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ConfigError(
                f"Clock.advance() takes a number of seconds >= 0, got {seconds!r};"
                " the clock only moves forward"
            )
        with self._lock:
            self._offset += seconds

    def __repr__(self) -> str:
        return f"<Clock offset={self._offset:+g}s>"
