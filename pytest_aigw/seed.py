"""Logs loaded as the Logs API returns them, to test code that starts from existing logs.

    aigw.seed_logs([
        {"id": "019a...", "created_at": "2026-11-01T09:00:00.000Z", "provider": "openai",
         "model": "gpt-4o-mini", "metadata": {"user": "u1"}, "feedback": 1,
         "request": {"messages": [...]}, "response": {"choices": [...]}},
    ])

Each item is checked field by field; a bad one raises `ConfigError` naming the item
and the field, and nothing is loaded. `request` and `response` (optional) are the
bodies `GET /logs/{id}/request` and `/response` return.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from . import _json
from ._errors import ConfigError
from ._validation import check_json, fail, is_number, is_whole, short_repr
from .logstore import StoredLog

__all__ = ["logs_from_api"]

_ID = re.compile(r'[!"$-.0->@-~]+')  # visible ASCII but "#", "/" and "?"
_TIME_EXAMPLE = "2026-11-22T10:00:00.000Z"


def _text(value: object) -> bool:
    return isinstance(value, str)


def _whole(value: object) -> bool:
    return is_whole(value) and is_number(value)  # an int a float can hold


def _number(value: object) -> bool:
    return is_number(value)  # NaN and infinities would break every later list call


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _optional(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda value: value is None or check(value)


def _in_range(low: float, high: float) -> Callable[[object], bool]:
    return lambda value: value is None or (_number(value) and low <= value <= high)  # type: ignore[operator]


# field: (check, what it must be, default when absent; None default means required)
_FIELDS: dict[str, tuple[Callable[[object], bool], str, Any]] = {
    "id": (
        lambda v: isinstance(v, str) and _ID.fullmatch(v) is not None,
        "a non-empty string of visible ASCII without '/', '?' or '#' (it goes in URLs)",
        None,
    ),
    "provider": (_text, "a string such as 'openai'", None),
    "model": (_text, "a string", None),
    "path": (_text, "a string", ""),
    "model_type": (_text, "a string", ""),
    "duration": (_whole, "a whole number of ms", 0),
    "success": (_flag, "true or false", True),
    "status_code": (_whole, "an HTTP status", 200),
    "cached": (_flag, "true or false", False),
    "tokens_in": (_optional(_whole), "a whole number or null", None),
    "tokens_out": (_optional(_whole), "a whole number or null", None),
    "cost": (_number, "a number", 0.0),
    "custom_cost": (_flag, "true or false", False),
    "step": (_whole, "a whole number", 0),
    "event_id": (_optional(_text), "a string or null", None),
    "request_type": (_text, "a string", "universal"),
    "request_content_type": (_text, "a string", "application/json"),
    "response_content_type": (_text, "a string", "application/json"),
    "feedback": (_in_range(-1, 1), "a number from -1 to 1, or null", None),
    "score": (_in_range(0, 100), "a number from 0 to 100, or null", None),
    "wholesale": (_flag, "true or false", False),
    "byok": (_flag, "true or false", False),
    "authentication": (_flag, "true or false", False),
    "user_agent": (_optional(_text), "a string or null", None),
}
_REQUIRED = ("id", "created_at", "provider", "model")
_OPTIONAL_NONE = ("tokens_in", "tokens_out", "event_id", "feedback", "score", "user_agent")


def _created(value: object, where: str) -> float:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return fail(
        f"{where}: field 'created_at'", value, f"an RFC 3339 time such as {_TIME_EXAMPLE!r}"
    )


def _flat(value: object) -> bool:
    return isinstance(value, str | bool) or is_number(value)


def _metadata(value: object, where: str) -> dict[str, Any] | None:
    if isinstance(value, str):  # the OpenAPI schema's form: a JSON string
        try:
            value = _json.loads(value)
        except _json.JsonError:
            value = ...
    if value is None:
        return None
    if isinstance(value, dict) and all(_flat(v) for v in value.values()):
        return dict(value)
    return fail(
        f"{where}: field 'metadata'",
        value,
        "a flat object of string, finite number and boolean values (or that object as a"
        " JSON string, or null)",
    )


def _body(value: object, where: str) -> bytes | None:
    if value is None:
        return None
    return (value if isinstance(value, str) else check_json(where, value)).encode()


def _log(number: int, item: object) -> StoredLog:
    where = f"seeded log #{number}"
    if not isinstance(item, Mapping):
        fail(where, item, "an object as the Logs API returns it")
    where = f"seeded log #{number} (id {short_repr(item.get('id'))})"
    missing = [name for name in _REQUIRED if name not in item]
    if missing:
        raise ConfigError(f"{where}: missing required field(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, (check, rule, default) in _FIELDS.items():
        value = item.get(name, default)
        if (value is not None or name not in _OPTIONAL_NONE) and not check(value):
            fail(f"{where}: field {name!r}", value, rule)
        values[name] = value
    created = _created(item["created_at"], where)
    request = _body(item.get("request"), f"{where}: field 'request'")
    response = _body(item.get("response"), f"{where}: field 'response'")
    known = {*_FIELDS, "created_at", "metadata", "request", "response"}
    return StoredLog(
        **values,
        created=created,
        metadata=_metadata(item.get("metadata"), where),
        request_body=request,
        response_body=response,
        request_size=len(request or b""),
        response_size=len(response or b""),
        extra={k: v for k, v in item.items() if k not in known},
        visible_at=0.0,  # seeded logs exist already: visible, details filled in
        details_at=0.0,
    )


def logs_from_api(items: Iterable[object]) -> list[StoredLog]:
    """Check and convert *items* (Logs API objects); raise `ConfigError` on the first bad one."""
    return [_log(number, item) for number, item in enumerate(items, start=1)]
