"""Default replies shaped like each provider's real response.

The SDKs parse these into their typed objects. Content is deterministic and ids are
derived from the log id, so a test can tie an SDK object back to its gateway log.
Token counts are estimated at four characters a token, like most providers roughly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_CONTENT",
    "Reply",
    "ReplyContext",
    "build_reply",
    "model_of",
    "reply_context",
    "shape_reply",
]

DEFAULT_CONTENT = "This is a mock reply from the AI Gateway fake."
DEFAULT_EMBEDDING_DIMENSIONS = 8

Json = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A provider's answer body, the model the request named, and the token counts."""

    body: Json
    model: str | None
    tokens_in: int
    tokens_out: int


def model_of(provider: str, path: str, body: Json | None) -> str | None:
    """Name the model a request asks for: from the path where it names one, else the body."""
    if provider == "azure-openai" and path.count("/") >= 2:
        return path.split("/")[1]  # Azure serves the deployment, whatever the body says
    if body and isinstance(body.get("model"), str):
        return str(body["model"])
    if provider == "workers-ai" and "@" in path:
        return path[path.index("@") :]
    if "models/" in path:
        return path.rsplit("models/", 1)[1].split(":", 1)[0]
    return None


def estimate_tokens(value: object) -> int:
    text = value if isinstance(value, str) else json.dumps(value)
    return max(1, math.ceil(len(text) / 4))


def _prompt(body: Json | None) -> object:
    if not body:
        return ""
    for key in ("messages", "input", "prompt", "contents", "text"):
        if key in body:
            return body[key]
    return body


def reply_context(
    provider: str,
    path: str,
    body: Json | None,
    reply_id: str,
    now: int,
    content: str = DEFAULT_CONTENT,
) -> ReplyContext:
    """Gather what every reply shape needs: the model, ids, time, content and tokens."""
    model = model_of(provider, path, body)
    return ReplyContext(
        provider=provider,
        path=path,
        body=body or {},
        model=model,
        reply_id=reply_id.lower(),
        now=now,
        content=content,
        tokens_in=estimate_tokens(_prompt(body)),
        tokens_out=estimate_tokens(content),
    )


def build_reply(
    provider: str,
    path: str,
    body: Json | None,
    reply_id: str,
    now: int,
    content: str = DEFAULT_CONTENT,
) -> Reply:
    """Answer a request the way *provider* would answer it at *path*."""
    return shape_reply(reply_context(provider, path, body, reply_id, now, content))


def shape_reply(c: ReplyContext) -> Reply:
    """The reply *c* describes, in the shape its provider and path call for."""
    shape = _shape_for(c.provider, c.path)
    tokens_out = 0 if shape is _embeddings else c.tokens_out
    return Reply(shape(c), c.model, c.tokens_in, tokens_out)


@dataclass(frozen=True)
class ReplyContext:
    """The facts of one reply, shared by the plain and the streamed shapes."""

    provider: str
    path: str
    body: Json
    model: str | None
    reply_id: str
    now: int
    content: str
    tokens_in: int
    tokens_out: int

    @property
    def model_name(self) -> str:
        return self.model or "unknown"

    @property
    def chat_usage(self) -> Json:
        """Token usage as OpenAI chat completions (and Workers AI) report it."""
        total = self.tokens_in + self.tokens_out
        return {
            "prompt_tokens": self.tokens_in,
            "completion_tokens": self.tokens_out,
            "total_tokens": total,
        }

    @property
    def responses_usage(self) -> Json:
        """Token usage as the OpenAI Responses API reports it."""
        return {
            "input_tokens": self.tokens_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": self.tokens_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.tokens_in + self.tokens_out,
        }


def _shape_for(provider: str, path: str) -> Callable[[ReplyContext], Json]:
    if path.endswith("chat/completions"):
        return _openai_chat
    if path.endswith("embeddings"):
        return _embeddings
    if path.endswith("responses"):
        return _openai_responses
    if path.endswith("v1/messages"):
        return _anthropic_messages
    if provider == "workers-ai" and "@" in path:
        return _workers_ai_run
    if ":generateContent" in path:
        return _google_generate
    return _generic


def _openai_chat(c: ReplyContext) -> Json:
    return {
        "id": f"chatcmpl-{c.reply_id}",
        "object": "chat.completion",
        "created": c.now,
        "model": c.model_name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": c.content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": c.chat_usage,
        "system_fingerprint": "fp_aigw_mock",
    }


def _openai_responses(c: ReplyContext) -> Json:
    return {
        "id": f"resp_{c.reply_id}",
        "object": "response",
        "created_at": c.now,
        "status": "completed",
        "model": c.model_name,
        "output": [
            {
                "type": "message",
                "id": f"msg_{c.reply_id}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": c.content, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": c.responses_usage,
    }


def _vector(text: str, dimensions: int) -> list[float]:
    digest = b""
    counter = 0
    while len(digest) < dimensions:
        digest += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    raw = [b / 127.5 - 1.0 for b in digest[:dimensions]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


def _embeddings(c: ReplyContext) -> Json:
    inputs = c.body.get("input", "")
    texts = inputs if isinstance(inputs, list) else [inputs]
    dimensions = c.body.get("dimensions")
    if not isinstance(dimensions, int) or dimensions < 1:
        dimensions = DEFAULT_EMBEDDING_DIMENSIONS
    as_base64 = c.body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = _vector(json.dumps(text), dimensions)
        embedding: object = vector
        if as_base64:
            # The openai SDK asks for base64 float32 by default and decodes it itself.
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": c.model_name,
        "usage": {"prompt_tokens": c.tokens_in, "total_tokens": c.tokens_in},
    }


def _anthropic_messages(c: ReplyContext) -> Json:
    return {
        "id": f"msg_{c.reply_id}",
        "type": "message",
        "role": "assistant",
        "model": c.model_name,
        "content": [{"type": "text", "text": c.content}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": c.tokens_in, "output_tokens": c.tokens_out},
    }


def _workers_ai_run(c: ReplyContext) -> Json:
    return {
        "result": {
            "response": c.content,
            "usage": c.chat_usage,
        },
        "success": True,
        "errors": [],
        "messages": [],
    }


def _google_generate(c: ReplyContext) -> Json:
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": c.content}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": c.tokens_in,
            "candidatesTokenCount": c.tokens_out,
            "totalTokenCount": c.tokens_in + c.tokens_out,
        },
        "modelVersion": c.model_name,
        "responseId": c.reply_id,
    }


def _generic(c: ReplyContext) -> Json:
    return {
        "id": c.reply_id,
        "object": "aigw.mock_reply",
        "provider": c.provider,
        "path": c.path,
        "model": c.model_name,
        "content": c.content,
    }
