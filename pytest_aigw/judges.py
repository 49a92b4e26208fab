"""Judge calls: model calls that grade an answer rather than give one.

An LLM-as-judge call made through the gateway inside an `aigw_eval` test is one of the
test's logs, but the test's outcome says nothing about it. A call is a judge call when
it is made inside ``with aigw.judging():`` (or ``async with``), or when its
``cf-aig-metadata`` carries ``"aigw_judge": true`` (`JUDGE_KEY`; the string ``"true"``
counts too), the way to mark calls from another process. Judge calls' logs get no
outcome feedback; `pytest_aigw.calls.Call.judge` says which calls they are.

``judging()`` sets a context variable, so it marks the calls made in the same thread or
asyncio task (and in tasks started inside it); calls a thread pool makes, or that reach
``aigw_server`` from its server thread, need the metadata entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType

__all__ = ["JUDGE_KEY", "JudgingBlock", "is_judge_call"]

JUDGE_KEY = "aigw_judge"
_JUDGING: ContextVar[bool] = ContextVar("aigw_judging", default=False)


def is_judge_call(metadata: Mapping[str, object] | None) -> bool:
    """Whether a call recorded now, sending *metadata*, is a judge call."""
    if _JUDGING.get():
        return True
    if not metadata:
        return False
    value = metadata.get(JUDGE_KEY)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


class JudgingBlock:
    """The ``with aigw.judging():`` block: calls made inside it are judge calls.

    Works as ``with`` and ``async with``; blocks nest.
    """

    def __init__(self) -> None:
        self._tokens: list[Token[bool]] = []

    def __enter__(self) -> JudgingBlock:
        self._tokens.append(_JUDGING.set(True))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _JUDGING.reset(self._tokens.pop())

    async def __aenter__(self) -> JudgingBlock:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
