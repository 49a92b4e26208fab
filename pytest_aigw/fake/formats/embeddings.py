"""OpenAI-style embeddings (`/embeddings`): deterministic unit vectors per input.

The vector is derived from the input text, so equal texts embed equally. The openai
SDK asks for base64 float32 by default and decodes it itself.

OpenAI's own limits bound the work one request can ask for: at most `MAX_DIMENSIONS`
(3,072, text-embedding-3-large's size) dimensions and `MAX_INPUTS` (2,048) inputs;
beyond them OpenAI answers 400, and so does the fake. The vectors are built in time
linear in their size, and `prepare` builds them before the gateway's lock is taken,
so one large request never holds up the others.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import threading
from collections import OrderedDict

from ..encoding import compact_bytes
from .base import ApiFormat, Conversation, Json, Message, ReplyContext, text_of
from .openai_chat import openai_error

__all__ = ["DEFAULT_DIMENSIONS", "FORMAT", "MAX_DIMENSIONS", "MAX_INPUTS", "Embeddings"]

DEFAULT_DIMENSIONS = 8
MAX_DIMENSIONS = 3072
MAX_INPUTS = 2048
_PREPARED_BYTES = 64 * 1024 * 1024  # vectors built ahead and not yet sent, at most


_UNIT = tuple(b / 127.5 - 1.0 for b in range(256))  # a digest byte as a coordinate
_SQUARE = tuple(x * x for x in _UNIT)


def _vector(text: str, dimensions: int) -> list[float]:
    blocks = -(-dimensions // 32)  # one SHA-256 digest gives 32 bytes
    digest = b"".join(hashlib.sha256(f"{n}:{text}".encode()).digest() for n in range(blocks))
    digest = digest[:dimensions]
    norm = math.sqrt(sum(map(_SQUARE.__getitem__, digest))) or 1.0
    # Each coordinate depends on its byte alone: scale the 256 values, then look up.
    scaled = [round(x / norm, 6) for x in _UNIT]
    return list(map(scaled.__getitem__, digest))


def _texts(body: Json) -> list[object]:
    inputs = body.get("input", "")
    return inputs if isinstance(inputs, list) else [inputs]


def _dimensions(body: Json) -> int:
    dimensions = body.get("dimensions")
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        return DEFAULT_DIMENSIONS
    return dimensions


def _data(body: Json) -> bytes:
    """The `data` array of the reply to *body*, encoded."""
    dimensions = _dimensions(body)
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(_texts(body)):
        vector = _vector(json.dumps(text), dimensions)
        embedding: object = vector
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return compact_bytes(data)


def _key(body: Json) -> bytes:
    return compact_bytes([_texts(body), _dimensions(body), body.get("encoding_format")])


class _Prepared:
    """Encoded `data` arrays built ahead of the lock, by request, bounded in bytes."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: bytes, data: bytes) -> None:
        with self._lock:
            if key in self._items or len(data) > self._limit:
                return
            self._items[key] = data
            self._size += len(data)
            while self._size > self._limit:
                self._size -= len(self._items.popitem(last=False)[1])

    def take(self, key: bytes) -> bytes | None:
        with self._lock:
            data = self._items.pop(key, None)
            if data is not None:
                self._size -= len(data)
            return data


class Embeddings(ApiFormat):
    name = "embeddings"

    def __init__(self) -> None:
        self._prepared = _Prepared(_PREPARED_BYTES)

    @property
    def counts_output(self) -> bool:
        return False

    def read(self, path: str, body: Json) -> Conversation:
        return Conversation(messages=tuple(Message("user", text_of(t)) for t in _texts(body)))

    def wants_stream(self, path: str, body: Json | None) -> bool:
        return False

    def refusal(self, path: str, body: Json | None) -> str | None:
        if not body:
            return None
        dimensions = body.get("dimensions")
        if isinstance(dimensions, int) and dimensions > MAX_DIMENSIONS:
            return (
                f"Invalid 'dimensions': {_short(dimensions)}. Expected a value at most"
                f" {MAX_DIMENSIONS}."
            )
        inputs = body.get("input")
        if isinstance(inputs, list) and len(inputs) > MAX_INPUTS:
            return (
                f"Invalid 'input': array too long. Expected an array with maximum length"
                f" {MAX_INPUTS}, but got an array with length {len(inputs)} instead."
            )
        return None

    def prepare(self, path: str, body: Json) -> None:
        if self.refusal(path, body) is None:
            self._prepared.put(_key(body), _data(body))

    def reply(self, c: ReplyContext) -> Json:
        reply: Json = json.loads(self.reply_bytes(c))
        return reply

    def reply_bytes(self, c: ReplyContext) -> bytes:
        data = self._prepared.take(_key(c.body)) or _data(c.body)
        usage = {"prompt_tokens": c.tokens_in, "total_tokens": c.tokens_in}
        rest = compact_bytes({"model": c.model_name, "usage": usage})
        return b'{"object":"list","data":' + data + b"," + rest[1:]

    def error(self, status: int, message: str) -> Json:
        return openai_error(status, message)


def _short(number: int) -> str:
    text = str(number) if number.bit_length() < 1000 else ""
    return text if text and len(text) <= 20 else "a number too large to show"


FORMAT = Embeddings()
