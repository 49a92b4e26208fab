"""One argument checker, one message form, for every value a user passes in.

Every message about a bad value reads ``{name} must be {what is allowed}, got
{the value}``. *name* is what the user wrote: ``status=`` for a keyword argument,
``visibility_lag`` for a setting, ``seeded log #1 (id 'a'): field 'cost'`` for a
field; callers that know where the value came from put that in front
(``@pytest.mark.aigw: ``, ``ini aigw_x: ``). Numbers are refused when they are NaN
or infinite, wherever they are taken: a NaN stored in the fake breaks it later,
far from the line that put it there.

Each ``check_*`` returns the value (normalised where said) or raises `ConfigError`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeVar

from ._errors import ConfigError

__all__ = [
    "check",
    "check_choice",
    "check_headers",
    "check_json",
    "check_mapping",
    "check_number",
    "check_string",
    "check_type",
    "fail",
    "is_number",
    "is_whole",
    "short_repr",
]

T = TypeVar("T")


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


Identified = TypeVar("Identified", bound=_HasId)

SHOWN = 80  # characters of a bad value a message shows
# RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A header value the fake can send as it is: visible ASCII, spaces and tabs.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_STRICT_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def short_repr(value: object, limit: int = SHOWN) -> str:
    """`repr(value)`, cut to *limit* characters (ending in "...") when longer.

    A value whose repr fails (a broken ``__repr__``, an int past Python's digit
    limit) is shown by its type, so the message about it is still raised.
    """
    try:
        text = repr(value)
    except Exception:  # the message must not fail on the value it is about
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(name: str, value: object, expected: str) -> NoReturn:
    """Raise the `ConfigError` saying *name* must be *expected*, showing *value*."""
    raise ConfigError(f"{name} must be {expected}, got {short_repr(value)}")


def check(name: str, value: object, ok: bool, expected: str) -> None:
    """Raise the `ConfigError` for *name* unless *ok*."""
    if not ok:
        fail(name, value, expected)


def is_whole(value: object) -> bool:
    """Whether *value* is an int (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """Whether *value* is a finite int or float (not a bool, not NaN, not infinite).

    An int too large for a float counts as infinite: the fake computes in floats.
    """
    if is_whole(value):
        try:
            float(value)  # type: ignore[arg-type]
        except OverflowError:
            return False
        return True
    return isinstance(value, float) and math.isfinite(value)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def check_number(
    name: str,
    value: object,
    *,
    min: float | None = None,
    max: float | None = None,
    integer: bool = False,
    optional: bool = False,
    expected: str | None = None,
) -> Any:
    """*value*, a finite number (a whole one if *integer*) from *min* to *max*.

    None passes when *optional*. *expected* replaces the generated description
    (``a whole number >= 1``, ``a number from 0 to 100, or None``).
    """
    if value is None and optional:
        return None
    if expected is None:
        kind = "a whole number" if integer else "a number"
        expected = kind + _range_text(min, max) + (", or None" if optional else "")
    ok = (is_whole(value) or (not integer and is_number(value))) and is_number(value)
    if ok and min is not None:
        ok = value >= min  # type: ignore[operator]
    if ok and max is not None:
        ok = value <= max  # type: ignore[operator]
    check(name, value, ok, expected)
    return value


def check_type(name: str, value: object, types: type[T] | tuple[type, ...], expected: str) -> T:
    """*value* if it is an instance of *types* (a bool only where bool is named)."""
    ok = isinstance(value, types)
    if ok and isinstance(value, bool):
        named = types if isinstance(types, tuple) else (types,)
        ok = bool in named
    check(name, value, ok, expected)
    return value  # type: ignore[return-value]


def _same(value: object, choice: object) -> bool:
    if isinstance(value, bool) or isinstance(choice, bool):
        return value is choice  # 1 is not True, 0 is not False
    return isinstance(value, type(choice)) and value == choice


def check_choice(name: str, value: object, choices: tuple[T, ...], expected: str = "") -> T:
    """The one of *choices* that *value* is (1 is not True; a str subclass is its str)."""
    for choice in choices:
        if _same(value, choice):
            return choice
    fail(name, value, expected or " or ".join(repr(c) for c in choices))


def check_string(
    name: str,
    value: object,
    *,
    non_empty: bool = False,
    optional: bool = False,
    expected: str | None = None,
) -> Any:
    """*value*, a string (non-empty if *non_empty*; None passes when *optional*)."""
    if value is None and optional:
        return None
    if expected is None:
        expected = ("a non-empty string" if non_empty else "a string") + (
            " or None" if optional else ""
        )
    check(name, value, isinstance(value, str) and (bool(value) or not non_empty), expected)
    return value


def check_mapping(
    name: str,
    value: object,
    expected: str,
    *,
    keys: Callable[[object], bool] = lambda key: True,
    values: Callable[[object], bool] = lambda item: True,
) -> dict[Any, Any]:
    """A dict copy of *value*, a mapping whose keys and values pass *keys* and *values*."""
    ok = isinstance(value, Mapping) and all(keys(k) and values(v) for k, v in value.items())
    check(name, value, ok, expected)
    return dict(value)  # type: ignore[call-overload,no-any-return]


def check_headers(name: str, value: object) -> dict[str, str]:
    """A dict copy of *value*: header names (tokens) to values the fake can send.

    A value is visible ASCII, spaces and tabs: a line break would split the header,
    and an HTTP library refuses other characters when it sends it.
    """
    return check_mapping(
        name,
        value,
        "a dict of header names to string values (ASCII, no line breaks)",
        keys=lambda key: isinstance(key, str) and _TOKEN.fullmatch(key) is not None,
        values=lambda item: isinstance(item, str) and _HEADER_VALUE.fullmatch(item) is not None,
    )


def check_json(name: str, value: object) -> str:
    """*value* as compact JSON text; refused if JSON cannot carry it.

    Refused: objects JSON has no form for, NaN and infinities (not JSON: parsers
    refuse them), nesting too deep to encode, ints past Python's digit limit.
    """
    try:
        return _STRICT_JSON.encode(value)
    except (TypeError, ValueError, RecursionError) as error:
        reason = "too deeply nested" if isinstance(error, RecursionError) else str(error)
        fail(name, value, f"JSON-serialisable ({reason})")


def check_unique_ids(
    name: str,
    items: Sequence[object],
    noun: str,
    plural: str,
    compile: Callable[[object, str], Identified],
) -> list[Identified]:
    """Each of *items* checked by *compile* (given where it stands), their ids unique."""
    compiled: list[Identified] = []
    seen: set[str] = set()
    for number, item in enumerate(items, start=1):
        where = f"{name} {noun} #{number}"
        checked = compile(item, where)
        if checked.id in seen:
            fail(f"{where}: 'id'", checked.id, f"unique among the {plural}")
        seen.add(checked.id)
        compiled.append(checked)
    return compiled
