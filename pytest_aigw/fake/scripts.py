"""Scripted replies and failures: what a test tells the fake to answer, and when.

A script matches requests by provider, model and path (any it leaves out match
anything). Requests take the first script, in the order registered, that matches
and has uses left. Once a test scripts anything, every provider request must match
a script: the fake never silently falls back to its default reply.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from .._errors import ConfigError
from .routing import PROVIDER_SLUG

__all__ = [
    "FAULTS",
    "Failure",
    "Matcher",
    "Reply",
    "Script",
    "ScriptBook",
    "failure_script",
    "reply_script",
]

Matcher: TypeAlias = "str | re.Pattern[str] | None"
Fault = Literal["timeout", "disconnect"]
FAULTS: tuple[Fault, ...] = ("timeout", "disconnect")
SHOWN_CLOSEST = 5
Origin = Literal["gateway", "provider"]


@dataclass(frozen=True)
class Reply:
    """A provider answer: content or an exact JSON body, with status and headers."""

    content: str | tuple[str, ...] | None = None
    json: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool | None = None
    latency: float = 0.0
    cut_after: int | None = None


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
    action: Reply | Failure
    provider: str | None
    model: Matcher
    path: Matcher
    times: int | None
    optional: bool
    text: str
    used: int = 0

    @property
    def used_up(self) -> bool:
        return self.times is not None and self.used >= self.times

    def mismatches(self, provider: str, model: str | None, path: str) -> list[str]:
        """Say which matchers reject a request, one phrase each."""
        found = []
        if self.provider is not None and self.provider != provider:
            found.append(f"provider is {provider!r}, not {self.provider!r}")
        if self.model is not None and not _model_matches(self.model, provider, model):
            found.append(f"model is {model!r}, not {_shown(self.model)}")
        if self.path is not None and not _path_matches(self.path, path):
            found.append(f"path is {path!r}, not {_shown(self.path)}")
        return found

    def describe_against(self, provider: str, model: str | None, path: str) -> str:
        reasons = self.mismatches(provider, model, path)
        if self.used_up:
            reasons.append(f"used up ({_count(self.used)} of {_count(self.times or 0)})")
        return f"#{self.number} {self.text}: {'; '.join(reasons)}"


def _count(n: int) -> str:
    return f"{n} time" if n == 1 else f"{n} times"


def _shown(matcher: str | re.Pattern[str]) -> str:
    return f"re.compile({matcher.pattern!r})" if isinstance(matcher, re.Pattern) else repr(matcher)


def _model_matches(matcher: str | re.Pattern[str], provider: str, model: str | None) -> bool:
    if model is None:
        return False
    if isinstance(matcher, re.Pattern):
        return matcher.search(model) is not None
    # `provider/model` also matches, as apps write it for the compat endpoint.
    return matcher in (model, f"{provider}/{model}")


def _path_matches(matcher: str | re.Pattern[str], path: str) -> bool:
    if isinstance(matcher, re.Pattern):
        return matcher.search(path) is not None
    return matcher.strip("/") == path.strip("/")


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

    def take(self, provider: str, model: str | None, path: str) -> Script | None:
        """Use up one answer of the first matching script with uses left."""
        with self._lock:
            for script in self._scripts:
                if not script.used_up and not script.mismatches(provider, model, path):
                    script.used += 1
                    return script
        return None

    def closest(self, provider: str, model: str | None, path: str) -> list[str]:
        """The scripts nearest to matching a request: ones with uses left first."""
        ranked = sorted(
            self._scripts,
            key=lambda s: (s.used_up, len(s.mismatches(provider, model, path)), s.number),
        )
        return [s.describe_against(provider, model, path) for s in ranked[:SHOWN_CLOSEST]]

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
    shown = [] if leading is None else [_short(leading)]
    if times != 1:
        options["times"] = "None" if times is None else times
    for key, value in options.items():
        if value is not None:
            rendered = value if value == "None" else _short(value)
            if isinstance(value, re.Pattern):
                rendered = _shown(value)
            shown.append(f"{key}={rendered}")
    return f"aigw.{name}({', '.join(shown)})"


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_matchers(provider: object, model: object, path: object) -> None:
    if provider is not None and not (
        isinstance(provider, str) and PROVIDER_SLUG.fullmatch(provider)
    ):
        raise ConfigError(f"provider= must be a provider slug such as 'openai', got {provider!r}")
    for name, value in (("model", model), ("path", path)):
        if value is not None and not isinstance(value, str | re.Pattern):
            raise ConfigError(
                f"{name}= must be a string or a compiled regex (re.compile(...)), got {value!r}"
            )


def _check_common(times: object, headers: object) -> None:
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise ConfigError(
            f"times= must be a whole number >= 1, or None for any number of uses; got {times!r}"
        )
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ConfigError(f"headers= must map header names to string values, got {headers!r}")


def reply_script(
    content: str | Sequence[str] | None,
    *,
    provider: str | None,
    model: Matcher,
    path: Matcher,
    status: int,
    json: Any,
    headers: Mapping[str, str],
    stream: bool | None,
    times: int | None,
    latency: float,
    cut_after: int | None,
    optional: bool,
) -> ScriptMaker:
    """Check `aigw.respond(...)` arguments; return a builder for `ScriptBook.add`."""
    _check_matchers(provider, model, path)
    _check_common(times, headers)
    if content is not None and json is not None:
        raise ConfigError("aigw.respond() takes content= or json=, not both")
    if content is not None and not isinstance(content, str):
        if isinstance(content, bytes) or not all(isinstance(p, str) for p in content):
            raise ConfigError(
                f"content= must be a string, or a list of strings sent as stream pieces;"
                f" got {content!r}"
            )
        content = tuple(content)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ConfigError(f"status= must be an HTTP status from 100 to 599, got {status!r}")
    if stream not in (None, True, False):
        raise ConfigError(
            f"stream= must be True, False or None (follow the request), got {stream!r}"
        )
    if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
        raise ConfigError(f"latency= must be seconds >= 0, got {latency!r}")
    if cut_after is not None and (
        not isinstance(cut_after, int) or isinstance(cut_after, bool) or cut_after < 0
    ):
        raise ConfigError(f"cut_after= must be a number of chunks >= 0, got {cut_after!r}")
    action = Reply(content, json, status, dict(headers), stream, float(latency), cut_after)
    text = _call_text(
        "respond",
        content,
        times,
        provider=provider,
        model=model,
        path=path,
        status=None if status == 200 else status,
        json=json,
        stream=stream,
    )
    return lambda number: Script(number, action, provider, model, path, times, optional, text)


def failure_script(
    status: int | str,
    *,
    code: int | None,
    message: str | None,
    origin: str | None,
    provider: str | None,
    model: Matcher,
    path: Matcher,
    headers: Mapping[str, str],
    times: int | None,
    optional: bool,
    gateway_codes: Mapping[int, Any],
) -> ScriptMaker:
    """Check `aigw.fail(...)` arguments; return a builder for `ScriptBook.add`."""
    _check_matchers(provider, model, path)
    _check_common(times, headers)
    if isinstance(status, str):
        if status not in FAULTS:
            raise ConfigError(
                f"aigw.fail() takes an HTTP error status (400-599) or one of"
                f" {', '.join(map(repr, FAULTS))}; got {status!r}"
            )
        action = Failure(None, fault=status)
    else:
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise ConfigError(
                f"aigw.fail() takes an HTTP error status from 400 to 599, or 'timeout' or"
                f" 'disconnect'; got {status!r}"
            )
        if origin is None:
            origin = "gateway" if status in gateway_codes or code is not None else "provider"
        if origin not in ("gateway", "provider"):
            raise ConfigError(f"origin= must be 'gateway' or 'provider', got {origin!r}")
        if origin == "provider" and code is not None:
            raise ConfigError(
                "code= is the gateway's internal error code; a provider error has none."
                " Drop code= or pass origin='gateway'"
            )
        if origin == "gateway" and code is None and status not in gateway_codes:
            known = ", ".join(f"{s} (code {f.code})" for s, f in sorted(gateway_codes.items()))
            raise ConfigError(
                f"the gateway has no known error code for status {status}; pass code=..."
                f" Known: {known}"
            )
        action = Failure(status, code, message, origin, dict(headers))  # type: ignore[arg-type]
    text = _call_text(
        "fail",
        status,
        times,
        code=code,
        message=message,
        provider=provider,
        model=model,
        path=path,
    )
    return lambda number: Script(number, action, provider, model, path, times, optional, text)
