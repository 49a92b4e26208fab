"""Streamed replies: server-sent events shaped like each provider's stream.

Each event is one chunk on the wire, so clients see the reply arrive piece by piece:

    OpenAI chat          chat.completion.chunk deltas, a usage chunk when asked, [DONE]
    OpenAI responses     response.created ... response.output_text.delta ... completed
    Anthropic messages   message_start, content_block_*, message_delta, message_stop
    Workers AI (@cf/)    {"response": piece} events, a usage event, [DONE]
    Google AI Studio     GenerateContentResponse pieces (:streamGenerateContent)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from .encoding import COMPACT
from .providers import ReplyContext

__all__ = ["CONTENT_TYPE", "build_stream", "split_content", "wants_stream"]

CONTENT_TYPE = "text/event-stream; charset=utf-8"
_WORDS = re.compile(r"\s*\S+")

Json = dict[str, Any]
Events = list[bytes]


def wants_stream(path: str, body: Json | None) -> bool:
    """Tell whether the request asks for a streamed reply."""
    return ":streamGenerateContent" in path or bool(body and body.get("stream") is True)


def split_content(content: str) -> list[str]:
    """Split *content* into word-sized pieces (at least two where it has two characters)."""
    pieces = _WORDS.findall(content)
    if len(pieces) > 1:
        pieces[-1] += content[len("".join(pieces)) :]  # keep trailing whitespace
        return pieces
    if len(content) > 1:
        middle = len(content) // 2
        return [content[:middle], content[middle:]]
    return [content]


def build_stream(c: ReplyContext, pieces: Sequence[str]) -> Events:
    """The reply to *c* as server-sent events, its text split into *pieces*."""
    return _stream_shape_for(c.provider, c.path)(c, pieces)


PIECE = "\x00piece\x00"  # stands for each piece's text in a `_per_piece` template


def _event(data: Json | str, name: str | None = None) -> bytes:
    text = data if isinstance(data, str) else COMPACT.encode(data)
    prefix = f"event: {name}\n" if name else ""
    return f"{prefix}data: {text}\n\n".encode()


def _per_piece(template: Json, pieces: Sequence[str], name: str | None = None) -> Events:
    """One event per piece: *template* with `PIECE` replaced by the piece's text.

    The template is encoded once and each piece spliced in, because long replies
    have thousands of pieces and encoding each event whole dominated the cost.
    """
    before, after = _event(template, name).split(COMPACT.encode(PIECE).encode())
    return [before + COMPACT.encode(piece).encode() + after for piece in pieces]


def _stream_shape_for(provider: str, path: str) -> Callable[[ReplyContext, Sequence[str]], Events]:
    if path.endswith("responses"):
        return _openai_responses
    if path.endswith("v1/messages"):
        return _anthropic
    if provider == "workers-ai" and "@" in path:
        return _workers_ai
    if ":streamGenerateContent" in path:
        return _google
    return _openai_chat


def _openai_chat(c: ReplyContext, pieces: Sequence[str]) -> Events:
    options = c.body.get("stream_options")
    with_usage = isinstance(options, dict) and options.get("include_usage") is True
    base: Json = {
        "id": f"chatcmpl-{c.reply_id}",
        "object": "chat.completion.chunk",
        "created": c.now,
        "model": c.model_name,
        "system_fingerprint": "fp_aigw_mock",
    }
    if with_usage:
        base["usage"] = None

    def choices(delta: Json, finish: str | None = None) -> Json:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice]}

    events = [_event(choices({"role": "assistant", "content": "", "refusal": None}))]
    events += _per_piece(choices({"content": PIECE}), pieces)
    events.append(_event(choices({}, "stop")))
    if with_usage:
        events.append(_event({**base, "choices": [], "usage": c.chat_usage}))
    events.append(_event("[DONE]"))
    return events


def _openai_responses(c: ReplyContext, pieces: Sequence[str]) -> Events:
    item_id = f"msg_{c.reply_id}"
    text_part = {"type": "output_text", "text": c.content, "annotations": []}
    item = {
        "type": "message",
        "id": item_id,
        "status": "completed",
        "role": "assistant",
        "content": [text_part],
    }
    response: Json = {
        "id": f"resp_{c.reply_id}",
        "object": "response",
        "created_at": c.now,
        "status": "in_progress",
        "model": c.model_name,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    steps: list[Json] = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            **where,
            "part": {**text_part, "text": ""},
        },
        *(
            {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            for piece in pieces
        ),
        {"type": "response.output_text.done", **where, "text": c.content, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": text_part},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {
            "type": "response.completed",
            "response": {
                **response,
                "status": "completed",
                "output": [item],
                "usage": c.responses_usage,
            },
        },
    ]
    return [
        _event({**step, "sequence_number": number}, step["type"])
        for number, step in enumerate(steps)
    ]


def _anthropic(c: ReplyContext, pieces: Sequence[str]) -> Events:
    message: Json = {
        "id": f"msg_{c.reply_id}",
        "type": "message",
        "role": "assistant",
        "model": c.model_name,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": c.tokens_in, "output_tokens": 1},
    }
    opening: list[Json] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
    ]
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": PIECE},
    }
    closing: list[Json] = [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": c.tokens_out},
        },
        {"type": "message_stop"},
    ]
    return [
        *(_event(step, step["type"]) for step in opening),
        *_per_piece(delta, pieces, "content_block_delta"),
        *(_event(step, step["type"]) for step in closing),
    ]


def _workers_ai(c: ReplyContext, pieces: Sequence[str]) -> Events:
    events = _per_piece({"response": PIECE, "p": "aigw"}, pieces)
    events.append(_event({"response": "", "usage": c.chat_usage}))
    events.append(_event("[DONE]"))
    return events


def _google(c: ReplyContext, pieces: Sequence[str]) -> Events:
    def chunk(piece: str, last: bool) -> bytes:
        candidate: Json = {"content": {"parts": [{"text": piece}], "role": "model"}, "index": 0}
        if last:
            candidate["finishReason"] = "STOP"
        out = c.tokens_out if last else 0
        usage = {
            "promptTokenCount": c.tokens_in,
            "candidatesTokenCount": out,
            "totalTokenCount": c.tokens_in + out,
        }
        return _event(
            {
                "candidates": [candidate],
                "usageMetadata": usage,
                "modelVersion": c.model_name,
                "responseId": c.reply_id,
            }
        )

    return [chunk(piece, n == len(pieces) - 1) for n, piece in enumerate(pieces)]
