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
        "| cases | passed | failed | skipped | pass rate | mean score | cost | tokens in"
        " | tokens out | mean latency |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| 3 | 2 | 1 | 0 | 66.7% | 30.0 | $0 | 0 | 0 | 0 ms |\n"
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


def test_the_summary_of_a_small_full_report_word_for_word() -> None:
    report = {
        "summary": {
            "cases": 3, "passed": 1, "failed": 2, "skipped": 0, "pass_rate": 1 / 3,
            "min_pass_rate": 0.9, "gate_met": False, "mean_score": 42.0, "flaky": 1,
            "stable_pass": 1, "stable_fail": 1, "cost_usd": 0.5, "tokens_in": 1200,
            "tokens_out": 300, "latency_ms": 850.0,
            "baseline": {"path": "old.json", "regressions": ["t::b"], "fixes": []},
        },
        "cases": [
            {"nodeid": "t::a", "outcome": "passed"},
            {"nodeid": "t::b", "outcome": "failed", "pass_rate": 0.5, "logs": [{"score": 10}]},
            {"nodeid": "t::c", "outcome": "error"},
        ],
    }  # fmt: skip
    assert markdown(report, "out/eval.html") == (
        "### pytest-aigw eval: 33.3% passed\n"
        "\n"
        "Gate 90.0%: **NOT met**\n"
        "\n"
        "| cases | passed | failed | skipped | pass rate | mean score | stable pass | flaky"
        " | stable fail | cost | tokens in | tokens out | mean latency |\n"
        "|" + " ---: |" * 13 + "\n"
        "| 3 | 1 | 2 | 0 | 33.3% | 42.0 | 1 | 1 | 1 | $0.5000 | 1,200 | 300 | 850 ms |\n"
        "\n"
        "**Regressions against `old.json` (1):**\n"
        "\n"
        "- `t::b`\n"
        "\n"
        "**Failed cases (2):**\n"
        "\n"
        "- `t::b` (failed, score 10.0, pass rate 50.0%)\n"
        "- `t::c` (error)\n"
        "\n"
        "HTML report: `out/eval.html`\n"
        "\n"
    )


def test_a_list_of_exactly_ten_has_no_more_line() -> None:
    cases = [{"nodeid": f"t::{n}", "outcome": "failed"} for n in range(10)]
    text = markdown({"cases": cases})
    assert "- `t::9` (failed)\n" in text
    assert "more" not in text
    text = markdown({"cases": [*cases, {"nodeid": "t::10", "outcome": "failed"}]})
    assert "- `t::10`" not in text
    assert "- ... and 1 more\n" in text


def test_views_write_notes_instead_of_failing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    notes = write_views({}, str(blocker / "eval.html"), {"GITHUB_STEP_SUMMARY": str(tmp_path)})
    assert len(notes) == 2
    assert notes[0].startswith("could not write the eval HTML report: [Errno 17] File exists")
    assert notes[1].startswith(
        "could not append the eval summary to GITHUB_STEP_SUMMARY: [Errno 21] Is a directory"
    )


def test_views_append_to_the_step_summary_and_name_the_page(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("before\n", encoding="utf-8")
    html = tmp_path / "eval.html"
    assert write_views({}, str(html), {"GITHUB_STEP_SUMMARY": str(summary)}) == []
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    text = summary.read_text(encoding="utf-8")
    assert text == "before\n" + markdown({}, str(html))
    assert f"HTML report: `{html}`" in text


def test_fixes_gate_wording_and_the_cost_cap_in_place() -> None:
    report = {
        "summary": {
            "min_pass_rate": 0.9,
            "max_cost_usd": 1.0,
            "stopped_by_cost_cap": True,
            "baseline": {"fixes": ["t::f"]},
        },
        "cases": [{"outcome": "failed"}],
    }
    text = markdown(report)
    assert "Gate 90.0%: **not applied**\n" in text
    assert (
        "| n/a | n/a | n/a | n/a | n/a | n/a |\n\nThe cost cap ($1.0000) stopped the run:" in text
    )
    assert "stopped the run: 0 test(s) skipped.\n\n**Fixes against `?` (1):**\n\n- `t::f`\n" in text
    assert "- `?` (failed)\n" in text
