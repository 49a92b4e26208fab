"""The eval machinery as pytest plugin objects, registered by `pytest_aigw.plugin`.

`EvalJudge` (every process, xdist workers included) decides each `aigw_eval` test's
verdicts as it ends: the fake takes mock ones at once; live ones go to the journal on
disk first, then travel with the test's report. `EvalSession` (the process where the
reports meet) gathers the cases, sends the live run's verdicts and the journal's
leftovers at the end within the submission deadline, writes the report, applies the
pass-rate gate and prints the summary. With ``--aigw-eval-resubmit`` it only sends the
leftovers.

This module imports nothing heavy: the eval run itself loads with the first eval case.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import _config

if TYPE_CHECKING:
    from .eval_baseline import Comparison
    from .eval_journal import Journal, JournalWriter
    from .eval_sending import Sending
    from .evals import Deadline, EvalRun, LogVerdict
    from .gateway_base import Gateway

__all__ = ["EvalJudge", "EvalSession"]


@dataclass
class _Judged:
    """An attempt's verdicts, held until its teardown report says whether it counts."""

    gateway: Gateway
    verdicts: list[LogVerdict]
    call: Any  # the call-phase report


class EvalJudge:
    """Decides eval tests' verdicts; live ones are on disk before any network call.

    The verdicts of a test are decided at its teardown and kept until its teardown
    report: an attempt pytest-rerunfailures discards (its call or teardown report's
    outcome is "rerun") is dropped there, so its logs get no feedback and no journal
    entry. The others go to the fake (mock) or the journal (live) and travel with the
    teardown report.
    """

    def __init__(self, run: _config.RunConfig, writer: JournalWriter | None) -> None:
        self.run = run
        self.writer = writer
        self._judged: dict[str, _Judged] = {}

    def judge(self, item: pytest.Item, gateway: Gateway, report: Any | None) -> None:
        """Decide the verdicts of *item* from its call *report*; held until it reports."""
        from .evals import case_outcome, score_metadata

        if report is None or case_outcome(report) not in ("passed", "failed"):
            return  # set-up errors, skips, xfails and xpasses say nothing about the answers
        logged = [call for call in gateway.calls if call.log_id]
        judges = {call.log_id for call in logged if call.judge and call.log_id}
        verdicts = gateway.verdicts.decide(gateway.log_ids, passed=report.passed, judges=judges)
        stored = {call.log_id: call.metadata for call in logged if call.log_id}
        for verdict in verdicts:
            verdict.metadata = score_metadata(stored.get(verdict.log_id), verdict.scores)
        self._judged[item.nodeid] = _Judged(gateway, verdicts, report)

    @pytest.hookimpl(tryfirst=True)  # before pytest-xdist sends the report on
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from dataclasses import asdict

        from .evals import RESULT_PROPERTY

        if report.when != "teardown" or report.nodeid not in self._judged:
            return
        judged = self._judged.pop(report.nodeid)
        if "rerun" in (judged.call.outcome, report.outcome):
            return  # pytest-rerunfailures runs the test again: this attempt does not count
        self._record(report.nodeid, judged)
        report.user_properties.append((RESULT_PROPERTY, [asdict(v) for v in judged.verdicts]))

    def _record(self, nodeid: str, judged: _Judged) -> None:
        """Send a mock attempt's verdicts to its fake; journal a live one's."""
        from .evals import submit

        gateway, verdicts = judged.gateway, [v for v in judged.verdicts if v.has_verdict]
        if gateway.mode != "live":  # the fake takes them, in replay too
            try:
                submit(gateway.logs, verdicts, timeout=10.0)
            finally:
                gateway._close_logs_client()  # the gateway has stopped; this client is new
        elif self.writer is not None:
            self._journal(self.writer, nodeid, gateway, verdicts)

    def _journal(
        self, writer: JournalWriter, nodeid: str, gateway: Any, verdicts: list[LogVerdict]
    ) -> None:
        from .eval_journal import Entry

        account_id, gateway_id, api = gateway.account_id, gateway.gateway_id, self.run.api_base_url
        writer.write(
            Entry(
                v.log_id,
                v.feedback,
                v.score,
                nodeid,
                writer.run,
                account_id,
                gateway_id,
                api,
                metadata=v.metadata,
            )
            for v in verdicts
        )

    def close(self) -> None:
        # A run stopped between a test's teardown and its report: what was judged counts.
        for nodeid, judged in list(self._judged.items()):
            if judged.call.outcome != "rerun":
                self._record(nodeid, judged)
        self._judged.clear()
        if self.writer is not None:
            self.writer.close()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self.close()  # no test judges after this; the lock goes, the file stays


