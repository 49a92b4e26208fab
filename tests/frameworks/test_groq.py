"""groq SDK: a tool loop through the fake, plain and streamed, sync and async."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip("groq")

from _support import (
    PROMPT,
    WEATHER_TOOLS,
    assert_tool_loop,
    assistant_tool_calls,
    get_weather,
    script_tool_loop,
)
from groq import AsyncGroq, Groq

from pytest_aigw import MockGateway

MODEL = "llama-3.3-70b-versatile"


def create(aigw: MockGateway, mode: str, stream: bool, messages: list[Any]) -> dict[str, Any]:
    """One chat completion as a message dict, stream deltas put together."""
    options: dict[str, Any] = {"model": MODEL, "messages": messages, "tools": WEATHER_TOOLS}
    if mode == "sync":
        with Groq(base_url=aigw.url("groq"), api_key="gsk", max_retries=0) as client:
            if not stream:
                return client.chat.completions.create(**options).choices[0].message.model_dump()
            return merge(list(client.chat.completions.create(stream=True, **options)))

    async def run() -> dict[str, Any]:
        async with AsyncGroq(base_url=aigw.url("groq"), api_key="gsk", max_retries=0) as client:
            if not stream:
                reply = await client.chat.completions.create(**options)
                return reply.choices[0].message.model_dump()
            return merge(
                [c async for c in await client.chat.completions.create(stream=True, **options)]
            )

    return asyncio.run(run())


def merge(chunks: list[Any]) -> dict[str, Any]:
    text, calls = "", {}
    for chunk in chunks:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for piece in delta.tool_calls or []:
            call = calls.setdefault(
                piece.index,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            call["id"] = piece.id or call["id"]
            if piece.function:
                call["function"]["name"] += piece.function.name or ""
                call["function"]["arguments"] += piece.function.arguments or ""
    return {"role": "assistant", "content": text, "tool_calls": list(calls.values()) or None}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_loop(aigw: MockGateway, mode: str, stream: bool) -> None:
    script_tool_loop(aigw)
    messages: list[Any] = [{"role": "user", "content": PROMPT}]

    reply = create(aigw, mode, stream, messages)
    messages.append(
        assistant_tool_calls(
            (c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in reply["tool_calls"]
        )
    )
    for c in reply["tool_calls"]:
        result = get_weather(**json.loads(c["function"]["arguments"]))
        messages.append({"role": "tool", "tool_call_id": c["id"], "content": result})
    final = create(aigw, mode, stream, messages)

    assert_tool_loop(aigw, final["content"])


def test_text_reply(aigw: MockGateway) -> None:
    aigw.respond("Bonjour.")

    assert create(aigw, "sync", False, [{"role": "user", "content": "Hi"}])["content"] == "Bonjour."
