"""What the framework suites share: the tool the model asks for, the script, the checks."""

from __future__ import annotations

from pydantic import BaseModel

from pytest_aigw import MockGateway

PROMPT = "What is the weather in Paris?"
TOOL_OUTPUT = "Sunny, 22 C in Paris"
FINAL = "It is sunny and 22 C in Paris."


def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return TOOL_OUTPUT if city == "Paris" else f"No weather for {city}"


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
