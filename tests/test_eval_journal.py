"""Nothing lost: live eval verdicts on disk first, sent once, whatever ends the run.

A pytester suite runs live against a loopback stand-in for Cloudflare that counts the
PATCH calls per log, so "never twice" is checked where it matters: on the wire.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import live_args as live_run_args
from conftest import live_eval_cases, verdicts_by_user

from pytest_aigw import LogSettings, MockGatewayServer
from pytest_aigw.eval_journal import Entry, Journal, JournalWriter
from pytest_aigw.evals import Deadline, SubmissionStopped

pytest_plugins = ["pytester"]

JOURNAL = Path(".pytest_cache", "d", "aigw-eval-journal")


class StandIn(MockGatewayServer):
    """The stand-in for Cloudflare, counting the PATCH calls each log took.

    A PATCH on a log not listed yet (visibility lag) answers 404 and changes nothing, as
    the real API does; the sender tries again then, so only accepted PATCH calls count.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.patches: Counter[str] = Counter()

    def _answer(self, request: httpx.Request) -> httpx.Response:
        response = super()._answer(request)
        if request.method == "PATCH" and response.status_code == 200:
            self.patches[request.url.path.rsplit("/", 1)[-1]] += 1
        return response


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    with StandIn(strict=False, log_settings=LogSettings(visibility_lag=0.1)) as server:
        for name in ("PYTEST_AIGW_MODE", "PYTEST_AIGW_TAGS", "PYTEST_AIGW_EVAL_JOURNAL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", server.account_id)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "token")
        monkeypatch.setenv("PYTEST_AIGW_GATEWAY_ID", server.gateway_id)
        yield server


def live_args(server: MockGatewayServer) -> list[str]:
    return ["-p", "no:randomly", *live_run_args(server)]


# Case 3 stops midway (the run is killed there); cases 0-2 have ended: 1 failed.
CASES = live_eval_cases(
    5,
    """
    if n == STOP:
        open("reached", "w").close()
        time.sleep(300)
    assert n != 1
    """,
)
ENDED = {"0": (1, 0), "1": (-1, 10), "2": (1, 20)}


def sent(server: StandIn) -> dict[str, tuple[Any, Any]]:
    return {user: v for user, v in verdicts_by_user(server).items() if v != (None, None)}


def start_and_stop(pytester: pytest.Pytester, standin: StandIn, how: signal.Signals) -> str:
    """Run CASES live in a process of its own; send *how* while case 3 runs."""
    pytester.makepyfile(CASES.replace("STOP", "3"))
    command = [sys.executable, "-m", "pytest", *live_args(standin), "--aigw-eval-report=r.json"]
    process = pytester.popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    with process:
        reached = pytester.path / "reached"
        deadline = time.monotonic() + 120
        while not reached.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if reached.exists():
            process.send_signal(how)
        else:
            process.kill()
        output: str = process.communicate(timeout=120)[0].decode()
    assert reached.exists(), output
    return output


def test_sigkill_midway_loses_nothing_resubmit_sends_once(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    start_and_stop(pytester, standin, signal.SIGKILL)
    assert sent(standin) == {}  # the run died before sending anything
    result = pytester.runpytest("--aigw-eval-resubmit")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*= pytest-aigw eval =*",
            f"journal: 3 verdict(s) left by an earlier run ({pytester.path / JOURNAL}):"
            " 3 verified on the Logs API, 0 not",
        ]
    )
    assert sent(standin) == ENDED
    assert set(standin.patches.values()) == {1}
    again = pytester.runpytest("--aigw-eval-resubmit")
    assert again.ret == pytest.ExitCode.OK
    again.stdout.fnmatch_lines(
        [f"pytest-aigw: the journal {pytester.path / JOURNAL} holds no verdicts to send"]
    )
    assert set(standin.patches.values()) == {1}
    assert not list((pytester.path / JOURNAL).glob("*.jsonl"))  # all done: cleared


