"""Rounds that alternate the cases of a benchmark, so machine noise hits each alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

__all__ = ["alternate"]

T = TypeVar("T")


def alternate(cases: Mapping[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run every case once to warm up (not counted), then *rounds* rounds of all of them.

    The order flips every round, so neither case always runs first.
    """
    for measure in cases.values():
        measure()
    results: dict[str, list[T]] = {name: [] for name in cases}
    for number in range(rounds):
        order = list(cases.items())
        if number % 2:
            order.reverse()
        for name, measure in order:
            results[name].append(measure())
    return results
