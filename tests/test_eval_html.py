"""The HTML eval report: rendered from any report dict, escaped, folded, charted."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from eval_reports import HOSTILE, LONG_REPLY, synthetic_report
from html_page import Page
from hypothesis import given, settings
from hypothesis import strategies as st
from json_strategies import json_values

from pytest_aigw import _report_fields as f
from pytest_aigw._svg_charts import Bar, bar_chart, histogram, stacked_bar
from pytest_aigw.eval_html import render, write_html

pytest_plugins = ["pytester"]

CASES = """
import httpx, pytest

def chat(aigw, text="hi"):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": text})

@pytest.mark.aigw_eval
@pytest.mark.parametrize("n", range(4))
def test_good(aigw, n):
    chat(aigw)
    aigw.score(25 * n)

@pytest.mark.aigw_eval
def test_bad(aigw):
    chat(aigw)
    chat(aigw)
    aigw.score(5)
    assert False, "the answer was wrong"

@pytest.mark.aigw_eval
def test_skipped(aigw):
    pytest.skip("not today")

def test_not_an_eval(aigw):
    chat(aigw)
"""


def test_every_field_of_a_full_report_shows() -> None:
    report = synthetic_report(12)
    page = Page(render(report))
    summary, cases = report["summary"], report["cases"]
    assert page.text("pass-rate") == f"pass rate {summary['pass_rate']:.1%}"
    assert page.text("cases") == "cases 12"
    assert page.text("passed") == f"passed {summary['passed']}"
    assert page.text("failed") == f"failed {summary['failed']}"
    assert page.text("mean-score") == f"mean score {summary['mean_score']:.1f}"
    assert page.text("verified") == f"feedback verified {summary['feedback_verified']} of 36"
    assert page.text("trials") == "trials 36"
    assert page.text("flaky") == f"flaky {summary['flaky']}"
    assert page.text("cost-usd") == f"cost {f.usd(summary['cost_usd'])}"
    assert page.text("tokens-in") == f"tokens in {summary['tokens_in']:,}"
    assert page.text("latency-ms") == f"mean latency {summary['latency_ms']:,.0f} ms"
    assert page.text("cost-cap") == "cost cap $5.0000: not reached"
    for chart in ("pass-rate", "cost", "latency", "duration", "score-delta", "cost-delta"):
        assert page.marks(f"chart-{chart}") == 12, chart
    assert page.marks("chart-scores", "bin") == 10
    assert "score 'relevance'" in page.text("charts")
    assert page.marks("chart-score-1") == page.marks("chart-score-2") == 10
    assert page.marks("chart-outcomes") == 2  # passed and failed: no empty segment
    failed = [c["nodeid"] for c in cases if c["outcome"] == "failed"]
    assert page.text("failures") == f"Failed cases ({len(failed)}) " + " ".join(failed)
    baseline = summary["baseline"]
    assert page.text("baseline-regressions").startswith(
        f"regressions ({len(baseline['regressions'])})"
    )
    assert (
        page.text("baseline-removed") == "removed (1) tests/test_answers.py::test_gone[<removed>]"
    )
    for index, case in enumerate(cases, start=1):
        row = page.text(f"case-{index}")
        assert row.startswith(f"{index} {case['nodeid']} {case['outcome']} {case['verdict']}")
        assert f"{case['pass_rate']:.1%} (min 60.0%)" in row
        assert f"{case['tokens_in']:,} / {case['tokens_out']:,}" in row
        assert f.usd(case["cost_usd"]) in row
        score = f.score(f.case_score(case))
        seconds, ms = f.seconds(case["duration"]), f.ms(case["latency_ms"])
        assert f"{score} {seconds} {case['tokens_in']:,}" in row
        assert f"{f.usd(case['cost_usd'])} {ms} {case['baseline']['status']}" in row
        assert case["baseline"]["status"] in row
        assert "2 exchange(s), 3 log(s)" in row
        assert all(log_id in row for log_id in case["log_ids"] + case["judge_log_ids"])
        assert "trial 3:" in row
        assert f"relevance {case['scores']['relevance']:.1f}" in row


def test_text_is_escaped_and_links_are_only_https() -> None:
    source = render(synthetic_report(3))
    page = Page(source)
    assert HOSTILE not in source
    assert "<script" not in source
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in source
    assert HOSTILE in page.text("case-1")
    assert page.tags.count("a") == len(page.hrefs)
    assert [h for h in page.hrefs if not h.startswith("#")] == [
        "https://dash.cloudflare.com/acc/ai/ai-gateway/gw/logs/" + case["log_ids"][0]
        for case in synthetic_report(3)["cases"]
    ]
    assert not any("javascript" in href for href in page.hrefs)


def test_long_texts_fold_and_short_ones_do_not() -> None:
    report = synthetic_report(2)
    source = render(report)
    long_reply = source.index('<div class="reply"><b>reply</b><details class="fold">')
    assert f"({len(LONG_REPLY):,} characters)</summary>" in source[long_reply:]
    assert '<div class="reply"><b>reply</b><pre>Answer 1</pre>' in source


def test_a_report_of_todays_fields_renders_without_the_others() -> None:
    report = synthetic_report(4)
    for case in report["cases"]:
        for key in ("tokens_in", "tokens_out", "cost_usd", "latency_ms", "trials", "pass_rate"):
            del case[key]
        for key in ("min_pass_rate", "verdict", "scores", "judge_log_ids", "baseline"):
            del case[key]
        del case["exchanges"]
    for key in ("schema", "tokens_in", "cost_usd", "latency_ms", "baseline", "trials"):
        del report["summary"][key]
    del report["summary"]["max_cost_usd"]
    page = Page(render(report))
    assert page.marks("chart-pass-rate") == 4
    assert page.marks("chart-duration") == 4
    for absent in ("chart-cost", "chart-latency", "baseline", "cost-cap", "cost-usd", "trials"):
        assert absent not in page.texts
    rates = [f.rate(f.case_rate(case)) for case in report["cases"]]
    assert [page.text(f"case-{n}").split()[3] for n in (1, 2, 3, 4)] == rates
    assert "0 exchange(s), 3 log(s)" in page.text("case-1")


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"summary": None, "cases": "none"},
        {"summary": {"pass_rate": "high", "min_pass_rate": 0.5}, "cases": [None, 3, {}]},
        {"summary": {"baseline": {"regressions": "x", "new": [None, 1]}}, "cases": [{"x": 1}]},
        {"cases": [{"outcome": 3, "logs": [{"score": "90"}, {"score": float("nan")}]}]},
        {"cases": [{"exchanges": [{"status": True, "judge": "yes", "tool_calls": [1]}]}]},
    ],
)
def test_odd_reports_render(report: dict[str, Any]) -> None:
    page = Page(render(report))
    assert page.text("summary").startswith("Summary pass rate n/a")


def test_gate_and_cost_cap_wording() -> None:
    def gate(**summary: Any) -> str:
        return Page(render({"summary": summary})).text("gate")

    assert gate() == "no pass-rate gate"
    assert gate(min_pass_rate=0.8, gate_met=True) == "gate 80.0%: met"
    assert gate(min_pass_rate=0.8, gate_met=False) == "gate 80.0%: NOT met"
    assert gate(min_pass_rate=0.8) == "gate 80.0%: not applied"
    stopped = {"max_cost_usd": 0.5, "stopped_by_cost_cap": True, "skipped_by_cost_cap": 7}
    page = Page(render({"summary": stopped}))
    assert page.text("cost-cap") == "cost cap $0.5000: the cap stopped the run; 7 test(s) skipped"
    assert '<p id="gate" class="gate not-met">' in render(
        {"summary": {"min_pass_rate": 0.8, "gate_met": False}}
    )


def test_long_lists_of_cases_fold() -> None:
    report = synthetic_report(60)
    source = render(report)
    failed = sum(case["outcome"] == "failed" for case in report["cases"])
    assert failed > 20
    assert f"<summary>show all {failed}</summary>" in source
    short = synthetic_report(5)
    assert "show all" not in render(short).split('id="baseline"')[0]


def test_charts_scale_their_marks() -> None:
    chart = bar_chart("c", "label", [Bar(1.0, "a"), Bar(0.5, "b"), Bar(None, "c", "x")])
    rects = [part.split('"')[1::2] for part in chart.split("<rect")[1:]]
    (kind_a, x_a, y_a, w_a, h_a), (_, x_b, y_b, _, h_b), (kind_c, _, y_c, _, h_c) = [
        r[:5] for r in rects
    ]
    assert (kind_a, kind_c) == ("mark value", "mark none x")
    assert float(h_a) == 2 * float(h_b) == 184  # the plot is 220 - 12 - 24 units high
    assert float(y_a) == 12
    assert float(y_b) == 12 + 92
    assert float(h_c) == 2
    assert float(y_c) == 12 + 184 - 1
    assert float(x_b) - float(x_a) == pytest.approx((960 - 70 - 10) / 3, abs=0.01)
    assert float(w_a) == pytest.approx((960 - 70 - 10) / 3 * 0.8, abs=0.01)
    assert "<title>a</title>" in chart
    assert 'aria-label="label"' in chart


def test_diverging_bars_hang_from_zero() -> None:
    chart = bar_chart("c", "l", [Bar(-2.0, "down"), Bar(2.0, "up")], low=-2, high=2)
    (y_down, h_down), (y_up, h_up) = [
        (float(part.split('y="')[1].split('"')[0]), float(part.split('height="')[1].split('"')[0]))
        for part in chart.split("<rect")[1:]
    ]
    assert y_down == 12 + 92
    assert h_down == 92
    assert y_up == 12
    assert h_up == 92


def test_a_thin_bar_fills_its_step_and_a_tiny_one_stays_visible() -> None:
    chart = bar_chart("c", "l", [Bar(1e-9, "tiny")] * 300, high=1.0)
    first = chart.split("<rect")[1]
    assert 'width="2.93"' in first  # 880 / 300: no gap
    assert 'height="1"' in first


def test_histogram_bins() -> None:
    chart = histogram("h", "l", [-5, 0, 9.99, 10, 55, 100, 250], low=0, high=100, bins=10)
    tips = [part.split("<title>")[1].split("</title>")[0] for part in chart.split("<rect")[1:]]
    assert tips[0] == "[0, 10): 3"
    assert tips[1] == "[10, 20): 1"
    assert tips[5] == "[50, 60): 1"
    assert tips[9] == "[90, 100]: 2"
    assert sum(int(tip.split(": ")[1]) for tip in tips) == 7
    tallest = chart.split("<rect")[1]
    assert 'y="12"' in tallest
    assert 'height="184"' in tallest


def test_stacked_bar_segments() -> None:
    chart = stacked_bar("s", "l", [("passed", 3), ("failed", 1), ("skipped", 0)])
    assert chart.count("<rect") == 2
    assert 'x="0" y="0" width="720"' in chart
    assert 'x="720" y="0" width="240"' in chart
    assert "<title>failed: 1</title>" in chart


def test_figures_read_as_people_read_them() -> None:
    assert f.usd(0) == "$0"
    assert f.usd(0.000123) == "$0.000123"
    assert f.usd(0.01) == "$0.0100"
    assert f.usd(1234.5) == "$1,234.5000"
    assert f.delta(-0.0012, "$") == "-$0.001200"
    assert f.delta(0.5, "$") == "+$0.5000"
    assert f.delta(2.0) == "+2.0"
    assert f.delta(None) == f.usd(None) == f.rate(None) == "n/a"
    assert f.ms(1234.4) == "1,234 ms"
    assert f.seconds(0.126) == "0.13 s"
    assert f.integer({"n": 3.0}, "n") == 3
    assert f.integer({"n": 3.5}, "n") is None
    assert f.number({"n": True}, "n") is None
    assert f.number({"n": float("inf")}, "n") is None
    assert f.texts({"ids": ["a", None, 3]}, "ids") == ["a", "3"]
    assert f.texts({"ids": "a"}, "ids") == []
    assert f.case_rate({"outcome": "failed"}) == 0.0
    assert f.case_rate({"outcome": "skipped"}) is None
    assert f.case_rate({"outcome": "failed", "pass_rate": 0.5}) == 0.5
    assert f.case_score({"logs": [{"score": 10}, {"score": None}, {"score": 20}]}) == 15


_, JSON = json_values(st.integers(), st.floats(), text=20)
FIELDS = st.sampled_from(
    ["summary", "cases", "nodeid", "outcome", "logs", "score", "scores", "trials", "baseline",
     "exchanges", "prompt", "pass_rate", "cost_usd", "regressions", "status", "log_ids"]
)  # fmt: skip
REPORTS = st.recursive(
    JSON, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(FIELDS, inner, max_size=4)
)


@settings(max_examples=150, deadline=None)
@given(REPORTS)
def test_any_json_renders(report: Any) -> None:
    if not isinstance(report, dict):
        report = {"cases": [report], "summary": report}
    before = copy.deepcopy(report)
    Page(render(report))
    assert report == before


def test_the_file_is_written_where_asked(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "eval.html"
    write_html(synthetic_report(2), path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --- as users meet it -----------------------------------------------------------------


def test_a_run_writes_the_page_from_its_json_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CASES)
    result = pytester.runpytest(
        "--aigw-eval-report=eval.json", "--aigw-eval-html=out/eval.html", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=5, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["report: eval.json", "HTML report: out/eval.html"])
    report = json.loads((pytester.path / "eval.json").read_text())
    page = Page((pytester.path / "out" / "eval.html").read_text())
    summary = report["summary"]
    assert page.text("pass-rate") == f"pass rate {summary['pass_rate']:.1%}" == "pass rate 80.0%"
    assert (page.text("passed"), page.text("failed"), page.text("skipped")) == (
        "passed 4",
        "failed 1",
        "skipped 1",
    )
    assert page.marks("chart-pass-rate") == 6
    assert page.marks("chart-pass-rate", "none") == 1  # the skipped case
    assert page.marks("chart-duration") == 6
    assert page.marks("chart-cost") == 6  # every case has its usage (the fake prices at 0 here)
    assert summary["scored_logs"] == 6  # test_bad's two logs count too
    assert "6 scored log(s), in bins of 10" in page.text("charts")
    assert page.marks("chart-scores") == 10
    for index, case in enumerate(report["cases"], start=1):
        row = page.text(f"case-{index}")
        assert row.startswith(f"{index} {case['nodeid']} {case['outcome']} ")
        assert all(log_id in row for log_id in case["log_ids"])
    assert (
        page.text("failures")
        == "Failed cases (1) test_a_run_writes_the_page_from_its_json_report.py::test_bad"
    )


def test_the_html_path_has_env_and_ini_twins(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(CASES)
    monkeypatch.setenv("PYTEST_AIGW_EVAL_HTML", "from-env.html")
    pytester.runpytest().assert_outcomes(passed=5, failed=1, skipped=1)
    assert (pytester.path / "from-env.html").is_file()
    monkeypatch.delenv("PYTEST_AIGW_EVAL_HTML")
    pytester.makeini("[pytest]\naigw_eval_html = from-ini.html\n")
    pytester.runpytest().assert_outcomes(passed=5, failed=1, skipped=1)
    assert (pytester.path / "from-ini.html").is_file()


def test_no_page_without_eval_cases(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(aigw):\n    pass\n")
    pytester.runpytest("--aigw-eval-html=eval.html").assert_outcomes(passed=1)
    assert not (pytester.path / "eval.html").exists()


def test_a_directory_is_refused_as_the_html_path(pytester: pytest.Pytester) -> None:
    pytester.mkdir("out")
    result = pytester.runpytest("--aigw-eval-html=out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*: error: --aigw-eval-html must name a file, got 'out', which is a directory;"
            " give a file in it, such as 'out/eval.html'"
        ]
    )


def test_a_page_that_cannot_be_written_is_a_note(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        def pytest_sessionstart(session):
            open("late", "w").close()  # where the page's directory was to be
        """
    )
    pytester.makepyfile(CASES)
    result = pytester.runpytest("--aigw-eval-html=late/eval.html")
    result.assert_outcomes(passed=5, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["pytest-aigw: could not write the eval HTML report: *late*"])
    assert "Traceback" not in result.stdout.str()


