"""Eval runs as users meet them: feedback from outcomes, the summary, the report, the gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import live_args, live_eval_cases, verdicts_by_user

from pytest_aigw import MockGatewayServer
from pytest_aigw.evals import EvalRun

pytest_plugins = ["pytester"]

# Records what each test's fake stored, once the plugin submitted feedback (as the
# test's teardown report went out, which is inside the test's run protocol).
STORED_CONFTEST = """
import json, pytest
from pytest_aigw.plugin import _GATEWAY

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    result = yield
    gateway = item.stash.get(_GATEWAY, None)
    if gateway is not None and gateway.mode == "mock":
        logs = sorted(gateway.log_store.find([], 1e12), key=lambda log: log.id)
        stored = {log.id: [log.feedback, log.score] for log in logs}
        with open("stored.jsonl", "a") as out:
            out.write(json.dumps({"test": item.name, "logs": stored}) + "\\n")
    return result
"""

CASES = """
import httpx, pytest

def chat(aigw, text="hi"):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": text})

@pytest.mark.aigw_eval
def test_good(aigw):
    chat(aigw)
    aigw.score(90)

@pytest.mark.aigw_eval
def test_bad(aigw):
    chat(aigw)
    chat(aigw)
    aigw.score(20)
    assert False, "the answer was wrong"

@pytest.mark.aigw_eval
def test_judged_per_log(aigw):
    chat(aigw, "a")
    chat(aigw, "b")
    first, second = aigw.log_ids
    aigw.feedback(-1, log_id=second)
    aigw.score(70, log_id=first)

@pytest.mark.aigw_eval
def test_skipped(aigw):
    chat(aigw)
    pytest.skip("not today")

@pytest.mark.aigw_eval
@pytest.mark.xfail(reason="known bad")
def test_xfail(aigw):
    chat(aigw)
    assert False

@pytest.mark.aigw_eval
def test_setup_error(aigw, missing_fixture):
    pass

def test_not_an_eval(aigw):
    chat(aigw)
"""


def stored(pytester: pytest.Pytester) -> dict[str, list[list[Any]]]:
    lines = (pytester.path / "stored.jsonl").read_text().splitlines()
    return {r["test"]: list(r["logs"].values()) for r in map(json.loads, lines)}


def report(pytester: pytest.Pytester, name: str = "eval.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / name).read_text())
    return data


def test_feedback_follows_the_outcome_and_the_tests_decisions(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(STORED_CONFTEST)
    pytester.makepyfile(CASES)
    result = pytester.runpytest("--aigw-eval-report=eval.json", "-p", "no:randomly")
    result.assert_outcomes(passed=3, failed=1, skipped=1, xfailed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    logs = stored(pytester)
    assert logs["test_good"] == [[1, 90]]
    assert logs["test_bad"] == [[-1, 20], [-1, 20]]
    assert logs["test_judged_per_log"] == [[1, 70], [-1, None]]
    for untouched in ("test_skipped", "test_xfail", "test_not_an_eval"):
        assert logs[untouched] == [[None, None]]
    cases = {case["nodeid"].split("::")[1]: case for case in report(pytester)["cases"]}
    assert {name: case["outcome"] for name, case in cases.items()} == {
        "test_good": "passed",
        "test_bad": "failed",
        "test_judged_per_log": "passed",
        "test_skipped": "skipped",
        "test_xfail": "xfailed",
        "test_setup_error": "error",
    }
    assert cases["test_bad"]["logs"][0]["verified"] is True
    assert cases["test_skipped"]["logs"] == []
    assert len(cases["test_bad"]["log_ids"]) == 2
    assert cases["test_good"]["duration"] > 0


def test_the_summary_reads_well_in_ci(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CASES)
    result = pytester.runpytest("-p", "no:randomly")
    result.stdout.fnmatch_lines(
        [
            "*= pytest-aigw eval =*",
            "eval cases: 6, passed: 2, failed: 1, pass rate: 66.7%",
            "mean score: 50.0 (4 scored log(s))",
            "feedback: 5 log(s), 5 submitted, 5 verified",
            "slowest cases:",
            "  * test_*.py::test_*",
        ]
    )
    assert "feedback problems" not in result.stdout.str()


GATED = """
import httpx, pytest

@pytest.mark.aigw_eval
@pytest.mark.parametrize("n", range(10))
def test_case(aigw, n):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
    assert n >= FAILURES
