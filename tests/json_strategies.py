"""JSON-like Hypothesis strategies the fuzz tests share (apart from conftest, which the
framework envs load without Hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["json_values"]


def json_values(
    integers: st.SearchStrategy[int],
    floats: st.SearchStrategy[float],
    *,
    text: int,
    keys: int = 5,
    max_leaves: int = 10,
) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """JSON-like scalars, and values built of them, for the fuzz tests.

    The scalars are None, booleans, *integers*, *floats* and strings up to *text*
    characters; the values nest them in lists and objects (keys up to *keys* characters).
    """
    scalars = st.none() | st.booleans() | integers | floats | st.text(max_size=text)
    values = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=keys), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )
    return scalars, values
