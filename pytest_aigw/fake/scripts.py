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

from .arguments import check, fail, is_count, short_repr
from .formats.base import ToolCall, Usage
from .matchers import Asked, Matchers, matchers, shown
from .replies import content_parts, finish_reason_of, tool_calls_of, usage_of

__all__ = [
    "FAULTS",
    "Failure",
    "Script",
    "ScriptBook",
    "ScriptedReply",
    "failure_script",
    "reply_script",
]

Fault = Literal["timeout", "disconnect"]
FAULTS: tuple[Fault, ...] = ("timeout", "disconnect")
SHOWN_CLOSEST = 5
Origin = Literal["gateway", "provider"]
ReplyFunction = Callable[[Any], Any]


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


def _check_common(times: object, headers: object) -> None:
    check(
        "times",
        times,
        times is None or is_count(times, 1),
        "a whole number >= 1, or None for any number of uses",
    )
    check(
        "headers",
        headers,
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()),
        "a dict of header names to string values",
    )


def _reply_action(
    content: Any,
    json: Any,
    *,
    status: object,
    headers: Mapping[str, str],
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
    for name, value in (("content", content), ("tool_calls", tool_calls), ("refusal", refusal)):
        if json is not None and value is not None:
            fail(name, value, "left out when json= is given (json= is the exact body)")
    if json is not None and stream is True:
        fail(
            "stream",
            stream,
            "left out with json=: json= is sent as one plain JSON body and"
            " cannot be streamed; script content= or tool_calls= to get the provider's stream",
        )
    check(
        "status",
        status,
        is_count(status, 100) and status <= 599,  # type: ignore[operator]
        "an HTTP status from 100 to 599",
    )
    check(
        "stream", stream, stream in (None, True, False), "True, False or None (follow the request)"
    )
    check(
        "latency",
        latency,
        isinstance(latency, int | float) and not isinstance(latency, bool) and latency >= 0,
        "seconds >= 0",
    )
    check(
        "cut_after", cut_after, cut_after is None or is_count(cut_after), "a number of chunks >= 0"
    )
    check("refusal", refusal, refusal is None or isinstance(refusal, str), "a string")
    return ScriptedReply(
        text,
        json,
        int(status),  # type: ignore[call-overload]
        dict(headers),
        stream,  # type: ignore[arg-type]
        float(latency),  # type: ignore[arg-type]
        cut_after,  # type: ignore[arg-type]
        tool_calls_of(tool_calls),
        finish_reason_of(finish_reason),
        usage_of(usage),
        refusal,
        function,
    )


def reply_script(
    content: Any,
    *,
    json: Any,
    status: int,
    headers: Mapping[str, str],
    stream: bool | None,
    times: int | None,
    latency: float,
    cut_after: int | None,
    optional: bool,
    tool_calls: Any = None,
    finish_reason: str | None = None,
    usage: Any = None,
    refusal: str | None = None,
    **matcher_args: Any,
) -> ScriptMaker:
    """Check `aigw.respond(...)` arguments; return a builder for `ScriptBook.add`."""
    chosen = matchers(**matcher_args)
    _check_common(times, headers)
    action = _reply_action(
        content,
        json,
        status=status,
        headers=headers,
        stream=stream,
        latency=latency,
        cut_after=cut_after,
        tool_calls=tool_calls,
        finish_reason=finish_reason,
        usage=usage,
        refusal=refusal,
    )
    text = _call_text(
        "respond",
        action.function or action.content,
        times,
        **chosen.described(),
        status=None if status == 200 else status,
        json=json,
        tool_calls=action.tool_calls,
        finish_reason=finish_reason,
        refusal=refusal,
        stream=stream,
    )
    return lambda number: Script(number, action, chosen, times, optional, text)


def failure_script(
    status: int | str,
    *,
    code: int | None,
    message: str | None,
    origin: str | None,
    headers: Mapping[str, str],
    times: int | None,
    optional: bool,
    gateway_codes: Mapping[int, Any],
    **matcher_args: Any,
) -> ScriptMaker:
    """Check `aigw.fail(...)` arguments; return a builder for `ScriptBook.add`."""
    chosen = matchers(**matcher_args)
    _check_common(times, headers)
    action = _failure_action(status, code, message, origin, headers, gateway_codes)
    text = _call_text(
        "fail",
        status,
        times,
        code=code,
        message=message,
        **chosen.described(),
    )
    return lambda number: Script(number, action, chosen, times, optional, text)


def _failure_action(
    status: int | str,
    code: int | None,
    message: str | None,
    origin: str | None,
    headers: Mapping[str, str],
    gateway_codes: Mapping[int, Any],
) -> Failure:
    if isinstance(status, str):
        check(
            "status",
            status,
            status in FAULTS,
            "an HTTP error status from 400 to 599, or 'timeout' or 'disconnect'",
        )
        return Failure(None, fault=status)  # type: ignore[arg-type]
    check(
        "status",
        status,
        is_count(status, 400) and status <= 599,
        "an HTTP error status from 400 to 599, or 'timeout' or 'disconnect'",
    )
    check("code", code, code is None or is_count(code), "the gateway's whole-number error code")
    check("message", message, message is None or isinstance(message, str), "a string")
    if origin is None:
        origin = "gateway" if status in gateway_codes or code is not None else "provider"
    check("origin", origin, origin in ("gateway", "provider"), "'gateway' or 'provider'")
    if origin == "provider" and code is not None:
        fail(
            "code",
            code,
            "left out for a provider error (code= is the gateway's internal"
            " error code); drop code= or pass origin='gateway'",
        )
    if origin == "gateway" and code is None and status not in gateway_codes:
        known = ", ".join(f"{s} (code {f.code})" for s, f in sorted(gateway_codes.items()))
        fail(
            "code",
            code,
            f"given for gateway status {status}, which has no known code. Known: {known}",
        )
    return Failure(status, code, message, origin, dict(headers))  # type: ignore[arg-type]
