"""The baseline comparison over any case sets, and reading baselines, part by part."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw._errors import ConfigError
from pytest_aigw.eval_baseline import (
    Baseline,
    CaseFigures,
    compare,
    figures,
    read_baseline,
    signed_usd,
)


def node(n: int) -> str:
    return f"test_case.py::test_case[{n}]"


def case(
    n: int, outcome: str, score: float | None = None, cost: float | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"nodeid": node(n), "outcome": outcome, "logs": [{"score": score}]}
    if cost is not None:
        entry["cost_usd"] = cost
    return entry


OUTCOMES = st.sampled_from(["passed", "failed", "skipped", "xfailed", "xpassed", "error"])
FIGURES = st.builds(
    CaseFigures,
    OUTCOMES,
    st.none() | st.floats(0, 100),
    st.none() | st.floats(0, 10),
)
CASE_SETS = st.dictionaries(st.text(min_size=1, max_size=8), FIGURES, max_size=12)


@given(CASE_SETS, CASE_SETS, st.booleans())
def test_the_comparison_sorts_every_case_once(
    before: dict[str, CaseFigures], now: dict[str, CaseFigures], fail: bool
) -> None:
    result = compare(Baseline("b.json", before), now, fail_on_regression=fail)
    assert set(result.changes) == set(now)
    assert set(result.removed) == set(before) - set(now)
    assert set(result.new) == set(now) - set(before)
    for nodeid, change in result.changes.items():
        if nodeid not in before:
            assert change == result.changes[nodeid]
            assert (change.status, change.outcome, change.score_delta) == ("new", None, None)
            continue
        old, new = before[nodeid], now[nodeid]
        expected = {
            ("passed", "failed"): "regression",
            ("failed", "passed"): "fix",
        }.get((old.outcome or "", new.outcome or ""), "same")
        assert change.status == expected
        assert change.outcome == old.outcome
        if old.score is None or new.score is None:
            assert change.score_delta is None
        else:
            assert change.score_delta == new.score - old.score
        if old.cost_usd is None or new.cost_usd is None:
            assert change.cost_delta_usd is None
        else:
            assert change.cost_delta_usd == new.cost_usd - old.cost_usd
    assert result.failed == (fail and bool(result.regressions))
    summary = result.summary()
    assert summary["regressions"] == [n for n in now if result.changes[n].status == "regression"]
    assert len(result.lines()) >= 1
    json.dumps([summary, *(result.case(n) for n in now)])  # the report can hold it
    assert result.case("not a case") is None or "not a case" in now


@given(st.lists(st.none() | st.floats(allow_nan=True) | st.booleans() | st.text(), max_size=5))
def test_a_case_score_is_the_mean_of_its_numeric_log_scores(scores: list[Any]) -> None:
    entry = {"nodeid": "n", "outcome": "passed", "logs": [{"score": s} for s in scores]}
    numbers = [
        s
        for s in scores
        if isinstance(s, float) and not isinstance(s, bool) and s == s and abs(s) != float("inf")
    ]
    score = figures(entry).score
    if numbers:
        assert score == pytest.approx(sum(n / len(numbers) for n in numbers))
    else:
        assert score is None


def test_odd_report_cases_read_as_absent_fields() -> None:
    assert figures({"nodeid": "n", "outcome": "failed", "logs": "x", "cost_usd": True}) == (
        CaseFigures("failed", None, None)
    )
    assert figures({"nodeid": "n", "outcome": "failed", "logs": [1, {"score": 4}]}) == (
        CaseFigures("failed", 4.0, None)
    )


def test_signed_dollars() -> None:
    assert (signed_usd(0.0012), signed_usd(-0.0012), signed_usd(0)) == (
        "+$0.0012",
        "-$0.0012",
        "+$0.00",
    )


def test_reading_a_baseline_keeps_every_case(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"cases": [case(1, "passed", 10, 0.5), case(2, "error")]}))
    baseline = read_baseline(str(path), "where")
    assert baseline.cases == {
        node(1): CaseFigures("passed", 10.0, 0.5),
        node(2): CaseFigures("error", None, None),
    }
    path.write_text("[" * 100_000)
    with pytest.raises(ConfigError, match="is not JSON"):
        read_baseline(str(path), "where")


def test_the_lines_name_regressions_and_fixes_with_their_deltas() -> None:
    before = Baseline(
        "b.json",
        {
            "r": CaseFigures("passed", 90.0, 0.002),
            "f": CaseFigures("failed", None, None),
            "s": CaseFigures("passed"),
            "gone": CaseFigures("passed"),
        },
    )
    now = {
        "r": CaseFigures("failed", 20.0, 0.001),
        "f": CaseFigures("passed", 50.0),
        "s": CaseFigures("skipped"),
        "n": CaseFigures("passed"),
    }
    result = compare(before, now, fail_on_regression=True)
    assert result.lines() == [
        "baseline b.json: 1 regression(s), 1 fix(es), 1 new, 1 removed",
        "regressions:",
        "  r: passed -> failed (score -70.0, cost -$0.001)",
        "fixes:",
        "  f: failed -> passed",
        "new: n",
        "removed: gone",
    ]
    assert result.failed
    assert result.failure() == (
        "1 regression(s) against the baseline fail the run (--aigw-eval-fail-on-regression): r"
    )
    assert result.case("s") == {
        "status": "same",
        "outcome": "passed",
        "score_delta": None,
        "cost_delta_usd": None,
    }
    assert not compare(before, now).failed
    assert not compare(before, {"f": CaseFigures("passed")}, fail_on_regression=True).failed


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[1]", "'P' is not an eval report: it holds no JSON object"),
        ('{"summary": {}}', """'P' is not an eval report: it has no "cases" list"""),
        ('{"cases": [[]]}', "'P' is not an eval report: cases[0] is not an object"),
        (
            '{"cases": [{"nodeid": "a"}]}',
            """'P' is not an eval report: cases[0] has no "outcome" string""",
        ),
        ("nope", "'P' is not JSON (Expecting value: line 1 column 1 (char 0))"),
    ],
)
def test_a_bad_baseline_says_where_and_what(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as raised:
        read_baseline(str(path), "ini aigw_eval_baseline")
    fix = "give the path of a report an earlier run wrote with --aigw-eval-report"
    assert str(raised.value) == (
        f"ini aigw_eval_baseline: {problem.replace('P', str(path))}; {fix}"
    )
    with pytest.raises(ConfigError) as missing:
        read_baseline(str(tmp_path / "none.json"), "W")
    assert str(missing.value) == (
        f"W: cannot read {str(tmp_path / 'none.json')!r}: No such file or directory; {fix}"
    )


def test_summary_failure_and_long_lists() -> None:
    before = Baseline(
        "b.json", {"a": CaseFigures("passed", None, 0.25), "b": CaseFigures("passed")}
    )
    now = {
        "a": CaseFigures("failed", None, 0.5),
        "b": CaseFigures("failed"),
        **{f"n{i}": CaseFigures("passed") for i in range(12)},
    }
    result = compare(before, now, fail_on_regression=True)
    assert result.summary() == {
        "path": "b.json",
        "regressions": ["a", "b"],
        "fixes": [],
        "new": [f"n{i}" for i in range(12)],
        "removed": [],
        "fail_on_regression": True,
    }
    assert result.failure().endswith("(--aigw-eval-fail-on-regression): a, b")
    assert result.case("a") == {
        "status": "regression",
        "outcome": "passed",
        "score_delta": None,
        "cost_delta_usd": 0.25,
    }
    assert result.lines()[-1] == f"new: {', '.join(f'n{i}' for i in range(10))} (and 2 more)"


def test_a_cost_that_is_not_a_finite_number_reads_as_none() -> None:
    entry = {"nodeid": "n", "outcome": "passed", "cost_usd": float("nan")}
    assert figures(entry) == CaseFigures("passed", None, None)


def test_ten_new_cases_are_all_named(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"cases": []}')
    baseline = read_baseline(str(path), "W")
    assert baseline.path == str(path)
    result = compare(baseline, {f"n{i}": CaseFigures("passed") for i in range(10)})
    assert result.lines()[-1] == f"new: {', '.join(f'n{i}' for i in range(10))}"
