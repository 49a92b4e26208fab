"""OpenAI chat completions (`/chat/completions`), which most providers also speak.

Requests: `messages` (system/developer, user, assistant with `tool_calls`, `tool`
results), `tools` (or legacy `functions`), `tool_choice`, `response_format`.
Streams: a role chunk, content (or refusal) deltas, tool call deltas (`index`, `id`
and name first, then the arguments in pieces), a finish chunk, a usage chunk when
`stream_options.include_usage` asks for it, then `[DONE]`. A request offering legacy
`functions` (no `tools`) gets the legacy `function_call` (one call) instead of
`tool_calls`, and the finish reason `function_call`, as OpenAI answers it.
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

__all__ = ["FORMAT", "OpenAIChat", "openai_error"]

FINGERPRINT = "fp_aigw_mock"

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error(status: int, message: str) -> Json:
    """OpenAI's error body, which OpenAI-shaped providers copy."""
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _tools(body: Json) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in body.get("tools") or body.get("functions") or ():
        function = tool.get("function", tool) if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            specs.append(
                ToolSpec(function["name"], parameters if isinstance(parameters, dict) else {})
            )
    return tuple(specs)


def _forced_tool(body: Json) -> str | None:
    choice = body.get("tool_choice", body.get("function_call"))
    if choice == "required":
        return ""
    if isinstance(choice, dict):
        function = choice.get("function", choice)
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None


def _schema(body: Json) -> Json | None:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return {"type": "object"}
    spec = response_format.get("json_schema")
    if response_format.get("type") == "json_schema" and isinstance(spec, dict):
        schema = spec.get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def read_chat(body: Json) -> Conversation:
    """Read an OpenAI-style chat body (also Workers AI's and the compat endpoint's)."""
    messages: list[Message] = []
    results: list[ToolResult] = []
    system: list[str] = []
    names: dict[str, str] = {}  # tool call id -> tool name, from earlier assistant turns
    raw_messages = body.get("messages")
    for raw in raw_messages if isinstance(raw_messages, list) else ():
        if not isinstance(raw, dict):
            continue
        role = str(raw.get("role", ""))
        text = text_of(raw.get("content"))
        for call in raw.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                names[str(call.get("id"))] = str(call["function"].get("name"))
        if role in ("system", "developer"):
            system.append(text)
        elif role in ("tool", "function"):
            call_id = raw.get("tool_call_id")
            name = raw.get("name") or names.get(str(call_id))
            results.append(
                ToolResult(
                    name if isinstance(name, str) else None,
                    call_id if isinstance(call_id, str) else None,
                    text or json_text(raw.get("content")),
                )
            )
        messages.append(Message(role, text))
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


def _legacy(c: ReplyContext) -> bool:
    """Whether the request offers legacy `functions`, whose clients read `function_call`."""
    return bool(c.spec.tool_calls) and "functions" in c.body and "tools" not in c.body


def _finish(c: ReplyContext) -> str:
    return "function_call" if _legacy(c) and c.spec.finish == "tool_calls" else c.spec.finish


class OpenAIChat(ApiFormat):
    name = "openai-chat"
    constraint_keys = ("tool_choice", "function_call", "response_format")

    def read(self, path: str, body: Json) -> Conversation:
        return read_chat(body)

    def reply(self, c: ReplyContext) -> Json:
        spec = c.spec
        message: Json = {
            "role": "assistant",
            "content": spec.text if spec.text or not (spec.tool_calls or spec.refusal) else None,
            "refusal": spec.refusal,
        }
        if _legacy(c):
            call = spec.tool_calls[0]
            message["function_call"] = {"name": call.name, "arguments": call.arguments}
        elif spec.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.call_id(index),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for index, call in enumerate(spec.tool_calls)
            ]
        return {
            "id": f"chatcmpl-{c.reply_id}",
            "object": "chat.completion",
            "created": c.now,
            "model": c.model_name,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(c)}
            ],
            "usage": c.chat_usage,
            "system_fingerprint": FINGERPRINT,
        }

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        options = c.body.get("stream_options")
        with_usage = isinstance(options, dict) and options.get("include_usage") is True
        base: Json = {
            "id": f"chatcmpl-{c.reply_id}",
            "object": "chat.completion.chunk",
            "created": c.now,
            "model": c.model_name,
            "system_fingerprint": FINGERPRINT,
        }
        if with_usage:
            base["usage"] = None

        def chunk(delta: Json, finish: str | None = None) -> Json:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice]}

        spec = c.spec
        events = [event(chunk({"role": "assistant", "content": "", "refusal": None}))]
        if spec.refusal is not None:
            events += per_piece(chunk({"refusal": PIECE}), split_content(spec.refusal))
        if spec.text:
            events += per_piece(chunk({"content": PIECE}), pieces)
        if _legacy(c):
            events += [event(chunk(delta)) for delta in _function_call_deltas(c)]
        else:
            for index, call in enumerate(spec.tool_calls):
                opening = _opening_delta(c, index)
                events.append(event(chunk({"tool_calls": [opening]})))
                arguments = {"tool_calls": [{"index": index, "function": {"arguments": PIECE}}]}
                events += per_piece(chunk(arguments), split_arguments(call.arguments))
        events.append(event(chunk({}, _finish(c))))
        if with_usage:
            events.append(event({**base, "choices": [], "usage": c.chat_usage}))
        events.append(event("[DONE]"))
        return events

    def error(self, status: int, message: str) -> Json:
        return openai_error(status, message)


def _opening_delta(c: ReplyContext, index: int) -> Json:
    """A tool call's first delta: its index, id and name, with no arguments yet."""
    return {
        "index": index,
        "id": c.call_id(index),
        "type": "function",
        "function": {"name": c.spec.tool_calls[index].name, "arguments": ""},
    }


def _function_call_deltas(c: ReplyContext) -> list[Json]:
    call = c.spec.tool_calls[0]
    opening: Json = {"function_call": {"name": call.name, "arguments": ""}}
    pieces = [piece for piece in split_arguments(call.arguments) if piece]
    return [opening, *({"function_call": {"arguments": piece}} for piece in pieces)]


FORMAT = OpenAIChat()
