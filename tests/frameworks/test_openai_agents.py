"""openai-agents: Runner tool loops through the fake on the Responses API, plain and streamed."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("agents")

from _support import PROMPT, City, assert_tool_loop, get_weather, script_tool_loop
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from pytest_aigw import MockGateway

# Traces go to api.openai.com by default; the fake refuses that host.
set_tracing_disabled(True)


async def run_agent(aigw: MockGateway, streamed: bool, **options: object) -> object:
    # The client is closed inside the loop that used it, or httpx2 warns at loop shutdown.
    async with AsyncOpenAI(base_url=aigw.url("openai"), api_key="sk", max_retries=0) as client:
        agent = Agent(
            name="weather",
            instructions="Answer briefly.",
            model=OpenAIResponsesModel("gpt-4o-mini", client),
            **options,  # type: ignore[arg-type]
        )
        if not streamed:
            return (await Runner.run(agent, PROMPT)).final_output
        result = Runner.run_streamed(agent, PROMPT)
        async for _ in result.stream_events():
            pass
        return result.final_output


@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
def test_tool_loop(aigw: MockGateway, streamed: bool) -> None:
    script_tool_loop(aigw)

    final = asyncio.run(run_agent(aigw, streamed, tools=[function_tool(get_weather)]))

    assert_tool_loop(aigw, str(final))


def test_structured_output_unscripted(aigw: MockGateway) -> None:
    final = asyncio.run(run_agent(aigw, False, output_type=City))

    assert isinstance(final, City)


def test_text_reply(aigw: MockGateway) -> None:
    aigw.respond("Bonjour.")

    assert asyncio.run(run_agent(aigw, False)) == "Bonjour."
