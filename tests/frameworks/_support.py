"""What the framework suites share: the tool the model asks for, the script, the checks."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from pytest_aigw import MockGateway
from pytest_aigw.calls import Call

PROMPT = "What is the weather in Paris?"
TOOL_OUTPUT = "Sunny, 22 C in Paris"
FINAL = "It is sunny and 22 C in Paris."


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return TOOL_OUTPUT if city == "Paris" else f"No weather for {city}"


class City(BaseModel):
    name: str
    country: str


def _text(value: Any) -> str:
    """A tool result's content as text, whatever list-of-parts shape it came in."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_text(part) for part in value)
    if isinstance(value, dict):
        for key in ("text", "output", "content", "result"):
            if key in value:
                return _text(value[key])
    return json.dumps(value)


def tool_results(call: Call) -> list[str]:
    """The tool results a request carried back to the model, in every provider format."""
    body = call.json if isinstance(call.json, dict) else {}
    found: list[str] = []
    for message in body.get("messages", []):
        if message.get("role") == "tool":  # OpenAI chat, Groq, Mistral
            found.append(_text(message.get("content")))
        content = message.get("content")
        if isinstance(content, list):  # Anthropic
            found += [_text(b.get("content")) for b in content if b.get("type") == "tool_result"]
    for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
        if item.get("type") == "function_call_output":  # OpenAI Responses
            found.append(_text(item.get("output")))
    for content in body.get("contents", []):  # Gemini
        for part in content.get("parts", []):
            if "functionResponse" in part:
                found.append(_text(part["functionResponse"].get("response")))
    return found


def script_tool_loop(aigw: MockGateway) -> None:
    """The model asks for get_weather(Paris), then answers FINAL once it has the result."""
    aigw.respond(  # type: ignore[call-arg]
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}],
        tool_result=False,
    )
    aigw.respond(FINAL, tool_result=True)  # type: ignore[call-arg]


def assert_tool_loop(aigw: MockGateway, final: str) -> None:
    """The framework ran the tool, sent its result back, and gave the scripted answer."""
    assert final.strip() == FINAL
    assert len(aigw.calls) == 2
    assert tool_results(aigw.calls[0]) == []
    assert [TOOL_OUTPUT in result for result in tool_results(aigw.calls[1])] == [True]