def test_sigterm_midway_is_handled_as_ctrl_c(pytester: pytest.Pytester, standin: StandIn) -> None:
    output = start_and_stop(pytester, standin, signal.SIGTERM)
    assert "feedback: 3 log(s), 3 submitted, 3 verified" in output, output
    assert "Terminated: SIGTERM: stopping as for Ctrl-C" in output
    assert sent(standin) == ENDED
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["summary"]["feedback_verified"] == 3
    result = pytester.runpytest("--aigw-eval-resubmit")
    assert result.ret == pytest.ExitCode.OK
    assert set(standin.patches.values()) == {1}


ENDING = CASES.replace("STOP", "-1")


def test_the_next_live_run_announces_and_sends_leftovers(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    start_and_stop(pytester, standin, signal.SIGKILL)
    pytester.makepyfile(ENDING)
    result = pytester.runpytest(*live_args(standin), "-k", "not 1")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "aigw: the eval journal holds 3 verdict(s) an earlier run left unsent;"
            " they are sent at the end of this run",
            "feedback: 4 log(s), 4 submitted, 4 verified",
            "journal: 3 verdict(s) left by an earlier run (*): 3 verified on the Logs API, 0 not",
        ]
    )
    assert set(standin.patches.values()) == {1}
    assert len(standin.patches) == 7


def test_the_submission_deadline_leaves_the_rest_in_the_journal(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    standin.fail_logs_api(429, times=10_000, retry_after=86_400)
    pytester.makepyfile(ENDING)
    started = time.monotonic()
    result = pytester.runpytest(*live_args(standin), "--aigw-eval-submit-timeout=1")
    assert time.monotonic() - started < 60
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-aigw: the eval submission deadline (1 s, --aigw-eval-submit-timeout)"
            f" passed: 5 verdict(s) not verified stay in the journal {pytester.path / JOURNAL};"
            " send them with: pytest --aigw-eval-resubmit"
        ]
    )
    standin._logs_api.clear_outages()
    again = pytester.runpytest("--aigw-eval-resubmit")
    assert again.ret == pytest.ExitCode.OK
    assert len(sent(standin)) == 5


