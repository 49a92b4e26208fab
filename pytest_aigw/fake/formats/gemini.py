"""Google Gemini (`models/{model}:generateContent` and `:streamGenerateContent`).

Requests: `contents` of `text`, `functionCall` and `functionResponse` parts,
`systemInstruction`, `tools[].functionDeclarations`, `toolConfig` (mode `ANY`
forces a call), `generationConfig.responseSchema` / `responseJsonSchema`. The
google-genai SDK writes camelCase keys; snake_case is read too. Replies:
candidates of `text` and `functionCall` parts. Streams: one chunk per text piece,
function calls whole in the last chunk, which carries the finish reason.
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
    text_of,
)

__all__ = ["FORMAT", "Gemini"]

FINISH_REASONS = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
}
_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _get(mapping: object, camel: str) -> Any:
    """A key in camelCase, or its snake_case twin."""
    if not isinstance(mapping, dict):
        return None
    if camel in mapping:
        return mapping[camel]
    snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in camel)
    return mapping.get(snake)


def _tools(body: Json) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in _get(body, "tools") or ():
        for declaration in _get(tool, "functionDeclarations") or ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                schema = _get(declaration, "parametersJsonSchema") or _get(
                    declaration, "parameters"
                )
                specs.append(
                    ToolSpec(declaration["name"], schema if isinstance(schema, dict) else {})
                )
    return tuple(specs)


def _forced_tool(body: Json) -> str | None:
    config = _get(_get(body, "toolConfig"), "functionCallingConfig")
    if not isinstance(config, dict) or str(_get(config, "mode")).upper() != "ANY":
        return None
    allowed = _get(config, "allowedFunctionNames")
    return str(allowed[0]) if isinstance(allowed, list) and allowed else ""


def _schema(body: Json) -> Json | None:
    config = _get(body, "generationConfig")
    schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
    if isinstance(schema, dict):
        return schema
    if _get(config, "responseMimeType") == "application/json":
        return {}
    return None


def _parts(content: object) -> list[Json]:
    parts = _get(content, "parts")
    return [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []


class Gemini(ApiFormat):
    name = "gemini"
    constraint_keys = ("toolConfig", "tool_config", "generationConfig", "generation_config")

    def read(self, path: str, body: Json) -> Conversation:
        messages: list[Message] = []
        results: list[ToolResult] = []
        contents = _get(body, "contents")
        for content in contents if isinstance(contents, list) else ():
            parts = _parts(content)
            for part in parts:
                response = _get(part, "functionResponse")
                if isinstance(response, dict):
                    call_id = response.get("id")
                    results.append(
                        ToolResult(
                            str(response.get("name")),
                            call_id if isinstance(call_id, str) else None,
                            json_text(response.get("response")),
                        )
                    )
            role = str(_get(content, "role") or "user")
            messages.append(Message("assistant" if role == "model" else role, text_of(parts)))
        instruction = _get(body, "systemInstruction")
        system = text_of(_parts(instruction)) if isinstance(instruction, dict) else instruction
        forced = _forced_tool(body)
        return Conversation(
            messages=tuple(messages),
            system=system if isinstance(system, str) else None,
            tools=_tools(body),
            tool_results=tuple(results),
            schema=_schema(body),
            forced_tool=forced,
            forced_by="toolConfig.functionCallingConfig.mode='ANY'" if forced is not None else "",
        )

    def wants_stream(self, path: str, body: Json | None) -> bool:
        return ":streamGenerateContent" in path

    def model(self, provider: str, path: str, body: Json | None) -> str | None:
        if "models/" in path:
            return path.rsplit("models/", 1)[1].split(":", 1)[0]
        return super().model(provider, path, body)

    def reply(self, c: ReplyContext) -> Json:
        return _chunk(c, _text(c), _calls(c), last=True)

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        calls = _calls(c)
        texts = list(pieces) if c.spec.refusal is None else [_text(c)]
        if calls and texts == [""]:
            texts = []
        chunks = [_chunk(c, text, [], last=False) for text in texts]
        if calls or not chunks:
            chunks.append(_chunk(c, "", calls, last=True))
        else:
            chunks[-1] = _chunk(c, texts[-1], [], last=True)
        return [event(chunk) for chunk in chunks]

    def error(self, status: int, message: str) -> Json:
        return {
            "error": {
                "code": status,
                "message": message,
                "status": _STATUSES.get(status, "INTERNAL"),
            }
        }


def _text(c: ReplyContext) -> str:
    # Gemini has no refusal field: a refusal is the reply's text.
    return c.spec.refusal if c.spec.refusal is not None else c.spec.text


def _calls(c: ReplyContext) -> list[Json]:
    parts = []
    for index, call in enumerate(c.spec.tool_calls):
        function: Json = {"name": call.name, "args": call.parsed_arguments}
        if call.id is not None:
            function["id"] = c.call_id(index)
        parts.append({"functionCall": function})
    return parts


def _chunk(c: ReplyContext, text: str, calls: list[Json], *, last: bool) -> Json:
    parts = ([{"text": text}] if text or not calls else []) + calls
    candidate: Json = {"content": {"parts": parts, "role": "model"}, "index": 0}
    out = c.tokens_out if last else 0
    # Gemini counts thoughts apart from the candidates; the total holds both.
    thoughts = min(c.tokens_reasoning, out)
    usage: Json = {
        "promptTokenCount": c.tokens_in,
        "candidatesTokenCount": out - thoughts,
        "totalTokenCount": c.tokens_in + out,
    }
    if last:
        candidate["finishReason"] = FINISH_REASONS[c.spec.finish]
        if c.tokens_cached:
            usage["cachedContentTokenCount"] = c.tokens_cached
        if c.tokens_reasoning:
            usage["thoughtsTokenCount"] = c.tokens_reasoning
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": c.model_name,
        "responseId": c.reply_id,
    }


FORMAT = Gemini()