def test_each_exchange_says_what_was_sent_and_what_came_back() -> None:
    case = synthetic_report(1)["cases"][0]
    source = render({"cases": [case]})
    page = Page(source)
    first, judge = case["exchanges"]
    text = page.text("case-1")
    assert (
        f"POST {first['url']} · gpt-4o-mini · status 200 · log {first['log_id']} · dashboard"
        f" prompt Question 0: {HOSTILE}"
    ) in text
    assert f"POST {judge['url']} · model n/a · status 200 · log n/a · judge call prompt" in text
    assert 'get_weather({"city": "Paris"})' in text
    assert source.count('<div class="exchange judge">') == 1
    assert source.count('<div class="exchange">') == 1
    assert '<ul class="tool-calls"><li><code>get_weather(' in source
    bare = Page(render({"cases": [{"exchanges": [{}]}]})).text("case-1")
    assert "? · model n/a · status n/a · log n/a" in bare
    assert "prompt" not in bare
    assert "tool-calls" not in render({"cases": [{"exchanges": [{}]}]})


@pytest.mark.parametrize(
    ("value", "folded"),
    [("x" * 400, False), ("x" * 401, True), ("a\n" * 7, False), ("a\n" * 8, True)],
)
def test_texts_fold_past_400_characters_or_8_lines(value: str, folded: bool) -> None:
    source = render({"cases": [{"exchanges": [{"reply": value}]}]})
    assert ('<details class="fold">' in source) is folded
    assert f"<pre>{value}</pre>" in source
    if folded:
        preview = value[:120].replace("\n", " ")
        assert f"<summary>{preview}… ({len(value):,} characters)</summary>" in source


