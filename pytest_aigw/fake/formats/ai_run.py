"""The REST API's `/ai/run` envelope: `{"model": ..., "input": {...}}`, any model.

Cloudflare documents the request but prints no reply (protocol.md §1.4.4, ⚠). The
fake reads `input` as Workers AI does (`messages` or `prompt`, `tools`,
`response_format`, `stream`) and answers in Workers AI's shape inside the Cloudflare
v4 envelope, `{"result": {"response", "tool_calls", "usage"}, "success": true, ...}`,
as the legacy `/ai/run/@cf/{model}` path answers; streams are Workers AI's events.
"""

from __future__ import annotations

from .base import Conversation, Json
from .workers_ai import WorkersAI

__all__ = ["FORMAT", "AiRun", "input_of"]


def input_of(body: Json | None) -> Json:
    """The envelope's `input` object ({} when it has none)."""
    value = body.get("input") if body else None
    return value if isinstance(value, dict) else {}


class AiRun(WorkersAI):
    name = "ai-run"

    def read(self, path: str, body: Json) -> Conversation:
        return super().read(path, input_of(body))

    def wants_stream(self, path: str, body: Json | None) -> bool:
        return input_of(body).get("stream") is True

    def model(self, provider: str, path: str, body: Json | None) -> str | None:
        model = body.get("model") if body else None
        return model if isinstance(model, str) else None


FORMAT = AiRun()
