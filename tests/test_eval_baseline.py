"""Comparing an eval run with a baseline report, as users meet it."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest_plugins = ["pytester"]

# Case n scores 10 * n and costs $0.001 * (n + 1); the cases in FAILING fail.
CASES = """
import json, httpx, pytest

@pytest.mark.aigw_eval
@pytest.mark.parametrize("n", NAMES)
def test_case(aigw, n):
    cost = json.dumps({"total_cost": 0.001 * (n + 1)})
    httpx.post(
        aigw.url("openai") + "/chat/completions",
        json={"model": "m", "messages": []},
        headers={"authorization": "Bearer sk-test", "cf-aig-custom-cost": cost},
    )
    aigw.score(10 * n)
    assert n not in FAILING
"""


def cases(names: list[int], failing: list[int]) -> str:
    return CASES.replace("NAMES", repr(names)).replace("FAILING", repr(failing))


def node(n: int) -> str:
    return f"test_case.py::test_case[{n}]"


def case(
    n: int, outcome: str, score: float | None = None, cost: float | None = None
) -> dict[str, Any]:
    """A case as a report holds it (schema 1 when *cost* is None)."""
    entry: dict[str, Any] = {
        "nodeid": node(n),
        "outcome": outcome,
        "logs": [{"log_id": "x", "score": score}],
    }
    if cost is not None:
        entry["cost_usd"] = cost
    return entry


def write_baseline(pytester: pytest.Pytester, *entries: dict[str, Any]) -> None:
    report = {"summary": {"cases": len(entries)}, "cases": list(entries)}
    (pytester.path / "base.json").write_text(json.dumps(report))


def run_cases(pytester: pytest.Pytester, names: list[int], failing: list[int], *args: str) -> Any:
    pytester.makepyfile(test_case=cases(names, failing))
    return pytester.runpytest("-p", "no:randomly", "--aigw-eval-report=eval.json", *args)


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "eval.json").read_text())
    return data


def test_the_summary_and_the_report_show_the_comparison(pytester: pytest.Pytester) -> None:
    write_baseline(
        pytester,
        case(0, "passed", 0, 0.001),  # same
        case(1, "passed", 30, 0.001),  # regression: now fails, scores 10, costs 0.002
        case(2, "failed", 20, 0.003),  # fix
        case(9, "passed", 90, 0.01),  # removed
    )
    result = run_cases(pytester, [0, 1, 2, 3], [1], "--aigw-eval-baseline=base.json")
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the failed test, as without a baseline
    result.stdout.fnmatch_lines(
        [
            "baseline base.json: 1 regression(s), 1 fix(es), 1 new, 1 removed",
            "regressions:",
            f"  {node(1)}: passed -> failed (score -20.0, cost +$0.001)",
            "fixes:",
            f"  {node(2)}: failed -> passed (score +0.0, cost +$0.00)",
            f"new: {node(3)}",
            f"removed: {node(9)}",
        ]
    )
    assert "regression(s) against the baseline fail the run" not in result.stdout.str()
    data = report(pytester)
    assert data["summary"]["baseline"] == {
        "path": "base.json",
        "regressions": [node(1)],
        "fixes": [node(2)],
        "new": [node(3)],
        "removed": [node(9)],
        "fail_on_regression": False,
    }
    by_node = {entry["nodeid"]: entry["baseline"] for entry in data["cases"]}
    assert by_node[node(0)] == {
        "status": "same",
        "outcome": "passed",
        "score_delta": 0.0,
        "cost_delta_usd": 0.0,
    }
    assert by_node[node(1)] == {
        "status": "regression",
        "outcome": "passed",
        "score_delta": -20.0,
        "cost_delta_usd": 0.001,
    }
    assert by_node[node(3)] == {
        "status": "new",
        "outcome": None,
        "score_delta": None,
        "cost_delta_usd": None,
    }


def test_a_schema_1_report_is_a_baseline_without_cost(pytester: pytest.Pytester) -> None:
    write_baseline(pytester, case(0, "failed", 50), {"nodeid": node(1), "outcome": "passed"})
    result = run_cases(pytester, [0, 1], [], "--aigw-eval-baseline=base.json")
    result.stdout.fnmatch_lines(["fixes:", f"  {node(0)}: failed -> passed (score -50.0)"])
    by_node = {entry["nodeid"]: entry["baseline"] for entry in report(pytester)["cases"]}
    assert by_node[node(0)]["cost_delta_usd"] is None
    assert by_node[node(1)] == {
        "status": "same",
        "outcome": "passed",
        "score_delta": None,
        "cost_delta_usd": None,
    }


def test_a_report_is_a_baseline_for_the_next_run(pytester: pytest.Pytester) -> None:
    run_cases(pytester, [0, 1], [])
    (pytester.path / "eval.json").rename(pytester.path / "base.json")
    result = run_cases(
        pytester, [0, 1], [0], "--aigw-eval-baseline=base.json", "--aigw-eval-fail-on-regression"
    )
    result.stdout.fnmatch_lines([f"  {node(0)}: passed -> failed (score +0.0, cost +$0.00)"])
    assert report(pytester)["summary"]["baseline"]["regressions"] == [node(0)]


@pytest.mark.parametrize(
    ("failing", "gate", "status"),
    [
        ([1], [], pytest.ExitCode.TESTS_FAILED),
        ([1], ["--aigw-eval-min-pass-rate=0.5"], pytest.ExitCode.TESTS_FAILED),
        ([], ["--aigw-eval-min-pass-rate=0.5"], pytest.ExitCode.OK),
        ([], [], pytest.ExitCode.OK),
    ],
)
def test_fail_on_regression_fails_the_run_on_any_regression(
    pytester: pytest.Pytester, failing: list[int], gate: list[str], status: int
) -> None:
    write_baseline(pytester, case(0, "passed"), case(1, "passed"))
    result = run_cases(
        pytester,
        [0, 1],
        failing,
        "--aigw-eval-baseline=base.json",
        "--aigw-eval-fail-on-regression",
        *gate,
    )
    assert result.ret == status
    line = (
        "pytest-aigw: 1 regression(s) against the baseline fail the run"
        f" (--aigw-eval-fail-on-regression): {node(1)}"
    )
    assert (line in result.stdout.lines) == bool(failing)
    assert report(pytester)["summary"]["baseline"]["fail_on_regression"] is True


@pytest.mark.parametrize("place", ["env", "ini"])
def test_baseline_and_fail_on_regression_have_env_and_ini_twins(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, place: str
) -> None:
    write_baseline(pytester, case(0, "passed"))
    if place == "env":
        monkeypatch.setenv("PYTEST_AIGW_EVAL_BASELINE", "base.json")
        monkeypatch.setenv("PYTEST_AIGW_EVAL_FAIL_ON_REGRESSION", "1")
    else:
        pytester.makeini(
            "[pytest]\naigw_eval_baseline = base.json\naigw_eval_fail_on_regression = true\n"
        )
    result = run_cases(pytester, [0], [0], "--aigw-eval-min-pass-rate=0")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["pytest-aigw: 1 regression(s) against the baseline fail *"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read 'base.json': No such file or directory"),
        ("{", "'base.json' is not JSON (Expecting property name enclosed in double quotes:*)"),
        ("[1]", "'base.json' is not an eval report: it holds no JSON object"),
        ('{"summary": {}}', """'base.json' is not an eval report: it has no "cases" list"""),
        ('{"cases": [1]}', "'base.json' is not an eval report: cases[[]0[]] is not an object"),
        (
            '{"cases": [{"nodeid": "a", "outcome": "passed"}, {"nodeid": "b"}]}',
            """'base.json' is not an eval report: cases[[]1[]] has no "outcome" string""",
        ),
        (
            '{"cases": [{"nodeid": 1, "outcome": "passed"}]}',
            """'base.json' is not an eval report: cases[[]0[]] has no "nodeid" string""",
        ),
        (b"\xff\xfe{", "'base.json' is not JSON (*)"),
    ],
)
def test_a_bad_baseline_is_a_usage_error_naming_the_path(
    pytester: pytest.Pytester, content: str | bytes | None, problem: str
) -> None:
    if isinstance(content, str):
        (pytester.path / "base.json").write_text(content)
    elif content is not None:
        (pytester.path / "base.json").write_bytes(content)
    pytester.makepyfile(test_case=cases([0], []))
    result = pytester.runpytest("--aigw-eval-baseline=base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*: error: --aigw-eval-baseline: {problem}; give the path of a report an earlier"
            " run wrote with --aigw-eval-report"
        ]
    )


def test_a_directory_is_no_baseline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_EVAL_BASELINE", str(pytester.path))
    pytester.makepyfile(test_case=cases([0], []))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*: error: PYTEST_AIGW_EVAL_BASELINE: cannot read '{pytester.path}': Is a directory;*"]
    )


def test_fail_on_regression_needs_a_baseline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_case=cases([0], []))
    result = pytester.runpytest("--aigw-eval-fail-on-regression")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*: error: --aigw-eval-fail-on-regression compares with a baseline: give"
            " --aigw-eval-baseline=PATH (a previous --aigw-eval-report), or leave"
            " --aigw-eval-fail-on-regression out"
        ]
    )


def test_a_baseline_gone_by_the_end_is_reported_not_raised(
    pytester: pytest.Pytester,
) -> None:
    write_baseline(pytester, case(0, "passed"))
    pytester.makepyfile(
        test_case=cases([0], [])
        + "\n\ndef test_remove():\n    import os\n    os.remove('base.json')\n"
    )
    result = pytester.runpytest("-p", "no:randomly", "--aigw-eval-baseline=base.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "baseline base.json: 0 regression(s), 0 fix(es), 1 new, 0 removed",
            "pytest-aigw: --aigw-eval-baseline: cannot read 'base.json': No such file*",
        ]
    )


def test_many_new_cases_are_named_ten_at_most(pytester: pytest.Pytester) -> None:
    write_baseline(pytester)
    result = run_cases(pytester, list(range(12)), [], "--aigw-eval-baseline=base.json")
    names = ", ".join(node(n) for n in range(10))
    result.stdout.fnmatch_lines([f"new: {names} (and 2 more)"])