def test_xdist_workers_journal_their_own_verdicts(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    pytester.makepyfile(ENDING)
    result = pytester.runpytest(*live_args(standin), "-n", "2", "--aigw-eval-submit-timeout=0")
    result.assert_outcomes(passed=4, failed=1)
    files = sorted(path.name.rsplit("-", 1)[1] for path in (pytester.path / JOURNAL).glob("*-*"))
    assert files == ["gw0.jsonl", "gw1.jsonl"]
    assert sent(standin) == {}
    again = pytester.runpytest("--aigw-eval-resubmit")
    assert again.ret == pytest.ExitCode.OK
    assert sent(standin) == {str(n): (1 if n != 1 else -1, 10 * n) for n in range(5)}
    assert set(standin.patches.values()) == {1}


def test_without_a_cache_or_journal_the_summary_says_what_is_not_kept(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    pytester.makepyfile(ENDING)
    result = pytester.runpytest(
        *live_args(standin), "-p", "no:cacheprovider", "--aigw-eval-submit-timeout=0"
    )
    result.stdout.fnmatch_lines(
        [
            "pytest-aigw: the eval submission deadline (0 s, --aigw-eval-submit-timeout) passed:"
            " 5 verdict(s) not verified are not kept: pytest's cache is off"
            " (-p no:cacheprovider); give --aigw-eval-journal=DIR to keep them"
        ]
    )


SECOND_CTRL_C = """
import os, signal, time
from pytest_aigw.client import LogsClient

patch = LogsClient.patch

def interrupted(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the feedback is being sent
    time.sleep(5)
    return patch(self, *args, **kwargs)

LogsClient.patch = interrupted
"""


def test_ctrl_c_while_sending_writes_the_report_and_says_how_to_send_the_rest(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    pytester.makeconftest(SECOND_CTRL_C)
    pytester.makepyfile(ENDING)
    journal = pytester.path / "j"
    result = pytester.runpytest_subprocess(
        *live_args(standin), "--aigw-eval-report=r.json", f"--aigw-eval-journal={journal}"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "pytest-aigw: interrupted while sending eval feedback: 5 verdict(s) not verified"
            f" stay in the journal {journal}; send them with: pytest --aigw-eval-resubmit"
            f" --aigw-eval-journal={journal}"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["cases"][0]["logs"][0]["error"] == "not submitted: the run was interrupted"
    pytester.makeconftest("")
    again = pytester.runpytest("--aigw-eval-resubmit", f"--aigw-eval-journal={journal}")
    assert again.ret == pytest.ExitCode.OK
    assert len(sent(standin)) == 5
    assert set(standin.patches.values()) == {1}


def test_a_verdict_a_dead_run_sent_is_not_sent_again(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    log_id = httpx.post(standin.url("openai") + "/chat/completions", json={"model": "m"}).headers[
        "cf-aig-log-id"
    ]
    time.sleep(0.2)
    standin.logs.patch(log_id, feedback=1, score=50)  # sent; the run died before marking it
    writer = JournalWriter(pytester.path / JOURNAL, "dead", "main")
    target: dict[str, Any] = {
        "account_id": standin.account_id,
        "gateway_id": standin.gateway_id,
        "api_base_url": standin.api_url,
    }
    writer.write([Entry(log_id, 1, 50, "t.py::test", "dead", **target)])
    writer.close()
    before = standin.patches[log_id]
    result = pytester.runpytest("--aigw-eval-resubmit")
    result.stdout.fnmatch_lines(["journal: 1 verdict(s) left by an earlier run (*): 1 verified*"])
    assert standin.patches[log_id] == before


def test_a_failed_resubmission_keeps_the_verdicts_and_fails(
    pytester: pytest.Pytester, standin: StandIn
) -> None:
    start_and_stop(pytester, standin, signal.SIGKILL)
    standin.fail_logs_api(500, times=10_000, retry_after=0)
    result = pytester.runpytest("--aigw-eval-resubmit", "--aigw-eval-submit-timeout=2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "journal: 3 verdict(s) left by an earlier run (*): 0 verified on the Logs API, 3 not",
            "  1. *: not submitted: *",
            "pytest-aigw: 3 verdict(s) not verified stay in the journal *;"
            " send them with: pytest --aigw-eval-resubmit",
        ]
    )


# --- the journal on disk ---------------------------------------------------------


def entry(log_id: str, run: str = "r") -> Entry:
    return Entry(log_id, 1, None, "t.py::test", run, "acct", "gw", "http://api")


def test_a_running_writers_file_is_no_leftover_and_a_torn_line_is_skipped(
    tmp_path: Path,
) -> None:
    writer = JournalWriter(tmp_path, "alive", "gw0")
    writer.write([entry("a", "alive")])
    journal = Journal(tmp_path)
    assert journal.leftovers() == []  # its process still runs (holds the lock)
    writer.close()
    with (tmp_path / "alive-gw0.jsonl").open("a") as file:
        file.write('{"written_by": "a later version"}\n{"log_id": "b", "feedb')  # killed mid-write
    assert [e.log_id for e in journal.leftovers()] == ["a"]
    assert journal.leftovers(skip_run="alive") == []
    journal.mark_done(["a"])
    assert journal.leftovers() == []
    with journal.sending() as free:
        assert free
        with journal.sending() as again:
            assert not again  # a second sender waits its turn
        journal.compact()
    assert list(tmp_path.iterdir()) == [tmp_path / "submit.lock"]


# --- options and their messages --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--aigw-eval-report=out"],
            "*: error: --aigw-eval-report must name a file, got 'out', which is a"
            " directory; give a file in it, such as 'out/eval.json'",
        ),
        (
            ["--aigw-eval-report=plain.txt/eval.json"],
            "*: error: --aigw-eval-report cannot be written at"
            " 'plain.txt/eval.json': 'plain.txt' is a file, not a directory; give a path"
            " under a directory",
        ),
        (
            ["--aigw-eval-journal=plain.txt"],
            "*: error: --aigw-eval-journal must be a directory, got 'plain.txt',"
            " but 'plain.txt' is a file; give a directory path",
        ),
        (
            ["--aigw-eval-submit-timeout=soon"],
            "*: error: --aigw-eval-submit-timeout must be seconds >= 0, got 'soon'",
        ),
        (
            ["--aigw-max-retry-after=nan"],
            "*: error: --aigw-max-retry-after must be seconds >= 0, got 'nan'",
        ),
        (
            ["--aigw-eval-resubmit", "-p", "no:cacheprovider"],
            "ERROR: pytest-aigw: --aigw-eval-resubmit reads the journal in pytest's cache"
            " directory, and the cache is off (-p no:cacheprovider): give"
            " --aigw-eval-journal=DIR.",
        ),
    ],
)
def test_bad_paths_and_values_are_usage_errors(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "token")
    (pytester.path / "out").mkdir()
    (pytester.path / "plain.txt").write_text("not a directory")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_the_ini_and_env_twins_are_read(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_EVAL_SUBMIT_TIMEOUT", "-2")
    pytester.makeini("[pytest]\naigw_max_retry_after = forever\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(
        ["*: error: PYTEST_AIGW_EVAL_SUBMIT_TIMEOUT must be seconds >= 0, got '-2'"]
    )
    monkeypatch.delenv("PYTEST_AIGW_EVAL_SUBMIT_TIMEOUT")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(
        ["*: error: ini aigw_max_retry_after must be seconds >= 0, got 'forever'"]
    )


def test_resubmit_needs_the_api_token(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    result = pytester.runpytest("--aigw-eval-resubmit")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-aigw: --aigw-eval-resubmit sends the journal's verdicts to the Logs"
            " API and needs CLOUDFLARE_API_TOKEN (environment). Set it and run again."
        ]
    )


def test_the_retry_after_cap_reaches_the_logs_clients(
    pytester: pytest.Pytester, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_aigw import live

        @pytest.mark.aigw_live
        def test_cap(aigw, pytestconfig):
            assert aigw.logs.max_retry_after == 7
            run = pytestconfig.stash[pytest_aigw_run]
            assert live.run_logs_client(run).max_retry_after == 7
        """.replace("pytest_aigw_run", "__import__('pytest_aigw.plugin').plugin._RUN")
    )
    monkeypatch.setenv("PYTEST_AIGW_MAX_RETRY_AFTER", "7")
    result = pytester.runpytest(*live_args(standin))
    result.assert_outcomes(passed=1)


def test_the_deadline_cuts_waits_short_and_an_interrupt_stops_at_once() -> None:
    now = [0.0]
    deadline = Deadline(5, clock=lambda: now[0])
    deadline.sleep(0)
    now[0] = 5.0
    with pytest.raises(SubmissionStopped, match=r"the submission deadline \(5 s\) passed"):
        deadline.sleep(86_400)
    interrupted = Deadline(math.inf)
    interrupted.interrupt()
    with pytest.raises(SubmissionStopped, match="the run was interrupted"):
        interrupted.sleep(86_400)


def test_sigterm_is_left_alone_where_someone_else_handles_it() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pytest_aigw._signals import held_interrupts, sigterm_as_interrupt

    def own(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, own)
    try:
        sigterm_as_interrupt()()
        assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)
    with ThreadPoolExecutor(1) as pool:  # signals belong to the main thread
        pool.submit(lambda: sigterm_as_interrupt()()).result()
        pool.submit(lambda: held_interrupts().__enter__()).result()
    with held_interrupts():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def test_a_report_that_cannot_be_written_at_the_end_is_a_message(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        def pytest_sessionstart(session):
            open("late", "w").close()  # where the report's directory was to be
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aigw_eval
        def test_case(aigw):
            pass
        """
    )
    result = pytester.runpytest("--aigw-eval-report=late/eval.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pytest-aigw: could not write the eval report: *late*"])
    assert "Traceback" not in result.stdout.str()
