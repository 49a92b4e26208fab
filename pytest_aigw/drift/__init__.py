"""The drift report: where the fake's default answers differ from recorded real ones.

`drift_report` replays the cassettes under some directories on the fake
(`pytest_aigw.drift.replay`), compares each answer field by field
(`pytest_aigw.drift.compare`, over the shapes of `pytest_aigw.drift.shapes`) and
counts the differences into a `DriftReport` (`pytest_aigw.drift.report`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .compare import Difference
from .replay import CassetteDrift, find_cassettes, replay_cassette
from .report import DriftReport, build_report, read_allow_list

__all__ = [
    "CassetteDrift",
    "Difference",
    "DriftReport",
    "build_report",
    "drift_report",
    "find_cassettes",
    "read_allow_list",
    "replay_cassette",
]


def drift_report(paths: Sequence[Path], allowed: Iterable[str] = ()) -> DriftReport:
    """Replay the cassettes at *paths* (files, or directories searched recursively).

    Raises `pytest_aigw.cassette.CassetteError` for the first broken cassette.
    """
    files: list[Path] = []
    for path in paths:
        files += [path] if path.is_file() else list(find_cassettes(path))
    return build_report([replay_cassette(file) for file in files], allowed)
