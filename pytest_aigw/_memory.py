"""Give memory freed after a large request back to the operating system.

glibc keeps the memory a thread's allocations freed in that thread's arena, to reuse it,
so a long-running server (``pytest-aigw serve``) that once parsed a large body would hold
it resident for good. ``malloc_trim`` returns it; elsewhere (macOS, musl) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

__all__ = ["RELEASE_AFTER", "release_memory"]

# Bodies at least this large are followed by a trim; smaller ones cost nothing extra.
RELEASE_AFTER = 8 * 1024 * 1024


def release_memory() -> None:
    """Return free heap memory to the system, where the C library can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    return trim
