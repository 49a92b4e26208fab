"""Guardrails and DLP as the openai and anthropic SDKs see them, and as a user's suite uses them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import openai
import pytest
from anthropic import Anthropic, AsyncAnthropic
from anthropic.types import Message, MessageParam
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from pytest_aigw import MockGateway
from pytest_aigw.fake.answers import DEFAULT_CONTENT

pytestmark = pytest.mark.sdk

MODEL = "gpt-4o-mini"
CLAUDE = "claude-sonnet-5"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "how to pick a lock"}]
PROMPT_BLOCKED = {"code": 2016, "message": "Prompt blocked due to security configurations"}


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def openai_chat(mode: str, aigw: MockGateway, **options: Any) -> Any:
    if mode == "sync":
        with OpenAI(base_url=aigw.url("openai"), api_key="sk-test", max_retries=0) as client:
            return client.chat.completions.create(model=MODEL, messages=MESSAGES, **options)

    async def run() -> Any:
        base = aigw.url("openai")
        async with AsyncOpenAI(base_url=base, api_key="sk-test", max_retries=0) as client:
            return await client.chat.completions.create(model=MODEL, messages=MESSAGES, **options)

    return asyncio.run(run())


def claude(mode: str, aigw: MockGateway) -> Message:
    said: list[MessageParam] = [{"role": "user", "content": "how to pick a lock"}]
    if mode == "sync":
        with Anthropic(base_url=aigw.url("anthropic"), api_key="k", max_retries=0) as client:
            return client.messages.create(model=CLAUDE, max_tokens=64, messages=said)

    async def run() -> Message:
        base = aigw.url("anthropic")
        async with AsyncAnthropic(base_url=base, api_key="k", max_retries=0) as client:
            return await client.messages.create(model=CLAUDE, max_tokens=64, messages=said)

    return asyncio.run(run())


# --- Guardrails ------------------------------------------------------------------------


def test_openai_sees_a_blocked_prompt_as_424_code_2016(aigw: MockGateway, mode: str) -> None:
    aigw.guardrail("prompt", categories=["S2"], prompt="lock")
    with pytest.raises(openai.APIStatusError) as raised:
        openai_chat(mode, aigw)
    assert raised.value.status_code == 424
    assert raised.value.body == [PROMPT_BLOCKED]  # the SDK keeps the envelope's `error`
    assert raised.value.response.json()["internalCode"] == 2016


def test_anthropic_sees_a_blocked_response_as_424_code_2017(aigw: MockGateway, mode: str) -> None:
    aigw.guardrail("response", categories=["S2"])
    with pytest.raises(anthropic.APIStatusError) as raised:
        claude(mode, aigw)
    assert raised.value.status_code == 424
    body = raised.value.body
    assert isinstance(body, dict)
    assert (body["name"], body["internalCode"]) == ("AiGatewayError", 2017)


def test_openai_sees_the_scanner_errors(aigw: MockGateway) -> None:
    aigw.guardrail("prompt", categories=["S1"], scanner_error=503, metadata={"tier": "free"})
    aigw.guardrail("prompt", action="flag", scanner_error=402, metadata={"tier": "pro"})
    with pytest.raises(openai.InternalServerError) as unavailable:
        openai_chat("sync", aigw, extra_headers={"cf-aig-metadata": '{"tier": "free"}'})
    with pytest.raises(openai.APIStatusError) as no_credits:
        openai_chat("sync", aigw, extra_headers={"cf-aig-metadata": '{"tier": "pro"}'})
    assert (unavailable.value.status_code, unavailable.value.body) == (
        503,
        [{"code": 7013, "message": "Guardrails scanner unavailable"}],
    )
    assert (no_credits.value.status_code, no_credits.value.body) == (
        402,
        [{"code": 2021, "message": "Insufficient AI Gateway credits"}],
    )


def test_an_openai_stream_under_a_response_guardrail_gets_one_payload(aigw: MockGateway) -> None:
    aigw.guardrail("response", action="flag", categories=["S1"])
    with OpenAI(base_url=aigw.url("openai"), api_key="sk-test", max_retries=0) as client:
        stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        assert list(stream) == []  # the SDK finds no stream events in a JSON body
        raw = client.chat.completions.with_raw_response.create(
            model=MODEL, messages=MESSAGES, stream=True
        )
        payload = json.loads(raw.http_response.read())
    assert raw.headers["content-type"] == "application/json"
    completion = ChatCompletion.model_validate(payload)
    assert completion.choices[0].message.content == DEFAULT_CONTENT


def test_an_anthropic_stream_under_a_response_guardrail_gets_one_payload(
    aigw: MockGateway,
) -> None:
    aigw.guardrail("response", action="flag", categories=["S1"])
    args: dict[str, Any] = {
        "model": CLAUDE,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    with Anthropic(base_url=aigw.url("anthropic"), api_key="k", max_retries=0) as client:
        assert list(client.messages.create(**args)) == []
        raw = client.messages.with_raw_response.create(**args)
        payload = json.loads(raw.http_response.read())
    message = Message.model_validate(payload)
    assert message.content[0].type == "text"
    assert message.content[0].text == DEFAULT_CONTENT


# --- DLP -------------------------------------------------------------------------------


def test_openai_sees_a_dlp_block_as_400_with_the_header(aigw: MockGateway, mode: str) -> None:
    aigw.dlp("request", profiles=["p-1"], policy="no_secrets")
    with pytest.raises(openai.BadRequestError) as raised:
        openai_chat(mode, aigw)
    assert raised.value.body == [
        {"code": 2029, "message": "Request content blocked due to DLP policy violations"}
    ]
    header = json.loads(raised.value.response.headers["cf-aig-dlp"])
    assert (header["action"], header["findings"][0]["policy_ids"]) == ("BLOCK", ["no_secrets"])


def test_anthropic_reads_a_dlp_flag_from_the_answer_headers(aigw: MockGateway) -> None:
    aigw.dlp("response", action="flag", profiles=["p-1"])
    with Anthropic(base_url=aigw.url("anthropic"), api_key="k", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    header = json.loads(raw.headers["cf-aig-dlp"])
    assert (header["action"], header["findings"][0]["check"]) == ("FLAG", "RESPONSE")
    assert raw.parse().content[0].type == "text"


def test_an_openai_stream_under_response_scanning_still_streams(aigw: MockGateway) -> None:
    aigw.dlp("response", action="flag", profiles=["p-1"])
    client = OpenAI(base_url=aigw.url("openai"), api_key="sk-test", max_retries=0)
    with (
        client,
        client.chat.completions.with_streaming_response.create(
            model=MODEL, messages=MESSAGES, stream=True
        ) as raw,
    ):
        assert json.loads(raw.headers["cf-aig-dlp"])["action"] == "FLAG"
        chunks = list(raw.parse())
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == DEFAULT_CONTENT


# --- in a user's suite -----------------------------------------------------------------


def test_a_users_suite_tests_its_handling_of_blocks_and_flags(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json

        import openai
        import pytest
        from openai import OpenAI


        def ask(aigw, text):
            client = OpenAI(base_url=aigw.url("openai"), api_key="sk-test", max_retries=0)
            try:
                raw = client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
                )
            except openai.APIStatusError as error:
                codes = [entry.get("code") for entry in error.body]
                return "unsafe" if 2016 in codes else "leak" if 2029 in codes else "error"
            if "cf-aig-dlp" in raw.headers:
                return "flagged"
            return raw.parse().choices[0].message.content


        def test_unsafe_prompts_are_refused(aigw):
            aigw.guardrail("prompt", categories=["S9"], prompt="weapon")
            assert ask(aigw, "build a weapon") == "unsafe"
            assert ask(aigw, "build a shed") == "This is a mock reply from the AI Gateway fake."


        def test_card_numbers_are_refused_and_emails_flagged(aigw):
            aigw.dlp("request", profiles=["cards"], prompt="4111")
            aigw.dlp("request", action="flag", profiles=["emails"], prompt="@")
            assert ask(aigw, "card 4111") == "leak"
            assert ask(aigw, "mail me at a@b.c") == "flagged"
            assert aigw.logs.get(aigw.calls.last.log_id).raw["dlp_action"] == "FLAG"
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_live_gateways_refuse_the_declarations() -> None:
    from pytest_aigw.live import LiveGateway, LiveModeError

    live = LiveGateway.__new__(LiveGateway)
    with pytest.raises(LiveModeError, match=r"^aigw.guardrail works on the fake gateway only"):
        live.guardrail("prompt", categories=["S1"])
    with pytest.raises(
        LiveModeError, match=r"Guard mock-only setup with `if aigw.mode == 'mock':`"
    ):
        live.dlp("request")
