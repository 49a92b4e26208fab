"""One module per provider API format, and the table that says which one a request speaks.

Each format reads a request into a `Conversation` and writes replies, stream events
and error bodies as its API does. A new provider API is one module and one row.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from . import (
    ai_run,
    anthropic_messages,
    embeddings,
    gemini,
    generic,
    mistral_chat,
    openai_chat,
    openai_responses,
    run_api,
    workers_ai,
)
from .base import (
    ApiFormat,
    Conversation,
    Json,
    Message,
    ReplyContext,
    ReplySpec,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
)

__all__ = [
    "ApiFormat",
    "Conversation",
    "Message",
    "ReplyContext",
    "ReplySpec",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "Usage",
    "format_for",
    "model_of",
]

Row = tuple[Callable[[str, str], bool], ApiFormat]

# First matching row wins: (provider, path) -> format. The compat endpoint and
# OpenAI-shaped providers (groq, mistral, deepseek, ...) all end in chat/completions.
# The REST API's paths start with `ai/` (`ai/run`, `ai/v1/...`, `ai/run/@cf/...`);
# the gateway's Run API is the path `run`.
FORMATS: tuple[Row, ...] = (
    (
        lambda provider, path: provider == "mistral" and path.endswith("chat/completions"),
        mistral_chat.FORMAT,
    ),
    (lambda provider, path: path == "ai/run", ai_run.FORMAT),
    (lambda provider, path: path == "run", run_api.FORMAT),
    (lambda provider, path: path.endswith("chat/completions"), openai_chat.FORMAT),
    (lambda provider, path: path.endswith("embeddings"), embeddings.FORMAT),
    (lambda provider, path: path.endswith("responses"), openai_responses.FORMAT),
    (lambda provider, path: path.endswith("v1/messages"), anthropic_messages.FORMAT),
    (lambda provider, path: provider == "workers-ai" and "@" in path, workers_ai.FORMAT),
    (lambda provider, path: "GenerateContent" in path, gemini.FORMAT),
    (lambda provider, path: provider.startswith("google"), gemini.FORMAT),
)


@functools.lru_cache(maxsize=1024)  # a test suite calls few (provider, path) pairs, often
def format_for(provider: str, path: str) -> ApiFormat:
    """The API format a request to *provider* at *path* speaks."""
    for matches, api in FORMATS:
        if matches(provider, path):
            return api
    return generic.FORMAT


def model_of(provider: str, path: str, body: Json | None) -> str | None:
    """Name the model a request asks for: from the path where it names one, else the body."""
    if provider == "azure-openai" and path.count("/") >= 2:
        return path.split("/")[1]  # Azure serves the deployment, whatever the body says
    return format_for(provider, path).model(provider, path, body)
