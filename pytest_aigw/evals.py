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
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._config import EVAL_MARKER as EVAL_PROPERTY
from ._errors import ConfigError
from ._validation import check_number, check_string
from .eval_spend import RunSpend
from .eval_trials import FLAKY, STABLE_FAIL, STABLE_PASS, TRIAL_PROPERTY, TrialRecord

if TYPE_CHECKING:
    from .client import LogsClient
    from .eval_baseline import Comparison
    from .judges import JudgingBlock

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
SCORE_KEY_PREFIX = "score_"  # a named score's metadata key: score_{name}
_SCORE_NAME = re.compile(r"[A-Za-z0-9_-]{1,50}")


@dataclass
class LogVerdict:
    """One log's feedback and score, and what became of them."""

    log_id: str
    feedback: float | None
    score: float | None
    submitted: bool = False
    verified: bool = False
    error: str | None = None
    judge: bool = False  # a judge call's log: no outcome feedback
    scores: dict[str, float] = field(default_factory=dict)  # named scores
    metadata: dict[str, Any] | None = None  # the log's metadata with its named scores

    @property
    def has_verdict(self) -> bool:
        """Whether there is anything to send (a judge log often has nothing)."""
        return self.feedback is not None or self.score is not None or bool(self.metadata)


def score_metadata(
    stored: Mapping[str, Any] | None, scores: Mapping[str, float]
) -> dict[str, Any] | None:
    """The log's metadata with each named score as ``score_{name}``; None if none fits.

    The PATCH sends the whole metadata, so the entries the call sent stay whether the
    gateway replaces or merges it; past the gateway's 5 entries nothing is written.
    """
    from .metadata import MAX_ENTRIES

    if not scores:
        return None
    merged = {**(stored or {}), **{SCORE_KEY_PREFIX + k: v for k, v in scores.items()}}
    return merged if len(merged) <= MAX_ENTRIES else None


