"""The eval run as a short markdown summary, for GitHub Actions' job summary page.

When ``GITHUB_STEP_SUMMARY`` names a file (GitHub Actions sets it in every step), a run
that had eval cases appends this summary to it: pass rate and gate, the counts, cost
and tokens when the report has them, regressions against a baseline and the first
failed cases. Rendered from the JSON report's dict, every field read as optional.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _report_fields as f

__all__ = ["STEP_SUMMARY_ENV", "append_step_summary", "markdown"]

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
TOP = 10  # cases listed per list; the rest are counted


def append_step_summary(report: Mapping[str, Any], path: Path, html: str | None = None) -> None:
    """Append the markdown summary of *report* to the file at *path*."""
    with path.open("a", encoding="utf-8") as out:
        out.write(markdown(report, html))


def markdown(report: Mapping[str, Any], html: str | None = None) -> str:
    """The summary of *report*; *html* names the HTML report, if one was written."""
    summary = f.mapping(report, "summary")
    cases = f.mappings(report, "cases")
    lines = [f"### pytest-aigw eval: {f.rate(f.number(summary, 'pass_rate'))} passed", ""]
    lines += [_gate(summary), ""]
    lines += _table(summary)
    cap = f.number(summary, "max_cost_usd")
    if cap is not None and f.flag(summary, "stopped_by_cost_cap"):
        skipped = f.integer(summary, "skipped_by_cost_cap") or 0
        lines += ["", f"The cost cap ({f.usd(cap)}) stopped the run: {skipped} test(s) skipped."]
    baseline = f.mapping(summary, "baseline")
    if baseline:
        where = _code(f.text(baseline, "path") or "?")
        lines += _listed(f"Regressions against {where}", f.texts(baseline, "regressions"))
        lines += _listed(f"Fixes against {where}", f.texts(baseline, "fixes"))
    failed = [_failure(case) for case in cases if f.text(case, "outcome") in ("failed", "error")]
    lines += _listed("Failed cases", failed, code=False)
    if html:
        lines += ["", f"HTML report: {_code(html)}"]
    return "\n".join(lines) + "\n\n"


def _gate(summary: Mapping[str, Any]) -> str:
    gate = f.number(summary, "min_pass_rate")
    if gate is None:
        return "No pass-rate gate."
    met = f.flag(summary, "gate_met")
    word = {True: "met", False: "NOT met", None: "not applied"}[met]
    return f"Gate {f.rate(gate)}: **{word}**"


def _table(summary: Mapping[str, Any]) -> list[str]:
    number = f.number
    columns = [
        ("cases", f.tokens(number(summary, "cases"))),
        ("passed", f.tokens(number(summary, "passed"))),
        ("failed", f.tokens(number(summary, "failed"))),
        ("skipped", f.tokens(number(summary, "skipped"))),
        ("pass rate", f.rate(number(summary, "pass_rate"))),
        ("mean score", f.score(number(summary, "mean_score"))),
    ]
    optional = [
        *[(name, name.replace("_", " "), f.tokens) for name in f.VERDICTS if f.has_trials(summary)],
        ("cost_usd", "cost", f.usd),
        ("tokens_in", "tokens in", f.tokens),
        ("tokens_out", "tokens out", f.tokens),
        ("latency_ms", "mean latency", f.ms),
    ]
    columns += [
        (label, show(number(summary, key)))
        for key, label, show in optional
        if number(summary, key) is not None
    ]
    return [
        "| " + " | ".join(label for label, _ in columns) + " |",
        "|" + " ---: |" * len(columns),
        "| " + " | ".join(value for _, value in columns) + " |",
    ]


def _failure(case: Mapping[str, Any]) -> str:
    outcome = f.text(case, "outcome") or "?"
    said = [outcome]
    score = f.case_score(case)
    if score is not None:
        said.append(f"score {f.score(score)}")
    rate = f.number(case, "pass_rate")
    if rate is not None and len(f.mappings(case, "trials")) != 1:  # one trial: its outcome
        said.append(f"pass rate {f.rate(rate)}")
    return f"{_code(f.text(case, 'nodeid') or '?')} ({', '.join(said)})"


def _listed(title: str, items: list[str], *, code: bool = True) -> list[str]:
    if not items:
        return []
    shown = [f"- {_code(item) if code else item}" for item in items[:TOP]]
    more = [f"- ... and {len(items) - TOP} more"] if len(items) > TOP else []
    return ["", f"**{title} ({len(items)}):**", "", *shown, *more]


def _code(value: str) -> str:
    """*value* as a markdown code span, whatever backticks or line breaks it holds."""
    value = " ".join(value.splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
