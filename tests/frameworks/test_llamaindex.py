"""llama-index-llms-openai (openai<3): tool loops by hand and with FunctionAgent."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("llama_index.llms.openai")

from _support import PROMPT, City, assert_tool_loop, get_weather, script_tool_loop
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI

from pytest_aigw import MockGateway

pytestmark = pytest.mark.filterwarnings(
    # FunctionAgent reads deprecated pydantic attributes while it builds its workflow.
    "ignore::pydantic.warnings.PydanticDeprecationWarning",
)

weather_tool = FunctionTool.from_defaults(get_weather)


def llm(aigw: MockGateway) -> OpenAI:
    return OpenAI(model="gpt-4o-mini", api_base=aigw.url("openai"), api_key="sk", max_retries=0)


@pytest.mark.parametrize("stream", [False, True], ids=["chat", "stream_chat"])
def test_tool_loop_by_hand(aigw: MockGateway, stream: bool) -> None:
    script_tool_loop(aigw)
    model = llm(aigw)
    messages = [ChatMessage(role="user", content=PROMPT)]

    if stream:
        *_, reply = model.stream_chat_with_tools([weather_tool], chat_history=messages)
    else:
        reply = model.chat_with_tools([weather_tool], chat_history=messages)
    messages.append(reply.message)
    for call in model.get_tool_calls_from_response(reply, error_on_no_tool_call=True):
        output = weather_tool.call(**call.tool_kwargs)
        messages.append(
            ChatMessage(
                role="tool",
                content=str(output),
                additional_kwargs={"tool_call_id": call.tool_id, "name": call.tool_name},
            )
        )
    final = model.chat(messages)

    assert_tool_loop(aigw, str(final.message.content))


def test_function_agent(aigw: MockGateway) -> None:
    script_tool_loop(aigw)
    agent = FunctionAgent(tools=[weather_tool], llm=llm(aigw))

    async def run() -> str:
        return str(await agent.run(PROMPT))

    assert_tool_loop(aigw, asyncio.run(run()))


def test_structured_output_unscripted(aigw: MockGateway) -> None:
    city = llm(aigw).structured_predict(
        City, PromptTemplate("Name a city in {country}."), country="France"
    )

    assert isinstance(city, City)


def test_text_reply(aigw: MockGateway) -> None:
    aigw.respond("Bonjour.")

    assert llm(aigw).complete("Hi").text == "Bonjour."
