"""The HTML eval report for N cases: its size, the time to write it, the time to show it.

Run: python bench/bench_eval_html.py [--cases N] [--rounds N] [--chromium PATH]

Needs playwright (pip) and a Chromium (Debian's chromium; scripts/ensure_chromium.sh).
Two reports of N cases (tests/eval_reports.py): "full" carries every field (3 trials,
cost, named scores, a baseline, 2 exchanges a case, every fifth reply 40 lines long);
"today" only what an eval run reports without those (outcome, duration, logs). For each:
the page's bytes (and gzipped), the median time `render()` takes in Python, and the
median over rounds, in a fresh browser page each round, of the time from navigation
start to the load event and to the first frame painted after it (two
requestAnimationFrame callbacks: the layout of every chart and row is done by then).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from eval_reports import synthetic_report

from pytest_aigw.eval_html import render

FLAGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TODAY = ("nodeid", "outcome", "duration", "log_ids", "logs")
TIMING = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    done([nav.loadEventEnd - nav.startTime, performance.now() - nav.startTime]);
})))"""


def today_only(report: dict[str, Any]) -> dict[str, Any]:
    keep = ("cases", "passed", "failed", "skipped", "pass_rate", "min_pass_rate", "gate_met")
    summary = {key: report["summary"][key] for key in keep}
    cases = [{key: case[key] for key in TODAY} for case in report["cases"]]
    for case in cases:
        case["logs"] = [
            {k: log[k] for k in ("log_id", "feedback", "score", "submitted", "verified", "error")}
            for log in case["logs"]
        ]
    return {"summary": summary, "cases": cases}


def browser_times(browser: Browser, path: Path, rounds: int) -> tuple[float, float]:
    loads, frames = [], []
    for _ in range(rounds + 1):  # the first round warms the browser up: not counted
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(path.as_uri(), wait_until="load")
        load, frame = page.evaluate(TIMING)
        loads.append(load)
        frames.append(frame)
        page.close()
    return statistics.median(loads[1:]), statistics.median(frames[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    args = parser.parse_args()
    full = synthetic_report(args.cases)
    reports = {"full": full, "today": today_only(full)}
    print(f"{args.cases} cases, {args.rounds} rounds (median)")
    print("| report | bytes | gzipped | render() ms | load event ms | first frame after load ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=FLAGS)
        for name, report in reports.items():
            made = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                page = render(report)
                made.append((time.perf_counter() - start) * 1000)
            path = Path(folder) / f"{name}.html"
            path.write_text(page, encoding="utf-8")
            data = page.encode()
            load, frame = browser_times(browser, path, args.rounds)
            print(
                f"| {name} | {len(data):,} | {len(gzip.compress(data)):,} |"
                f" {statistics.median(made):.0f} | {load:.0f} | {frame:.0f} |"
            )
        browser.close()


if __name__ == "__main__":
    main()
