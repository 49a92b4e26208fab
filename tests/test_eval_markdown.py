"""The markdown summary of an eval run, appended to GitHub Actions' GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_reports import synthetic_report

from pytest_aigw.eval_markdown import markdown
from pytest_aigw.eval_views import write_views

pytest_plugins = ["pytester"]

CASES = """
import httpx, pytest

@pytest.mark.aigw_eval
@pytest.mark.parametrize("n", range(3))
def test_case(aigw, n):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
    aigw.score(30 * n)
    assert n != 1, "wrong"
"""


def test_a_run_appends_its_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step-summary.md"
    summary.write_text("# Earlier step\n\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(CASES)
    result = pytester.runpytest(
        "--aigw-eval-min-pass-rate=0.5", "--aigw-eval-html=eval.html", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == pytest.ExitCode.OK
    module = "test_a_run_appends_its_summary.py"
    assert summary.read_text(encoding="utf-8") == (
        "# Earlier step\n\n"
        "### pytest-aigw eval: 66.7% passed\n"
        "\n"
        "Gate 50.0%: **met**\n"
        "\n"
        "| cases | passed | failed | skipped | pass rate | mean score |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| 3 | 2 | 1 | 0 | 66.7% | 30.0 |\n"
        "\n"
        "**Failed cases (1):**\n"
        "\n"
        f"- `{module}::test_case[1]` (failed, score 30.0)\n"
        "\n"
        "HTML report: `eval.html`\n"
        "\n"
    )


def test_one_summary_under_xdist(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(CASES)
    result = pytester.runpytest("-n", "2", "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=2, failed=1)
    text = summary.read_text(encoding="utf-8")
    assert text.count("### pytest-aigw eval") == 1
    report = json.loads((pytester.path / "eval.json").read_text())
    assert text == markdown(report)


def test_no_summary_without_eval_cases(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile("def test_plain(aigw):\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)
    assert not summary.exists()


def test_a_summary_that_cannot_be_written_is_a_note(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.path))  # a directory
    pytester.makepyfile(CASES)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["pytest-aigw: could not append the eval summary to GITHUB_STEP_SUMMARY: *"]
    )


def test_the_full_shape_summarises_cost_trials_and_regressions() -> None:
    report = synthetic_report(30)
    text = markdown(report)
    summary = report["summary"]
    header, rule, row = text.splitlines()[4:7]
    assert header.split(" | ")[6:] == [
        "stable pass",
        "flaky",
        "stable fail",
        "cost",
        "tokens in",
        "tokens out",
        "mean latency |",
    ]
    assert rule.count("---:") == 13
    assert f"| ${summary['cost_usd']:,.4f} | {summary['tokens_in']:,} |" in row
    regressions = summary["baseline"]["regressions"]
    assert f"**Regressions against `baseline/eval <old>.json` ({len(regressions)}):**" in text
    assert f"- `{regressions[0]}`" in text
    failed = [c for c in report["cases"] if c["outcome"] == "failed"]
    assert len(failed) > 10
    assert f"**Failed cases ({len(failed)}):**" in text
    assert f"- ... and {len(failed) - 10} more" in text
    assert text.count("pass rate 33.3%)") + text.count("pass rate 0.0%)") == 10
    assert f"Gate 50.0%: **{'met' if summary['gate_met'] else 'NOT met'}**" in text


def test_the_cost_cap_and_odd_reports() -> None:
    stopped = {"max_cost_usd": 1.0, "stopped_by_cost_cap": True, "skipped_by_cost_cap": 4}
    assert "The cost cap ($1.0000) stopped the run: 4 test(s) skipped." in markdown(
        {"summary": stopped}
    )
    assert "cost cap" not in markdown({"summary": {**stopped, "stopped_by_cost_cap": False}})
    assert markdown({}).startswith("### pytest-aigw eval: n/a passed\n\nNo pass-rate gate.\n")
    assert "not applied" in markdown({"summary": {"min_pass_rate": 0.9}})


@pytest.mark.parametrize(
    ("nodeid", "span"),
    [
        ("t.py::test[a`b]", "``t.py::test[a`b]``"),
        ("t.py::test[``]", "```t.py::test[``]```"),
        ("t.py::test`", "`` t.py::test` ``"),
        ("`x", "`` `x ``"),
        ("a\nb", "`a b`"),
    ],
)
def test_node_ids_stay_code_spans(nodeid: str, span: str) -> None:
    text = markdown({"cases": [{"nodeid": nodeid, "outcome": "error"}]})
    assert f"- {span} (error)" in text


def test_views_are_written_only_when_asked(tmp_path: Path) -> None:
    assert write_views({}, None, {}) == []
    assert not list(tmp_path.iterdir())
    notes = write_views({}, str(tmp_path / "v.html"), {"GITHUB_STEP_SUMMARY": ""})
    assert notes == []
    assert [p.name for p in tmp_path.iterdir()] == ["v.html"]