class Verdicts:
    """What a test decided for its logs, beyond what its outcome says."""

    def __init__(self) -> None:
        self.feedback: dict[str | None, float] = {}  # key None: every log of the test
        self.scores: dict[str | None, float] = {}
        self.named: dict[str | None, dict[str, float]] = {}  # named scores, keyed alike

    def set(
        self,
        kind: str,
        value: float,
        log_id: str | None,
        known: Sequence[str],
        name: str | None = None,
    ) -> None:
        low, high = (-1, 1) if kind == "feedback" else (0, 100)
        check_number(f"aigw.{kind}() value", value, min=low, max=high)
        if name is not None and not _SCORE_NAME.fullmatch(check_string("aigw.score() name", name)):
            raise ConfigError(
                f"aigw.score() name must be 1 to 50 letters, digits, '_' or '-', got {name!r}"
            )
        if log_id is not None and log_id not in known:
            raise ConfigError(
                f"aigw.{kind}(log_id={log_id!r}): this test produced no such log;"
                f" its log ids are {list(known)}"
            )
        if name is not None:
            self.named.setdefault(log_id, {})[name] = value
        else:
            (self.feedback if kind == "feedback" else self.scores)[log_id] = value

    def decide(
        self, log_ids: Iterable[str], passed: bool, judges: Collection[str] = ()
    ) -> list[LogVerdict]:
        """Each log's verdict; judge logs get only what was set for them by log id."""
        outcome = 1 if passed else -1
        verdicts = []
        for log_id in log_ids:
            named = self.named.get(log_id, {})
            if log_id in judges:
                verdict = LogVerdict(
                    log_id, self.feedback.get(log_id), self.scores.get(log_id), judge=True
                )
            else:
                verdict = LogVerdict(
                    log_id,
                    self.feedback.get(log_id, self.feedback.get(None, outcome)),
                    self.scores.get(log_id, self.scores.get(None)),
                )
                named = {**self.named.get(None, {}), **named}
            verdict.scores = dict(named)
            verdicts.append(verdict)
        return verdicts


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

    def score(self, value: float, *, name: str | None = None, log_id: str | None = None) -> None:
        """In an `aigw_eval` test: the 0-100 score for its logs (or only *log_id*).

        With *name* (``"relevance"``) a named score: kept per log and per case (the
        mean) in the eval report, and written to the log's metadata as ``score_{name}``
        where it fits; the unnamed score is the one the Logs API's ``score`` holds.
        Judge calls' logs get a score only when given by *log_id*.
        """
        self.verdicts.set("score", value, log_id, self.log_ids, name)

    def judging(self) -> JudgingBlock:
        """A ``with`` (or ``async with``) block whose gateway calls are judge calls.

        Judge calls' logs get no outcome feedback; `Call.judge` marks them.
        """
        from .judges import JudgingBlock

        return JudgingBlock()

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
        fields: dict[str, Any] = {"feedback": verdict.feedback, "score": verdict.score}
        if verdict.metadata:
            fields["metadata"] = verdict.metadata
        try:
            client.patch(verdict.log_id, **fields)
        except LogsApiError as error:
            if error.status_code != 404:
                raise
            # not listed yet: wait, retry once
            client.wait_for(verdict.log_id, timeout=min(timeout, deadline.left()))
            client.patch(verdict.log_id, **fields)
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
    """One `aigw_eval` test: its outcome and its logs' verdicts, over its trials.

    A case marked with ``trials=`` or ``min_pass_rate=`` has a `min_pass_rate` and
    a `verdict`; its outcome, duration and logs come from its trials (`settle`).
    """

    nodeid: str
    outcome: str = "error"  # passed, failed, skipped, xfailed, xpassed or error
    duration: float = 0.0
    logs: list[LogVerdict] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # see pytest_aigw.exchanges
    exchanges_left_out: int = 0
    trials: list[TrialRecord] = field(default_factory=list)
    min_pass_rate: float | None = None

    @property
    def log_ids(self) -> list[str]:
        return [log.log_id for log in self.logs]

    def trial(self, number: int) -> TrialRecord:
        """The record of trial *number*, made on first sight."""
        for record in self.trials:
            if record.trial == number:
                return record
        record = TrialRecord(number)
        self.trials.append(record)
        self.trials.sort(key=lambda found: found.trial)
        return record

    def settle(self) -> None:
        """Outcome, duration and logs from the trials seen so far."""
        from . import eval_trials

        self.duration = sum(record.duration for record in self.trials)
        self.logs = [log for record in self.trials for log in record.logs]
        if self.min_pass_rate is None:
            self.outcome = self.trials[-1].outcome if self.trials else "error"
        else:
            self.outcome = eval_trials.case_outcome(self.trials, self.min_pass_rate)

    @property
    def pass_rate(self) -> float | None:
        from .eval_trials import pass_rate

        return pass_rate(self.trials)

    @property
    def verdict(self) -> str | None:
        """stable_pass, flaky or stable_fail, for a case with a min_pass_rate."""
        from .eval_trials import verdict

        return None if self.min_pass_rate is None else verdict(self.trials)

    @property
    def failed_trials(self) -> int:
        return sum(record.outcome == "failed" for record in self.trials)

    @property
    def scores(self) -> dict[str, float]:
        """Each named score's mean over the case's logs."""
        return _mean_scores(self.logs)

    @property
    def judge_log_ids(self) -> list[str]:
        return [log.log_id for log in self.logs if log.judge]

    def as_json(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
            "log_ids": self.log_ids,
            "logs": [asdict(log) for log in self.logs],
            "exchanges": self.exchanges,
            "exchanges_left_out": self.exchanges_left_out,
            "trials": [record.as_json() for record in self.trials],
            "pass_rate": self.pass_rate,
            "min_pass_rate": self.min_pass_rate,
            "verdict": self.verdict,
            "scores": self.scores,
            "judge_log_ids": self.judge_log_ids,
        }


