"""Trials and reruns as users meet them: one case run N times, judged by its pass rate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import live_args, verdicts_by_user

from pytest_aigw import MockGatewayServer
from pytest_aigw.eval_trials import TrialRecord, _without, case_outcome, pass_rate, verdict

pytest_plugins = ["pytester"]

# Each trial of test_case fails when its number is in FAILING; it sends user "{n}-{trial}".
TRIALS = """
import httpx, pytest

@pytest.mark.aigw_eval(MARKER)
def test_case(aigw, request):
    trial = request.node.callspec.params.get("_aigw_trial", 1) if hasattr(
        request.node, "callspec") else 1
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": str(trial)})
    assert trial not in FAILING
"""

# Records what each attempt's fake stored, once its teardown report went out (when
# the plugin has sent the verdicts, or dropped them for an attempt run again).
STORED_CONFTEST = """
import json, pytest
from pytest_aigw.plugin import _GATEWAY

GATEWAYS = {}

@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    GATEWAYS[item.nodeid] = item.stash.get(_GATEWAY, None)
    return (yield)

@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    gateway = GATEWAYS.pop(report.nodeid, None) if report.when == "teardown" else None
    if gateway is not None:
        stored = {call.json["user"]: gateway.log_store.get(call.log_id, 1e12).feedback
                  for call in gateway.calls}
        with open("stored.jsonl", "a") as out:
            out.write(json.dumps(stored) + "\\n")
"""


def trials_file(pytester: pytest.Pytester, marker: str, failing: tuple[int, ...] = ()) -> None:
    pytester.makepyfile(TRIALS.replace("MARKER", marker).replace("FAILING", repr(failing)))


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "eval.json").read_text())
    return data


def stored(pytester: pytest.Pytester) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for line in (pytester.path / "stored.jsonl").read_text().splitlines():
        found.update(json.loads(line))
    return found


def test_each_trial_is_an_item_with_its_own_logs_and_feedback(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(STORED_CONFTEST)
    trials_file(pytester, "trials=3, min_pass_rate=0.6", failing=(2,))
    result = pytester.runpytest("-v", "-p", "no:randomly", "--aigw-eval-report=eval.json")
    result.stdout.fnmatch_lines(
        [
            "*::test_case[[]trial-1of3[]] PASSED*",
            "*::test_case[[]trial-2of3[]] FAILED*",
            "*::test_case[[]trial-3of3[]] PASSED*",
        ]
    )
    assert stored(pytester) == {"1": 1, "2": -1, "3": 1}
    (case,) = report(pytester)["cases"]
    assert case["nodeid"].endswith("_feedback.py::test_case")
    assert [t["outcome"] for t in case["trials"]] == ["passed", "failed", "passed"]
    assert [len(t["log_ids"]) for t in case["trials"]] == [1, 1, 1]
    assert case["log_ids"] == [log_id for t in case["trials"] for log_id in t["log_ids"]]
    assert case["pass_rate"] == pytest.approx(2 / 3)
    assert (case["min_pass_rate"], case["verdict"], case["outcome"]) == (0.6, "flaky", "passed")
    assert case["duration"] == pytest.approx(sum(t["duration"] for t in case["trials"]), abs=1e-5)


def test_failed_trials_of_a_case_that_reaches_its_rate_do_not_fail_the_run(
    pytester: pytest.Pytester,
) -> None:
    trials_file(pytester, "trials=4, min_pass_rate='75%'", failing=(4,))
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "eval cases: 1, passed: 1, failed: 0, pass rate: 100.0%",
            "trials: 4 in 1 case(s) with a min_pass_rate, stable_pass: 0, flaky: 1, stable_fail: 0",
            "1 failed trial(s) belong to cases that reached their min_pass_rate:"
            " they do not fail the run",
        ]
    )


@pytest.mark.parametrize(
    ("marker", "failing", "verdict", "outcome"),
    [
        ("trials=3", (), "stable_pass", "passed"),
        ("trials=3", (2,), "flaky", "failed"),  # the default rate is 1.0: every trial
        ("trials=3, min_pass_rate=0", (1, 2, 3), "stable_fail", "passed"),
        ("trials=2, min_pass_rate=0.5", (1, 2), "stable_fail", "failed"),
        ("min_pass_rate=1", (1,), "stable_fail", "failed"),  # one trial, no id added
    ],
)
def test_the_verdict_and_the_outcome_follow_the_trials(
    pytester: pytest.Pytester, marker: str, failing: tuple[int, ...], verdict: str, outcome: str
) -> None:
    trials_file(pytester, marker, failing)
    result = pytester.runpytest("-p", "no:randomly", "--aigw-eval-report=eval.json")
    (case,) = report(pytester)["cases"]
    assert (case["verdict"], case["outcome"]) == (verdict, outcome)
    status = pytest.ExitCode.OK if outcome == "passed" else pytest.ExitCode.TESTS_FAILED
    assert result.ret == status
    summary = report(pytester)["summary"]
    assert summary[verdict] == 1
    assert summary["trials"] == len(case["trials"])


def test_other_failures_still_fail_a_run_with_excused_trials(pytester: pytest.Pytester) -> None:
    trials_file(pytester, "trials=2, min_pass_rate=0.5", failing=(1,))
    pytester.makepyfile(test_plain="def test_plain():\n    assert False\n")
    result = pytester.runpytest("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_plain_case_has_one_trial_and_no_verdict(pytester: pytest.Pytester) -> None:
    trials_file(pytester, "", failing=(1,))
    result = pytester.runpytest("--aigw-eval-report=eval.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "trials:" not in result.stdout.str()
    (case,) = report(pytester)["cases"]
    assert [t["trial"] for t in case["trials"]] == [1]
    assert (case["pass_rate"], case["min_pass_rate"], case["verdict"]) == (0.0, None, None)
    summary = report(pytester)["summary"]
    assert (summary["trials"], summary["stable_fail"], summary["flaky"]) == (1, 0, 0)


def test_trials_come_after_the_tests_own_parameters(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aigw_eval(trials=2)
        @pytest.mark.parametrize("word", ["a", "b"])
        def test_word(word):
            assert word == "a"
        """
    )
    result = pytester.runpytest("-v", "-p", "no:randomly", "--aigw-eval-report=eval.json")
    result.stdout.fnmatch_lines(["*::test_word[[]a-trial-1of2[]] PASSED*"])
    cases = {case["nodeid"].split("::")[1]: case for case in report(pytester)["cases"]}
    assert {name: case["verdict"] for name, case in cases.items()} == {
        "test_word[a]": "stable_pass",
        "test_word[b]": "stable_fail",
    }


