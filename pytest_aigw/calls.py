"""Recorded gateway calls, with every secret redacted before it is stored."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

import httpx

from . import _json
from .fake.auto_router import Routing
from .fake.formats import Conversation, Message, ToolResult, format_for
from .fake.options import NO_OPTIONS, RequestOptions
from .judges import is_judge_call
from .metadata import MetadataProblem, MetadataValue
from .redaction import (
    REDACTED,
    SECRET_HEADERS,
    digest,
    redact_body,
    redact_headers,
    redact_mapping,
    redact_steps,
    redact_url,
    step_secret_words,
)

__all__ = [
    "REDACTED",
    "SECRET_HEADERS",
    "Call",
    "CallList",
    "Received",
    "redact_headers",
    "redact_url",
]


def request_json(request: httpx.Request) -> Any:
    """The request body as JSON, or None when it is empty or not JSON."""
    return _json_or_none(request.content)


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return _json.loads(content)
    except _json.JsonError:
        return None


class Received:
    """The answer's body as the app received it, still content-encoded, up to `LIMIT` bytes.

    The fake hands over its chunks whole; live mode adds each chunk as the app reads it,
    so a stream the app stopped reading holds what it read.
    """

    LIMIT = 1 << 20  # kept to show the reply of a failed test, folded: 1 MiB is plenty

    def __init__(self, chunks: Sequence[bytes] = ()) -> None:
        self._chunks = chunks  # the fake's, kept as they are: no copy on its hot path
        self._added: list[bytes] = []  # live mode's, as the app reads them
        self._kept = 0  # bytes of _added
        self._dropped = 0  # bytes added past the limit

    def add(self, chunk: bytes) -> None:
        room = max(0, self.LIMIT - self._kept)
        if room:
            self._added.append(chunk[:room])
            self._kept += min(room, len(chunk))
        self._dropped += max(0, len(chunk) - room)

    @property
    def size(self) -> int:
        """Every byte received, kept or not."""
        return sum(map(len, self._chunks)) + self._kept + self._dropped

    @property
    def content(self) -> bytes:
        """The bytes kept (the first `LIMIT` of them)."""
        return b"".join([*self._chunks, *self._added])[: self.LIMIT]


@dataclass(frozen=True)
class Call:
    """One request the app sent to the gateway, and what the gateway answered.

    `request` is a copy with secrets redacted; use `secret_matches` to check which
    key the app sent without the key ever being stored.

    `status_code` is None and `fault` names the failure ("timeout", "disconnect") when
    a scripted network fault replaced the answer; `fault` is "cut" for a stream cut
    mid-way. `log_id` is None where the gateway logs nothing (refused before any
    provider: authentication, invalid headers). `options` holds the request's
    `cf-aig-*` settings; `attempts` counts provider attempts (0 for a cache hit);
    `step` is the universal step that answered; `event_id` is the `cf-aig-event-id`
    sent back (the client's own, else the gateway's request id). `route` lists the
    element ids a `dynamic/<name>` request went through, in order (None otherwise).

    `routing` is the Auto Router's decision for a ``cloudflare/auto`` request (the
    routed model, the reason, the decision id, the session and turn headers), else None.

    `judge` is True for a judge call (made inside ``aigw.judging()``, or sending
    ``"aigw_judge": true`` in its metadata): an eval gives its log no outcome feedback.

    `endpoint` names the surface the request came in on: ``"gateway"`` (a provider's
    own path on the gateway URL), ``"compat"``, ``"universal"``, ``"run"`` (the
    gateway's Run API) or ``"rest"`` (the REST API on api.cloudflare.com). REST and
    Run API calls record the model whole (``openai/gpt-4.1``) and its prefix as
    `provider`.
    """

    provider: str
    path: str
    model: str | None
    metadata: dict[str, MetadataValue] | None
    metadata_header: str | None
    method: str
    url: httpx.URL
    json: Any
    status_code: int | None
    log_id: str | None
    cache_status: str
    event_id: str | None
    endpoint: str = "gateway"
    step: int | None = None
    options: RequestOptions = NO_OPTIONS
    attempts: int = 1
    fault: str | None = None
    route: tuple[str, ...] | None = None
    metadata_problems: tuple[MetadataProblem, ...] = ()
    routing: Routing | None = None
    judge: bool = False
    response_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    _headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    _content: bytes = field(default=b"", repr=False)
    _secret_digests: Mapping[str, str] = field(default_factory=dict, repr=False)
    _tool_names: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    _received: Received = field(default_factory=Received, repr=False, compare=False)
    _secret_words: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        # The last line of defence, whoever builds the record: a universal body's step
        # headers and the answer's cookies are hidden before anything can show them.
        if "universal" in (self.endpoint, self.provider):
            sent = _json_or_none(self._content)  # the fake keeps the answering step's query
            words = self._secret_words | step_secret_words(sent)
            object.__setattr__(self, "_secret_words", words)
            object.__setattr__(self, "json", redact_steps(self.json))
            object.__setattr__(self, "_content", redact_body(self._content))
        object.__setattr__(self, "response_headers", redact_mapping(self.response_headers))
        if not self.judge and is_judge_call(self.metadata):
            object.__setattr__(self, "judge", True)  # recorded in the caller's context

    @cached_property
    def request(self) -> httpx.Request:
        """The request as sent, secrets redacted (built on first use)."""
        return httpx.Request(self.method, self.url, headers=self._headers, content=self._content)

    @property
    def headers(self) -> httpx.Headers:
        """The request headers as sent, secrets redacted."""
        return self.request.headers

    @cached_property
    def conversation(self) -> Conversation:
        """The request read the same way whatever API format it speaks."""
        body = self.json if isinstance(self.json, dict) else {}
        return format_for(self.provider, self.path).read(self.path, body).named(self._tool_names)

    @property
    def messages(self) -> list[Message]:
        """The conversation's messages: each one's `role` and `text`."""
        return list(self.conversation.messages)

    @property
    def prompt(self) -> str | None:
        """The text of the last user message (None when there is none)."""
        return self.conversation.prompt

    @property
    def system(self) -> str | None:
        """The system prompt or instructions, None when the request has none."""
        return self.conversation.system

    @property
    def tools(self) -> list[str]:
        """The names of the tools the request offers the model."""
        return list(self.conversation.tool_names)

    @property
    def tool_results(self) -> list[ToolResult]:
        """The tool results the request carries: each one's `name`, `call_id` and `text`."""
        return list(self.conversation.tool_results)

    def secret_matches(self, name: str, value: str) -> bool:
        """Tell whether the app sent *value* in header *name* (or query param ``?name``)."""
        kept = self._secret_digests.get(name.lower())
        return kept is not None and hmac.compare_digest(kept, digest(value))


class CallList(Sequence[Call]):
    """The calls recorded so far, in the order the gateway received them."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    def append(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def last(self) -> Call:
        """The most recent call; raises `LookupError` when there is none."""
        if not self._calls:
            raise LookupError("no gateway calls were recorded: the app sent nothing to the fake")
        return self._calls[-1]

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> list[Call]: ...
    def __getitem__(self, index: int | slice) -> Call | list[Call]:
        return self._calls[index]

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(list(self._calls))

    def __repr__(self) -> str:
        return f"CallList({self._calls!r})"
