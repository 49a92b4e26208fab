"""Eval runs: feedback from test outcomes, submitted and verified through the Logs API.

A test marked `aigw_eval` ends with a verdict for each log id it produced: feedback +1
when it passed, -1 when it failed, unless the test chose otherwise (`aigw.feedback`),
and the score it set (`aigw.score`). Set-up errors, skips, xfails and xpasses give no
feedback: their outcome says nothing about the answers. The verdicts are submitted
with PATCH calls (bounded concurrency, the client's rate limit), then verified with
batched list calls. `EvalRun` gathers the cases from the test reports (from every
xdist worker) for the summary, the JSON report and the pass-rate gate.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._config import EVAL_MARKER as EVAL_PROPERTY
from ._errors import ConfigError
from ._validation import check_number
from .eval_spend import RunSpend

if TYPE_CHECKING:
    from .client import LogsClient
    from .eval_baseline import Comparison

__all__ = [
    "Deadline",
    "EvalCase",
    "EvalRun",
    "Judging",
    "LogVerdict",
    "SubmissionStopped",
    "Verdicts",
    "submit",
]

RESULT_PROPERTY = "aigw_eval_result"  # in the teardown report: the case's log verdicts
REPORT_SCHEMA = 2  # 2: tokens, cost and latency; the baseline comparison
EXCHANGES_PROPERTY = "aigw_eval_exchanges"  # with it: (the calls summarised, how many left out)
SLOWEST = 5


@dataclass
class LogVerdict:
    """One log's feedback and score, and what became of them."""

    log_id: str
    feedback: float | None
    score: float | None
    submitted: bool = False
    verified: bool = False
    error: str | None = None


class Verdicts:
    """What a test decided for its logs, beyond what its outcome says."""

    def __init__(self) -> None:
        self.feedback: dict[str | None, float] = {}  # key None: every log of the test
        self.scores: dict[str | None, float] = {}

    def set(self, kind: str, value: float, log_id: str | None, known: Sequence[str]) -> None:
        low, high = (-1, 1) if kind == "feedback" else (0, 100)
        check_number(f"aigw.{kind}() value", value, min=low, max=high)
        if log_id is not None and log_id not in known:
            raise ConfigError(
                f"aigw.{kind}(log_id={log_id!r}): this test produced no such log;"
                f" its log ids are {list(known)}"
            )
        (self.feedback if kind == "feedback" else self.scores)[log_id] = value

    def decide(self, log_ids: Iterable[str], passed: bool) -> list[LogVerdict]:
        outcome = 1 if passed else -1
        return [
            LogVerdict(
                log_id,
                self.feedback.get(log_id, self.feedback.get(None, outcome)),
                self.scores.get(log_id, self.scores.get(None)),
            )
            for log_id in log_ids
        ]


class Judging:
    """`aigw.score()` and `aigw.feedback()` for gateways; needs `log_ids`."""

    _verdicts: Verdicts | None = None

    @property
    def log_ids(self) -> list[str]:  # pragma: no cover - every gateway defines it
        raise NotImplementedError

    @property
    def verdicts(self) -> Verdicts:
        if self._verdicts is None:
            self._verdicts = Verdicts()
        return self._verdicts

    def score(self, value: float, *, log_id: str | None = None) -> None:
        """In an `aigw_eval` test: the 0-100 score for its logs (or only *log_id*)."""
        self.verdicts.set("score", value, log_id, self.log_ids)

    def feedback(self, value: float, *, log_id: str | None = None) -> None:
        """In an `aigw_eval` test: feedback (-1 to 1) instead of the one its outcome gives."""
        self.verdicts.set("feedback", value, log_id, self.log_ids)


class SubmissionStopped(Exception):
    """Sending stopped: the submission deadline passed, or the run was interrupted."""


