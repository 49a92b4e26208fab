"""Charts as inline SVG text: bars per item, a histogram, a stacked bar.

Each mark is one element with the class ``mark`` (plus a kind, such as ``passed``) and a
``<title>`` child, which browsers show as its tooltip; so a page can be checked by
counting marks, and it needs no script, font or network to show. Every text that goes
in is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Bar", "bar_chart", "histogram", "stacked_bar"]

WIDTH = 960
HEIGHT = 220
LEFT = 70  # room for the y-axis labels
RIGHT = 10
TOP = 12
BOTTOM = 24


@dataclass(frozen=True)
class Bar:
    """One item's bar: its value (None: no value, drawn as a stub), tooltip and kind."""

    value: float | None
    tip: str
    kind: str = "value"


def _n(value: float) -> str:
    """A coordinate, short: two decimals at most."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, label: str, body: list[str], width: int, height: int = HEIGHT) -> str:
    return (
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )


def _rect(x: float, y: float, w: float, h: float, kind: str, tip: str) -> str:
    return (
        f'<rect class="mark {escape(kind)}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}"'
        f' height="{_n(h)}"><title>{escape(tip)}</title></rect>'
    )


def _axis(y: float, label: str, width: int) -> str:
    return (
        f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{_n(y)}" y2="{_n(y)}"/>'
        f'<text class="tick" x="{LEFT - 6}" y="{_n(y + 4)}" text-anchor="end">'
        f"{escape(label)}</text>"
    )


def bar_chart(
    chart_id: str,
    label: str,
    bars: Sequence[Bar],
    *,
    low: float = 0.0,
    high: float = 1.0,
    tick: Callable[[float], str] = str,
    width: int = WIDTH,
) -> str:
    """One bar per item, from zero to its value, on a y axis from *low* to *high*.

    *low* below zero makes the bars diverge: a negative value is drawn down from the
    zero line. An item without a value gets a 2-unit stub on the zero line (kind
    ``none``), so that there is always one mark per item.
    """
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    low, high = min(low, 0.0), max(high, 0.0)
    span = (high - low) or 1.0

    def y_of(value: float) -> float:
        return TOP + (high - min(max(value, low), high)) / span * plot_h

    zero = y_of(0.0)
    levels = sorted({low, (low + high) / 2, high})
    body = [_axis(y_of(value), tick(value), width) for value in levels]
    step = plot_w / max(len(bars), 1)
    bar_w = step * 0.8 if step >= 4 else step  # thin bars touch: a gap would hide them
    for index, bar in enumerate(bars):
        x = LEFT + index * step + (step - bar_w) / 2
        if bar.value is None:
            body.append(_rect(x, zero - 1, bar_w, 2, f"none {bar.kind}", bar.tip))
            continue
        top, bottom = sorted((y_of(bar.value), zero))
        body.append(_rect(x, top, bar_w, max(bottom - top, 1.0), bar.kind, bar.tip))
    return _svg(chart_id, label, body, width)


def histogram(
    chart_id: str,
    label: str,
    values: Sequence[float],
    *,
    low: float,
    high: float,
    bins: int,
    width: int = WIDTH,
) -> str:
    """How many *values* fall in each of *bins* equal bins from *low* to *high*.

    Values outside the range count in the first or last bin; the last bin includes
    *high*. One mark per bin, empty bins included.
    """
    size = (high - low) / bins
    counts = [0] * bins
    for value in values:
        counts[min(max(int((value - low) // size), 0), bins - 1)] += 1
    top = max(counts) or 1
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / bins
    body = [_axis(TOP + plot_h * (1 - share), f"{top * share:g}", width) for share in (0, 0.5, 1)]
    for index, count in enumerate(counts):
        start = low + index * size
        end = "]" if index == bins - 1 else ")"
        tip = f"[{start:g}, {start + size:g}{end}: {count}"
        height = count / top * plot_h
        x = LEFT + index * step + step * 0.05
        body.append(_rect(x, TOP + plot_h - height, step * 0.9, height, "bin", tip))
        body.append(
            f'<text class="tick" x="{_n(x)}" y="{HEIGHT - 8}">{start:g}</text>'
            f'<text class="count" x="{_n(x + step * 0.45)}" y="{_n(TOP + plot_h - height - 3)}"'
            f' text-anchor="middle">{count}</text>'
        )
    return _svg(chart_id, label, body, width)


def stacked_bar(chart_id: str, label: str, parts: Sequence[tuple[str, int]]) -> str:
    """One bar across the chart, a segment per (kind, count) with a count above zero."""
    total = sum(count for _, count in parts) or 1
    height, x = 28, 0.0
    body = []
    for kind, count in parts:
        if count <= 0:
            continue
        width = count / total * WIDTH
        body.append(_rect(x, 0, width, height, kind, f"{kind}: {count}"))
        x += width
    return _svg(chart_id, label, body, WIDTH, height=height)
