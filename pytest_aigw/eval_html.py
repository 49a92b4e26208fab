"""The eval run as one self-contained HTML page (``--aigw-eval-html=PATH``).

The page is rendered from the same dict as the JSON report (`EvalRun.report`), or
from a JSON report read back, and reads every field as optional: a report without
trials, cost, baseline or exchanges shows what it has.

Charts are inline SVG written here, in Python: no dependency to keep up to date, no
script, nothing fetched, so the file opens offline, from a CI artifact or an e-mail,
years later, exactly as it was written. Each mark is an SVG element with the class
``mark`` and a ``<title>`` tooltip (the case and its figure), so tests count marks and
people hover them. The page has no script at all; long texts fold into ``<details>``.
Every text from the report is HTML-escaped (secrets are redacted before the report is
made; escaping keeps a prompt from becoming markup). 500 cases with every field make a
page of 2.3 MB (160 kB gzipped) that Chromium shows in under a second (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from . import _report_fields as f
from ._svg_charts import Bar, bar_chart, histogram, stacked_bar

__all__ = ["render", "write_html"]

FOLD_CHARS = 400  # longer texts (or more lines) fold into <details>
FOLD_LINES = 8
PREVIEW_CHARS = 120
NAMED_SCORE_CHARTS = 8  # histograms of named scores, at most
LIST_OPEN = 20  # longer lists of cases fold into <details>
SMALL = 560  # viewBox width of the charts laid out two a row: their text stays legible

CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--flaky:#bf8700;--other:#8c959f;--ink:#1f2328;
--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
margin:0 auto;max-width:1200px;padding:16px 24px}
h1{font-size:22px;margin:8px 0 16px}h2{font-size:18px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 4px}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin:0;padding:0}
.tile{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 12px;
min-width:120px;margin:0}
.tile dt{color:var(--muted);font-size:12px}.tile dd{margin:0;font-size:20px;font-weight:600}
.gate{font-weight:600}.gate.met{color:var(--pass)}.gate.not-met{color:var(--fail)}
svg.chart{width:100%;height:auto;display:block;background:#fff}
svg .grid{stroke:var(--line);stroke-width:1}svg text{font-size:11px;fill:var(--muted)}
.passed,.stable_pass,.fix{--c:var(--pass)}.failed,.error,.stable_fail,.regression{--c:var(--fail)}
.flaky,.xpassed{--c:var(--flaky)}
.skipped,.xfailed,.none,.new,.same,.removed{--c:var(--other)}
svg .mark{fill:var(--c,#0969da)}
svg .mark:hover{opacity:.7}
.legend{color:var(--muted);font-size:12px;margin:2px 0 12px}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
th{background:var(--bg);position:sticky;top:0}
td.num,th.num{text-align:right;white-space:nowrap}
td.outcome,td.verdict,td.status{color:var(--c);font-weight:600}
td.case{word-break:break-all;min-width:260px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:0 24px}
tr.case{content-visibility:auto;contain-intrinsic-size:auto 40px}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{white-space:pre-wrap;word-break:break-word;background:var(--bg);padding:6px;margin:2px 0}
details summary{cursor:pointer;color:var(--muted)}
.exchange{border-left:3px solid var(--line);padding-left:8px;margin:8px 0}
.exchange.judge{border-left-color:var(--flaky)}
.meta{color:var(--muted);font-size:12px}
ul.ids{margin:4px 0;padding-left:18px;columns:2 420px}
"""


