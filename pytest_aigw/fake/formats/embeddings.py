"""OpenAI-style embeddings (`/embeddings`): deterministic unit vectors per input.

The vector is derived from the input text, so equal texts embed equally. The openai
SDK asks for base64 float32 by default and decodes it itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct

from .base import ApiFormat, Conversation, Json, Message, ReplyContext, text_of
from .openai_chat import openai_error

__all__ = ["DEFAULT_DIMENSIONS", "FORMAT", "Embeddings"]

DEFAULT_DIMENSIONS = 8


def _vector(text: str, dimensions: int) -> list[float]:
    digest = b""
    counter = 0
    while len(digest) < dimensions:
        digest += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    raw = [b / 127.5 - 1.0 for b in digest[:dimensions]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


class Embeddings(ApiFormat):
    name = "embeddings"

    @property
    def counts_output(self) -> bool:
        return False

    def read(self, path: str, body: Json) -> Conversation:
        inputs = body.get("input", "")
        texts = inputs if isinstance(inputs, list) else [inputs]
        return Conversation(messages=tuple(Message("user", text_of(t)) for t in texts))

    def wants_stream(self, path: str, body: Json | None) -> bool:
        return False

    def reply(self, c: ReplyContext) -> Json:
        inputs = c.body.get("input", "")
        texts = inputs if isinstance(inputs, list) else [inputs]
        dimensions = c.body.get("dimensions")
        if not isinstance(dimensions, int) or dimensions < 1:
            dimensions = DEFAULT_DIMENSIONS
        as_base64 = c.body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = _vector(json.dumps(text), dimensions)
            embedding: object = vector
            if as_base64:
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        return {
            "object": "list",
            "data": data,
            "model": c.model_name,
            "usage": {"prompt_tokens": c.tokens_in, "total_tokens": c.tokens_in},
        }

    def error(self, status: int, message: str) -> Json:
        return openai_error(status, message)


FORMAT = Embeddings()
