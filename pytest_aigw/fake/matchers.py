"""Which requests a script answers: matchers on where a request goes and what it says.

Each matcher left out matches anything. A request's conversation is read the same
way whatever API format it speaks, so ``prompt="refund"`` matches an OpenAI chat,
a Responses, an Anthropic, a Gemini or a Workers AI request alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypedDict

from .arguments import check, fail, short_repr, user_traceback
from .formats.base import Conversation
from .routing import PROVIDER_SLUG

if TYPE_CHECKING:
    from ..calls import Call

__all__ = [
    "MATCHER_NAMES",
    "Asked",
    "MatcherArgs",
    "RouteMatcherArgs",
    "Matchers",
    "TextMatcher",
    "shown",
]

TextMatcher: TypeAlias = "str | re.Pattern[str] | None"


class Asked(Protocol):
    """A request as matchers see it."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str | None: ...
    @property
    def path(self) -> str: ...
    @property
    def body(self) -> Any: ...
    @property
    def conversation(self) -> Conversation: ...
    @property
    def metadata(self) -> Mapping[str, Any] | None: ...
    def call(self) -> Call: ...


def shown(matcher: str | re.Pattern[str]) -> str:
    return f"re.compile({matcher.pattern!r})" if isinstance(matcher, re.Pattern) else repr(matcher)


def _quoted(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "none"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _text_matches(matcher: str | re.Pattern[str], text: str | None) -> bool:
    if text is None:
        return False
    if isinstance(matcher, re.Pattern):
        return matcher.search(text) is not None
    return matcher in text


def _verb(matcher: str | re.Pattern[str]) -> str:
    return "match" if isinstance(matcher, re.Pattern) else "contain"


def _subset_problem(wanted: Any, actual: Any, where: str) -> str | None:
    """Say where *actual* departs from *wanted* (dicts compared key by key, recursively)."""
    if isinstance(wanted, Mapping) and isinstance(actual, Mapping):
        for key, value in wanted.items():
            if key not in actual:
                return f"{where} has no {key!r}"
            problem = _subset_problem(value, actual[key], f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    if wanted != actual or (type(wanted) is not type(actual) and not _both_numbers(wanted, actual)):
        return f"{where} is {short_repr(actual, 60)}, not {short_repr(wanted, 60)}"
    return None


def _both_numbers(a: object, b: object) -> bool:
    return all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))


@dataclass(frozen=True)
class Matchers:
    """Every matcher of one script (None: matches anything)."""

    provider: str | None = None
    model: TextMatcher = None
    path: TextMatcher = None
    prompt: TextMatcher = None
    system: TextMatcher = None
    metadata: Mapping[str, Any] | None = None
    tools: tuple[str, ...] | None = None
    tool_result: bool | str | None = None
    body: Mapping[str, Any] | None = None
    match: Callable[[Call], bool] | None = None

    def mismatches(self, asked: Asked) -> list[str]:
        """Say which matchers reject *asked*, one phrase each."""
        found = self._route_mismatches(asked)
        if self.prompt is not None or self.system is not None:
            found += self._text_mismatches(asked.conversation)
        if self.tools is not None or self.tool_result is not None:
            found += self._tool_mismatches(asked.conversation)
        if self.metadata is not None:
            problem = _subset_problem(self.metadata, asked.metadata or {}, "metadata")
            if problem:
                found.append(problem)
        if self.body is not None:
            problem = _subset_problem(self.body, asked.body, "body")
            if problem:
                found.append(problem)
        if self.match is not None and not found:  # only worth calling when the rest fit
            found += self._callable_mismatch(asked)
        return found

    def _route_mismatches(self, asked: Asked) -> list[str]:
        found = []
        if self.provider is not None and self.provider != asked.provider:
            found.append(f"provider is {asked.provider!r}, not {self.provider!r}")
        if self.model is not None and not _model_matches(self.model, asked.provider, asked.model):
            found.append(f"model is {asked.model!r}, not {shown(self.model)}")
        if self.path is not None and not _path_matches(self.path, asked.path):
            found.append(f"path is {asked.path!r}, not {shown(self.path)}")
        return found

    def _text_mismatches(self, conversation: Conversation) -> list[str]:
        found = []
        prompt = conversation.prompt
        if self.prompt is not None and not _text_matches(self.prompt, prompt):
            found.append(
                f"prompt does not {_verb(self.prompt)} {shown(self.prompt)}"
                f" (last user message: {_quoted(prompt)})"
            )
        system = conversation.system
        if self.system is not None and not _text_matches(self.system, system):
            found.append(
                f"system prompt does not {_verb(self.system)} {shown(self.system)}"
                f" (system prompt: {_quoted(system)})"
            )
        return found

    def _tool_mismatches(self, conversation: Conversation) -> list[str]:
        found = []
        offered = conversation.tool_names
        missing = [name for name in self.tools or () if name not in offered]
        if missing:
            found.append(f"tools offered are {list(offered)}, without {missing}")
        results = [result.name for result in conversation.tool_results]
        wanted = self.tool_result
        if wanted is True and not results:
            found.append("the request carries no tool result")
        elif wanted is False and results:
            found.append(f"the request carries tool results {results}")
        elif isinstance(wanted, str) and wanted not in results:
            found.append(f"the request carries no result of tool {wanted!r} (results: {results})")
        return found

    def _callable_mismatch(self, asked: Asked) -> list[str]:
        assert self.match is not None
        name = getattr(self.match, "__name__", "the function")
        try:
            matched = self.match(asked.call())
        except Exception as error:  # a broken matcher must not break the app's request
            trace = user_traceback(error)
            return [f"match={name} raised {type(error).__name__}: {error}\n{trace}"]
        return [] if matched else [f"match={name} returned {matched!r}"]

    def described(self) -> dict[str, object]:
        """The matchers as the test wrote them, for messages (None left out by the caller)."""
        return {
            "provider": self.provider,
            "model": self.model,
            "path": self.path,
            "prompt": self.prompt,
            "system": self.system,
            "metadata": self.metadata,
            "tools": list(self.tools) if self.tools is not None else None,
            "tool_result": self.tool_result,
            "body": self.body,
            "match": self.match,
        }


