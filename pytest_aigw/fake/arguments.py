"""One place, one message form for what a test gives `respond`, `fail` and their helpers.

Every message about a bad argument reads ``{name}= must be {what is allowed}, got {the
value}``, so a test author sees at once which argument is wrong and what to write
instead; a function the test gave that raised is shown by its own frames only.
"""

from __future__ import annotations

import os
import traceback
from typing import NoReturn

from .._errors import ConfigError

__all__ = ["check", "fail", "is_count", "short_repr", "user_traceback"]


def short_repr(value: object, limit: int) -> str:
    """`repr(value)`, cut to *limit* characters (ending in "...") when longer."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(name: str, value: object, expected: str) -> NoReturn:
    """Raise the `ConfigError` saying *name* must be *expected*."""
    raise ConfigError(f"{name}= must be {expected}, got {short_repr(value, 80)}")


def check(name: str, value: object, ok: bool, expected: str) -> None:
    """Raise the `ConfigError` for *name* unless *ok*."""
    if not ok:
        fail(name, value, expected)


def is_count(value: object, minimum: int = 0) -> bool:
    """Whether *value* is a whole number (not a bool) of at least *minimum*."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def user_traceback(error: BaseException) -> str:
    """The traceback of *error* from the test's own code on (the fake's frames left out)."""
    here = os.path.dirname(os.path.dirname(__file__))
    trace = traceback.TracebackException.from_exception(error)
    trace.stack = traceback.StackSummary.from_list(
        [frame for frame in trace.stack if not frame.filename.startswith(here)]
    )
    return "".join(trace.format()).rstrip()
