"""pydantic-ai: Agent tool loops through the fake on the OpenAI and Anthropic models."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("pydantic_ai")

from _support import PROMPT, City, assert_tool_loop, get_weather, script_tool_loop
from pydantic_ai import Agent
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

from pytest_aigw import MockGateway


def model(aigw: MockGateway, provider: str) -> Model:
    if provider == "openai":
        return OpenAIChatModel(
            "gpt-4o-mini", provider=OpenAIProvider(base_url=aigw.url("openai"), api_key="sk")
        )
    # AnthropicModel streams every request, run_sync included.
    return AnthropicModel(
        "claude-sonnet-4-5",
        provider=AnthropicProvider(base_url=aigw.url("anthropic"), api_key="sk-ant"),
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_loop_run_sync(aigw: MockGateway, provider: str) -> None:
    script_tool_loop(aigw)
    agent = Agent(model(aigw, provider), tools=[get_weather])

    result = agent.run_sync(PROMPT)

    assert_tool_loop(aigw, result.output)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_loop_run_stream(aigw: MockGateway, provider: str) -> None:
    script_tool_loop(aigw)
    agent = Agent(model(aigw, provider), tools=[get_weather])

    async def run() -> str:
        async with agent.run_stream(PROMPT) as result:
            return "".join([piece async for piece in result.stream_text(delta=True)])

    assert_tool_loop(aigw, asyncio.run(run()))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_structured_output_unscripted(aigw: MockGateway, provider: str) -> None:
    agent = Agent(model(aigw, provider), output_type=City)

    assert isinstance(agent.run_sync("Name a city.").output, City)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_text_reply(aigw: MockGateway, provider: str) -> None:
    aigw.respond("Bonjour.")

    assert Agent(model(aigw, provider)).run_sync("Hi").output == "Bonjour."