def write_html(report: Mapping[str, Any], path: Path) -> None:
    """Render *report* (the JSON report's dict) and write it at *path*."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")


def render(report: Mapping[str, Any]) -> str:
    """The whole page for *report*; never fails on a missing or odd field."""
    summary = f.mapping(report, "summary")
    cases = f.mappings(report, "cases")
    title = f"pytest-aigw eval: {f.rate(f.number(summary, 'pass_rate'))} passed"
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            _summary(summary, cases),
            _charts(cases),
            _baseline(f.mapping(summary, "baseline"), cases),
            _failures(cases),
            _cases(cases),
            "</body></html>\n",
        ]
    )


def _anchor(index: int) -> str:
    return f"case-{index + 1}"


def _kind(value: str | None, known: Sequence[str]) -> str:
    """A CSS class for an outcome or verdict: itself when known, else ``other``."""
    return value if value is not None and value in known else "other"


def _tile(key: str, label: str, value: str) -> str:
    return f'<div class="tile" id="{key}"><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>'


def _summary(summary: Mapping[str, Any], cases: list[dict[str, Any]]) -> str:
    number = f.number
    tiles = [
        ("pass-rate", "pass rate", f.rate(number(summary, "pass_rate"))),
        ("cases", "cases", f.tokens(number(summary, "cases"))),
    ]
    tiles += [(name, name, f.tokens(number(summary, name))) for name in f.OUTCOMES[:3]]
    tiles.append(("mean-score", "mean score", f.score(number(summary, "mean_score"))))
    if "logs" in summary:
        verified = f"{f.tokens(number(summary, 'feedback_verified'))} of"
        tiles.append(
            ("verified", "feedback verified", f"{verified} {f.tokens(number(summary, 'logs'))}")
        )
    optional = [
        *[
            (name, name.replace("_", " "), f.tokens)
            for name in ("trials", *f.VERDICTS)
            if f.has_trials(summary)
        ],
        ("tokens_in", "tokens in", f.tokens),
        ("tokens_out", "tokens out", f.tokens),
        ("cost_usd", "cost", f.usd),
        ("latency_ms", "mean latency", f.ms),
    ]
    tiles += [
        (key.replace("_", "-"), label, show(number(summary, key)))
        for key, label, show in optional
        if number(summary, key) is not None
    ]
    parts = [(name, sum(f.text(c, "outcome") == name for c in cases)) for name in f.OUTCOMES]
    other = len(cases) - sum(count for _, count in parts)
    return (
        '<section id="summary"><h2>Summary</h2><dl class="tiles">'
        + "".join(_tile(*tile) for tile in tiles)
        + "</dl>"
        + _gate(summary)
        + _cost_cap(summary)
        + stacked_bar("chart-outcomes", "cases by outcome", [*parts, ("other", other)])
        + '<p class="legend">cases by outcome (hover for counts)</p></section>'
    )


def _gate(summary: Mapping[str, Any]) -> str:
    gate = f.number(summary, "min_pass_rate")
    if gate is None:
        return '<p id="gate" class="gate">no pass-rate gate</p>'
    met = f.flag(summary, "gate_met")
    word = {True: "met", False: "NOT met", None: "not applied"}[met]
    css = {True: "met", False: "not-met", None: ""}[met]
    return f'<p id="gate" class="gate {css}">gate {f.rate(gate)}: {word}</p>'


def _cost_cap(summary: Mapping[str, Any]) -> str:
    cap = f.number(summary, "max_cost_usd")
    if cap is None:
        return ""
    stopped = f.flag(summary, "stopped_by_cost_cap")
    skipped = f.integer(summary, "skipped_by_cost_cap") or 0
    said = f"the cap stopped the run; {skipped} test(s) skipped" if stopped else "not reached"
    return f'<p id="cost-cap">cost cap {f.usd(cap)}: {escape(said)}</p>'


def _case_link(index: int, nodeid: str) -> str:
    return f'<li><a href="#{_anchor(index)}"><code>{escape(nodeid)}</code></a></li>'


def _id_list(items: list[str]) -> str:
    """A list of (already escaped) items; a long one folded, so the page stays short."""
    listed = f'<ul class="ids">{"".join(items)}</ul>'
    if len(items) <= LIST_OPEN:
        return listed
    return f"<details><summary>show all {len(items)}</summary>{listed}</details>"


def _failures(cases: list[dict[str, Any]]) -> str:
    failing = [
        (index, case)
        for index, case in enumerate(cases)
        if f.text(case, "outcome") in ("failed", "error")
    ]
    if not failing:
        return ""
    items = [_case_link(i, f.text(c, "nodeid") or "?") for i, c in failing]
    return (
        f'<section id="failures"><h2>Failed cases ({len(failing)})</h2>{_id_list(items)}</section>'
    )


def _baseline(baseline: Mapping[str, Any], cases: list[dict[str, Any]]) -> str:
    if not baseline:
        return ""
    where = {f.text(case, "nodeid"): index for index, case in enumerate(cases)}
    path = f.text(baseline, "path") or "?"
    fail = " (any regression fails the run)" if f.flag(baseline, "fail_on_regression") else ""
    lists = []
    for key in ("regressions", "fixes", "new", "removed"):
        ids = f.texts(baseline, key)
        items = [
            _case_link(where[nodeid], nodeid)
            if nodeid in where
            else f"<li><code>{escape(nodeid)}</code></li>"
            for nodeid in ids
        ]
        lists.append(f'<div id="baseline-{key}"><h3>{key} ({len(ids)})</h3>{_id_list(items)}</div>')
    deltas = [f.mapping(case, "baseline") for case in cases]
    charts = [
        _delta_chart(
            "chart-score-delta", "score change per case", cases, deltas, "score_delta", f.delta, 1
        ),
        _delta_chart(
            "chart-cost-delta",
            "cost change per case",
            cases,
            deltas,
            "cost_delta_usd",
            lambda value: f.delta(value, "$"),
            -1,
        ),
    ]
    return (
        f'<section id="baseline"><h2>Against the baseline</h2><p>baseline'
        f" <code>{escape(path)}</code>{fail}</p>"
        + "".join(lists)
        + f'<div class="grid">{"".join(charts)}</div></section>'
    )


def _delta_chart(
    chart_id: str,
    label: str,
    cases: list[dict[str, Any]],
    deltas: list[dict[str, Any]],
    key: str,
    show: Callable[[float | None], str],
    better: float,
) -> str:
    """Changes per case, bars up or down from zero; *better* (1 or -1): the good direction."""
    values = [f.number(delta, key) for delta in deltas]
    if all(value is None for value in values):
        return ""
    reach = max(abs(value) for value in values if value is not None) or 1.0
    bars = [
        Bar(
            value,
            f"{f.text(case, 'nodeid')}: {show(value)}",
            "fix" if (value or 0) * better >= 0 else "regression",
        )
        for case, value in zip(cases, values, strict=True)
    ]
    chart = bar_chart(chart_id, label, bars, low=-reach, high=reach, tick=show, width=SMALL)
    return f"<div><h3>{escape(label)}</h3>{chart}</div>"


def _charts(cases: list[dict[str, Any]]) -> str:
    def nodeid(case: Mapping[str, Any]) -> str:
        return f.text(case, "nodeid") or "?"

    def rate_bar(case: dict[str, Any]) -> Bar:
        rate = f.case_rate(case)
        trials = f.mappings(case, "trials")
        passed = sum(f.text(trial, "outcome") == "passed" for trial in trials)
        count = f" ({passed}/{len(trials)} trials)" if len(trials) > 1 else ""
        outcome = f.text(case, "outcome")
        kind = _kind(f.text(case, "verdict"), f.VERDICTS)
        kind = kind if kind != "other" else _kind(outcome, f.OUTCOMES)
        return Bar(rate, f"{nodeid(case)}: {f.rate(rate)}{count}, {outcome}", kind)

    sections = [
        _chart_block(
            "pass rate per case",
            "one bar per case, in report order; a case with trials shows the share of"
            " its trials that passed; a grey stub: not judged (skipped, xfailed, error)",
            bar_chart(
                "chart-pass-rate", "pass rate per case", [rate_bar(c) for c in cases], tick=f.rate
            ),
        ),
        _score_charts(cases),
    ]
    per_case = [
        ("cost_usd", "cost per case", f.usd),
        ("latency_ms", "gateway latency per case (mean per log)", f.ms),
        ("duration", "test duration per case", f.seconds),
    ]
    for key, label, show in per_case:
        values = [f.number(case, key) for case in cases]
        if all(value is None for value in values):
            continue
        bars = [
            Bar(v, f"{nodeid(c)}: {show(v)}", "value") for c, v in zip(cases, values, strict=True)
        ]
        top = max(v for v in values if v is not None) or 1.0
        chart_id = "chart-" + key.split("_")[0]
        chart = bar_chart(chart_id, label, bars, high=top, tick=show, width=SMALL)
        sections.append(_chart_block(label, "one bar per case, in report order", chart))
    first, *rest = sections
    return (
        f'<section id="charts"><h2>Charts</h2>{first}<div class="grid">{"".join(rest)}</div>'
        "</section>"
    )


def _chart_block(title: str, legend: str, chart: str) -> str:
    return f'<div><h3>{escape(title)}</h3>{chart}<p class="legend">{escape(legend)}</p></div>'


def _score_charts(cases: list[dict[str, Any]]) -> str:
    scores = [
        value
        for case in cases
        for log in f.mappings(case, "logs")
        if (value := f.number(log, "score")) is not None
    ]
    blocks = [
        _chart_block(
            "score distribution",
            f"{len(scores)} scored log(s), in bins of 10",
            histogram(
                "chart-scores", "score distribution", scores, low=0, high=100, bins=10, width=SMALL
            ),
        )
    ]
    named: dict[str, list[float]] = {}
    for case in cases:
        for name, value in f.mapping(case, "scores").items():
            if (score := f.as_number(value)) is not None:
                named.setdefault(name, []).append(score)
    for index, (name, values) in enumerate(sorted(named.items())[:NAMED_SCORE_CHARTS]):
        label = f"score {name!r}"
        chart = histogram(
            f"chart-score-{index + 1}", label, values, low=0, high=100, bins=10, width=SMALL
        )
        blocks.append(_chart_block(label, f"{len(values)} case(s), mean per case", chart))
    return "".join(blocks)


COLUMNS = (
    ("#", "num"),
    ("case", ""),
    ("outcome", ""),
    ("verdict", ""),
    ("pass rate", "num"),
    ("score", "num"),
    ("duration", "num"),
    ("tokens in/out", "num"),
    ("cost", "num"),
    ("latency", "num"),
    ("baseline", ""),
    ("details", ""),
)


def _cases(cases: list[dict[str, Any]]) -> str:
    head = "".join(f'<th class="{css}">{escape(name)}</th>' for name, css in COLUMNS)
    rows = "".join(_case_row(index, case) for index, case in enumerate(cases))
    return (
        f'<section id="case-table"><h2>Cases ({len(cases)})</h2><table><thead><tr>{head}</tr>'
        f"</thead><tbody>{rows}</tbody></table></section>"
    )


def _case_row(index: int, case: dict[str, Any]) -> str:
    outcome = f.text(case, "outcome") or "n/a"
    verdict = f.text(case, "verdict")
    gate = f.number(case, "min_pass_rate")
    rate = f.rate(f.case_rate(case)) + (f" (min {f.rate(gate)})" if gate is not None else "")
    tokens_in, tokens_out = f.number(case, "tokens_in"), f.number(case, "tokens_out")
    tokens = (
        ""
        if tokens_in is None and tokens_out is None
        else f"{f.tokens(tokens_in)} / {f.tokens(tokens_out)}"
    )
    baseline = f.mapping(case, "baseline")
    status = f.text(baseline, "status")
    cells = [
        ("num", str(index + 1)),
        ("case", f"<code>{escape(f.text(case, 'nodeid') or '?')}</code>"),
        (f"outcome {_kind(outcome, f.OUTCOMES)}", escape(outcome)),
        (f"verdict {_kind(verdict, f.VERDICTS)}", escape(verdict or "")),
        ("num rate", escape(rate)),
        ("num score", escape(f.score(f.case_score(case)))),
        ("num", escape(f.seconds(f.number(case, "duration")))),
        ("num", escape(tokens)),
        ("num", escape(f.usd(f.number(case, "cost_usd")) if "cost_usd" in case else "")),
        ("num", escape(f.ms(f.number(case, "latency_ms")) if "latency_ms" in case else "")),
        (f"status {_kind(status, ('regression', 'fix', 'same', 'new'))}", escape(status or "")),
        ("details", _details(case)),
    ]
    body = "".join(f'<td class="{css}">{content}</td>' for css, content in cells)
    return f'<tr id="{_anchor(index)}" class="case">{body}</tr>'


def _details(case: dict[str, Any]) -> str:
    exchanges = f.mappings(case, "exchanges")
    logs = f.mappings(case, "logs")
    parts = [_ids("log ids", f.texts(case, "log_ids"))]
    if "judge_log_ids" in case:
        parts.append(_ids("judge log ids (no outcome feedback)", f.texts(case, "judge_log_ids")))
    parts.append(_named_scores(f.mapping(case, "scores")))
    parts.append(_baseline_case(f.mapping(case, "baseline")))
    parts.append(_trials(f.mappings(case, "trials")))
    parts += [_exchange(exchange) for exchange in exchanges]
    parts.append(_logs(logs))
    label = f"{len(exchanges)} exchange(s), {len(logs)} log(s)"
    return f"<details><summary>{label}</summary>{''.join(parts)}</details>"


def _ids(label: str, ids: list[str]) -> str:
    codes = ", ".join(f"<code>{escape(log_id)}</code>" for log_id in ids) or "none"
    return f'<p class="ids">{escape(label)}: {codes}</p>'


def _named_scores(scores: Mapping[str, Any]) -> str:
    if not scores:
        return ""
    shown = ", ".join(f"{escape(name)} {f.score(f.number(scores, name))}" for name in scores)
    return f'<p class="named-scores">scores: {shown}</p>'


def _baseline_case(baseline: Mapping[str, Any]) -> str:
    if not baseline:
        return ""
    return (
        f'<p class="baseline">baseline: {escape(f.text(baseline, "status") or "n/a")},'
        f" was {escape(f.text(baseline, 'outcome') or 'n/a')}; score"
        f" {f.delta(f.number(baseline, 'score_delta'))}, cost"
        f" {escape(f.delta(f.number(baseline, 'cost_delta_usd'), '$'))}</p>"
    )


def _trials(trials: list[dict[str, Any]]) -> str:
    if not trials:
        return ""
    items = "".join(
        f"<li>trial {escape(str(trial.get('trial', '?')))}:"
        f" {escape(f.text(trial, 'outcome') or 'n/a')},"
        f" {f.seconds(f.number(trial, 'duration'))}, logs"
        f" {', '.join(escape(log_id) for log_id in f.texts(trial, 'log_ids')) or 'none'}</li>"
        for trial in trials
    )
    return f'<ul class="trials">{items}</ul>'


def _fold(label: str, value: str | None) -> str:
    if value is None:
        return ""
    shown = escape(value)
    if len(value) <= FOLD_CHARS and value.count("\n") < FOLD_LINES:
        return f'<div class="{label}"><b>{label}</b><pre>{shown}</pre></div>'
    preview = escape(value[:PREVIEW_CHARS].replace("\n", " "))
    return (
        f'<div class="{label}"><b>{label}</b><details class="fold"><summary>{preview}…'
        f" ({len(value):,} characters)</summary><pre>{shown}</pre></details></div>"
    )


def _exchange(exchange: Mapping[str, Any]) -> str:
    status = f.integer(exchange, "status")
    meta = [
        escape(f"{f.text(exchange, 'method') or '?'} {f.text(exchange, 'url') or ''}".strip()),
        escape(f.text(exchange, "model") or "model n/a"),
        f"status {status if status is not None else 'n/a'}",
        f"log <code>{escape(f.text(exchange, 'log_id') or 'n/a')}</code>",
    ]
    judge = f.flag(exchange, "judge")
    if judge:
        meta.append("judge call")
    link = f.text(exchange, "dashboard_url")
    if link and link.startswith("https://"):  # never a javascript: or data: URL
        meta.append(f'<a href="{escape(link)}" rel="noreferrer">dashboard</a>')
    tools = "".join(f"<li><code>{escape(c)}</code></li>" for c in f.texts(exchange, "tool_calls"))
    return (
        f'<div class="exchange{" judge" if judge else ""}"><div class="meta">'
        + " · ".join(meta)
        + "</div>"
        + _fold("prompt", f.text(exchange, "prompt"))
        + _fold("reply", f.text(exchange, "reply"))
        + (f'<ul class="tool-calls">{tools}</ul>' if tools else "")
        + "</div>"
    )


def _logs(logs: list[dict[str, Any]]) -> str:
    if not logs:
        return ""
    head = "<tr><th>log id</th><th>feedback</th><th>score</th><th>sent</th><th>note</th></tr>"
    rows = []
    for log in logs:
        sent = (
            "verified"
            if f.flag(log, "verified")
            else "submitted"
            if f.flag(log, "submitted")
            else "no"
        )
        feedback = f.number(log, "feedback")
        notes = [f.text(log, "error") or "", "judge call" if f.flag(log, "judge") else ""]
        rows.append(
            f"<tr><td><code>{escape(f.text(log, 'log_id') or '?')}</code></td>"
            f"<td>{'n/a' if feedback is None else f'{feedback:g}'}</td>"
            f"<td>{f.score(f.number(log, 'score'))}</td><td>{sent}</td>"
            f"<td>{escape('; '.join(n for n in notes if n))}</td></tr>"
        )
    return f'<table class="logs">{head}{"".join(rows)}</table>'
