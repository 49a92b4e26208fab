"""What the framework suites share: the tool the model asks for, the script, the checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from pytest_aigw import MockGateway

PROMPT = "What is the weather in Paris?"
TOOL_OUTPUT = "Sunny, 22 C in Paris"
FINAL = "It is sunny and 22 C in Paris."


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return TOOL_OUTPUT if city == "Paris" else f"No weather for {city}"


# get_weather as an OpenAI-style function tool, for the SDKs that take a JSON tool list.
WEATHER_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def assistant_tool_calls(
    calls: Iterable[tuple[str, str, Any]], content: str | None = None
) -> dict[str, Any]:
    """The assistant turn that asked for *calls*, each (id, name, arguments), OpenAI-style."""
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            for call_id, name, arguments in calls
        ],
    }


class City(BaseModel):
    name: str
    country: str


def script_tool_loop(aigw: MockGateway) -> None:
    """The model asks for get_weather(Paris), then answers FINAL once it has the result."""
    aigw.respond(
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "call_1"}],
        tool_result=False,
    )
    aigw.respond(FINAL, tool_result=True)


def assert_tool_loop(aigw: MockGateway, final: str) -> None:
    """The framework ran the tool, sent its result back, and gave the scripted answer."""
    assert final.strip() == FINAL
    assert len(aigw.calls) == 2
    assert aigw.calls[0].tools == ["get_weather"]
    assert aigw.calls[0].tool_results == []
    (result,) = aigw.calls[1].tool_results
    assert result.name == "get_weather"
    assert TOOL_OUTPUT in result.text
