"""Live clean-up as a pytest plugin object: registered only for ``--aigw-cleanup`` runs.

At the end of the run (after the eval feedback went: the feedback needs the logs), it
deletes the logs tagged with the run's id through the Logs API and says how many.
"""

from __future__ import annotations

from typing import Any

import pytest

from ._config import RunConfig
from ._errors import AigwError

__all__ = ["LiveCleanup"]


class LiveCleanup:
    """Deletes the live run's logs at the end and reports it in the terminal summary."""

    def __init__(self, run: RunConfig) -> None:
        self.run = run
        self.outcome: str | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        from .live import delete_run_logs

        try:
            deleted = delete_run_logs(self.run)
        except AigwError as error:
            self.outcome = f"could not delete the logs of run {self.run.run_id}: {error}"
        else:
            self.outcome = f"deleted {deleted} live log(s) of run {self.run.run_id}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.outcome is not None:
            terminalreporter.write_line(f"pytest-aigw: {self.outcome}")
