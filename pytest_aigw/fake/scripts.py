"""Scripted replies and failures: what a test tells the fake to answer, and when.

A script matches requests by where they go (provider, model, path) and by what
they say (prompt, system prompt, metadata, tools, tool results, body, a function);
see `matchers`. Requests take the first script, in the order registered, that
matches and has uses left. Once a test scripts anything, every provider request
must match a script: the fake never silently falls back to its default reply.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._validation import (
    check_choice,
    check_headers,
    check_json,
    check_number,
    check_string,
    fail,
    short_repr,
)
from .formats.base import ToolCall, Usage
from .matchers import MATCHER_NAMES, Asked, Matchers, matchers, shown
from .replies import content_parts, finish_reason_of, tool_calls_of, usage_of

__all__ = [
    "FAULTS",
    "Failure",
    "ScriptedReply",
    "Script",
    "ScriptBook",
    "failure_script",
    "reply_script",
]

Fault = Literal["timeout", "disconnect"]
FAULTS: tuple[Fault, ...] = ("timeout", "disconnect")
SHOWN_CLOSEST = 5
Origin = Literal["gateway", "provider"]
ReplyFunction = Callable[[Any], Any]
MAX_LATENCY = 3600.0  # an hour: past any client's timeout, and time.sleep can take it
MAX_CODE = 999_999  # the gateway's codes have four digits
STATUS = "an HTTP status from 100 to 599"
ERROR_STATUS = "an HTTP error status from 400 to 599, or 'timeout' or 'disconnect'"
STREAM = "True, False or None (follow the request)"
LATENCY = f"seconds from 0 to {MAX_LATENCY:g}"
CHUNKS = "a number of chunks >= 0"
CODE = f"the gateway's whole-number error code (0 to {MAX_CODE})"
PROVIDER_CODE = (
    "left out for a provider error (code= is the gateway's internal error code);"
    " drop code= or pass origin='gateway'"
)
JSON_NOT_STREAMED = (
    "left out with json=: json= is sent as one plain JSON body and cannot be streamed;"
    " script content= or tool_calls= to get the provider's stream"
)


@dataclass(frozen=True)
class ScriptedReply:
    """A provider answer: what the model says (or an exact JSON body), status, headers."""

    content: str | tuple[str, ...] | None = None
    json: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool | None = None
    latency: float = 0.0
    cut_after: int | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    refusal: str | None = None
    function: ReplyFunction | None = None  # computes the reply from the request


@dataclass(frozen=True)
class Failure:
    """An error answer (by the gateway or the provider), or a network fault."""

    status: int | None
    code: int | None = None
    message: str | None = None
    origin: Origin = "provider"
    headers: Mapping[str, str] = field(default_factory=dict)
    fault: Fault | None = None


@dataclass
class Script:
    """One scripted answer, its matchers, and how often it may and did answer."""

    number: int
    action: ScriptedReply | Failure
    matchers: Matchers
    times: int | None
    optional: bool
    text: str
    used: int = 0

    @property
    def used_up(self) -> bool:
        return self.times is not None and self.used >= self.times

    def describe_against(self, asked: Asked) -> str:
        reasons = self.matchers.mismatches(asked)
        if self.used_up:
            reasons.append(f"used up ({_count(self.used)} of {_count(self.times or 0)})")
        return f"#{self.number} {self.text}: {'; '.join(reasons)}"


def _count(n: int) -> str:
    return f"{n} time" if n == 1 else f"{n} times"


ScriptMaker = Callable[[int], Script]


class ScriptBook:
    """The scripts of one gateway, in the order registered."""

    def __init__(self) -> None:
        self._scripts: list[Script] = []
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._scripts)

    def __iter__(self) -> Iterator[Script]:
        return iter(list(self._scripts))

    def add(self, make: ScriptMaker) -> Script:
        """Register the script *make(number)* builds, numbered in registration order."""
        with self._lock:
            script: Script = make(len(self._scripts) + 1)
            self._scripts.append(script)
        return script

    def take(self, asked: Asked) -> Script | None:
        """Use up one answer of the first matching script with uses left."""
        with self._lock:
            for script in self._scripts:
                if not script.used_up and not script.matchers.mismatches(asked):
                    script.used += 1
                    return script
        return None

    def closest(self, asked: Asked) -> list[Script]:
        """The scripts nearest to matching a request: ones with uses left first."""
        ranked = sorted(
            self._scripts,
            key=lambda s: (s.used_up, len(s.matchers.mismatches(asked)), s.number),
        )
        return ranked[:SHOWN_CLOSEST]

    def unused(self) -> list[str]:
        """Findings for scripts that were meant to answer and did not (fully)."""
        return [
            f"scripted reply #{s.number} {s.text} was used {_count(s.used)} of"
            f" {_count(s.times)}: no request matched it. Fix the matcher, lower times=,"
            " or pass optional=True if the app may not send it."
            for s in self._scripts
            if s.times is not None and s.used < s.times and not s.optional
        ]

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()


def _call_text(name: str, leading: object, times: int | None, **options: object) -> str:
    """Render a script the way the test wrote it, for messages."""
    shown_args = [] if leading is None else [_short(leading)]
    if times != 1:
        options["times"] = "None" if times is None else times
    for key, value in options.items():
        if value is None or value == ():
            continue
        if isinstance(value, re.Pattern):
            rendered = shown(value)
        elif value == "None" or callable(value):
            rendered = getattr(value, "__name__", str(value))
        else:
            rendered = _short(value)
        shown_args.append(f"{key}={rendered}")
    return f"aigw.{name}({', '.join(shown_args)})"


def _short(value: object, limit: int = 40) -> str:
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__name__", repr(value))
    if isinstance(value, tuple) and value and isinstance(value[0], ToolCall):
        value = [call.name for call in value]
    return short_repr(value, limit)


def _uses(times: object) -> int | None:
    expected = "a whole number >= 1, or None for any number of uses"
    return check_number("times=", times, min=1, integer=True, optional=True, expected=expected)  # type: ignore[no-any-return]


def _json_alone(json: Any, stream: object, **others: object) -> None:
    """json= is the exact body: nothing else may say what the reply holds."""
    for name, value in others.items():
        if json is not None and value is not None:
            fail(f"{name}=", value, "left out when json= is given (json= is the exact body)")
    if json is not None and stream is True:
        fail("stream=", stream, JSON_NOT_STREAMED)
    if json is not None:
        check_json("json=", json)


def _reply_action(
    content: Any,
    *,
    json: Any,
    status: object,
    headers: object,
    stream: object,
    latency: object,
    cut_after: object,
    tool_calls: Any,
    finish_reason: Any,
    usage: Any,
    refusal: Any,
) -> ScriptedReply:
    function = content if callable(content) and not hasattr(content, "model_dump") else None
    text = None if function else content_parts(content)
    _json_alone(json, stream, content=content, tool_calls=tool_calls, refusal=refusal)
    return ScriptedReply(
        text,
        json,
        check_number("status=", status, min=100, max=599, integer=True, expected=STATUS),
        check_headers("headers=", headers),
        check_choice("stream=", stream, (None, True, False), STREAM),
        float(check_number("latency=", latency, min=0, max=MAX_LATENCY, expected=LATENCY)),
        check_number("cut_after=", cut_after, min=0, integer=True, optional=True, expected=CHUNKS),
        tool_calls_of(tool_calls),
        finish_reason_of(finish_reason),
        usage_of(usage),
        check_string("refusal=", refusal, optional=True, expected="a string"),
        function,
    )


def _split(given: dict[str, Any]) -> Matchers:
    """Take the matcher arguments out of *given*; check them and build their `Matchers`."""
    return matchers(**{name: given.pop(name) for name in MATCHER_NAMES if name in given})


def reply_script(content: Any, *, times: object, optional: bool, **given: Any) -> ScriptMaker:
    """Check `aigw.respond(...)` arguments; return a builder for `ScriptBook.add`.

    *given* holds the matchers and what `_reply_action` takes, by their `respond` names.
    """
    chosen, uses = _split(given), _uses(times)
    action = _reply_action(content, **given)
    shown_args = {
        "status": None if action.status == 200 else action.status,
        "json": given.get("json"),
        "tool_calls": action.tool_calls,
        **{key: given.get(key) for key in ("finish_reason", "refusal", "stream")},
    }
    leading = action.function or action.content
    text = _call_text("respond", leading, uses, **chosen.described(), **shown_args)
    return lambda number: Script(number, action, chosen, uses, optional, text)


def failure_script(
    status: object, *, times: object, optional: bool, gateway_codes: Mapping[int, Any], **given: Any
) -> ScriptMaker:
    """Check `aigw.fail(...)` arguments; return a builder for `ScriptBook.add`."""
    chosen, uses = _split(given), _uses(times)
    action = _failure_action(status, gateway_codes=gateway_codes, **given)
    shown_args = {"code": given.get("code"), "message": given.get("message")}
    text = _call_text("fail", status, uses, **shown_args, **chosen.described())
    return lambda number: Script(number, action, chosen, uses, optional, text)


def _failure_action(
    status: object,
    *,
    code: object = None,
    message: object = None,
    origin: object = None,
    headers: object,
    gateway_codes: Mapping[int, Any],
) -> Failure:
    if isinstance(status, str):
        return Failure(None, fault=check_choice("status=", status, FAULTS, ERROR_STATUS))
    check_number("status=", status, min=400, max=599, integer=True, expected=ERROR_STATUS)
    check_number("code=", code, min=0, max=MAX_CODE, integer=True, optional=True, expected=CODE)
    check_string("message=", message, optional=True, expected="a string")
    if origin is None:
        origin = "gateway" if status in gateway_codes or code is not None else "provider"
    origin = check_choice("origin=", origin, ("gateway", "provider"))
    if origin == "provider" and code is not None:
        fail("code=", code, PROVIDER_CODE)
    if origin == "gateway" and code is None and status not in gateway_codes:
        known = ", ".join(f"{s} (code {f.code})" for s, f in sorted(gateway_codes.items()))
        fail(
            "code=",
            code,
            f"given for gateway status {status}, which has no known code. Known: {known}",
        )
    return Failure(status, code, message, origin, check_headers("headers=", headers))  # type: ignore[arg-type]