def test_xdist_spreads_trials_and_gathers_them_into_one_case(pytester: pytest.Pytester) -> None:
    trials_file(pytester, "trials=6, min_pass_rate=0.5", failing=(2, 5))
    result = pytester.runpytest("-n", "2", "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=4, failed=2)
    assert result.ret == pytest.ExitCode.OK
    (case,) = report(pytester)["cases"]
    assert [t["trial"] for t in case["trials"]] == [1, 2, 3, 4, 5, 6]
    assert case["verdict"] == "flaky"
    summary = report(pytester)["summary"]
    assert (summary["cases"], summary["trials"], summary["feedback_verified"]) == (1, 6, 6)
    result.stdout.fnmatch_lines(["trials: 6 in 1 case(s) with a min_pass_rate, *flaky: 1*"])


def test_a_gate_counts_cases_not_trials(pytester: pytest.Pytester) -> None:
    trials_file(pytester, "trials=4, min_pass_rate=0.5", failing=(1, 2, 3))
    result = pytester.runpytest("--aigw-eval-min-pass-rate=0.5")
    result.stdout.fnmatch_lines(["eval cases: 1, passed: 0, failed: 1, pass rate: 0.0% (gate*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "trials=0",
            "@pytest.mark.aigw_eval: trials= must be a whole number from 1 to 1000, got 0",
        ),
        (
            "trials=1001",
            "@pytest.mark.aigw_eval: trials= must be a whole number from 1 to 1000, got 1001",
        ),
        (
            "trials=2.0",
            "@pytest.mark.aigw_eval: trials= must be a whole number from 1 to 1000, got 2.0",
        ),
        (
            "trials=True",
            "@pytest.mark.aigw_eval: trials= must be a whole number from 1 to 1000, got True",
        ),
        (
            "min_pass_rate=1.5",
            "@pytest.mark.aigw_eval: min_pass_rate= must be a pass rate from 0 to 1"
            " (or 0% to 100%), got 1.5",
        ),
        (
            "min_pass_rate='120%'",
            "@pytest.mark.aigw_eval: min_pass_rate= must be a pass rate from 0 to 1"
            " (or 0% to 100%), got '120%'",
        ),
        (
            "min_pass_rate='most%'",
            "@pytest.mark.aigw_eval: min_pass_rate= must be a pass rate from 0 to 1"
            " (or 0% to 100%), got 'most%'",
        ),
        (
            "min_pass_rate='0.5'",
            "@pytest.mark.aigw_eval: min_pass_rate= must be a pass rate from 0 to 1"
            " (or 0% to 100%), got '0.5'",
        ),
        (
            "min_pass_rate=float('nan')",
            "@pytest.mark.aigw_eval: min_pass_rate= must be a pass rate from 0 to 1"
            " (or 0% to 100%), got nan",
        ),
        (
            "trails=3",
            "@pytest.mark.aigw_eval got unknown option(s) trails. Allowed options:"
            " min_pass_rate=, trials=",
        ),
        (
            "3",
            "@pytest.mark.aigw_eval takes keyword options only, got positional argument(s)"
            " (3,). Allowed options: min_pass_rate=, trials=",
        ),
    ],
)
def test_bad_trial_options_are_collection_errors_that_say_what_is_allowed(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    trials_file(pytester, marker)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting*", message])


@pytest.mark.parametrize(
    ("nodeid", "suffix", "case"),
    [
        ("t.py::f[trial-1of2]", "trial-1of2", "t.py::f"),
        ("t.py::f[a-trial-1of2]", "trial-1of2", "t.py::f[a]"),
        ("t.py::f[trial-1of2-a]", "trial-1of2", "t.py::f[a]"),
        ("t.py::f[a-trial-1of2-b]", "trial-1of2", "t.py::f[a-b]"),
        ("t.py::f", "trial-1of2", "t.py::f"),
    ],
)
def test_the_case_nodeid_drops_the_trial_id_wherever_it_stands(
    nodeid: str, suffix: str, case: str
) -> None:
    assert _without(nodeid, suffix) == case


def test_a_case_without_judged_trials_takes_their_outcome() -> None:
    assert case_outcome([TrialRecord(1, "skipped"), TrialRecord(2, "skipped")], 1.0) == "skipped"
    assert case_outcome([TrialRecord(1, "skipped"), TrialRecord(2, "error")], 1.0) == "error"
    assert case_outcome([], 1.0) == "error"
    assert pass_rate([TrialRecord(1, "xfailed")]) is None
    assert verdict([TrialRecord(1, "skipped")]) is None
    assert case_outcome([TrialRecord(1, "skipped"), TrialRecord(2, "passed")], 1.0) == "passed"


# --- pytest-rerunfailures: the last attempt counts -------------------------------------

RERUN = """
import httpx, pytest, pathlib

@pytest.mark.aigw_eval
@pytest.mark.aigw_live
def test_case(aigw):
    attempts = pathlib.Path("attempts")
    attempt = len(attempts.read_text()) + 1 if attempts.exists() else 1
    attempts.write_text("x" * attempt)
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": str(attempt)})
    aigw.score(10 * attempt, name="relevance")
    assert attempt >= PASSES_AT
"""


@pytest.mark.parametrize(
    ("passes_at", "feedback"),
    [(3, {"1": None, "2": None, "3": 1}), (9, {"1": None, "2": None, "3": -1})],
    ids=["passes on the last rerun", "fails every attempt"],
)
def test_a_rerun_counts_once_and_discarded_attempts_get_no_feedback(
    pytester: pytest.Pytester, passes_at: int, feedback: dict[str, Any]
) -> None:
    pytester.makeconftest(STORED_CONFTEST)
    pytester.makepyfile(RERUN.replace("PASSES_AT", str(passes_at)))
    result = pytester.runpytest("--reruns=2", "--aigw-eval-report=eval.json")
    result.stdout.fnmatch_lines(["* 2 rerun*"])
    assert stored(pytester) == feedback
    (case,) = report(pytester)["cases"]
    assert len(case["log_ids"]) == 1
    assert case["outcome"] == ("passed" if passes_at == 3 else "failed")
    assert case["scores"] == {"relevance": 30}
    assert report(pytester)["summary"]["feedback_submitted"] == 1


def test_reruns_under_xdist_count_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(RERUN.replace("PASSES_AT", "2"))
    result = pytester.runpytest("--reruns=1", "-n", "2", "--aigw-eval-report=eval.json")
    assert result.ret == pytest.ExitCode.OK
    (case,) = report(pytester)["cases"]
    assert (len(case["log_ids"]), case["outcome"]) == (1, "passed")
    assert case["logs"][0]["feedback"] == 1


def test_live_reruns_journal_and_send_only_the_last_attempt(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    pytester.makepyfile(RERUN.replace("PASSES_AT", "3"))
    result = pytester.runpytest(
        *live_args(standin), "--reruns=2", "--aigw-eval-journal=journal", "-p", "no:randomly"
    )
    assert result.ret == pytest.ExitCode.OK
    assert verdicts_by_user(standin) == {"1": (None, None), "2": (None, None), "3": (1, None)}
    logs: dict[str | None, Any] = {log.id: log for log in standin.log_store.find([], now=1e12)}
    last = next(call.log_id for call in standin.calls if call.json["user"] == "3")
    assert logs[last].metadata is not None
    assert logs[last].metadata["score_relevance"] == 30
    assert not list(Path(pytester.path, "journal").glob("*.jsonl"))  # sent: cleared


def test_a_live_rerun_journals_nothing_for_discarded_attempts(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    standin.fail_logs_api(500, times=10_000, retry_after=0)  # nothing is sent: all stays
    pytester.makepyfile(RERUN.replace("PASSES_AT", "2"))
    pytester.runpytest(
        *live_args(standin),
        "--reruns=1",
        "--aigw-eval-journal=journal",
        "--aigw-eval-submit-timeout=1",
    )
    lines = [
        json.loads(line)
        for path in Path(pytester.path, "journal").glob("*.jsonl")
        if path.name != "done.jsonl"
        for line in path.read_text().splitlines()
    ]
    last = next(call.log_id for call in standin.calls if call.json["user"] == "2")
    assert [line["log_id"] for line in lines] == [last]
    assert lines[0]["metadata"]["score_relevance"] == 20
