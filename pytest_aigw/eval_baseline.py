"""Comparing an eval run with a baseline: the JSON report of an earlier run.

`read_baseline` reads it at start-up: a file that is missing, unreadable or not an eval
report stops the run with a message naming the path and what is wrong. Every schema is
read; a field a report lacks (cost, in reports written before schema 2) reads as None.
`compare` gives each case of this run a status against the baseline: ``regression``
(passed before, failed now), ``fix`` (failed before, passed now), ``new`` (not in the
baseline) or ``same``; the baseline's cases that did not run are ``removed``. A case's
score is the mean of its logs' scores; its cost, the sum of its logs' costs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigError

__all__ = [
    "Baseline",
    "CaseChange",
    "CaseFigures",
    "Comparison",
    "compare",
    "figures",
    "read_baseline",
]

FAIL_OPTION = "--aigw-eval-fail-on-regression"
LISTED = 10  # new and removed cases named in the summary; the report has them all


@dataclass(frozen=True)
class CaseFigures:
    """What a comparison looks at in one case."""

    outcome: str | None
    score: float | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class Baseline:
    """A baseline report's cases, by nodeid."""

    path: str
    cases: dict[str, CaseFigures]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def mean_score(logs: Sequence[Mapping[str, Any]]) -> float | None:
    """The mean of the logs' scores (None when none has one)."""
    scores = [s for s in (_number(log.get("score")) for log in logs) if s is not None]
    return math.fsum(s / len(scores) for s in scores) if scores else None  # never overflows


def figures(case: Mapping[str, Any]) -> CaseFigures:
    """A report case's figures (its outcome, mean score and cost)."""
    logs = case.get("logs")
    logs = [log for log in logs if isinstance(log, Mapping)] if isinstance(logs, list) else []
    return CaseFigures(case["outcome"], mean_score(logs), _number(case.get("cost_usd")))


def _not_a_report(report: object) -> str | None:
    """What keeps *report* from being an eval report, or None."""
    if not isinstance(report, dict):
        return "it holds no JSON object"
    cases = report.get("cases")
    if not isinstance(cases, list):
        return 'it has no "cases" list'
    for n, case in enumerate(cases):
        if not isinstance(case, dict):
            return f"cases[{n}] is not an object"
        for key in ("nodeid", "outcome"):
            if not isinstance(case.get(key), str):
                return f'cases[{n}] has no "{key}" string'
    return None


def read_baseline(path: str, where: str) -> Baseline:
    """The report at *path*; `ConfigError` naming *where* and the path if it is no report."""
    fix = "give the path of a report an earlier run wrote with --aigw-eval-report"
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(
            f"{where}: cannot read {path!r}: {error.strerror or error}; {fix}"
        ) from None
    try:
        report = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise ConfigError(f"{where}: {path!r} is not JSON ({error}); {fix}") from None
    problem = _not_a_report(report)
    if problem is not None:
        raise ConfigError(f"{where}: {path!r} is not an eval report: {problem}; {fix}")
    return Baseline(path, {case["nodeid"]: figures(case) for case in report["cases"]})


@dataclass(frozen=True)
class CaseChange:
    """One case against the baseline."""

    status: str  # regression, fix, same or new
    outcome: str | None  # the baseline's
    score_delta: float | None
    cost_delta_usd: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "outcome": self.outcome,
            "score_delta": self.score_delta,
            "cost_delta_usd": _rounded(self.cost_delta_usd),
        }


def _rounded(amount: float | None) -> float | None:
    return None if amount is None else round(amount, 12)  # no 0.30000000000000004 in reports


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _change(now: CaseFigures, before: CaseFigures | None) -> CaseChange:
    if before is None:
        return CaseChange("new", None, None, None)
    status = "same"
    if before.outcome == "passed" and now.outcome == "failed":
        status = "regression"
    elif before.outcome == "failed" and now.outcome == "passed":
        status = "fix"
    return CaseChange(
        status,
        before.outcome,
        _delta(now.score, before.score),
        _delta(now.cost_usd, before.cost_usd),
    )


@dataclass
class Comparison:
    """The current run's cases against a baseline's."""

    path: str
    changes: dict[str, CaseChange]
    removed: list[str]
    fail_on_regression: bool = False
    problems: list[str] = field(default_factory=list)

    def _with(self, status: str) -> list[str]:
        return [nodeid for nodeid, change in self.changes.items() if change.status == status]

    @property
    def regressions(self) -> list[str]:
        return self._with("regression")

    @property
    def fixes(self) -> list[str]:
        return self._with("fix")

    @property
    def new(self) -> list[str]:
        return self._with("new")

    def summary(self) -> dict[str, Any]:
        """The report summary's ``baseline`` entry."""
        return {
            "path": self.path,
            "regressions": self.regressions,
            "fixes": self.fixes,
            "new": self.new,
            "removed": self.removed,
            "fail_on_regression": self.fail_on_regression,
        }

    def case(self, nodeid: str) -> dict[str, Any] | None:
        """A report case's ``baseline`` entry."""
        change = self.changes.get(nodeid)
        return None if change is None else change.as_json()

    @property
    def failed(self) -> bool:
        """Whether the comparison fails the run."""
        return self.fail_on_regression and bool(self.regressions)

    def failure(self) -> str:
        """The line saying which regressions fail the run."""
        regressions = self.regressions
        return (
            f"{len(regressions)} regression(s) against the baseline fail the run"
            f" ({FAIL_OPTION}): {', '.join(regressions)}"
        )

    def lines(self) -> list[str]:
        """The terminal summary's lines about the comparison."""
        lines = [
            f"baseline {self.path}: {len(self.regressions)} regression(s),"
            f" {len(self.fixes)} fix(es), {len(self.new)} new, {len(self.removed)} removed"
        ]
        for title, nodeids in (("regressions", self.regressions), ("fixes", self.fixes)):
            if nodeids:
                lines.append(f"{title}:")
                lines += [f"  {self._describe(nodeid)}" for nodeid in nodeids]
        for title, nodeids in (("new", self.new), ("removed", self.removed)):
            if nodeids:
                more = f" (and {len(nodeids) - LISTED} more)" if len(nodeids) > LISTED else ""
                lines.append(f"{title}: {', '.join(nodeids[:LISTED])}{more}")
        return lines + self.problems

    def _describe(self, nodeid: str) -> str:
        change = self.changes[nodeid]
        now = "failed" if change.status == "regression" else "passed"
        deltas = []
        if change.score_delta is not None:
            deltas.append(f"score {change.score_delta:+.1f}")
        if change.cost_delta_usd is not None:
            deltas.append(f"cost {signed_usd(change.cost_delta_usd)}")
        shown = f" ({', '.join(deltas)})" if deltas else ""
        return f"{nodeid}: {change.outcome} -> {now}{shown}"


def signed_usd(amount: float) -> str:
    """+$0.0012 or -$0.0012."""
    from .eval_spend import usd

    return ("-" if amount < 0 else "+") + usd(abs(amount))


def compare(
    baseline: Baseline, current: Mapping[str, CaseFigures], *, fail_on_regression: bool = False
) -> Comparison:
    """The *current* cases (a run's, by nodeid) against *baseline*'s."""
    changes = {nodeid: _change(now, baseline.cases.get(nodeid)) for nodeid, now in current.items()}
    removed = [nodeid for nodeid in baseline.cases if nodeid not in current]
    return Comparison(baseline.path, changes, removed, fail_on_regression)
