"""The HTML eval report in a real headless Chromium (Debian's, driven by playwright).

Run by `tox -e html`, which installs playwright and, where it is missing, Debian's
chromium (scripts/ensure_chromium.sh); the default run leaves this directory out. With
the network blocked, each page must render with no console error, its charts must have
one mark per case and its text must say what the JSON report says. A missing browser
fails the run: nothing here is skipped. ``UPDATE_SCREENSHOT=1`` also refreshes
docs/eval-report.png, the README's picture of the report.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eval_reports import synthetic_report
from playwright.sync_api import Browser, Page, Route, sync_playwright

from pytest_aigw import _report_fields as f
from pytest_aigw.eval_html import write_html

pytestmark = pytest.mark.browser
pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "eval-report.png"
# Chromium's own calls home are refused by a closed network, many at a time: turned off.
FLAGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

CASES = """
import httpx, pytest

def chat(aigw, text):
    return httpx.post(
        aigw.url("openai") + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]},
    )

@pytest.mark.aigw_eval
@pytest.mark.parametrize("n", range(7))
def test_answer(aigw, n):
    chat(aigw, f"question {n} <b>bold</b>")
    aigw.score(15 * n)
    assert n % 3, "wrong answer"

@pytest.mark.aigw_eval
def test_skipped(aigw):
    pytest.skip("not today")
"""


def chromium_path() -> str:
    """Debian's chromium, or the one CHROMIUM_PATH names; failing, never skipping."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "no Chromium: install Debian's chromium package (scripts/ensure_chromium.sh does,"
            " as root) or give its path in CHROMIUM_PATH"
        )
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        yield browser
        browser.close()


@dataclass
class Opened:
    page: Page
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


@pytest.fixture
def opened(browser: Browser) -> Iterator[Opened]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = Opened(context.new_page())

    def offline(route: Route) -> None:  # the report must need nothing from a network
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            opened.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    opened.page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.page.on("dialog", lambda dialog: opened.errors.append(f"dialog: {dialog.message}"))
    yield opened
    context.close()


def load(opened: Opened, path: Path) -> Page:
    opened.page.goto(path.as_uri(), wait_until="load")
    assert opened.errors == []
    assert opened.blocked == []
    return opened.page


def words(page: Page, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def marks(page: Page, chart: str) -> int:
    """Marks of *chart* the browser laid out with a size (not only present in the DOM)."""
    count: int = page.evaluate(
        """id => [...document.querySelectorAll(`#${id} .mark`)]
            .filter(mark => { const box = mark.getBBox(); return box.width > 0 && box.height > 0; })
            .length""",
        chart,
    )
    return count


def check_against_json(page: Page, report: dict[str, Any]) -> None:
    summary, cases = report["summary"], report["cases"]
    assert words(page, "#pass-rate") == f"pass rate {f.rate(summary['pass_rate'])}"
    for key in ("cases", "passed", "failed", "skipped"):
        assert words(page, f"#{key}") == f"{key} {summary[key]:,}"
    assert page.title() == f"pytest-aigw eval: {f.rate(summary['pass_rate'])} passed"
    assert marks(page, "chart-pass-rate") == len(cases)
    assert marks(page, "chart-duration") == len(cases)
    scores = [log["score"] for c in cases for log in c["logs"] if log["score"] is not None]
    assert marks(page, "chart-scores") == len({min(int(s // 10), 9) for s in scores})  # not empty
    assert page.locator("#chart-scores .mark").count() == 10
    rows = page.locator("#case-table tr.case")
    assert rows.count() == len(cases)
    assert page.locator("#case-table td.outcome").all_inner_texts() == [c["outcome"] for c in cases]
    assert page.locator("#case-table td.case").all_inner_texts() == [c["nodeid"] for c in cases]
    box = page.locator("#chart-pass-rate").bounding_box()
    assert box is not None
    assert box["width"] > 1000
    assert box["height"] > 200


def test_a_real_run_s_report_renders_as_its_json_says(
    pytester: pytest.Pytester, opened: Opened, tmp_path: Path
) -> None:
    pytester.makepyfile(CASES)
    result = pytester.runpytest(
        "--aigw-eval-report=eval.json", "--aigw-eval-html=eval.html", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=4, failed=3, skipped=1)
    report = json.loads((pytester.path / "eval.json").read_text())
    page = load(opened, pytester.path / "eval.html")
    check_against_json(page, report)
    assert words(page, "#pass-rate") == "pass rate 57.1%"
    assert marks(page, "chart-outcomes") == 3  # passed, failed, skipped
    assert words(page, "#failures").startswith("Failed cases (3)")
    # a person opens a case: its log ids show, escaped markup stays text
    first = page.locator("#case-1 details summary").first  # the case's own, not an exchange's
    first.click()
    details = words(page, "#case-1 details")
    assert all(log_id in details for log_id in report["cases"][0]["log_ids"])
    tooltip = page.locator("#chart-pass-rate .mark title").first.text_content()
    assert tooltip == f"{report['cases'][0]['nodeid']}: 0.0%, failed"
    page.screenshot(path=tmp_path / "run.png", full_page=True)


def test_500_cases_with_every_field(opened: Opened, tmp_path: Path) -> None:
    report = synthetic_report(500)
    path = tmp_path / "eval.html"
    write_html(report, path)
    page = load(opened, path)
    check_against_json(page, report)
    for chart in ("chart-cost", "chart-latency", "chart-score-delta", "chart-cost-delta"):
        assert marks(page, chart) == 500, chart
    assert page.locator("#chart-score-1 .mark").count() == 10
    regressions = report["summary"]["baseline"]["regressions"]
    assert (
        words(page, "#baseline-regressions")
        == f"regressions ({len(regressions)}) show all {len(regressions)}"
    )
    assert page.locator("script").count() == 0
    # long replies fold: hidden until opened
    reply = page.locator("#case-1 .reply details.fold pre")
    assert not reply.is_visible()
    page.locator("#case-1 > td.details > details > summary").click()
    page.locator("#case-1 .reply details.fold summary").click()
    assert reply.is_visible()
    assert "<script>alert('x')</script>" in reply.inner_text()
    assert opened.errors == []  # no dialog opened either


def test_screenshot_for_the_readme(opened: Opened, tmp_path: Path) -> None:
    report = synthetic_report(40)
    path = tmp_path / "eval.html"
    write_html(report, path)
    page = load(opened, path)
    shot = tmp_path / "eval-report.png"
    page.screenshot(path=shot, clip={"x": 0, "y": 0, "width": 1280, "height": 1900}, full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