class EvalSession:
    """Where the reports meet: the eval run, its sending, report, gate and summary.

    The eval machinery loads with the first eval case's report: a run without eval
    cases only counts its failures (and, in live mode, sends the journal's leftovers).
    """

    def __init__(
        self, run: _config.RunConfig, journal: Journal | None, own_run: str, command: str
    ) -> None:
        self.run = run
        self.journal = journal
        self.own_run = own_run
        self.command = command  # sends what is left, e.g. "pytest --aigw-eval-resubmit"
        self.evals: EvalRun | None = None
        self.failures_before = 0
        self.sending: Sending | None = None
        self.notes: list[str] = []
        self.interrupted = False
        from .eval_spend import RunSpend

        self.spend = RunSpend(run.max_cost, run.live)  # every test that used aigw

    def pytest_report_header(self) -> str | None:
        """Announce, as a live run starts, the verdicts an earlier run left to send."""
        if not self.run.live or self.journal is None:
            return None
        left = len(self.journal.leftovers(self.own_run))
        if not left:
            return None
        return (
            f"aigw: the eval journal holds {left} verdict(s) an earlier run left unsent;"
            " they are sent at the end of this run"
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.spend.add(report)
        if self.evals is None:
            if _config.EVAL_MARKER not in dict(report.user_properties):
                self.failures_before += report.failed
                return
            from .evals import EvalRun

            self.evals = EvalRun(self.run.eval_min_pass_rate)
            self.evals.other_failures = self.failures_before
            self.evals.spend = self.spend
        self.evals.add(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from ._signals import held_interrupts

        if self.run.live or self.run.resubmit:
            try:
                self._send()
            except KeyboardInterrupt:  # a second Ctrl-C (or SIGTERM) outside the calls
                self.interrupted = True
                self.notes.append(
                    "interrupted while sending eval feedback: what is not verified stays in"
                    f" the journal {self.journal}; send it with: {self.command}"
                )
        if self.run.live and not self.interrupted:
            try:
                self._read_usage()
            except KeyboardInterrupt:
                self.interrupted = True
        with held_interrupts():
            self._finish(session)

    def _send(self) -> None:
        from .eval_sending import send
        from .evals import Deadline

        own = self.evals.pending() if self.evals is not None and self.run.live else []
        deadline = Deadline(self.run.eval_submit_timeout)
        with self.journal.sending() if self.journal else contextlib.nullcontext(True) as free:
            leftovers = self.journal.leftovers(self.own_run) if self.journal and free else []
            if not free:
                self.notes.append(
                    f"another run is sending the journal's leftovers ({self.journal});"
                    " they stay with it"
                )
            if not (own or leftovers):
                if self.run.resubmit:
                    self.notes.append(f"the journal {self.journal} holds no verdicts to send")
                return
            self.sending = send(self.run, own, leftovers, deadline, self.journal)
            self.interrupted = self.sending.interrupted
            if self.journal is not None and free:
                self.journal.compact()
        self._note_unsent(deadline)

    def _read_usage(self) -> None:
        """The live logs' usage: from the pages the verification listed, then batched.

        Within its own deadline (10 s at most, and no more than the submission deadline).
        """
        from ._errors import AigwError
        from .client import LogsClient
        from .eval_spend import USAGE_WAIT, fetch_usage, usages_of
        from .evals import Deadline, SubmissionStopped

        if self.sending is not None:
            self.spend.learn(usages_of(self.sending.seen, self.spend.unknown()))
        unknown = self.spend.unknown()
        deadline = Deadline(min(USAGE_WAIT, self.run.eval_submit_timeout))
        if not unknown or deadline.left() <= 0:
            return
        client = LogsClient(
            **self.run.client_args(), base_url=self.run.api_base_url, sleep=deadline.sleep
        )
        try:
            with client:
                found = fetch_usage(client, unknown, timeout=deadline.left(), sleep=deadline.sleep)
        except (AigwError, SubmissionStopped) as error:
            self.spend.problems.append(f"spend: could not read the logs' usage: {error}")
        else:
            self.spend.learn(found.values())

    def _note_unsent(self, deadline: Deadline) -> None:
        assert self.sending is not None
        unsent = self.sending.unsent()
        if not unsent:
            return
        if self.interrupted:
            why = "interrupted while sending eval feedback: "
        elif deadline.left() <= 0:
            why = (
                f"the eval submission deadline ({deadline.seconds:g} s,"
                f" {_config.EVAL_SUBMIT_TIMEOUT.option}) passed: "
            )
        else:
            why = ""
        if self.journal is None:
            self.notes.append(
                f"{why}{len(unsent)} verdict(s) not verified are not kept: pytest's cache is"
                f" off (-p no:cacheprovider); give {_config.EVAL_JOURNAL.option}=DIR to keep them"
            )
            return
        self.notes.append(
            f"{why}{len(unsent)} verdict(s) not verified stay in the journal {self.journal};"
            f" send them with: {self.command}"
        )

    def _finish(self, session: pytest.Session) -> None:
        if self.interrupted:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        if self.run.resubmit and self.sending is not None and self.sending.unsent():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        evals = self.evals
        if evals is None:
            return
        if self.run.eval_baseline:
            evals.baseline = self._compare(evals, self.run.eval_baseline)
        report = evals.report()
        if self.run.eval_report:
            try:
                evals.write_report(Path(self.run.eval_report), report)
            except OSError as error:
                self.notes.append(f"could not write the eval report: {error}")
        from .eval_views import write_views

        self.notes += write_views(report, self.run.eval_html, os.environ)
        if self.run.eval_min_pass_rate is not None and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
        ):
            failed = evals.other_failures or not evals.gate_met()
            session.exitstatus = pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK
        elif session.exitstatus == pytest.ExitCode.TESTS_FAILED and _only_excused(evals):
            session.exitstatus = pytest.ExitCode.OK
        if evals.baseline is not None and evals.baseline.failed:
            self.notes.append(evals.baseline.failure())
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _compare(self, evals: EvalRun, path: str) -> Comparison:
        from ._errors import ConfigError
        from .eval_baseline import Baseline, compare, figures, read_baseline

        try:
            baseline = read_baseline(path, _config.EVAL_BASELINE.option)
        except ConfigError as error:  # read at start-up; changed since
            baseline = Baseline(path, {})
            problem = [f"pytest-aigw: {error}"]
        else:
            problem = []
        current = {case["nodeid"]: figures(case) for case in evals.report()["cases"]}
        comparison = compare(baseline, current, fail_on_regression=self.run.eval_fail_on_regression)
        comparison.problems += problem
        return comparison

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        leftovers = self.sending.leftovers if self.sending is not None else []
        if self.evals is None and not leftovers and not self.notes and not self.spend.shown:
            return
        terminalreporter.write_sep("=", "pytest-aigw eval")
        if self.evals is None and self.spend.shown:
            for line in self.spend.lines():
                terminalreporter.write_line(line)
        if self.evals is not None:
            for line in self.evals.lines():
                terminalreporter.write_line(line)
            if self.run.eval_report:
                terminalreporter.write_line(f"report: {self.run.eval_report}")
            if self.run.eval_html:
                terminalreporter.write_line(f"HTML report: {self.run.eval_html}")
        if leftovers:
            for line in _leftover_lines(leftovers, self.journal):
                terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line(f"pytest-aigw: {note}")


def _only_excused(evals: EvalRun) -> bool:
    """Whether the run's only failures are trials of cases that reached their rate."""
    return bool(evals.excused_trials()) and not evals.failing()


def _leftover_lines(leftovers: list[Any], journal: Journal | None) -> list[str]:
    verified = sum(v.verified for v in leftovers)
    lines = [
        f"journal: {len(leftovers)} verdict(s) left by an earlier run ({journal}):"
        f" {verified} verified on the Logs API, {len(leftovers) - verified} not"
    ]
    problems = [f"{v.log_id}: {v.error}" for v in leftovers if v.error and not v.verified]
    lines += [f"  {n}. {text}" for n, text in enumerate(problems, start=1)]
    return lines