class Deadline:
    """When sending verdicts must stop: after *seconds*, or at once when `interrupt`ed.

    Its `sleep` is the Logs API client's: a wait that would run past the deadline, or
    that an interrupt cuts short, raises `SubmissionStopped` instead.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds
        self._interrupted = threading.Event()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    def interrupt(self) -> None:
        self._interrupted.set()

    def left(self) -> float:
        return max(0.0, self._end - self._clock())

    def check(self) -> None:
        """Raise `SubmissionStopped` if sending must stop now."""
        if self.interrupted:
            raise SubmissionStopped("the run was interrupted")
        if self.left() <= 0:
            raise SubmissionStopped(f"the submission deadline ({self.seconds:g} s) passed")

    def sleep(self, seconds: float) -> None:
        left = self.left()
        self._interrupted.wait(min(seconds, left))
        if seconds >= left or self.interrupted:
            self.check()


def submit(
    client: LogsClient,
    verdicts: Sequence[LogVerdict],
    *,
    concurrency: int = 8,
    timeout: float = 60.0,
    deadline: Deadline | None = None,
    recheck: bool = False,
) -> None:
    """PATCH every verdict, then verify them with batched list calls; record the results.

    *deadline* stops the sending (a KeyboardInterrupt interrupts it and is raised
    again once the calls under way are abandoned). With *recheck* (verdicts a run that
    died may have sent) the verdicts the Logs API already shows are not sent again.
    """
    from concurrent.futures import ThreadPoolExecutor  # here: the plugin loads this module

    deadline = deadline or Deadline(math.inf)
    if recheck:
        _verify(client, verdicts, 0.0, deadline, recheck=True)
    todo = [verdict for verdict in verdicts if not verdict.verified]
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        for future in [pool.submit(_patch, client, v, timeout, deadline) for v in todo]:
            future.result()
    except BaseException:
        deadline.interrupt()  # the calls under way stop at their next wait
        raise
    finally:
        pool.shutdown(wait=not deadline.interrupted, cancel_futures=True)
    _verify(client, [v for v in todo if v.submitted], timeout, deadline)


def _patch(client: LogsClient, verdict: LogVerdict, timeout: float, deadline: Deadline) -> None:
    from .client import LogsApiError

    try:
        deadline.check()
        try:
            client.patch(verdict.log_id, feedback=verdict.feedback, score=verdict.score)
        except LogsApiError as error:
            if error.status_code != 404:
                raise
            # not listed yet: wait, retry once
            client.wait_for(verdict.log_id, timeout=min(timeout, deadline.left()))
            client.patch(verdict.log_id, feedback=verdict.feedback, score=verdict.score)
    except Exception as error:  # reported per log; never hides test outcomes
        verdict.error = f"not submitted: {error}"
    else:
        verdict.submitted = True


def _verify(
    client: LogsClient,
    verdicts: Sequence[LogVerdict],
    timeout: float,
    deadline: Deadline,
    *,
    recheck: bool = False,
) -> None:
    from .client import LogsApiTimeout

    if not verdicts:
        return
    expected = {v.log_id: (v.feedback, v.score) for v in verdicts}
    try:
        deadline.check()
        found = set(client.verify_feedback(expected, timeout=min(timeout, deadline.left())))
        problem = ""
    except LogsApiTimeout as error:
        found, problem = set(error.found), f"not verified: {error}"
    except Exception as error:
        found, problem = set(), f"not verified: {error}"
    for verdict in verdicts:
        verdict.verified = verdict.log_id in found
        if verdict.verified and recheck:
            verdict.submitted = True  # sent by the run that died, shown: not sent again
        elif not verdict.verified and not recheck:
            verdict.error = problem


@dataclass
class EvalCase:
    """One `aigw_eval` test: its outcome and its logs' verdicts."""

    nodeid: str
    outcome: str = "error"  # passed, failed, skipped, xfailed, xpassed or error
    duration: float = 0.0
    logs: list[LogVerdict] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # see pytest_aigw.exchanges
    exchanges_left_out: int = 0

    @property
    def log_ids(self) -> list[str]:
        return [log.log_id for log in self.logs]

    def as_json(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
            "log_ids": self.log_ids,
            "logs": [asdict(log) for log in self.logs],
            "exchanges": self.exchanges,
            "exchanges_left_out": self.exchanges_left_out,
        }


def case_outcome(report: Any) -> str:
    """The eval outcome a call-phase report gives."""
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    return str(report.outcome)