"""


@pytest.mark.parametrize(
    ("failures", "rate", "status", "line"),
    [
        (2, "0.8", pytest.ExitCode.OK, "pass rate: 80.0% (gate 80.0%: met)"),
        (3, "0.8", pytest.ExitCode.TESTS_FAILED, "pass rate: 70.0% (gate 80.0%: NOT met)"),
        (1, "95%", pytest.ExitCode.TESTS_FAILED, "pass rate: 90.0% (gate 95.0%: NOT met)"),
        (0, "1", pytest.ExitCode.OK, "pass rate: 100.0% (gate 100.0%: met)"),
    ],
)
def test_the_gate_decides_the_exit_status(
    pytester: pytest.Pytester, failures: int, rate: str, status: int, line: str
) -> None:
    pytester.makepyfile(GATED.replace("FAILURES", str(failures)))
    result = pytester.runpytest(f"--aigw-eval-min-pass-rate={rate}")
    result.assert_outcomes(passed=10 - failures, failed=failures)
    assert result.ret == status
    result.stdout.fnmatch_lines([f"eval cases: 10, passed: {10 - failures}, *{line}"])


def test_the_gate_reads_its_ini_twin(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naigw_eval_min_pass_rate = 0.5\n")
    pytester.makepyfile(GATED.replace("FAILURES", "3"))
    assert pytester.runpytest().ret == pytest.ExitCode.OK


def test_other_failures_still_fail_a_gated_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED.replace("FAILURES", "0") + "\ndef test_plain():\n    assert False\n")
    result = pytester.runpytest("--aigw-eval-min-pass-rate=0.5")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_without_a_gate_failed_evals_fail_the_run_as_usual(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED.replace("FAILURES", "1"))
    assert pytester.runpytest().ret == pytest.ExitCode.TESTS_FAILED


def test_a_bad_gate_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED.replace("FAILURES", "0"))
    result = pytester.runpytest("--aigw-eval-min-pass-rate=high")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*: error: --aigw-eval-min-pass-rate must be a pass rate from 0 to 1"
            " (or 0% to 100%), got 'high'"
        ]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("aigw.score(101)", "aigw.score() value must be a number from 0 to 100, got 101"),
        ("aigw.score(True)", "aigw.score() value must be a number from 0 to 100, got True"),
        ("aigw.feedback(2)", "aigw.feedback() value must be a number from -1 to 1, got 2"),
        (
            "aigw.feedback(1, log_id='nope')",
            "aigw.feedback(log_id='nope'): this test produced no such log; its log ids are []",
        ),
    ],
)
def test_bad_verdicts_say_what_is_allowed(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.aigw_eval
        def test_case(aigw):
            {call}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E   *ConfigError: {message}"])


def test_xdist_gives_one_report_one_summary_and_one_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GATED.replace("FAILURES", "2"))
    result = pytester.runpytest(
        "-n", "2", "--aigw-eval-report=out/eval.json", "--aigw-eval-min-pass-rate=0.8"
    )
    assert result.ret == pytest.ExitCode.OK
    assert result.stdout.str().count("= pytest-aigw eval =") == 1
    data = report(pytester, "out/eval.json")
    assert data["summary"]["cases"] == 10
    assert data["summary"]["feedback_verified"] == 10
    assert data["summary"]["gate_met"] is True


# --- live mode, against the loopback stand-in -----------------------------------------


LIVE_CASES = live_eval_cases(6, "assert n != 5\n")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_live_feedback_is_stored_per_log_through_429s(
    pytester: pytest.Pytester, standin: MockGatewayServer, workers: list[str]
) -> None:
    standin.fail_logs_api(429, times=3, retry_after=0.05)
    pytester.makepyfile(LIVE_CASES)
    result = pytester.runpytest(*live_args(standin), *workers, "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=5, failed=1)
    assert verdicts_by_user(standin) == {str(n): (1 if n != 5 else -1, 10 * n) for n in range(6)}
    summary = report(pytester)["summary"]
    assert (summary["feedback_submitted"], summary["feedback_verified"]) == (6, 6)


def test_failures_to_submit_are_reported_and_do_not_hide_outcomes(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    pytester.makepyfile(LIVE_CASES)
    standin.fail_logs_api(500, times=10_000, retry_after=0)
    result = pytester.runpytest(*live_args(standin), "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "feedback: 6 log(s), 0 submitted, 0 verified",
            "feedback problems (6):",
            "  1. test_*.py::test_case[[]0[]] *: not submitted: Logs API PATCH /logs/* failed:"
            " 500 (code 0) Internal Server Error*",
        ]
    )
    logs = report(pytester)["cases"][0]["logs"]
    assert logs[0]["submitted"] is False
    assert logs[0]["error"].startswith("not submitted: Logs API PATCH")


def test_an_eval_run_with_no_judged_cases_fails_a_gate() -> None:
    run = EvalRun(min_pass_rate=0.5)
    assert run.pass_rate is None
    assert not run.gate_met()
    assert EvalRun().gate_met()


def test_report_path_directories_are_created(tmp_path: Path) -> None:
    run = EvalRun()
    run.write_report(tmp_path / "a" / "b" / "eval.json")
    assert json.loads((tmp_path / "a" / "b" / "eval.json").read_text())["cases"] == []