def test_cells_carry_the_class_their_colour_comes_from() -> None:
    case: dict[str, Any] = {"nodeid": "t::a", "outcome": "failed", "verdict": "flaky"}
    case["baseline"] = {"status": "regression"}
    source = render({"cases": [case, {"outcome": "weird", "verdict": "odd"}]})
    assert '<td class="outcome failed">failed</td>' in source
    assert '<td class="verdict flaky">flaky</td>' in source
    assert '<td class="status regression">regression</td>' in source
    assert '<td class="outcome other">weird</td>' in source
    assert '<td class="verdict other">odd</td>' in source
    row = Page(source).text("case-2")
    assert row == "2 ? weird odd n/a n/a n/a 0 exchange(s), 0 log(s) log ids: none"


def test_a_case_without_cost_leaves_its_cost_cells_empty() -> None:
    source = render({"cases": [{"tokens_out": 5, "cost_usd": None}]})
    cells = source.split('<td class="num">')
    assert cells[3].startswith("n/a / 5</td>")
    assert cells[4].startswith("n/a</td>")  # cost given, unknown
    assert cells[5].startswith("</td>")  # latency not given
    assert '<td class="num"></td><td class="num"></td>' in render({"cases": [{}]})


def test_deltas_are_coloured_by_which_way_is_better() -> None:
    cases = [
        {"nodeid": f"t::{n}", "baseline": {"score_delta": score, "cost_delta_usd": cost}}
        for n, (score, cost) in enumerate([(5.0, 0.001), (-5.0, -0.001), (None, None)])
    ]
    source = render({"summary": {"baseline": {"path": "b.json"}}, "cases": cases})
    score = source.split('id="chart-score-delta"')[1].split("</svg>")[0]
    cost = source.split('id="chart-cost-delta"')[1].split("</svg>")[0]
    kinds = [part.split('"')[1] for part in score.split("<rect class=")[1:]]
    assert kinds == ["mark fix", "mark regression", "mark none fix"]
    kinds = [part.split('"')[1] for part in cost.split("<rect class=")[1:]]
    assert kinds == ["mark regression", "mark fix", "mark none fix"]
    assert "<title>t::0: +5.0</title>" in score
    assert "<title>t::1: -$0.001000</title>" in cost
    assert ">+5.0</text>" in score
    assert ">-5.0</text>" in score
    page = Page(source)
    assert page.text("baseline").startswith("Against the baseline baseline b.json regressions (0)")
    assert "any regression" not in page.text("baseline")
    assert "chart-score-delta" not in render(
        {"summary": {"baseline": {"path": "b"}}, "cases": [{}]}
    )


