"""The drift report: differences counted over cassettes, an allow-list, a table, JSON.

The same difference seen in many exchanges is one row, with how many cassettes and
exchanges showed it. A row's key is its first four cells, ``kind | where | real |
fake``; an allow-list holds such keys, and a row whose key it holds is allowed: shown,
marked, and no reason to fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _json
from .._errors import ConfigError
from .compare import KINDS, SEPARATOR, Difference
from .replay import CassetteDrift

__all__ = ["DriftReport", "Row", "build_report", "read_allow_list"]

PROG = "pytest-aigw drift"
HEADINGS = ("kind", "where", "real", "fake", "cassettes", "exchanges")


@dataclass
class Row:
    """One difference, where it was seen, and whether the allow-list allows it."""

    difference: Difference
    cassettes: set[str] = field(default_factory=set)
    exchanges: set[tuple[str, int]] = field(default_factory=set)
    allowed: bool = False

    def as_json(self) -> dict[str, Any]:
        found = self.difference
        return {
            "key": found.key,
            "kind": found.kind,
            "where": found.where,
            "real": found.real,
            "fake": found.fake,
            "cassettes": len(self.cassettes),
            "exchanges": len(self.exchanges),
            "allowed": self.allowed,
            "seen_in": sorted(self.cassettes),
        }


@dataclass
class DriftReport:
    """The rows of a drift report, in the table's order, and what was compared."""

    rows: list[Row]
    cassettes: int
    exchanges: int

    @property
    def failing(self) -> list[Row]:
        """The rows the allow-list does not allow."""
        return [row for row in self.rows if not row.allowed]

    @property
    def exit_code(self) -> int:
        """1 when any difference is outside the allow-list, else 0."""
        return 1 if self.failing else 0

    def summary(self) -> str:
        """One line: what was compared and what was found."""
        compared = (
            f"{self.cassettes} cassette(s), {self.exchanges} exchange(s) replayed on the fake"
        )
        allowed = len(self.rows) - len(self.failing)
        if not self.rows:
            return f"{PROG}: {compared}: no differences"
        return (
            f"{PROG}: {compared}: {len(self.failing)} difference(s) from the recorded"
            f" gateway, {allowed} allowed"
        )

    def table(self) -> str:
        """The differences as an aligned table, grouped by kind; empty when there are none."""
        if not self.rows:
            return ""
        cells = [list(HEADINGS)] + [_cells(row) for row in self.rows]
        widths = [max(len(line[n]) for line in cells) for n in range(len(HEADINGS))]
        return "".join(_line(cells_of_row, widths) for cells_of_row in cells)

    def as_json(self) -> dict[str, Any]:
        return {
            "cassettes": self.cassettes,
            "exchanges": self.exchanges,
            "differences": [row.as_json() for row in self.rows],
            "failing": len(self.failing),
            "summary": self.summary(),
        }

    def dumps(self) -> str:
        """The report as JSON text, ending in a newline."""
        return json.dumps(self.as_json(), indent=2) + "\n"


def _line(cells: list[str], widths: list[int]) -> str:
    padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
    return SEPARATOR.join(padded).rstrip() + "\n"


def _cells(row: Row) -> list[str]:
    found = row.difference
    kind = found.kind + (" (allowed)" if row.allowed else "")
    counts = [str(len(row.cassettes)), str(len(row.exchanges))]
    return [kind, found.where, found.real, found.fake, *counts]


def build_report(drifts: Sequence[CassetteDrift], allowed: Iterable[str] = ()) -> DriftReport:
    """Count each difference over *drifts*; mark the rows whose key is *allowed*."""
    rows: dict[Difference, Row] = {}
    for drift in drifts:
        name = str(drift.path)
        for number, difference in drift.differences:
            row = rows.setdefault(difference, Row(difference))
            row.cassettes.add(name)
            row.exchanges.add((name, number))
    keys = {normal_key(key) for key in allowed}
    for row in rows.values():
        row.allowed = row.difference.key in keys
    ordered = sorted(rows.values(), key=lambda row: _order(row.difference))
    return DriftReport(ordered, len(drifts), sum(drift.exchanges for drift in drifts))


def _order(found: Difference) -> tuple[int, Difference]:
    return (KINDS.index(found.kind), found)


def normal_key(text: str) -> str:
    """A key as written in an allow-list, spaced as `Difference.key` spaces it.

    A whole table row may be pasted: cells past the fourth (the counts) are dropped,
    and so is ``(allowed)`` after the kind.
    """
    cells = [cell.strip() for cell in text.split("|")][:4]
    cells[0] = cells[0].removesuffix("(allowed)").strip()
    return SEPARATOR.join(cells)


def read_allow_list(path: Path) -> list[str]:
    """The keys in an allow-list file; `ConfigError` naming the file if it cannot be read.

    The file is text, one key per line (``#`` starts a comment line), or JSON: a list
    of keys, or a report written by ``--json`` (every difference in it is allowed).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else error
        raise ConfigError(f"cannot read the allow-list {path}: {reason}") from None
    if text.lstrip().startswith(("[", "{")):
        return _json_keys(text, path)
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _json_keys(text: str, path: Path) -> list[str]:
    try:
        data = _json.loads(text)
    except _json.JsonError as error:
        raise ConfigError(f"the allow-list {path} is not valid JSON: {error}") from None
    if isinstance(data, dict):  # a report written by --json
        items = data.get("differences")
        data = [_key_of(item) for item in items] if isinstance(items, list) else None
    if not isinstance(data, list) or not all(isinstance(key, str) for key in data):
        raise ConfigError(
            f'the allow-list {path} must be a JSON list of keys ("kind | where | real | fake")'
            " or a report written by --json"
        )
    return data


def _key_of(item: object) -> object:
    return item.get("key") if isinstance(item, dict) else item
