"""Any other provider path: a plain JSON reply naming what was asked.

Requests are read as OpenAI-style chat where they look like it. Streams are OpenAI
chat chunks, the shape most providers stream in. Errors are OpenAI-shaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import ApiFormat, Conversation, Json, ReplyContext
from .openai_chat import FORMAT as CHAT
from .openai_chat import openai_error, read_chat

__all__ = ["FORMAT", "Generic"]


class Generic(ApiFormat):
    name = "generic"
    constraint_keys = ("tool_choice", "function_call", "response_format")

    def read(self, path: str, body: Json) -> Conversation:
        return read_chat(body)

    def reply(self, c: ReplyContext) -> Json:
        return {
            "id": c.reply_id,
            "object": "aigw.mock_reply",
            "provider": c.provider,
            "path": c.path,
            "model": c.model_name,
            "content": c.content,
        }

    def stream(self, c: ReplyContext, pieces: Sequence[str]) -> list[bytes]:
        return CHAT.stream(c, pieces)

    def error(self, status: int, message: str) -> Json:
        return openai_error(status, message)


FORMAT = Generic()
