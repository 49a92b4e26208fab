"""The OpenAI Responses API (`/responses`).

Requests: `input` (a string, or items: messages, earlier `function_call`s and
`function_call_output`s), `instructions`, `tools`, `tool_choice`, `text.format`.
Replies: output items, a `message` and `function_call`s (with `call_id`).
Streams: `response.created` ... each item's `output_item.added`, its text or
argument deltas and `.done` events, `output_item.done` ... `response.completed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import (
    ApiFormat,
    Conversation,
    Json,
    Message,
    ReplyContext,
    ToolResult,
    ToolSpec,
    event,
    json_text,
    split_arguments,
    split_content,
    text_of,
)
from .openai_chat import openai_error

__all__ = ["FORMAT", "OpenAIResponses"]

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def _tools(body: Json) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in body.get("tools") or ():
        if isinstance(tool, dict) and tool.get("type") == "function" and "name" in tool:
            parameters = tool.get("parameters")
            specs.append(
                ToolSpec(str(tool["name"]), parameters if isinstance(parameters, dict) else {})
            )
    return tuple(specs)


def _forced_tool(body: Json) -> str | None:
    choice = body.get("tool_choice")
    if choice == "required":
        return ""
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        return str(choice["name"])
    return None


def _schema(body: Json) -> Json | None:
    text = body.get("text")
    wanted = text.get("format") if isinstance(text, dict) else None
    if not isinstance(wanted, dict):
        return None
    if wanted.get("type") == "json_object":
        return {"type": "object"}
    if wanted.get("type") == "json_schema":
        schema = wanted.get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def _read_items(items: list[Any]) -> tuple[list[Message], list[ToolResult], list[str]]:
    messages: list[Message] = []
    results: list[ToolResult] = []
    system: list[str] = []
    names: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "function_call":
            names[str(item.get("call_id"))] = str(item.get("name"))
        elif kind == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            # The output is a string, or a list of content parts (`input_text`, ...).
            text = text_of(output) if isinstance(output, list) else json_text(output)
            results.append(
                ToolResult(
                    names.get(str(call_id)), call_id if isinstance(call_id, str) else None, text
                )
            )
            messages.append(Message("tool", text))
        elif kind == "message" or "role" in item:
            role, text = str(item.get("role", "")), text_of(item.get("content"))
            if role in ("system", "developer"):
                system.append(text)
            messages.append(Message(role, text))
    return messages, results, system


class OpenAIResponses(ApiFormat):
    name = "openai-responses"
    constraint_keys = ("tool_choice", "text")

    def read(self, path: str, body: Json) -> Conversation:
        raw = body.get("input")
        items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
        messages, results, system = _read_items(items if isinstance(items, list) else [])
        if isinstance(body.get("instructions"), str):
            system.insert(0, body["instructions"])
        forced = _forced_tool(body)
        return Conversation(
            messages=tuple(messages),
            system="\n".join(system) if system else None,
            tools=_tools(body),
            tool_results=tuple(results),
            schema=_schema(body),
            forced_tool=forced,
            forced_by=f"tool_choice={body.get('tool_choice')!r}" if forced is not None else "",
        )

    def reply(self, c: ReplyContext) -> Json:
        return {**_response(c, "completed"), "output": _items(c)}

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        started = _response(c, "in_progress")
        steps: list[Json] = [
            {"type": "response.created", "response": started},
            {"type": "response.in_progress", "response": started},
        ]
        for index, item in enumerate(_items(c)):
            if item["type"] == "message":
                steps += _message_steps(item, index, pieces)
            else:
                steps += _call_steps(item, index)
        finished = {**_response(c, "completed"), "output": _items(c)}
        done = "response.completed" if finished["status"] == "completed" else "response.incomplete"
        steps.append({"type": done, "response": finished})
        return [
            event({**step, "sequence_number": number}, step["type"])
            for number, step in enumerate(steps)
        ]

    def error(self, status: int, message: str) -> Json:
        return openai_error(status, message)


def _response(c: ReplyContext, status: str) -> Json:
    incomplete = _INCOMPLETE.get(c.spec.finish)
    if status == "completed" and incomplete:
        status = "incomplete"
    response: Json = {
        "id": f"resp_{c.reply_id}",
        "object": "response",
        "created_at": c.now,
        "status": status,
        "model": c.model_name,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "incomplete_details": {"reason": incomplete} if status == "incomplete" else None,
    }
    if status != "in_progress":
        response["usage"] = {
            "input_tokens": c.tokens_in,
            "input_tokens_details": {"cached_tokens": c.tokens_cached},
            "output_tokens": c.tokens_out,
            "output_tokens_details": {"reasoning_tokens": c.tokens_reasoning},
            "total_tokens": c.tokens_in + c.tokens_out,
        }
    return response


def _items(c: ReplyContext) -> list[Json]:
    spec = c.spec
    items: list[Json] = []
    if spec.refusal is not None:
        items.append(_message(c, {"type": "refusal", "refusal": spec.refusal}))
    elif spec.text or not spec.tool_calls:
        items.append(_message(c, {"type": "output_text", "text": spec.text, "annotations": []}))
    for index, call in enumerate(spec.tool_calls):
        call_id = c.call_id(index)
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{call_id.removeprefix('call_')}",
                "call_id": call_id,
                "name": call.name,
                "arguments": call.arguments,
                "status": "completed",
            }
        )
    return items


def _message(c: ReplyContext, part: Json) -> Json:
    return {
        "type": "message",
        "id": f"msg_{c.reply_id}",
        "status": "completed",
        "role": "assistant",
        "content": [part],
    }


def _message_steps(item: Json, index: int, pieces: Sequence[str]) -> list[Json]:
    part = item["content"][0]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    if part["type"] == "refusal":
        empty, kind = {**part, "refusal": ""}, "response.refusal"
        deltas = [
            {"type": f"{kind}.delta", **where, "delta": p} for p in split_content(part["refusal"])
        ]
        done = {"type": f"{kind}.done", **where, "refusal": part["refusal"]}
    else:
        empty, kind = {**part, "text": ""}, "response.output_text"
        deltas = [{"type": f"{kind}.delta", **where, "delta": p, "logprobs": []} for p in pieces]
        done = {"type": f"{kind}.done", **where, "text": part["text"], "logprobs": []}
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **where, "part": empty},
        *deltas,
        done,
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _call_steps(item: Json, index: int) -> list[Json]:
    where = {"item_id": item["id"], "output_index": index}
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "arguments": "", "status": "in_progress"},
        },
        *(
            {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            for piece in split_arguments(item["arguments"])
        ),
        {
            "type": "response.function_call_arguments.done",
            **where,
            "name": item["name"],
            "arguments": item["arguments"],
        },
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


FORMAT = OpenAIResponses()
