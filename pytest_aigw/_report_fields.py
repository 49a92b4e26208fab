"""Reading an eval report dict defensively, and the figures as people read them.

The HTML and markdown reports are rendered from the dict the JSON report is written
from, or from a JSON report read back. Any field may be missing, null or of another
type (a report written by an older version, or by a run that did not use trials, cost or
baselines): each reader here gives a neutral value instead of raising.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "OUTCOMES",
    "VERDICTS",
    "as_number",
    "case_rate",
    "case_score",
    "delta",
    "flag",
    "has_trials",
    "integer",
    "mapping",
    "mappings",
    "ms",
    "number",
    "rate",
    "score",
    "seconds",
    "text",
    "texts",
    "tokens",
    "usd",
]

OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "error")
VERDICTS = ("stable_pass", "flaky", "stable_fail")


def as_number(value: Any) -> float | None:
    """*value* if it is a finite number, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def has_trials(summary: Mapping[str, Any]) -> bool:
    """Whether trial figures are worth showing: some case has a verdict (it ran trials)."""
    return any(number(summary, name) for name in VERDICTS)


def number(data: Mapping[str, Any], key: str) -> float | None:
    """A finite number under *key*, or None."""
    return as_number(data.get(key))


def integer(data: Mapping[str, Any], key: str) -> int | None:
    """A whole number under *key*, or None."""
    value = number(data, key)
    return int(value) if value is not None and value == int(value) else None


def text(data: Mapping[str, Any], key: str) -> str | None:
    """The string under *key*, or None."""
    value = data.get(key)
    return value if isinstance(value, str) else None


def flag(data: Mapping[str, Any], key: str) -> bool | None:
    """The boolean under *key*, or None."""
    value = data.get(key)
    return value if isinstance(value, bool) else None


def mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The object under *key*, or an empty one."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def mappings(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The objects listed under *key* (other items skipped)."""
    value = data.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def texts(data: Mapping[str, Any], key: str) -> list[str]:
    """The items listed under *key*, as strings (nulls skipped)."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [item if isinstance(item, str) else str(item) for item in value if item is not None]


def case_rate(case: Mapping[str, Any]) -> float | None:
    """A case's pass rate: its own across trials, else 1 or 0 from a passed or failed outcome."""
    given = number(case, "pass_rate")
    if given is not None:
        return given
    return {"passed": 1.0, "failed": 0.0}.get(text(case, "outcome") or "")


def case_score(case: Mapping[str, Any]) -> float | None:
    """The mean of the scores a case's logs got (the unnamed score), or None."""
    scores = [s for log in mappings(case, "logs") if (s := number(log, "score")) is not None]
    return sum(scores) / len(scores) if scores else None


def rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def delta(value: float | None, unit: str = "") -> str:
    """A signed change: +2.5, -$0.0012."""
    if value is None:
        return "n/a"
    if unit == "$":
        return ("-" if value < 0 else "+") + usd(abs(value))
    return f"{value:+.1f}"


def usd(value: float | None) -> str:
    """Dollars with the digits a per-call cost needs: $0.000123, $1.2346."""
    if value is None:
        return "n/a"
    if value == 0:
        return "$0"
    return f"${value:.6f}" if abs(value) < 0.01 else f"${value:,.4f}"


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def tokens(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"
