"""Workers AI's native run API (`workers-ai/@cf/{model}`), in Cloudflare's envelope.

Requests: `messages` (OpenAI-style) or a bare `prompt`, `tools` (bare or wrapped
in `{"type": "function", ...}`), `response_format` with a `json_schema`. Replies:
`{"result": {"response", "tool_calls", "usage"}, "success": true, ...}`. Streams:
`{"response": piece}` events, the tool calls in one event, a usage event, `[DONE]`.
Its OpenAI-compatible `/v1/chat/completions` speaks `openai_chat` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..errors import error_envelope
from .base import PIECE, ApiFormat, Conversation, Json, Message, ReplyContext, event, per_piece
from .openai_chat import read_chat

__all__ = ["FORMAT", "WorkersAI"]


def _schema(body: Json) -> Json | None:
    wanted = body.get("response_format")
    if not isinstance(wanted, dict):
        return None
    if wanted.get("type") == "json_object":
        return {"type": "object"}
    schema = wanted.get("json_schema")
    if wanted.get("type") == "json_schema" and isinstance(schema, dict):
        inner = schema.get("schema")  # OpenAI's wrapping, which some models accept too
        return inner if isinstance(inner, dict) else schema
    return None


class WorkersAI(ApiFormat):
    name = "workers-ai"
    constraint_keys = ("response_format", "tool_choice")

    def read(self, path: str, body: Json) -> Conversation:
        conversation = read_chat(body)
        if not conversation.messages and isinstance(body.get("prompt"), str):
            conversation = replace(conversation, messages=(Message("user", body["prompt"]),))
        return replace(conversation, schema=_schema(body))

    def model(self, provider: str, path: str, body: Json | None) -> str | None:
        if "@" in path:
            return path[path.index("@") :]
        return super().model(provider, path, body)

    def reply(self, c: ReplyContext) -> Json:
        result: Json = {"response": _text(c), "usage": c.chat_usage}
        if c.spec.tool_calls:
            result["tool_calls"] = _calls(c)
        return {"result": result, "success": True, "errors": [], "messages": []}

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        texts = list(pieces) if c.spec.refusal is None else [_text(c)]
        events = per_piece({"response": PIECE, "p": "aigw"}, [t for t in texts if t] or [""])
        if c.spec.tool_calls:
            events.append(event({"response": "", "tool_calls": _calls(c)}))
        events.append(event({"response": "", "usage": c.chat_usage}))
        events.append(event("[DONE]"))
        return events

    def error(self, status: int, message: str) -> Json:
        return error_envelope(status, message, messages=[], result=None)


def _text(c: ReplyContext) -> str:
    # The native API has no refusal field: a refusal is the reply's text.
    return c.spec.refusal if c.spec.refusal is not None else c.spec.text


def _calls(c: ReplyContext) -> list[Json]:
    return [{"name": call.name, "arguments": call.parsed_arguments} for call in c.spec.tool_calls]


FORMAT = WorkersAI()
