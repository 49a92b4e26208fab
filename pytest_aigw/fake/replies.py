"""What a scripted reply says, checked and normalised whatever form the test wrote it in.

`aigw.respond(...)`, a reply function's return value and `pytest_aigw.reply(...)`
all come here: text, stream pieces, JSON-able values (dicts, lists, pydantic
models) sent as JSON text, tool calls, a finish reason, usage and a refusal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from .._validation import check_json, check_number
from .arguments import check, fail
from .formats.base import FINISH_REASONS, ToolCall, Usage

__all__ = ["ReplyParts", "content_parts", "reply", "tool_call", "tool_calls_of", "usage_of"]

USAGE_KEYS = ("input", "output", "cached", "reasoning")
MAX_TOKENS = 2**31 - 1  # what providers' 32-bit token counts hold


@dataclass(frozen=True)
class ReplyParts:
    """A whole reply a reply function returns: see `pytest_aigw.reply`."""

    content: str | tuple[str, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    refusal: str | None = None


def tool_call(name: str, arguments: Any = None, id: str | None = None) -> ToolCall:
    """One tool call for ``aigw.respond(tool_calls=[...])``.

    *arguments* is a dict (sent as JSON) or a JSON string; *id* is the provider's
    call id, derived from the request when left out (the same request gets the
    same id).
    """
    check("tool_call name", name, isinstance(name, str) and bool(name), "a non-empty string")
    if id is not None:
        check("tool_call id", id, isinstance(id, str) and bool(id), "a non-empty string or None")
    return ToolCall(name, _arguments_text(arguments), id)


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")  # Python reads NaN and Infinity; JSON has none


def _arguments_text(arguments: Any) -> str:
    if arguments is None:
        return "{}"
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments, parse_constant=_not_json)
        except (ValueError, RecursionError):
            fail("tool_call arguments", arguments, "a dict or a JSON object string")
        check("tool_call arguments", arguments, isinstance(parsed, dict), "a JSON object string")
        return arguments
    check(
        "tool_call arguments", arguments, isinstance(arguments, Mapping), "a dict or a JSON string"
    )
    return _json(dict(arguments), "tool_call arguments")


def _json(value: Any, name: str) -> str:
    return check_json(f"{name}=", value)


def tool_calls_of(value: Any) -> tuple[ToolCall, ...]:
    """Read ``tool_calls=``: ToolCalls or dicts with name, arguments and an optional id."""
    if value is None:
        return ()
    check(
        "tool_calls",
        value,
        isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping),
        "a list of tool calls (dicts with 'name' and 'arguments', or pytest_aigw.tool_call(...))",
    )
    calls = []
    for entry in value:
        if isinstance(entry, ToolCall):
            calls.append(entry)
            continue
        check(
            "tool_calls entry",
            entry,
            isinstance(entry, Mapping)
            and set(entry) <= {"name", "arguments", "id"}
            and "name" in entry,
            "a dict with 'name', 'arguments' and optionally 'id'",
        )
        calls.append(tool_call(entry["name"], entry.get("arguments"), entry.get("id")))
    return tuple(calls)


def usage_of(value: Any) -> Usage | None:
    """Read ``usage=``: a dict of token counts (input, output, cached, reasoning)."""
    if value is None or isinstance(value, Usage):
        return value
    expected = f"a dict of token counts with keys from {', '.join(USAGE_KEYS)}"
    check("usage", value, isinstance(value, Mapping) and set(value) <= set(USAGE_KEYS), expected)
    for key, count in value.items():
        expected = f"a whole number of tokens from 0 to {MAX_TOKENS}"
        check_number(
            f"usage[{key!r}]=", count, min=0, max=MAX_TOKENS, integer=True, expected=expected
        )
    return Usage(
        value.get("input"), value.get("output"), value.get("cached", 0), value.get("reasoning", 0)
    )


def finish_reason_of(value: Any) -> str | None:
    if value is not None:
        check("finish_reason", value, value in FINISH_REASONS, f"one of {FINISH_REASONS}")
    return value  # type: ignore[no-any-return]


def content_parts(content: Any) -> str | tuple[str, ...] | None:
    """Read reply content: text, stream pieces, or a JSON-able value sent as JSON text."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        return _json(dict(content), "content")
    if hasattr(content, "model_dump_json"):  # a pydantic model
        return str(content.model_dump_json())
    if isinstance(content, list | tuple):
        if all(isinstance(piece, str) for piece in content):
            return tuple(content)
        if all(isinstance(item, Mapping) or hasattr(item, "model_dump") for item in content):
            items = [
                item.model_dump(mode="json") if hasattr(item, "model_dump") else item
                for item in content
            ]
            return _json(items, "content")
    return fail(
        "content",
        content,
        "a string, a list of strings (the stream's pieces), a dict, a list of dicts"
        " or a pydantic model",
    )


def reply(
    content: Any = None,
    *,
    tool_calls: Any = None,
    finish_reason: str | None = None,
    usage: Any = None,
    refusal: str | None = None,
) -> ReplyParts:
    """A whole reply, for a reply function to return: ``aigw.respond(fn)``.

    Arguments as `aigw.respond`: text (or a dict or pydantic model sent as JSON),
    tool calls, a finish reason (stop, length, tool_calls, content_filter), usage,
    a refusal.
    """
    if refusal is not None:
        check("refusal", refusal, isinstance(refusal, str), "a string")
    return ReplyParts(
        content_parts(content),
        tool_calls_of(tool_calls),
        finish_reason_of(finish_reason),
        usage_of(usage),
        refusal,
    )
