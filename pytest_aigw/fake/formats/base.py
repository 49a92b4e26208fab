"""What every API format module shares: the conversation it reads, the reply it writes.

A format module reads a request body into a `Conversation` (who said what, which
tools are offered, whether a tool or a schema is forced, whether a stream is wanted)
and writes a `ReplyContext` as its provider's body, stream events and error body.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..encoding import COMPACT, compact_bytes

__all__ = [
    "FINISH_REASONS",
    "PIECE",
    "ApiFormat",
    "Conversation",
    "Json",
    "Message",
    "ReplyContext",
    "ReplySpec",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "Usage",
    "estimate_tokens",
    "event",
    "json_text",
    "per_piece",
    "split_arguments",
    "split_content",
    "text_of",
]

Json = dict[str, Any]
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter")


@dataclass(frozen=True)
class Message:
    """One message of a conversation: who said it and its text (tool calls left out)."""

    role: str
    text: str


@dataclass(frozen=True)
class ToolResult:
    """A tool's result the app sends back: the tool's name where known, its call id, text."""

    name: str | None
    call_id: str | None
    text: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool the request offers: its name and the JSON schema of its arguments."""

    name: str
    parameters: Json


@dataclass(frozen=True)
class Conversation:
    """A request read the same way whatever API format it speaks."""

    messages: tuple[Message, ...] = ()
    system: str | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()
    schema: Json | None = None  # the structured output the request asks for
    forced_tool: str | None = None  # a tool name, or "" for "any tool"
    forced_by: str = ""  # how the request forced it, for messages

    @property
    def prompt(self) -> str | None:
        """The text of the last user message that has text."""
        for message in reversed(self.messages):
            if message.role == "user" and message.text:
                return message.text
        return None

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(tool.name for tool in self.tools)

    def tool(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    def named(self, names: Mapping[str, str]) -> Conversation:
        """The conversation with unnamed tool results named from *names* (call id -> tool).

        A Responses request that continues with `previous_response_id` sends only the
        tool's output and its call id; the gateway issued that call, so it knows the name.
        """
        if not names or all(r.name is not None for r in self.tool_results):
            return self
        results = tuple(
            replace(r, name=names[r.call_id])
            if r.name is None and r.call_id is not None and r.call_id in names
            else r
            for r in self.tool_results
        )
        return replace(self, tool_results=results)


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model makes: the tool's name, its arguments as JSON text, an id."""

    name: str
    arguments: str
    id: str | None = None

    @property
    def parsed_arguments(self) -> Any:
        try:
            return json.loads(self.arguments)
        except ValueError:
            return {}


@dataclass(frozen=True)
class Usage:
    """Token counts a reply reports (None: estimated from the text)."""

    input: int | None = None
    output: int | None = None
    cached: int = 0
    reasoning: int = 0


@dataclass(frozen=True)
class ReplySpec:
    """What the model says, whatever the format: text, tool calls, how it ended."""

    text: str = ""
    pieces: tuple[str, ...] | None = None  # the stream's pieces, when given exactly
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None  # one of FINISH_REASONS; None: from the content
    usage: Usage = field(default_factory=Usage)
    refusal: str | None = None

    @property
    def finish(self) -> str:
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


def estimate_tokens(value: object) -> int:
    """About four characters a token, like most providers' tokenizers."""
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, math.ceil(len(text) / 4))


@dataclass(frozen=True)
class ReplyContext:
    """The facts of one reply, shared by its plain and streamed shapes."""

    provider: str
    path: str
    body: Json
    model: str | None
    reply_id: str
    now: int
    spec: ReplySpec
    tokens_in: int
    tokens_out: int
    seed: str = ""  # makes tool call ids differ between requests, deterministically

    @property
    def content(self) -> str:
        return self.spec.text

    @property
    def model_name(self) -> str:
        return self.model or "unknown"

    def call_id(self, index: int, prefix: str = "call_") -> str:
        """The id of tool call *index*: as scripted, else derived from the request."""
        given = self.spec.tool_calls[index].id
        if given is not None:
            return given
        call = self.spec.tool_calls[index]
        digest = hashlib.sha256(f"{self.seed}\0{index}\0{call.name}\0{call.arguments}".encode())
        return prefix + digest.hexdigest()[:24]

    @property
    def tokens_cached(self) -> int:
        return self.spec.usage.cached

    @property
    def tokens_reasoning(self) -> int:
        return self.spec.usage.reasoning

    @property
    def chat_usage(self) -> Json:
        """Token usage as OpenAI chat completions (and Workers AI) report it."""
        usage: Json = {
            "prompt_tokens": self.tokens_in,
            "completion_tokens": self.tokens_out,
            "total_tokens": self.tokens_in + self.tokens_out,
        }
        if self.tokens_cached or self.tokens_reasoning:
            usage["prompt_tokens_details"] = {"cached_tokens": self.tokens_cached}
            usage["completion_tokens_details"] = {"reasoning_tokens": self.tokens_reasoning}
        return usage


