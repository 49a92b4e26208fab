"""SIGTERM as Ctrl-C, and a moment where neither interrupts.

CI systems stop a job with SIGTERM (then SIGKILL a little later). Python's default
ends the process at once, so pytest never reaches its session finish: no report, no
eval feedback sent. Raised as KeyboardInterrupt, it takes the path Ctrl-C takes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["held_interrupts", "sigterm_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated("SIGTERM: stopping as for Ctrl-C")


def _nothing() -> None:
    pass


def sigterm_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise `Terminated` (a KeyboardInterrupt); return the undoing function.

    Leaves SIGTERM alone outside the main thread and where someone else handles it.
    """
    if threading.current_thread() is not threading.main_thread():
        return _nothing
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return _nothing
    signal.signal(signal.SIGTERM, _raise_terminated)
    return _restore_sigterm


def _restore_sigterm() -> None:
    if signal.getsignal(signal.SIGTERM) is _raise_terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def held_interrupts() -> Iterator[None]:
    """Inside, Ctrl-C and SIGTERM are ignored, so the report and journal are written whole.

    For the milliseconds the last writes of an ending run take; the run ends anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
