"""What a test gives `respond`, `fail` and their helpers: keyword names, user frames.

The checks and their one message form live in `pytest_aigw._validation`; here a
keyword argument's name gets its ``=`` (``status= must be ..., got 600``), and a
function the test gave that raised is shown by its own frames only.
"""

from __future__ import annotations

import os
import traceback
from typing import NoReturn

from .. import _validation
from .._validation import is_whole, short_repr

__all__ = ["check", "fail", "is_count", "short_repr", "user_traceback"]


def fail(name: str, value: object, expected: str) -> NoReturn:
    """Raise the `ConfigError` saying keyword *name* must be *expected*."""
    _validation.fail(f"{name}=", value, expected)


def check(name: str, value: object, ok: bool, expected: str) -> None:
    """Raise the `ConfigError` for keyword *name* unless *ok*."""
    if not ok:
        fail(name, value, expected)


def is_count(value: object, minimum: int = 0) -> bool:
    """Whether *value* is a whole number (not a bool) of at least *minimum*."""
    return is_whole(value) and value >= minimum  # type: ignore[operator]


def user_traceback(error: BaseException) -> str:
    """The traceback of *error* from the test's own code on (the fake's frames left out)."""
    here = os.path.dirname(os.path.dirname(__file__))
    trace = traceback.TracebackException.from_exception(error)
    trace.stack = traceback.StackSummary.from_list(
        [frame for frame in trace.stack if not frame.filename.startswith(here)]
    )
    return "".join(trace.format()).rstrip()
