"""``--aigw-drift``: the drift report over the cassettes a replay run used, at its end.

Registered only where it is asked for, and only in the process that sees every
report (the controller under pytest-xdist). The report itself
(`pytest_aigw.drift`) is imported at the session's end, not at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from . import _config
from ._errors import ConfigError

__all__ = ["DriftAtEnd", "add_options", "register"]

REPLAY = "replay"  # the mode whose cassettes the report is about
_REPORT = "pytest-aigw drift report"


def add_options(parser: pytest.Parser, group: pytest.OptionGroup) -> None:
    """The drift report's options and ini keys."""
    group.addoption(
        _config.DRIFT.option, action="store_true", default=None, help=_config.DRIFT.help
    )
    allow = _config.DRIFT_ALLOW
    group.addoption(allow.option, metavar="PATH", help=allow.help)
    for setting in (_config.DRIFT, allow):
        parser.addini(setting.ini, setting.help, default="")


def register(config: pytest.Config, mode: str, environ: Mapping[str, str] = os.environ) -> None:
    """Register `DriftAtEnd` if the run asks for the report; `ConfigError` if it cannot have it."""
    args = (config.getoption, config.getini, environ)
    on, where = _config.given_value(_config.DRIFT, *args)
    if not _config.flag_value(on, where):
        return
    if mode != REPLAY:
        raise ConfigError(
            f"{where} reports on the cassettes a replay run used, and this run's mode is"
            f" {mode!r}: add --aigw-mode={REPLAY}, or run `pytest-aigw drift CASSETTE_DIR`"
            " on its own"
        )
    allow, where_allow = _config.given_value(_config.DRIFT_ALLOW, *args)
    allowed: list[str] = []
    if allow:
        from .drift.report import read_allow_list

        try:
            allowed = read_allow_list(Path(allow))
        except ConfigError as error:
            raise ConfigError(f"{where_allow}: {error}") from None
    directory, _ = _config.given_value(_config.CASSETTE_DIR, *args)
    if hasattr(config, "workerinput"):
        return  # the controller reports, once for all workers
    plugin = DriftAtEnd(config.rootpath, Path(directory) if directory else None, allowed)
    config.pluginmanager.register(plugin, "aigw-drift")


class DriftAtEnd:
    """Collects the run's test ids; at the end replays their cassettes and reports."""

    def __init__(self, rootdir: Path, directory: Path | None, allowed: list[str]) -> None:
        self.rootdir = rootdir
        self.directory = directory  # None: cassettes/ next to each test module
        self.allowed = allowed
        self.nodeids: set[str] = set()
        self.lines: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.nodeids.add(report.nodeid)

    def cassettes(self) -> list[Path]:
        """The cassette files of the tests that ran, those that exist."""
        from .cassette import cassette_path

        found = {cassette_path(self._directory(nodeid), nodeid) for nodeid in self.nodeids}
        return sorted(path for path in found if path.is_file())

    def _directory(self, nodeid: str) -> Path:
        if self.directory is not None:
            return self.rootdir / self.directory
        module = nodeid.partition("::")[0]
        return self.rootdir / Path(module).parent / "cassettes"

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from .cassette import CassetteError
        from .drift import build_report, replay_cassette

        try:
            report = build_report(
                [replay_cassette(path) for path in self.cassettes()], self.allowed
            )
        except CassetteError as error:
            self.lines = [f"pytest-aigw drift: error: {error}"]
            failed = True
        else:
            self.lines = [*report.table().splitlines(), report.summary()]
            failed = bool(report.exit_code)
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", _REPORT)
        for line in self.lines:
            terminalreporter.write_line(line)
