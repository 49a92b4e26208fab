"""Anthropic messages (`/v1/messages`).

Requests: `system`, `messages` of text, `tool_use` and `tool_result` blocks, `tools`
(`input_schema`), `tool_choice` (`any` or a named `tool`), and structured output
(`output_format`, or `output_config.format`). Replies: `text` and `tool_use`
blocks with a `stop_reason`. Streams: `message_start`, per block a
`content_block_start`, its `text_delta` or `input_json_delta` pieces and
`content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import (
    PIECE,
    ApiFormat,
    Conversation,
    Json,
    Message,
    ReplyContext,
    ToolResult,
    ToolSpec,
    event,
    json_text,
    per_piece,
    split_arguments,
    split_content,
    text_of,
)

__all__ = ["FORMAT", "AnthropicMessages"]

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _blocks(content: object) -> list[Json]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return (
        [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []
    )


def _tools(body: Json) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            schema = tool.get("input_schema")
            specs.append(ToolSpec(tool["name"], schema if isinstance(schema, dict) else {}))
    return tuple(specs)


def _forced_tool(body: Json) -> str | None:
    choice = body.get("tool_choice")
    if not isinstance(choice, dict):
        return None
    if choice.get("type") == "any":
        return ""
    if choice.get("type") == "tool" and isinstance(choice.get("name"), str):
        return str(choice["name"])
    return None


def _schema(body: Json) -> Json | None:
    config = body.get("output_config")
    wanted = body.get("output_format")
    if isinstance(config, dict) and isinstance(config.get("format"), dict):
        wanted = config["format"]
    if isinstance(wanted, dict) and wanted.get("type") == "json_schema":
        schema = wanted.get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


class AnthropicMessages(ApiFormat):
    name = "anthropic-messages"
    constraint_keys = ("tool_choice", "output_format", "output_config")

    def read(self, path: str, body: Json) -> Conversation:
        messages: list[Message] = []
        results: list[ToolResult] = []
        names: dict[str, str] = {}
        raw_messages = body.get("messages")
        for raw in raw_messages if isinstance(raw_messages, list) else ():
            if not isinstance(raw, dict):
                continue
            blocks = _blocks(raw.get("content"))
            for block in blocks:
                if block.get("type") == "tool_use":
                    names[str(block.get("id"))] = str(block.get("name"))
                elif block.get("type") == "tool_result":
                    call_id = block.get("tool_use_id")
                    content = block.get("content")
                    text = text_of(content) if isinstance(content, list) else json_text(content)
                    results.append(
                        ToolResult(
                            names.get(str(call_id)),
                            call_id if isinstance(call_id, str) else None,
                            text,
                        )
                    )
            texts = [b for b in blocks if b.get("type") == "text"]
            messages.append(Message(str(raw.get("role", "")), text_of(texts)))
        system = body.get("system")
        forced = _forced_tool(body)
        return Conversation(
            messages=tuple(messages),
            system=text_of(system) if system is not None else None,
            tools=_tools(body),
            tool_results=tuple(results),
            schema=_schema(body),
            forced_tool=forced,
            forced_by=f"tool_choice={body.get('tool_choice')!r}" if forced is not None else "",
        )

    def reply(self, c: ReplyContext) -> Json:
        return {**_message(c), "content": _content(c), "stop_reason": _stop_reason(c)}

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        started = {**_message(c), "usage": {**_usage(c), "output_tokens": 1}}
        events = [event({"type": "message_start", "message": started}, "message_start")]
        for index, block in enumerate(_content(c)):
            block_events = _block_events(index, block, pieces)
            if index == 0:  # Anthropic pings once, right after the first block opens
                block_events.insert(1, event({"type": "ping"}, "ping"))
            events += block_events
        closing: list[Json] = [
            {
                "type": "message_delta",
                "delta": {"stop_reason": _stop_reason(c), "stop_sequence": None},
                "usage": {"output_tokens": c.tokens_out},
            },
            {"type": "message_stop"},
        ]
        return events + [event(step, step["type"]) for step in closing]

    def issued_calls(self, c: ReplyContext) -> tuple[tuple[str, str], ...]:
        return tuple(
            (c.call_id(i, prefix="toolu_"), call.name) for i, call in enumerate(c.spec.tool_calls)
        )

    def error(self, status: int, message: str) -> Json:
        kind = _ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}


def _stop_reason(c: ReplyContext) -> str:
    return "refusal" if c.spec.refusal is not None else STOP_REASONS[c.spec.finish]


def _usage(c: ReplyContext) -> Json:
    # Anthropic counts cache reads apart: input_tokens are the uncached ones only.
    return {
        "input_tokens": max(0, c.tokens_in - c.tokens_cached),
        "output_tokens": c.tokens_out,
        "cache_read_input_tokens": c.tokens_cached,
        "cache_creation_input_tokens": 0,
    }


def _message(c: ReplyContext) -> Json:
    return {
        "id": f"msg_{c.reply_id}",
        "type": "message",
        "role": "assistant",
        "model": c.model_name,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(c),
    }


def _content(c: ReplyContext) -> list[Json]:
    spec = c.spec
    text = spec.refusal if spec.refusal is not None else spec.text
    blocks: list[Json] = []
    if text or not spec.tool_calls:
        blocks.append({"type": "text", "text": text})
    for index, call in enumerate(spec.tool_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": c.call_id(index, prefix="toolu_"),
                "name": call.name,
                "input": call.parsed_arguments,
            }
        )
    return blocks


def _block_events(index: int, block: Json, pieces: Sequence[str]) -> list[bytes]:
    if block["type"] == "text":
        start = {**block, "text": ""}
        delta = {"type": "text_delta", "text": PIECE}
        parts = (
            pieces if pieces and "".join(pieces) == block["text"] else split_content(block["text"])
        )
    else:
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": PIECE}
        parts = split_arguments(json_text(block["input"]))
    opening = {"type": "content_block_start", "index": index, "content_block": start}
    template = {"type": "content_block_delta", "index": index, "delta": delta}
    stop = {"type": "content_block_stop", "index": index}
    return [
        event(opening, "content_block_start"),
        *per_piece(template, parts, "content_block_delta"),
        event(stop, "content_block_stop"),
    ]


FORMAT = AnthropicMessages()
