"""The gateway's Run API (`POST {gateway}/run`, beta): `{"model", "input"}` in, a run out.

Replies are `{"state": "Completed", "result": {...}, "usedBYOKKey": false, "provider",
"model"}`; errors `{"state": "Failed", "error": {"code": "<string>", "message"},
"model"}` (protocol.md §1.5). The API does not stream, so a request asking for a
stream gets the plain reply. `input` is read as Workers AI reads a request, and the
result is Workers AI's (`response`, `tool_calls`, `usage`): the docs print only an
image model's result.
"""

from __future__ import annotations

from .ai_run import input_of
from .base import ApiFormat, Conversation, Json, ReplyContext
from .workers_ai import FORMAT as WORKERS_AI

__all__ = ["FORMAT", "RunApi", "failed_code"]


def failed_code(status: int) -> str:
    """The Run API's string error code for an upstream *status* (chosen: not documented)."""
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "provider_auth_failed"
    return "provider_unavailable" if status >= 500 else "provider_error"


class RunApi(ApiFormat):
    name = "run-api"

    def read(self, path: str, body: Json) -> Conversation:
        return WORKERS_AI.read(path, input_of(body))

    def reply(self, c: ReplyContext) -> Json:
        result = WORKERS_AI.reply(c)["result"]
        return {
            "state": "Completed",
            "result": result,
            "usedBYOKKey": False,
            "provider": c.provider,
            "model": c.model_name,
        }

    def error(self, status: int, message: str) -> Json:
        return {"state": "Failed", "error": {"code": failed_code(status), "message": message}}


FORMAT = RunApi()