def _mean_scores(logs: Iterable[LogVerdict]) -> dict[str, float]:
    import statistics

    values: dict[str, list[float]] = {}
    for log in logs:
        for name, value in log.scores.items():
            values.setdefault(name, []).append(value)
    return {name: statistics.fmean(found) for name, found in sorted(values.items())}


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
        if report.outcome == "rerun":
            return  # an attempt pytest-rerunfailures discards: the next one counts
        trial = properties.get(TRIAL_PROPERTY) or {}
        nodeid = trial.get("case", report.nodeid)
        case = self.cases.get(nodeid)
        if case is None:
            case = self.cases[nodeid] = EvalCase(nodeid, min_pass_rate=trial.get("min_pass_rate"))
        record = case.trial(trial.get("trial", 1))
        if report.when == "call":
            record.outcome, record.duration = case_outcome(report), report.duration
        elif report.failed:
            self.other_failures += 1  # set-up and teardown errors are not verdicts
        if RESULT_PROPERTY in properties:
            record.logs = [LogVerdict(**log) for log in properties[RESULT_PROPERTY]]
        if EXCHANGES_PROPERTY in properties:
            case.exchanges, case.exchanges_left_out = properties[EXCHANGES_PROPERTY]
        case.settle()

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
        return [
            log
            for case in self.cases.values()
            for log in case.logs
            if log.has_verdict and not log.submitted
        ]

    def excused_trials(self) -> int:
        """Failed trials of cases that passed (their pass rate reached min_pass_rate)."""
        return sum(case.failed_trials for case in self.cases.values() if case.outcome == "passed")

    def failing(self) -> bool:
        """Whether the run fails on its own terms: a failed case, or a failure outside them."""
        return bool(self.other_failures) or any(
            case.outcome == "failed" for case in self.cases.values()
        )

    def gate_met(self) -> bool:
        rate = self.pass_rate
        return self.min_pass_rate is None or (rate is not None and rate >= self.min_pass_rate)

    def summary(self) -> dict[str, Any]:
        import statistics

        every_log = [log for case in self.cases.values() for log in case.logs]
        logs = [log for log in every_log if log.has_verdict]
        scores = [log.score for log in logs if log.score is not None]
        outcomes = [case.outcome for case in self.cases.values()]
        verdicts = [case.verdict for case in self.cases.values()]
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
            "judge_logs": sum(log.judge for log in every_log),
            "scores": _mean_scores(every_log),
            "trials": sum(len(case.trials) for case in self.cases.values()),
            **{name: verdicts.count(name) for name in (STABLE_PASS, FLAKY, STABLE_FAIL)},
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
            *_trial_lines(self, s),
            f"mean score: {score} ({s['scored_logs']} scored log(s))",
            *_named_score_lines(s["scores"]),
            f"feedback: {s['logs']} log(s), {s['feedback_submitted']} submitted,"
            f" {s['feedback_verified']} verified" + _judge_note(s["judge_logs"]),
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


def _trial_lines(run: EvalRun, s: Mapping[str, Any]) -> list[str]:
    """The trials line, where cases have trials; and the failed trials that are excused."""
    marked = sum(case.min_pass_rate is not None for case in run.cases.values())
    if not marked:
        return []
    lines = [
        f"trials: {s['trials']} in {marked} case(s) with a min_pass_rate,"
        f" stable_pass: {s[STABLE_PASS]}, flaky: {s[FLAKY]}, stable_fail: {s[STABLE_FAIL]}"
    ]
    excused = run.excused_trials()
    if excused:
        lines.append(
            f"{excused} failed trial(s) belong to cases that reached their min_pass_rate:"
            " they do not fail the run"
        )
    return lines


def _named_score_lines(scores: Mapping[str, float]) -> list[str]:
    if not scores:
        return []
    return ["named scores (mean): " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items())]


def _judge_note(judge_logs: int) -> str:
    return f" ({judge_logs} judge log(s): no outcome feedback)" if judge_logs else ""
