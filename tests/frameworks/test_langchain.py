"""langchain-openai: bind_tools, a whole tool loop through the fake, invoke and stream."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("langchain_openai")

from _support import PROMPT, City, assert_tool_loop, get_weather, script_tool_loop
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from pytest_aigw import MockGateway

weather_tool = tool(get_weather)


def chat(aigw: MockGateway) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", base_url=aigw.url("openai"), api_key="sk-test", max_retries=0
    )


def run_loop(aigw: MockGateway, mode: str) -> str:
    """Ask, run each tool call the model makes, send the results, return the final text."""
    model = chat(aigw).bind_tools([weather_tool])
    messages: list[BaseMessage] = [HumanMessage(PROMPT)]
    for _ in range(3):
        reply = ask(model, messages, mode)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            messages.append(ToolMessage(weather_tool.invoke(call["args"]), tool_call_id=call["id"]))
    raise AssertionError("the model kept asking for tools")


def ask(model: object, messages: list[BaseMessage], mode: str) -> AIMessage:
    runnable = model  # a RunnableBinding; typed loosely to keep the loop short
    if mode == "invoke":
        return runnable.invoke(messages)  # type: ignore[attr-defined, no-any-return]
    if mode == "stream":
        chunks = list(runnable.stream(messages))  # type: ignore[attr-defined]
    else:

        async def collect() -> list[AIMessage]:
            return [chunk async for chunk in runnable.astream(messages)]  # type: ignore[attr-defined]

        chunks = asyncio.run(collect())
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    return AIMessage(content=merged.content, tool_calls=merged.tool_calls)


@pytest.mark.parametrize("mode", ["invoke", "stream", "astream"])
def test_tool_loop(aigw: MockGateway, mode: str) -> None:
    script_tool_loop(aigw)

    final = run_loop(aigw, mode)

    assert_tool_loop(aigw, final)
    assert aigw.calls[0].json["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output_unscripted(aigw: MockGateway, method: str) -> None:
    city = chat(aigw).with_structured_output(City, method=method).invoke("Name a city.")

    assert isinstance(city, City)


def test_text_reply(aigw: MockGateway) -> None:
    aigw.respond("Bonjour.")

    assert chat(aigw).invoke("Hello").content == "Bonjour."
