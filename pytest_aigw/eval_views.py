"""The readable views of an eval run, written at its end beside the JSON report.

``--aigw-eval-html=PATH`` writes the HTML page (`pytest_aigw.eval_html`); with
``GITHUB_STEP_SUMMARY`` set, the markdown summary (`pytest_aigw.eval_markdown`) is
appended to the file it names. A view that cannot be written becomes a note in the
terminal summary: it never changes the run's outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_views"]


def write_views(
    report: Mapping[str, Any], html: str | None, environ: Mapping[str, str]
) -> list[str]:
    """Write the HTML report at *html* and the step summary; return notes on failures."""
    from .eval_markdown import STEP_SUMMARY_ENV, append_step_summary

    notes = []
    if html:
        from .eval_html import write_html

        try:
            write_html(report, Path(html))
        except OSError as error:
            notes.append(f"could not write the eval HTML report: {error}")
    step_summary = environ.get(STEP_SUMMARY_ENV)
    if step_summary:
        try:
            append_step_summary(report, Path(step_summary), html)
        except OSError as error:
            notes.append(f"could not append the eval summary to {STEP_SUMMARY_ENV}: {error}")
    return notes
