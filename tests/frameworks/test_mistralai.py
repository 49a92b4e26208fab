"""mistralai SDK: a tool loop through the fake, plain and streamed, sync and async."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("mistralai")

from _support import (
    PROMPT,
    WEATHER_TOOLS,
    City,
    assert_tool_loop,
    assistant_tool_calls,
    get_weather,
    script_tool_loop,
)
from mistralai.client import Mistral

from pytest_aigw import MockGateway

MODEL = "mistral-small-latest"


def client(aigw: MockGateway) -> Mistral:
    return Mistral(api_key="m", server_url=aigw.url("mistral"))


def create(
    aigw: MockGateway, mode: str, stream: bool, messages: list[Any]
) -> tuple[str, list[Any]]:
    """One chat call: its text and tool calls, stream deltas put together."""
    sdk = client(aigw)
    options: dict[str, Any] = {"model": MODEL, "messages": messages, "tools": WEATHER_TOOLS}

    async def run() -> Any:
        if stream:
            return [event async for event in await sdk.chat.stream_async(**options)]
        return await sdk.chat.complete_async(**options)

    if mode == "async":
        reply = asyncio.run(run())
    else:
        reply = list(sdk.chat.stream(**options)) if stream else sdk.chat.complete(**options)
    if not stream:
        message = reply.choices[0].message
        return str(message.content or ""), list(message.tool_calls or [])
    text, calls = "", []
    for event in reply:
        delta = event.data.choices[0].delta
        text += str(delta.content or "")
        calls += list(delta.tool_calls or [])
    return text, calls


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_loop(aigw: MockGateway, mode: str, stream: bool) -> None:
    script_tool_loop(aigw)
    messages: list[Any] = [{"role": "user", "content": PROMPT}]

    _, calls = create(aigw, mode, stream, messages)
    messages.append(
        assistant_tool_calls(((c.id, c.function.name, c.function.arguments) for c in calls), "")
    )
    for c in calls:
        arguments = c.function.arguments
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        messages.append(
            {
                "role": "tool",
                "tool_call_id": c.id,
                "name": c.function.name,
                "content": get_weather(**arguments),
            }
        )
    text, _ = create(aigw, mode, stream, messages)

    assert_tool_loop(aigw, text)


def test_structured_output_unscripted(aigw: MockGateway) -> None:
    reply = client(aigw).chat.parse(
        response_format=City, model=MODEL, messages=[{"role": "user", "content": "Name a city."}]
    )

    assert isinstance(reply.choices[0].message.parsed, City)


def test_text_reply(aigw: MockGateway) -> None:
    aigw.respond("Bonjour.")

    assert create(aigw, "sync", False, [{"role": "user", "content": "Hi"}]) == ("Bonjour.", [])