def test_a_case_s_baseline_trials_and_logs_read_in_its_details() -> None:
    case = {
        "baseline": {"status": "fix", "outcome": "failed", "score_delta": 12.5},
        "trials": [{"trial": 1, "outcome": "passed", "duration": 0.5, "log_ids": ["L1", "L2"]}, {}],
        "logs": [
            {"log_id": "L1", "feedback": 1, "score": 80, "submitted": True, "verified": True},
            {"log_id": "L2", "feedback": -0.5, "submitted": True, "error": "not verified: x"},
            {"log_id": "L3", "judge": True},
        ],
    }
    text = Page(render({"cases": [case]})).text("case-1")
    assert "baseline: fix, was failed; score +12.5, cost n/a" in text
    assert "trial 1: passed, 0.50 s, logs L1, L2 trial ?: n/a, n/a, logs none" in text
    assert (
        "L1 1 80.0 verified L2 -0.5 n/a submitted not verified: x L3 n/a n/a no judge call" in text
    )
    assert text.endswith("log id feedback score sent note " + text.split("note ", 1)[1])


def test_a_page_can_be_written_again(tmp_path: Path) -> None:
    path = tmp_path / "eval.html"
    write_html({}, path)
    write_html(synthetic_report(1), path)
    assert "case-0" in path.read_text(encoding="utf-8")


