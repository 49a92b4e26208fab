"""google-genai: automatic function calling through the fake, plain and streamed, sync and async."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("google.genai")

from _support import PROMPT, City, assert_tool_loop, get_weather, script_tool_loop
from google import genai
from google.genai import types

from pytest_aigw import MockGateway

MODEL = "gemini-2.5-flash"


def client(aigw: MockGateway) -> genai.Client:
    # Keep the Client referenced while it is used: dropping it closes its HTTP client.
    return genai.Client(
        api_key="g", http_options=types.HttpOptions(base_url=aigw.url("google-ai-studio"))
    )


TOOLS = types.GenerateContentConfig(tools=[get_weather])


def test_tool_loop_sync(aigw: MockGateway) -> None:
    script_tool_loop(aigw)
    sdk = client(aigw)

    reply = sdk.models.generate_content(model=MODEL, contents=PROMPT, config=TOOLS)

    assert_tool_loop(aigw, reply.text or "")


def test_tool_loop_async(aigw: MockGateway) -> None:
    script_tool_loop(aigw)
    sdk = client(aigw)

    async def run() -> str:
        reply = await sdk.aio.models.generate_content(model=MODEL, contents=PROMPT, config=TOOLS)
        return reply.text or ""

    assert_tool_loop(aigw, asyncio.run(run()))


def test_tool_loop_stream(aigw: MockGateway) -> None:
    script_tool_loop(aigw)
    sdk = client(aigw)

    chunks = list(sdk.models.generate_content_stream(model=MODEL, contents=PROMPT, config=TOOLS))

    assert_tool_loop(aigw, "".join(chunk.text or "" for chunk in chunks))


def test_structured_output_unscripted(aigw: MockGateway) -> None:
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=City
    )

    reply = client(aigw).models.generate_content(
        model=MODEL, contents="Name a city.", config=config
    )

    assert isinstance(reply.parsed, City)


def test_text_reply(aigw: MockGateway) -> None:
    aigw.respond("Bonjour.")
    sdk = client(aigw)

    assert sdk.models.generate_content(model=MODEL, contents="Hi").text == "Bonjour."