MATCHER_NAMES = tuple(entry.name for entry in fields(Matchers))  # matchers()'s keywords


def _model_matches(matcher: str | re.Pattern[str], provider: str, model: str | None) -> bool:
    if model is None:
        return False
    if isinstance(matcher, re.Pattern):
        return matcher.search(model) is not None
    # `provider/model` also matches, as apps write it for the compat endpoint; the bare
    # name matches a REST API call's `provider/model`.
    return matcher in (model, f"{provider}/{model}") or model == f"{provider}/{matcher}"


def _path_matches(matcher: str | re.Pattern[str], path: str) -> bool:
    if isinstance(matcher, re.Pattern):
        return matcher.search(path) is not None
    return matcher.strip("/") == path.strip("/")


def _text_matcher(name: str, value: object) -> None:
    check(
        name,
        value,
        value is None or isinstance(value, str | re.Pattern),
        "a string or a compiled regex (re.compile(...))",
    )


def matchers(
    *,
    provider: object = None,
    model: object = None,
    path: object = None,
    prompt: object = None,
    system: object = None,
    metadata: object = None,
    tools: object = None,
    tool_result: object = None,
    body: object = None,
    match: object = None,
) -> Matchers:
    """Check the matcher arguments of `respond` and `fail`; build their `Matchers`."""
    check(
        "provider",
        provider,
        provider is None or (isinstance(provider, str) and bool(PROVIDER_SLUG.fullmatch(provider))),
        "a provider slug such as 'openai'",
    )
    for name, value in (("model", model), ("path", path), ("prompt", prompt), ("system", system)):
        _text_matcher(name, value)
    for name, value in (("metadata", metadata), ("body", body)):
        check(name, value, value is None or isinstance(value, Mapping), "a dict (a subset to find)")
    check(
        "tool_result",
        tool_result,
        tool_result is None or isinstance(tool_result, bool | str),
        "True, False or a tool name",
    )
    check("match", match, match is None or callable(match), "a function taking the request's Call")
    return Matchers(
        provider,  # type: ignore[arg-type]
        model,  # type: ignore[arg-type]
        path,  # type: ignore[arg-type]
        prompt,  # type: ignore[arg-type]
        system,  # type: ignore[arg-type]
        metadata,  # type: ignore[arg-type]
        _tool_names(tools),
        tool_result,  # type: ignore[arg-type]
        body,  # type: ignore[arg-type]
        match,  # type: ignore[arg-type]
    )


def _tool_names(tools: object) -> tuple[str, ...] | None:
    if tools is None:
        return None
    if isinstance(tools, str):
        return (tools,)
    if isinstance(tools, Iterable) and not isinstance(tools, bytes | Mapping):
        names = tuple(tools)
        if all(isinstance(name, str) for name in names):
            return names
    return fail("tools", tools, "a tool name or a list of tool names that must be offered")


class RouteMatcherArgs(TypedDict, total=False):
    """The request matchers but ``model``: `aigw.auto_route`'s (its requests ask for one)."""

    provider: str | None
    path: TextMatcher
    prompt: TextMatcher
    system: TextMatcher
    metadata: Mapping[str, Any] | None
    tools: str | Sequence[str] | None
    tool_result: bool | str | None
    body: Mapping[str, Any] | None
    match: Callable[[Call], bool] | None


class MatcherArgs(RouteMatcherArgs, total=False):
    """The request matchers as keyword arguments (`respond`, `fail`, `guardrail`, `dlp`)."""

    model: TextMatcher
