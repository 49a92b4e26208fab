"""Any scripted tool calls come back exactly, as each SDK reassembles the plain reply and
the stream: names as scripted, arguments equal as JSON (unicode, nested, empty).
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import anthropic
import httpcore2  # noqa: F401  (imported up front, as test_readme.py explains)
import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_strategies import json_values
from openai.lib.streaming.chat import ChatCompletionStreamState

from pytest_aigw import MockGateway

pytestmark = pytest.mark.sdk

TLS = ssl.create_default_context()  # one CA bundle load for every client
Calls = list[tuple[str, dict[str, Any]]]

names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
_, values = json_values(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    text=12,
    keys=6,
)
arguments = st.dictionaries(st.text(max_size=8), values, max_size=4)
tool_calls = st.lists(st.tuples(names, arguments), min_size=1, max_size=4)

examples = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(params=[False, True], ids=["plain", "streamed"])
def streamed(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def script(aigw: MockGateway, calls: Calls) -> None:
    aigw.reset()  # one fixture serves every example: start each from scratch
    aigw.respond(tool_calls=[{"name": name, "arguments": args} for name, args in calls])


@examples
@given(calls=tool_calls)
def test_openai_chat_gives_back_any_tool_calls(
    aigw: MockGateway, streamed: bool, calls: Calls
) -> None:
    script(aigw, calls)
    http = openai.DefaultHttpxClient(verify=TLS)
    messages: Any = [{"role": "user", "content": "Go"}]
    with openai.OpenAI(base_url=aigw.url("openai"), api_key="k", http_client=http) as client:
        if streamed:
            state: Any = ChatCompletionStreamState()
            for chunk in client.chat.completions.create(
                model="gpt-4o-mini", messages=messages, stream=True
            ):
                state.handle_chunk(chunk)
            completion = state.get_final_completion()
        else:
            completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    got = completion.choices[0].message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in got] == calls


@examples
@given(calls=tool_calls)
def test_openai_responses_give_back_any_tool_calls(
    aigw: MockGateway, streamed: bool, calls: Calls
) -> None:
    script(aigw, calls)
    http = openai.DefaultHttpxClient(verify=TLS)
    with openai.OpenAI(base_url=aigw.url("openai"), api_key="k", http_client=http) as client:
        if streamed:
            with client.responses.stream(model="gpt-4o-mini", input="Go") as stream:
                response: Any = stream.get_final_response()
        else:
            response = client.responses.create(model="gpt-4o-mini", input="Go")
    got = [item for item in response.output if item.type == "function_call"]
    assert [(item.name, json.loads(item.arguments)) for item in got] == calls


@examples
@given(calls=tool_calls)
def test_anthropic_gives_back_any_tool_calls(
    aigw: MockGateway, streamed: bool, calls: Calls
) -> None:
    script(aigw, calls)
    http = anthropic.DefaultHttpxClient(verify=TLS)
    request: Any = {
        "model": "claude-sonnet-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Go"}],
    }
    with anthropic.Anthropic(
        base_url=aigw.url("anthropic"), api_key="k", http_client=http
    ) as client:
        if streamed:
            with client.messages.stream(**request) as stream:
                message: Any = stream.get_final_message()
        else:
            message = client.messages.create(**request)
    got = [block for block in message.content if block.type == "tool_use"]
    assert [(block.name, block.input) for block in got] == calls
    assert message.stop_reason == "tool_use"


def gemini_chunks(aigw: MockGateway, streamed: bool) -> list[Any]:
    """Gemini's answer parsed by hand: the JSON body, or each server-sent event's data."""
    method = "streamGenerateContent?alt=sse" if streamed else "generateContent"
    url = f"{aigw.url('google-ai-studio')}/v1beta/models/gemini-2.5-flash:{method}"
    body = {"contents": [{"role": "user", "parts": [{"text": "Go"}]}]}
    reply = httpx.post(url, json=body, headers={"x-goog-api-key": "k"}, verify=TLS)
    if not streamed:
        return [reply.json()]
    lines = reply.text.splitlines()
    return [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]


@examples
@given(calls=tool_calls)
def test_gemini_gives_back_any_tool_calls(aigw: MockGateway, streamed: bool, calls: Calls) -> None:
    script(aigw, calls)
    chunks = gemini_chunks(aigw, streamed)
    got = [
        part["functionCall"]
        for chunk in chunks
        for part in chunk["candidates"][0]["content"]["parts"]
        if "functionCall" in part
    ]
    assert [(call["name"], call["args"]) for call in got] == calls
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