def test_more_figures() -> None:
    assert f.ms(None) == "n/a"
    assert f.ms(0.4) == "0 ms"
    assert f.delta(0.0, "$") == "+$0"
    assert f.delta(-1.25) == "-1.2"
    assert f.flag({"b": 1}, "b") is None
    assert f.flag({"b": False}, "b") is False


@pytest.mark.parametrize(("count", "folded"), [(20, False), (21, True)])
def test_lists_fold_past_20_cases(count: int, folded: bool) -> None:
    cases = [{"nodeid": f"t::{n}", "outcome": "failed"} for n in range(count)]
    source = render({"cases": cases})
    assert (f"<summary>show all {count}</summary>" in source) is folded
    assert Page(source).text("failures").endswith("t::18 t::19" + (" t::20" if folded else ""))


def test_a_row_s_cells_in_order_with_their_classes() -> None:
    cases = [{"baseline": {"status": status}} for status in ("fix", "same", "new")]
    source = render({"cases": cases})
    rows = [part.split("</tr>")[0] for part in source.split('<tr id="case-')[1:]]
    classes = [[cell.split('"')[1] for cell in row.split("<td class=")[1:]] for row in rows]
    assert classes[0] == [
        "num", "case", "outcome other", "verdict other", "num rate", "num score", "num",
        "num", "num", "num", "status fix", "details",
    ]  # fmt: skip
    assert [row[10] for row in classes] == ["status fix", "status same", "status new"]
    assert Page(source).text("case-1").startswith("1 ? n/a n/a n/a n/a")


