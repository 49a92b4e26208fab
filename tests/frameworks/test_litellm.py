"""litellm: whole tool loops through the fake, OpenAI and Anthropic routes, plain and streamed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

from _support import (
    PROMPT,
    TOOL_OUTPUT,
    WEATHER_TOOLS,
    City,
    assert_tool_loop,
    assistant_tool_calls,
    get_weather,
    script_tool_loop,
)
from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

from pytest_aigw import MockGateway

# Async calls go through litellm's default aiohttp transport, which the fake catches too.

pytestmark = pytest.mark.filterwarnings(
    # litellm builds pydantic adapters over ReadOnly TypedDicts on its first call.
    "ignore:.*ReadOnly. qualifier:UserWarning",
)


def route(aigw: MockGateway, provider: str) -> dict[str, str]:
    if provider == "openai":
        return {"model": "openai/gpt-4o-mini", "api_base": aigw.url("openai"), "api_key": "sk"}
    return {
        "model": "anthropic/claude-sonnet-4-5",
        "api_base": aigw.url("anthropic"),
        "api_key": "sk-ant",
    }


def complete(mode: str, stream: bool, **kwargs: Any) -> tuple[str, list[dict[str, str]]]:
    """One completion; its text and tool calls, stream chunks put together."""
    if mode == "sync":
        reply = litellm.completion(stream=stream, **kwargs)
        chunks = list(reply) if stream else None
    else:

        async def run() -> Any:
            reply = await litellm.acompletion(stream=stream, **kwargs)
            chunks = [chunk async for chunk in reply] if stream else None
            # The logging worker is bound to this loop; stop it before the loop closes.
            await GLOBAL_LOGGING_WORKER.flush()
            await GLOBAL_LOGGING_WORKER.stop()
            return reply, chunks

        reply, chunks = asyncio.run(run())
    if chunks is not None:
        reply = litellm.stream_chunk_builder(chunks)
    message = reply.choices[0].message
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in message.tool_calls or []
    ]
    return message.content or "", calls


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_tool_loop(aigw: MockGateway, mode: str, stream: bool, provider: str) -> None:
    script_tool_loop(aigw)
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]

    text, calls = complete(
        mode, stream, messages=messages, tools=WEATHER_TOOLS, **route(aigw, provider)
    )
    assert [c["name"] for c in calls] == ["get_weather"]
    messages.append(assistant_tool_calls((c["id"], c["name"], c["arguments"]) for c in calls))
    for c in calls:
        result = get_weather(**json.loads(c["arguments"]))
        messages.append({"role": "tool", "tool_call_id": c["id"], "content": result})
    text, calls = complete(
        mode, stream, messages=messages, tools=WEATHER_TOOLS, **route(aigw, provider)
    )

    assert calls == []
    assert_tool_loop(aigw, text)
    assert TOOL_OUTPUT in json.dumps(aigw.calls[1].json)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_structured_output_unscripted(aigw: MockGateway, provider: str) -> None:
    reply = litellm.completion(
        messages=[{"role": "user", "content": "Name a city."}],
        response_format=City,
        **route(aigw, provider),
    )

    City.model_validate_json(reply.choices[0].message.content)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_text_reply(aigw: MockGateway, provider: str) -> None:
    aigw.respond("Bonjour.")

    text, calls = complete(
        "sync", False, messages=[{"role": "user", "content": "Hi"}], **route(aigw, provider)
    )

    assert (text, calls) == ("Bonjour.", [])