class ApiFormat:
    """One provider API: how it reads a request and writes replies, streams and errors."""

    name = "generic"
    # Body keys that can force a tool call or ask for structured output. A request with
    # none of them gets the plain default reply without its conversation being read.
    constraint_keys: tuple[str, ...] = ()

    def constrains(self, body: Json | None) -> bool:
        return body is not None and any(key in body for key in self.constraint_keys)

    def read(self, path: str, body: Json) -> Conversation:
        return Conversation()

    def wants_stream(self, path: str, body: Json | None) -> bool:
        return bool(body and body.get("stream") is True)

    def model(self, provider: str, path: str, body: Json | None) -> str | None:
        if body and isinstance(body.get("model"), str):
            return str(body["model"])
        return None

    def prepare(self, path: str, body: Json) -> None:
        """Do, before the gateway's lock, work on *body* that grows with its size."""

    def refusal(self, path: str, body: Json | None) -> str | None:
        """Why the provider refuses (400) to build a reply to *body*, if it does."""
        return None

    def reply(self, c: ReplyContext) -> Json:
        raise NotImplementedError

    def reply_bytes(self, c: ReplyContext) -> bytes:
        """The reply, encoded as compact JSON."""
        return compact_bytes(self.reply(c))

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        raise NotImplementedError

    def error(self, status: int, message: str) -> Json:
        raise NotImplementedError

    def issued_calls(self, c: ReplyContext) -> tuple[tuple[str, str], ...]:
        """The (call id, tool name) pairs this reply hands out, as the client will see them."""
        return tuple((c.call_id(i), call.name) for i, call in enumerate(c.spec.tool_calls))

    @property
    def counts_output(self) -> bool:
        """Whether replies in this format produce output tokens (embeddings do not)."""
        return True


def text_of(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "\n".join(texts)


def json_text(value: object) -> str:
    """A tool result's content as text (JSON for anything that is not a string)."""
    return value if isinstance(value, str) else COMPACT.encode(value)


PIECE = "\x00piece\x00"  # stands for each piece's text in a `per_piece` template


def event(data: Json | str, name: str | None = None) -> bytes:
    """One server-sent event, optionally named."""
    text = data if isinstance(data, str) else COMPACT.encode(data)
    prefix = f"event: {name}\n" if name else ""
    return f"{prefix}data: {text}\n\n".encode()


def per_piece(template: Json, pieces: Sequence[str], name: str | None = None) -> list[bytes]:
    """One event per piece: *template* with `PIECE` replaced by the piece's text.

    The template is encoded once and each piece spliced in, because long replies
    have thousands of pieces and encoding each event whole dominated the cost.
    """
    before, after = event(template, name).split(COMPACT.encode(PIECE).encode())
    return [before + COMPACT.encode(piece).encode() + after for piece in pieces]


def split_arguments(arguments: str, size: int = 8) -> list[str]:
    """Split a tool call's JSON arguments into pieces, as models stream them."""
    if not arguments:
        return [""]
    return [arguments[start : start + size] for start in range(0, len(arguments), size)]


_WORDS = re.compile(r"\s*\S+")
MAX_PIECES = 1000  # stream events one text is split into, at most


def split_content(content: str) -> list[str]:
    """Split *content* into word-sized pieces (at least two where it has two characters)."""
    pieces = _WORDS.findall(content)
    if len(pieces) > MAX_PIECES:  # one event per word would multiply a long text's size
        size = -(-len(pieces) // MAX_PIECES)
        pieces = ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]
    if len(pieces) > 1:
        pieces[-1] += content[len("".join(pieces)) :]  # keep trailing whitespace
        return pieces
    if len(content) > 1:
        middle = len(content) // 2
        return [content[:middle], content[middle:]]
    return [content]