def test_an_exchange_block_word_for_word() -> None:
    exchange = {"method": "POST", "url": "u", "status": 500, "tool_calls": ["a()", "b()"]}
    source = render({"cases": [{"exchanges": [exchange]}]})
    assert (
        '<div class="exchange"><div class="meta">POST u · model n/a · status 500 · log'
        ' <code>n/a</code></div><ul class="tool-calls"><li><code>a()</code></li>'
        "<li><code>b()</code></li></ul></div>"
    ) in source


def test_delta_charts_are_small_and_even_with_no_change() -> None:
    cases = [{"baseline": {"score_delta": 0.0}}]
    source = render({"summary": {"baseline": {"path": "b"}}, "cases": cases})
    chart = source.split('id="chart-score-delta"')[1].split("</svg>")[0]
    assert 'viewBox="0 0 560 220"' in chart
    assert re.findall(r">([^<>]*)</text>", chart) == ["-1.0", "+0.0", "+1.0"]
    assert '</div><div class="grid"><div><h3>score change per case</h3>' in source
    assert '<div class="grid"></div></section>' in render(
        {"summary": {"baseline": {"path": "b"}}, "cases": [{}]}
    )


def test_chart_titles_and_each_bar_s_tooltip_and_colour() -> None:
    trials = [{"outcome": "passed"}, {"outcome": "failed"}, {"outcome": "passed"}]
    cases = [
        {
            "nodeid": "t::a",
            "outcome": "passed",
            "verdict": "flaky",
            "trials": trials,
            "pass_rate": 2 / 3,
        },
        {"nodeid": "t::b", "outcome": "failed", "trials": trials[:1], "cost_usd": 0.002},
        {"nodeid": "t::c", "outcome": "skipped", "latency_ms": 900.0, "duration": 1.5},
    ]
    source = render({"cases": cases})
    titles = re.findall(r"<h3>([^<]*)</h3>", source)
    assert titles == [
        "pass rate per case",
        "score distribution",
        "cost per case",
        "gateway latency per case (mean per log)",
        "test duration per case",
    ]
    rates = source.split('id="chart-pass-rate"')[1].split("</svg>")[0]
    marks = re.findall(r'<rect class="([^"]*)"[^>]*><title>([^<]*)</title>', rates)
    assert marks == [
        ("mark flaky", "t::a: 66.7% (2/3 trials), passed"),
        ("mark failed", "t::b: 0.0%, failed"),
        ("mark none skipped", "t::c: n/a, skipped"),
    ]
    assert 'aria-label="pass rate per case"' in rates
    assert ">100.0%</text>" in rates
    for chart, tip in [("cost", "t::b: $0.002000"), ("latency", "t::c: 900 ms")]:
        svg = source.split(f'id="chart-{chart}"')[1].split("</svg>")[0]
        assert 'class="mark value"' in svg
        assert f"<title>{tip}</title>" in svg
        assert "<title>t::a: n/a</title>" in svg
    duration = source.split('id="chart-duration"')[1].split("</svg>")[0]
    assert ">1.50 s</text>" in duration
    assert 'viewBox="0 0 560 220"' in duration
    assert '</div></div></section><section id="failures">' in source


def test_histogram_counts_sit_on_their_bars() -> None:
    chart = histogram("h", "l", [5, 5, 15], low=0, high=100, bins=10)
    assert '<text class="count" x="114" y="9" text-anchor="middle">2</text>' in chart
    assert '<text class="count" x="202" y="101" text-anchor="middle">1</text>' in chart
    assert '<text class="tick" x="74.4" y="212">0</text>' in chart
    assert 'width="79.2"' in chart
