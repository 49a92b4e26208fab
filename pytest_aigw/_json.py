"""The one JSON loader for everything a request, a header or a file hands the fake.

`loads` reads JSON as JavaScript's `JSON.parse` (the gateway's) does, within bounds
that keep every later step safe:

- nesting at most `MAX_DEPTH` (100) arrays and objects deep: far beyond any real
  request (tool schemas seldom pass 20 levels), and shallow enough that code recursing
  over a stored value (matchers, equality, `json.dumps`) stays well inside Python's
  default recursion limit of 1,000 frames;
- numbers within float range: an integer or a float literal beyond about 1.8e308 is
  refused, as is an integer of more than `MAX_DIGITS` digits (Python's own `int()`
  gives up past 4,300 and would raise `ValueError` mid-parse);
- no `NaN`, `Infinity` or `-Infinity` literals (not JSON; `JSON.parse` refuses them).

Anything refused raises `JsonError` (a `ValueError`), never `RecursionError` or
`OverflowError`; `JsonError.limit` tells input beyond these bounds (which each
surface answers with its 4xx envelope) from text that is simply not JSON.
"""

from __future__ import annotations

import json
import math
import re
import sys
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "JsonError", "depth", "loads"]

MAX_DEPTH = 100
MAX_DIGITS = 309  # the digits of the largest finite float, 1.797...e308
_LARGEST = int(sys.float_info.max)

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_OPENERS = b"[{"
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = tuple(1 if b in _OPENERS else -1 if b in b"]}" else 0 for b in range(256))


class JsonError(ValueError):
    """Text the loader refuses; *limit* is True when it is JSON beyond the loader's bounds."""

    def __init__(self, message: str, *, limit: bool) -> None:
        super().__init__(message)
        self.limit = limit


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS or abs(value := int(text)) > _LARGEST:
        raise JsonError(
            f"the number {_shortened(text)} is beyond the range of a JSON number (about 1.8e308)",
            limit=True,
        )
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError(
            f"the number {_shortened(text)} is beyond the range of a JSON number (about 1.8e308)",
            limit=True,
        )
    return value


def _constant(name: str) -> Any:
    raise JsonError(f"{name} is not valid JSON", limit=False)


def _shortened(text: str) -> str:
    return text if len(text) <= 20 else f"{text[:10]}...({len(text)} characters)"


_DECODER = json.JSONDecoder(parse_float=_float, parse_constant=_constant)
# Integers are checked one by one (a Python call each) only where a run of digits is
# long enough to pass float range: bodies of token ids stay on the fast path.
_CHECKED = json.JSONDecoder(parse_int=_integer, parse_float=_float, parse_constant=_constant)
_DIGITS = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))  # digit -> "0", else " "
_LONG_RUN = b"0" * MAX_DIGITS


def _long_digit_run(data: bytes) -> bool:
    return len(data) >= MAX_DIGITS and _LONG_RUN in data.translate(_DIGITS)


def depth(data: bytes) -> int:
    """How deeply arrays and objects nest in the JSON text *data* (strings skipped).

    0 where *data* has too few brackets to nest past `MAX_DEPTH`: not scanned at all.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return 0  # cannot nest deeper than the bound: skip the scan (the common case)
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def loads(text: str | bytes) -> Any:
    """Parse *text* as the gateway's JSON, within bounds; raise `JsonError` if refused."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if depth(data) > MAX_DEPTH:
        raise JsonError(f"JSON nested deeper than {MAX_DEPTH} levels", limit=True)
    try:
        source = text if isinstance(text, str) else text.decode(json.detect_encoding(text))
        decoder = _CHECKED if _long_digit_run(data) else _DECODER
        return decoder.decode(source)
    except JsonError:
        raise
    except RecursionError:  # the caller's own stack was nearly full already
        raise JsonError("JSON nested too deeply to read here", limit=True) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise JsonError(str(error), limit=False) from None