class EvalRun:
    """The eval cases of a run, gathered from test reports (all xdist workers)."""

    def __init__(self, min_pass_rate: float | None = None) -> None:
        self.min_pass_rate = min_pass_rate
        self.cases: dict[str, EvalCase] = {}
        self.other_failures = 0
        self.spend = RunSpend()  # the run's tokens and cost (the session gives its own)
        self.baseline: Comparison | None = None

    def add(self, report: Any) -> None:
        properties = dict(report.user_properties)
        if EVAL_PROPERTY not in properties:
            if report.failed:
                self.other_failures += 1
            return
        case = self.cases.setdefault(report.nodeid, EvalCase(report.nodeid))
        if report.when == "call":
            case.outcome, case.duration = case_outcome(report), report.duration
        elif report.failed:
            self.other_failures += 1  # set-up and teardown errors are not verdicts
        if RESULT_PROPERTY in properties:
            case.logs = [LogVerdict(**log) for log in properties[RESULT_PROPERTY]]
        if EXCHANGES_PROPERTY in properties:
            case.exchanges, case.exchanges_left_out = properties[EXCHANGES_PROPERTY]

    @property
    def judged(self) -> list[EvalCase]:
        return [case for case in self.cases.values() if case.outcome in ("passed", "failed")]

    @property
    def pass_rate(self) -> float | None:
        judged = self.judged
        if not judged:
            return None
        return sum(case.outcome == "passed" for case in judged) / len(judged)

    def pending(self) -> list[LogVerdict]:
        return [log for case in self.cases.values() for log in case.logs if not log.submitted]

    def gate_met(self) -> bool:
        rate = self.pass_rate
        return self.min_pass_rate is None or (rate is not None and rate >= self.min_pass_rate)

    def summary(self) -> dict[str, Any]:
        import statistics

        logs = [log for case in self.cases.values() for log in case.logs]
        scores = [log.score for log in logs if log.score is not None]
        outcomes = [case.outcome for case in self.cases.values()]
        return {
            "schema": REPORT_SCHEMA,
            "cases": len(self.cases),
            **{name: outcomes.count(name) for name in ("passed", "failed", "skipped")},
            "pass_rate": self.pass_rate,
            "min_pass_rate": self.min_pass_rate,
            "gate_met": self.gate_met() if self.min_pass_rate is not None else None,
            "mean_score": statistics.fmean(scores) if scores else None,
            "scored_logs": len(scores),
            "feedback_submitted": sum(log.submitted for log in logs),
            "feedback_verified": sum(log.verified for log in logs),
            "logs": len(logs),
            **self.spend.summary(),
            **({"baseline": self.baseline.summary()} if self.baseline else {}),
        }

    def lines(self) -> list[str]:
        """The terminal summary, plain text for CI logs."""
        s = self.summary()
        rate = "n/a" if s["pass_rate"] is None else f"{s['pass_rate']:.1%}"
        gate = ""
        if self.min_pass_rate is not None:
            gate = f" (gate {self.min_pass_rate:.1%}: {'met' if s['gate_met'] else 'NOT met'})"
        score = "none" if s["mean_score"] is None else f"{s['mean_score']:.1f}"
        lines = [
            f"eval cases: {s['cases']}, passed: {s['passed']}, failed: {s['failed']},"
            f" pass rate: {rate}{gate}",
            f"mean score: {score} ({s['scored_logs']} scored log(s))",
            f"feedback: {s['logs']} log(s), {s['feedback_submitted']} submitted,"
            f" {s['feedback_verified']} verified",
            *self.spend.lines(list(self.cases)),
        ]
        slowest = sorted(self.cases.values(), key=lambda case: -case.duration)[:SLOWEST]
        if slowest:
            lines.append("slowest cases:")
            lines += [f"  {case.duration:7.2f}s {case.nodeid}" for case in slowest]
        if self.baseline is not None:
            lines += self.baseline.lines()
        problems = [
            f"{case.nodeid} {log.log_id}: {log.error}"
            for case in self.cases.values()
            for log in case.logs
            if log.error
        ]
        if problems:
            lines.append(f"feedback problems ({len(problems)}):")
            lines += [f"  {n}. {text}" for n, text in enumerate(problems, start=1)]
        return lines

    def report(self) -> dict[str, Any]:
        """The run as one dict: what the JSON, HTML and markdown reports are made from.

        The summary and the cases, each with its usage and, with a baseline, its status.
        """
        cases = [case.as_json() for case in self.cases.values()]
        for case in cases:
            self.spend.annotate(case)
            if self.baseline is not None:
                case["baseline"] = self.baseline.case(case["nodeid"])
        return {"summary": self.summary(), "cases": cases}

    def write_report(self, path: Path, report: dict[str, Any] | None = None) -> None:
        """Write *report* (default: `report()`) as JSON at *path*."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.report() if report is None else report, indent=2)
        path.write_text(text + "\n", encoding="utf-8")
