"""Mistral's chat completions: OpenAI's shape, but tool calls stream whole.

Mistral sends each tool call in one delta, its name and complete arguments together,
and the `mistralai` SDK refuses a delta whose function has no name.
"""

from __future__ import annotations

from .openai_chat import OpenAIChat

__all__ = ["FORMAT", "MistralChat"]


class MistralChat(OpenAIChat):
    name = "mistral-chat"
    whole_tool_calls = True


FORMAT = MistralChat()
