"""Cassettes as the recorder writes them, built by hand for the replay tests.

Recorded against account `REAL_ACCOUNT` and gateway `REAL_GATEWAY`, which replay maps to
the fake's own; request headers carry scrubbed secrets (``<redacted:...>``) and the
live run's tags, as recorded requests do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_aigw.cassette import (
    Body,
    Cassette,
    Chunk,
    Exchange,
    GatewayPlace,
    RecordedRequest,
    RecordedResponse,
    cassette_path,
)
from pytest_aigw.fake.errors import gateway_error_body

REAL_ACCOUNT = "f00dfeedf00dfeedf00dfeedf00dfeed"
REAL_GATEWAY = "prod-gw"
PLACE = GatewayPlace(
    REAL_ACCOUNT,
    REAL_GATEWAY,
    f"https://gateway.ai.cloudflare.com/v1/{REAL_ACCOUNT}/{REAL_GATEWAY}",
    "https://api.cloudflare.com/client/v4",
)
REDACTED_PLACE = GatewayPlace(
    "<account>",
    REAL_GATEWAY,
    f"https://gateway.ai.cloudflare.com/v1/<account>/{REAL_GATEWAY}",
    "https://api.cloudflare.com/client/v4",
)
CHAT = "openai/chat/completions"
TAGS = '{"user":"u1","test":true,"aigw_run":"01JRUN"}'  # the app's user, the live tags


def chat_body(prompt: str, *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": prompt}],
        "model": "gpt-4o-mini",
        **extra,
    }
    if stream:
        body["stream"] = True
    return body


def request(
    body: Any,
    path: str = CHAT,
    *,
    place: GatewayPlace = PLACE,
    metadata: str | None = TAGS,
    method: str = "POST",
) -> RecordedRequest:
    headers = [
        ("authorization", "Bearer <redacted:authorization>"),
        ("content-type", "application/json"),
    ]
    if metadata is not None:
        headers.append(("cf-aig-metadata", metadata))
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RecordedRequest(method, f"{place.gateway_url}/{path}", headers, Body(data))


def gateway_headers(log_id: str, cache: str = "MISS", **extra: str) -> list[tuple[str, str]]:
    return [
        ("content-type", "application/json"),
        ("cf-aig-log-id", log_id),
        ("cf-aig-cache-status", cache),
        ("cf-aig-event-id", log_id),
        *extra.items(),
    ]


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-rec",
        "object": "chat.completion",
        "created": 1764547200,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    }


def chat_answer(text: str, log_id: str, cache: str = "MISS") -> RecordedResponse:
    body = Body(json.dumps(completion(text)).encode())
    return RecordedResponse(200, gateway_headers(log_id, cache), body)


def stream_answer(pieces: Sequence[str], log_id: str, step: float = 0.25) -> RecordedResponse:
    """An OpenAI chat stream: a chunk per piece, *step* seconds apart, then [DONE]."""
    events = []
    for piece in pieces:
        delta = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        events.append({"id": "chatcmpl-rec", "object": "chat.completion.chunk", **delta})
    texts = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    chunks = tuple(Chunk(step * (n + 1), Body(text.encode())) for n, text in enumerate(texts))
    headers = [("content-type", "text/event-stream"), *gateway_headers(log_id)[1:]]
    return RecordedResponse(200, headers, chunks=chunks)


def error_answer(status: int, code: int, message: str) -> RecordedResponse:
    """The gateway's own error (as the fake builds it: its shape is the observed one)."""
    body = json.dumps(gateway_error_body(status, code, message)).encode()
    return RecordedResponse(status, [("content-type", "application/json")], Body(body))


def chat(prompt: str, text: str, log_id: str, cache: str = "MISS", **options: Any) -> Exchange:
    return Exchange(
        "gateway", request(chat_body(prompt), **options), chat_answer(text, log_id, cache)
    )


def log(log_id: str, *, feedback: int | None = None) -> dict[str, Any]:
    """A log as the Logs API returned it at the end of the recorded test."""
    return {
        "id": log_id,
        "created_at": "2026-12-01T09:00:00.000Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "path": "chat/completions",
        "metadata": {"user": "u1", "test": True, "aigw_run": "01JRUN"},
        "feedback": feedback,
        "success": True,
        "status_code": 200,
    }


def write(
    directory: Path,
    nodeid: str,
    exchanges: Sequence[Exchange],
    logs: Sequence[dict[str, Any]] = (),
    place: GatewayPlace = PLACE,
) -> Path:
    """Save the cassette of test *nodeid* under *directory*; return its path."""
    path = cassette_path(directory, nodeid)
    Cassette(nodeid, place, "2026-12-01T09:00:00Z", list(exchanges), list(logs)).save(path)
    return path
