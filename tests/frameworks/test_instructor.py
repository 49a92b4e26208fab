"""instructor in TOOLS mode (openai<3: instructor pins jiter<0.15, openai 3 needs >=0.16)."""

from __future__ import annotations

import asyncio

import pytest

instructor = pytest.importorskip("instructor")

from _support import City
from openai import AsyncOpenAI, OpenAI

from pytest_aigw import MockGateway

MESSAGES = [{"role": "user", "content": "Paris is the capital of France."}]
PARIS = {"name": "Paris", "country": "France"}


def client(aigw: MockGateway) -> object:
    sdk = OpenAI(base_url=aigw.url("openai"), api_key="sk", max_retries=0)
    return instructor.from_openai(sdk, mode=instructor.Mode.TOOLS)


def test_create_scripted(aigw: MockGateway) -> None:
    aigw.respond(tool_calls=[{"name": "City", "arguments": PARIS}])  # type: ignore[call-arg]

    city = client(aigw).chat.completions.create(  # type: ignore[attr-defined]
        model="gpt-4o-mini", response_model=City, messages=MESSAGES, max_retries=0
    )

    assert city == City(**PARIS)
    assert aigw.calls.last.json["tool_choice"] == {"type": "function", "function": {"name": "City"}}


def test_create_partial_scripted(aigw: MockGateway) -> None:
    # create_partial asks for a tool named after the partial model, not City.
    aigw.respond(tool_calls=[{"name": "PartialCity", "arguments": PARIS}])  # type: ignore[call-arg]

    partials = list(
        client(aigw).chat.completions.create_partial(  # type: ignore[attr-defined]
            model="gpt-4o-mini", response_model=City, messages=MESSAGES, max_retries=0
        )
    )

    assert partials[-1].model_dump() == PARIS
    assert aigw.calls.last.json["stream"] is True


def test_create_async_unscripted(aigw: MockGateway) -> None:
    sdk = instructor.from_openai(
        AsyncOpenAI(base_url=aigw.url("openai"), api_key="sk", max_retries=0),
        mode=instructor.Mode.TOOLS,
    )

    async def run() -> City:
        return await sdk.chat.completions.create(  # type: ignore[no-any-return]
            model="gpt-4o-mini", response_model=City, messages=MESSAGES, max_retries=0
        )

    assert isinstance(asyncio.run(run()), City)


def test_create_partial_unscripted(aigw: MockGateway) -> None:
    partials = list(
        client(aigw).chat.completions.create_partial(  # type: ignore[attr-defined]
            model="gpt-4o-mini", response_model=City, messages=MESSAGES, max_retries=0
        )
    )

    assert partials
    City.model_validate(partials[-1].model_dump())
