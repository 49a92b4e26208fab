"""`MockOnly`: the scripting calls that only the plain fake answers, refused elsewhere.

A test marked `aigw_live` runs against the real gateway (live mode) or its recorded
answers (replay mode); in both, scripting the fake would make the test lean on
something the real gateway does not do. Each refusal says why and how to guard it.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from ._errors import AigwError

__all__ = ["LiveModeError", "MockOnly"]

GUARD_HINT = (
    "Guard mock-only setup with `if aigw.mode == 'mock':`, or keep it in a test not marked"
    " aigw_live."
)


class LiveModeError(AigwError):
    """A mock-only call (respond, fail, ...) in a test that runs against the real gateway."""


class MockOnly:
    """Refuses every mock-only call with `LiveModeError`: *where* says what runs instead."""

    where: ClassVar[str]  # e.g. "this test runs against the real one (...)"
    hints: ClassVar[dict[str, str]] = {}  # more advice for one call

    def _refuse(self, name: str) -> NoReturn:
        hint = self.hints.get(name, "")
        raise LiveModeError(
            f"aigw.{name} works on the fake gateway only, and {self.where}. {GUARD_HINT}{hint}"
        )

    def respond(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("respond")

    def fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("fail")

    def guardrail(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("guardrail")

    def dlp(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("dlp")

    def auto_route(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("auto_route")

    def route(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("route")

    def seed_logs(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("seed_logs")

    def reset(self) -> NoReturn:
        self._refuse("reset")

    @property
    def clock(self) -> NoReturn:
        self._refuse("clock")

    @property
    def log_store(self) -> NoReturn:
        self._refuse("log_store")

    @property
    def scripts(self) -> NoReturn:
        self._refuse("scripts")
