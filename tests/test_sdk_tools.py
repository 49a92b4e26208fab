"""Tool calls, structured output, finish reasons, usage and refusals as each official SDK
reassembles them, plain and streamed, sync and async, and whole tool loops.

Each driver below asks through one SDK (or plain httpx where the provider has no Python
SDK) and reads the answer back through that SDK's own helpers: the openai chat stream
state and `.parse`/`.stream`, the Responses stream, anthropic's `get_final_message`,
google-genai's `function_calls` and `parsed`. Written only against APIs that openai 1.x
(on httpx) and 3.x (on httpx2) share, or guarded where they differ.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import anthropic
import httpcore2  # noqa: F401  (imported up front, as test_readme.py explains)
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types
from pydantic import BaseModel, ConfigDict

from pytest_aigw import MockGateway, tool_call

pytestmark = pytest.mark.sdk

KEY = "sk-test"
MODEL = "gpt-4o-mini"
CLAUDE = "claude-sonnet-5"
GEMINI = "gemini-2.5-flash"
WORKERS_MODEL = "@cf/meta/llama-3.1-8b-instruct"
PROMPT = "What is the weather in Paris?"
TLS = ssl.create_default_context()  # one CA bundle load for every client (~25 ms each)


class WeatherArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str


class TimeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: str
    exact: bool


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema["additionalProperties"] = False
    return schema


TOOLS: dict[str, type[BaseModel]] = {"get_weather": WeatherArgs, "get_time": TimeArgs}


class Forecast(BaseModel):
    """A simple-to-moderate structured output: scalars, a list, an enum."""

    city: str
    temperature: int
    sunny: bool
    tags: list[str]
    unit: Literal["celsius", "fahrenheit"]


@dataclass(frozen=True)
class Called:
    """One tool call as the SDK hands it to the app."""

    id: str | None
    name: str
    arguments: Any


@dataclass(frozen=True)
class Ask:
    """What the app asks, whatever the SDK."""

    prompt: str = PROMPT
    tools: tuple[str, ...] = ()
    force: str | None = None  # a tool the request forces
    schema: type[BaseModel] | None = None
    results: tuple[tuple[Called, str], ...] = ()  # the earlier turn's calls and results


@dataclass(frozen=True)
class Usage:
    input: int | None
    output: int | None
    cached: int | None = None
    reasoning: int | None = None


@dataclass(frozen=True)
class Said:
    """What the SDK reassembled, read the same way for every SDK."""

    text: str
    calls: tuple[Called, ...] = ()
    finish: str | None = None
    refusal: str | None = None
    parsed: Any = None
    usage: Usage | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


Driver = Callable[[MockGateway, str, bool, Ask], Said]


def run_in(mode: str, sync: Callable[[], Said], run: Callable[[], Any]) -> Said:
    if mode == "sync":
        return sync()
    result: Said = asyncio.run(run())
    return result


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# --- openai chat completions (also Workers AI's OpenAI path and the compat endpoint) ---


def chat_tools(ask: Ask, strict: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "parameters": strict_schema(TOOLS[name]),
                **({"strict": True} if strict else {}),
            },
        }
        for name in ask.tools
    ]


def chat_messages(ask: Ask) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": ask.prompt}]
    if ask.results:
        calls = [
            {
                "id": called.id,
                "type": "function",
                "function": {"name": called.name, "arguments": dumps(called.arguments)},
            }
            for called, _ in ask.results
        ]
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages += [
            {"role": "tool", "tool_call_id": called.id, "content": result}
            for called, result in ask.results
        ]
    return messages


def chat_request(ask: Ask, model: str, strict: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {"model": model, "messages": chat_messages(ask)}
    if ask.tools:
        request["tools"] = chat_tools(ask, strict)
    if ask.force:
        request["tool_choice"] = {"type": "function", "function": {"name": ask.force}}
    return request


def json_schema_format(schema: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": strict_schema(schema)},
    }


def said_from_chat(completion: Any, schema: type[BaseModel] | None = None) -> Said:
    choice = completion.choices[0]
    message = choice.message
    calls = tuple(
        Called(call.id, call.function.name, json.loads(call.function.arguments))
        for call in message.tool_calls or ()
    )
    parsed = getattr(message, "parsed", None)
    if parsed is None and schema is not None and message.content:
        parsed = schema.model_validate_json(message.content)
    usage = completion.usage
    return Said(
        message.content or "",
        calls,
        choice.finish_reason,
        message.refusal,
        parsed,
        usage
        and Usage(
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens,
            usage.completion_tokens_details and usage.completion_tokens_details.reasoning_tokens,
        ),
        {"message": message, "id": completion.id},
    )


def sync_openai(base_url: str) -> openai.OpenAI:
    http = openai.DefaultHttpxClient(verify=TLS)
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, http_client=http)


def async_openai(base_url: str) -> openai.AsyncOpenAI:
    http = openai.DefaultAsyncHttpxClient(verify=TLS)
    return openai.AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0, http_client=http)


def chat_driver(provider: str, model: str, suffix: str = "") -> Driver:
    """`create` plain, `create(stream=True)` reassembled with `ChatCompletionStreamState`."""

    def drive(aigw: MockGateway, mode: str, streamed: bool, ask: Ask) -> Said:
        from openai.lib.streaming.chat import ChatCompletionStreamState

        base_url = aigw.url(provider) + suffix
        request = chat_request(ask, model)
        if ask.schema is not None:
            request["response_format"] = json_schema_format(ask.schema)
        state_options = {key: request[key] for key in ("response_format",) if key in request}
        if "tools" in request:
            state_options["input_tools"] = request["tools"]
        if streamed:
            request.update(stream=True, stream_options=USAGE_CHUNK)

        def read(answer: Any) -> Said:
            if not streamed:
                return said_from_chat(answer, ask.schema)
            state: Any = ChatCompletionStreamState(**state_options)
            for chunk in answer:
                state.handle_chunk(chunk)
            return said_from_chat(state.get_final_completion(), ask.schema)

        def sync() -> Said:
            with sync_openai(base_url) as client:
                return read(client.chat.completions.create(**request))

        async def run() -> Said:
            async with async_openai(base_url) as client:
                answer = await client.chat.completions.create(**request)
                if streamed:
                    answer = [chunk async for chunk in answer]
                return read(answer)

        return run_in(mode, sync, run)

    return drive


USAGE_CHUNK = {"include_usage": True}


def completions(client: Any) -> Any:
    """`chat.completions`, or `beta.chat.completions` in openai 1.x before `.parse` moved."""
    chat = client.chat.completions
    return chat if hasattr(chat, "parse") else client.beta.chat.completions


def openai_helpers(aigw: MockGateway, mode: str, streamed: bool, ask: Ask) -> Said:
    """`.parse(response_format=Model)` plain and `.stream(...)` + `get_final_completion()`."""
    request = chat_request(ask, MODEL, strict=True)
    if ask.schema is not None:
        request["response_format"] = ask.schema

    def sync() -> Said:
        with sync_openai(aigw.url("openai")) as client:
            if not streamed:
                return said_from_chat(completions(client).parse(**request))
            with completions(client).stream(**request, stream_options=USAGE_CHUNK) as stream:
                for _ in stream:
                    pass
                return said_from_chat(stream.get_final_completion())

    async def run() -> Said:
        async with async_openai(aigw.url("openai")) as client:
            if not streamed:
                return said_from_chat(await completions(client).parse(**request))
            async with completions(client).stream(**request, stream_options=USAGE_CHUNK) as stream:
                async for _ in stream:
                    pass
                return said_from_chat(await stream.get_final_completion())

    return run_in(mode, sync, run)


# --- openai Responses ------------------------------------------------------------------


def responses_request(ask: Ask) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"role": "user", "content": ask.prompt}]
    for called, result in ask.results:
        items.append(
            {
                "type": "function_call",
                "call_id": called.id,
                "name": called.name,
                "arguments": dumps(called.arguments),
            }
        )
        items.append({"type": "function_call_output", "call_id": called.id, "output": result})
    request: dict[str, Any] = {"model": MODEL, "input": items}
    if ask.tools:
        request["tools"] = [
            {
                "type": "function",
                "name": name,
                "parameters": strict_schema(TOOLS[name]),
                "strict": True,
            }
            for name in ask.tools
        ]
    if ask.force:
        request["tool_choice"] = {"type": "function", "name": ask.force}
    if ask.schema is not None:
        request["text_format"] = ask.schema
    return request


def said_from_response(response: Any) -> Said:
    calls = tuple(
        Called(item.call_id, item.name, json.loads(item.arguments))
        for item in response.output
        if item.type == "function_call"
    )
    refusals = [
        part.refusal
        for item in response.output
        if item.type == "message"
        for part in item.content
        if part.type == "refusal"
    ]
    finish = response.status
    if response.incomplete_details is not None:
        finish += f"/{response.incomplete_details.reason}"
    usage = response.usage
    return Said(
        response.output_text,
        calls,
        finish,
        refusals[0] if refusals else None,
        getattr(response, "output_parsed", None),
        usage
        and Usage(
            usage.input_tokens,
            usage.output_tokens,
            usage.input_tokens_details.cached_tokens,
            usage.output_tokens_details.reasoning_tokens,
        ),
        {"id": response.id},
    )


def finished(events: Iterable[Any]) -> Any:
    """The stream's last `response.completed` or `response.incomplete` event.

    The SDK's `get_final_response()` only keeps a `response.completed`, as with the
    real API, so an incomplete response is read from its event.
    """
    ends = [e for e in events if e.type in ("response.completed", "response.incomplete")]
    assert len(ends) == 1
    return ends[0]


def openai_responses(aigw: MockGateway, mode: str, streamed: bool, ask: Ask) -> Said:
    """`responses.parse` plain (`create` without a schema), `responses.stream()` streamed."""
    request = responses_request(ask)

    def sync() -> Said:
        with sync_openai(aigw.url("openai")) as client:
            if not streamed:
                if ask.schema is None:
                    return said_from_response(client.responses.create(**request))
                return said_from_response(client.responses.parse(**request))
            with client.responses.stream(**request) as stream:
                end = finished(list(stream))
                if end.type == "response.completed":
                    return said_from_response(stream.get_final_response())
                return said_from_response(end.response)

    async def run() -> Said:
        async with async_openai(aigw.url("openai")) as client:
            if not streamed:
                if ask.schema is None:
                    return said_from_response(await client.responses.create(**request))
                return said_from_response(await client.responses.parse(**request))
            async with client.responses.stream(**request) as stream:
                end = finished([event async for event in stream])
                if end.type == "response.completed":
                    return said_from_response(await stream.get_final_response())
                return said_from_response(end.response)

    return run_in(mode, sync, run)


# --- anthropic -------------------------------------------------------------------------


def anthropic_request(ask: Ask) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": ask.prompt}]
    if ask.results:
        uses = [
            {"type": "tool_use", "id": called.id, "name": called.name, "input": called.arguments}
            for called, _ in ask.results
        ]
        results = [
            {"type": "tool_result", "tool_use_id": called.id, "content": result}
            for called, result in ask.results
        ]
        messages += [{"role": "assistant", "content": uses}, {"role": "user", "content": results}]
    request: dict[str, Any] = {"model": CLAUDE, "max_tokens": 256, "messages": messages}
    if ask.tools:
        request["tools"] = [
            {"name": name, "input_schema": strict_schema(TOOLS[name])} for name in ask.tools
        ]
    if ask.force:
        request["tool_choice"] = {"type": "tool", "name": ask.force}
    if ask.schema is not None:
        request["output_format"] = ask.schema
    return request


def said_from_message(message: Any) -> Said:
    texts = [block.text for block in message.content if block.type == "text"]
    calls = tuple(
        Called(block.id, block.name, block.input)
        for block in message.content
        if block.type == "tool_use"
    )
    usage = message.usage
    return Said(
        "".join(texts),
        calls,
        message.stop_reason,
        None,
        getattr(message, "parsed_output", None),
        Usage(usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens),
        {"id": message.id},
    )


def sync_anthropic(base_url: str) -> anthropic.Anthropic:
    http = anthropic.DefaultHttpxClient(verify=TLS)
    return anthropic.Anthropic(
        base_url=base_url, api_key="sk-ant-test", max_retries=0, http_client=http
    )


def async_anthropic(base_url: str) -> anthropic.AsyncAnthropic:
    http = anthropic.DefaultAsyncHttpxClient(verify=TLS)
    return anthropic.AsyncAnthropic(
        base_url=base_url, api_key="sk-ant-test", max_retries=0, http_client=http
    )


def anthropic_driver(aigw: MockGateway, mode: str, streamed: bool, ask: Ask) -> Said:
    """`messages.create` (`.parse` with a schema) plain, `messages.stream()` streamed."""
    request = anthropic_request(ask)
    method = "parse" if ask.schema is not None else "create"

    def sync() -> Said:
        with sync_anthropic(aigw.url("anthropic")) as client:
            if not streamed:
                return said_from_message(getattr(client.messages, method)(**request))
            with client.messages.stream(**request) as stream:
                return said_from_message(stream.get_final_message())

    async def run() -> Said:
        async with async_anthropic(aigw.url("anthropic")) as client:
            if not streamed:
                return said_from_message(await getattr(client.messages, method)(**request))
            async with client.messages.stream(**request) as stream:
                return said_from_message(await stream.get_final_message())

    return run_in(mode, sync, run)


# --- google-genai ----------------------------------------------------------------------


def gemini_config(ask: Ask) -> genai_types.GenerateContentConfig:
    config = genai_types.GenerateContentConfig()
    if ask.tools:
        declarations = [
            genai_types.FunctionDeclaration(
                name=name, parameters_json_schema=TOOLS[name].model_json_schema()
            )
            for name in ask.tools
        ]
        config.tools = [genai_types.Tool(function_declarations=declarations)]
    if ask.force:
        config.tool_config = genai_types.ToolConfig(
            function_calling_config=genai_types.FunctionCallingConfig(
                mode=genai_types.FunctionCallingConfigMode.ANY,
                allowed_function_names=[ask.force],
            )
        )
    if ask.schema is not None:
        config.response_mime_type = "application/json"
        config.response_schema = ask.schema
    return config


def gemini_contents(ask: Ask) -> list[genai_types.Content]:
    contents = [genai_types.Content(role="user", parts=[genai_types.Part(text=ask.prompt)])]
    if ask.results:
        calls = [
            genai_types.Part(
                function_call=genai_types.FunctionCall(
                    id=called.id, name=called.name, args=called.arguments
                )
            )
            for called, _ in ask.results
        ]
        answers = [
            genai_types.Part(
                function_response=genai_types.FunctionResponse(
                    id=called.id, name=called.name, response={"result": result}
                )
            )
            for called, result in ask.results
        ]
        contents += [
            genai_types.Content(role="model", parts=calls),
            genai_types.Content(role="user", parts=answers),
        ]
    return contents


def said_from_gemini(chunks: list[Any], schema: type[BaseModel] | None) -> Said:
    """One response, or a stream's chunks joined (google-genai has no stream accumulator)."""
    texts = []
    for chunk in chunks:
        for part in chunk.candidates[0].content.parts or ():
            if part.text:
                texts.append(part.text)
    text = "".join(texts)
    calls = tuple(
        Called(call.id, call.name, call.args)
        for chunk in chunks
        for call in chunk.function_calls or ()
    )
    last = chunks[-1]
    parsed = last.parsed if len(chunks) == 1 else None
    if parsed is None and schema is not None:
        parsed = schema.model_validate_json(text)
    usage = last.usage_metadata
    finish = last.candidates[0].finish_reason
    return Said(
        text,
        calls,
        finish.value if finish is not None else None,
        None,
        parsed,
        Usage(
            usage.prompt_token_count,
            usage.candidates_token_count,
            usage.cached_content_token_count,
            usage.thoughts_token_count,
        ),
        {"id": last.response_id},
    )


def gemini_client(aigw: MockGateway, mode: str) -> Any:
    # google-genai sends async requests through aiohttp when it is installed, which the
    # fake does not intercept; handing it an httpx client keeps it on httpx.
    options = genai_types.HttpOptions(base_url=aigw.url("google-ai-studio"))
    if mode == "async":
        options.httpx_async_client = httpx.AsyncClient(verify=TLS)
    else:
        options.httpx_client = httpx.Client(verify=TLS)
    return genai.Client(api_key="goog-key", http_options=options)


def gemini_driver(aigw: MockGateway, mode: str, streamed: bool, ask: Ask) -> Said:
    """`models.generate_content` / `generate_content_stream`, sync and via `client.aio`."""
    client = gemini_client(aigw, mode)
    request = {"model": GEMINI, "contents": gemini_contents(ask), "config": gemini_config(ask)}

    def sync() -> Said:
        if streamed:
            chunks = list(client.models.generate_content_stream(**request))
        else:
            chunks = [client.models.generate_content(**request)]
        return said_from_gemini(chunks, ask.schema)

    async def run() -> Said:
        models = client.aio.models
        if streamed:
            chunks = [chunk async for chunk in await models.generate_content_stream(**request)]
        else:
            chunks = [await models.generate_content(**request)]
        return said_from_gemini(chunks, ask.schema)

    return run_in(mode, sync, run)


# --- Workers AI native, over plain httpx -----------------------------------------------


def workers_request(ask: Ask, streamed: bool) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": ask.prompt}]
    if ask.results:
        calls = [{"name": c.name, "arguments": c.arguments} for c, _ in ask.results]
        messages.append({"role": "assistant", "content": "", "tool_calls": calls})
        messages += [
            {"role": "tool", "name": called.name, "content": result}
            for called, result in ask.results
        ]
    request: dict[str, Any] = {"messages": messages}
    if ask.tools:
        request["tools"] = chat_tools(ask)
    if ask.schema is not None:
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": strict_schema(ask.schema),
        }
    if streamed:
        request["stream"] = True
    return request


def sse_data(lines: Iterable[str]) -> Iterator[Any]:
    """The JSON data of each server-sent event, up to `[DONE]`."""
    for line in lines:
        if line.startswith("data: "):
            data = line.removeprefix("data: ")
            if data == "[DONE]":
                return
            yield json.loads(data)


def said_from_workers(result: dict[str, Any], schema: type[BaseModel] | None) -> Said:
    text = result["response"]
    calls = tuple(Called(None, c["name"], c["arguments"]) for c in result.get("tool_calls", ()))
    usage = result["usage"]
    return Said(
        text,
        calls,
        None,
        None,
        schema.model_validate_json(text) if schema is not None else None,
        Usage(
            usage["prompt_tokens"],
            usage["completion_tokens"],
            usage.get("prompt_tokens_details", {}).get("cached_tokens"),
            usage.get("completion_tokens_details", {}).get("reasoning_tokens"),
        ),
    )


def joined_workers_events(events: Iterable[Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"response": ""}
    for data in events:
        result["response"] += data.get("response") or ""
        for key in ("tool_calls", "usage"):
            if key in data:
                result[key] = data[key]
    return result


def workers_native(aigw: MockGateway, mode: str, streamed: bool, ask: Ask) -> Said:
    """`POST workers-ai/@cf/...` with `messages` and `tools`; `stream: true` read by hand."""
    url = aigw.url("workers-ai") + "/" + WORKERS_MODEL
    body = workers_request(ask, streamed)
    headers = {"authorization": "Bearer cf-token"}

    def sync() -> Said:
        with httpx.Client(verify=TLS) as client:
            if not streamed:
                reply = client.post(url, json=body, headers=headers)
                return said_from_workers(reply.json()["result"], ask.schema)
            with client.stream("POST", url, json=body, headers=headers) as reply:
                result = joined_workers_events(sse_data(reply.iter_lines()))
            return said_from_workers(result, ask.schema)

    async def run() -> Said:
        async with httpx.AsyncClient(verify=TLS) as client:
            if not streamed:
                reply = await client.post(url, json=body, headers=headers)
                return said_from_workers(reply.json()["result"], ask.schema)
            async with client.stream("POST", url, json=body, headers=headers) as reply:
                lines = [line async for line in reply.aiter_lines()]
            return said_from_workers(joined_workers_events(sse_data(lines)), ask.schema)

    return run_in(mode, sync, run)


DRIVERS: dict[str, Driver] = {
    "openai-chat": chat_driver("openai", MODEL),
    "openai-helpers": openai_helpers,
    "openai-responses": openai_responses,
    "anthropic": anthropic_driver,
    "gemini": gemini_driver,
    "workers-ai": workers_native,
    "workers-ai-openai": chat_driver("workers-ai", WORKERS_MODEL, "/v1"),
    "compat": chat_driver("compat", f"anthropic/{CLAUDE}"),
}
CHAT_LIKE = ("openai-chat", "openai-helpers", "workers-ai-openai", "compat")

# How each SDK reports the fake's finish reasons (stop, length, tool_calls, content_filter).
FINISH: dict[str, dict[str, str | None]] = {
    **{
        sdk: {r: r for r in ("stop", "length", "tool_calls", "content_filter")} for sdk in CHAT_LIKE
    },
    "openai-responses": {
        "stop": "completed",
        "length": "incomplete/max_output_tokens",
        "tool_calls": "completed",
        "content_filter": "incomplete/content_filter",
    },
    "anthropic": {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "content_filter": "refusal",
    },
    "gemini": {
        "stop": "STOP",
        "length": "MAX_TOKENS",
        "tool_calls": "STOP",
        "content_filter": "SAFETY",
    },
    "workers-ai": dict.fromkeys(("stop", "length", "tool_calls", "content_filter")),
}
# The prefix of a call id the fake derives (None: the format has no call ids).
ID_PREFIX: dict[str, str | None] = {
    **dict.fromkeys(CHAT_LIKE, "call_"),
    "openai-responses": "call_",
    "anthropic": "toolu_",
    "gemini": None,
    "workers-ai": None,
}
HAS_IDS = [sdk for sdk, prefix in ID_PREFIX.items() if prefix is not None]


@pytest.fixture(params=list(DRIVERS))
def sdk(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=[False, True], ids=["plain", "streamed"])
def streamed(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def ask(aigw: MockGateway, sdk: str, mode: str, streamed: bool, question: Ask) -> Said:
    return DRIVERS[sdk](aigw, mode, streamed, question)


# --- what each SDK reassembles: text, tool calls, structured output --------------------


def test_text_reply_comes_back_whole(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool
) -> None:
    aigw.respond("Sunny all day in Paris.")
    said = ask(aigw, sdk, mode, streamed, Ask(tools=("get_weather",)))
    assert said.text == "Sunny all day in Paris."
    assert said.calls == ()
    assert said.refusal is None
    assert said.finish == FINISH[sdk]["stop"]


WEATHER = {"name": "get_weather", "arguments": {"city": "Paris"}}
TIME = {"name": "get_time", "arguments": {"zone": "Europe/Paris", "exact": True}, "id": "given-7"}
CALLS = {
    "one": ([WEATHER], None),
    "one-with-text": ([WEATHER], "Let me look that up."),
    "parallel": ([WEATHER, TIME], None),
    "parallel-with-text": ([TIME, WEATHER], "Checking both."),
}


def assert_ids(sdk: str, said: Said, scripted: list[dict[str, Any]]) -> None:
    """Given ids come back exactly; left-out ids carry the format's prefix and differ."""
    prefix = ID_PREFIX[sdk]
    derived = []
    for called, script in zip(said.calls, scripted, strict=True):
        if sdk == "workers-ai":  # the native API has no call ids at all
            assert called.id is None
        elif "id" in script:
            assert called.id == script["id"]
        elif prefix is None:  # Gemini sends an id only where the model gave one
            assert called.id is None
        else:
            assert called.id is not None
            assert called.id.startswith(prefix)
            derived.append(called.id)
    assert len(set(derived)) == len(derived)


@pytest.mark.parametrize(("calls", "content"), list(CALLS.values()), ids=list(CALLS))
def test_tool_calls_come_back_as_scripted(
    aigw: MockGateway,
    sdk: str,
    mode: str,
    streamed: bool,
    calls: list[dict[str, Any]],
    content: str | None,
) -> None:
    aigw.respond(content, tool_calls=calls)
    said = ask(aigw, sdk, mode, streamed, Ask(tools=("get_weather", "get_time")))
    assert [(c.name, c.arguments) for c in said.calls] == [
        (call["name"], call["arguments"]) for call in calls
    ]
    assert said.text == (content or "")
    assert said.finish == FINISH[sdk]["tool_calls"]
    assert_ids(sdk, said, calls)
    assert aigw.calls.last.tools == ["get_weather", "get_time"]


FORCING = [sdk for sdk in DRIVERS if sdk != "workers-ai"]  # the native API has no tool_choice


@pytest.mark.parametrize("sdk", FORCING)
@pytest.mark.parametrize("tool", ["get_weather", "get_time"])
def test_forced_tool_gets_schema_valid_arguments(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool, tool: str
) -> None:
    said = ask(aigw, sdk, mode, streamed, Ask(tools=("get_weather", "get_time"), force=tool))
    assert [called.name for called in said.calls] == [tool]
    TOOLS[tool].model_validate(said.calls[0].arguments)
    assert said.finish == FINISH[sdk]["tool_calls"]


def test_structured_output_is_schema_valid_by_default(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool
) -> None:
    said = ask(aigw, sdk, mode, streamed, Ask(schema=Forecast))
    assert isinstance(said.parsed, Forecast)
    assert Forecast.model_validate_json(said.text) == said.parsed
    assert said.finish == FINISH[sdk]["stop"]


def test_scripted_structured_output_is_parsed_by_the_sdk(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool
) -> None:
    forecast = Forecast(city="Zürich", temperature=21, sunny=True, tags=["dry"], unit="celsius")
    aigw.respond(forecast)
    said = ask(aigw, sdk, mode, streamed, Ask(schema=Forecast))
    assert said.parsed == forecast


# --- finish reasons, usage, refusals ---------------------------------------------------


def parse_refuses(sdk: str, streamed: bool) -> bool:
    """Whether the SDK raises on a cut-off reply instead of returning it.

    openai's `.parse` and `.stream` helpers (and `ChatCompletionStreamState`, which
    `.stream` is built on) raise `LengthFinishReasonError` and
    `ContentFilterFinishReasonError` rather than hand back a partial object.
    """
    return sdk == "openai-helpers" or (sdk in CHAT_LIKE and streamed)


CUT_OFF_ERRORS: dict[str, type[Exception]] = {
    "length": openai.LengthFinishReasonError,
    "content_filter": openai.ContentFilterFinishReasonError,
}


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_finish_reason_is_mapped_per_provider(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool, reason: str
) -> None:
    aigw.respond("It was cut sh", finish_reason=reason)
    if parse_refuses(sdk, streamed):
        error = CUT_OFF_ERRORS[reason]
        with pytest.raises(error):
            ask(aigw, sdk, mode, streamed, Ask())
        return
    said = ask(aigw, sdk, mode, streamed, Ask())
    assert said.finish == FINISH[sdk][reason]
    assert said.text == "It was cut sh"


USAGE = {"input": 11, "output": 7, "cached": 3, "reasoning": 2}
# What each SDK exposes of USAGE: Anthropic reports uncached input apart from cache reads
# and no reasoning tokens; Gemini reports thoughts apart from the candidates' tokens.
SDK_USAGE = {
    **dict.fromkeys(DRIVERS, Usage(11, 7, 3, 2)),
    "anthropic": Usage(8, 7, 3, None),
    "gemini": Usage(11, 5, 3, 2),
}


def test_usage_reaches_the_sdk_and_the_log(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool
) -> None:
    aigw.respond("Counted.", usage=USAGE)
    said = ask(aigw, sdk, mode, streamed, Ask())
    assert said.usage == SDK_USAGE[sdk]
    log_id = aigw.calls.last.log_id
    assert log_id is not None
    log = aigw.logs.get(log_id)
    assert (log.tokens_in, log.tokens_out) == (11, 7)
    stored = aigw.log_store.get(log_id, now=float("inf"))
    assert stored is not None
    assert (stored.tokens_in, stored.tokens_out) == (11, 7)


REFUSAL = "I can't help with that."


def test_refusal_reads_as_each_sdk_shows_one(
    aigw: MockGateway, sdk: str, mode: str, streamed: bool
) -> None:
    aigw.respond(refusal=REFUSAL)
    said = ask(aigw, sdk, mode, streamed, Ask())
    if sdk in CHAT_LIKE or sdk == "openai-responses":
        assert (said.refusal, said.text) == (REFUSAL, "")  # message.refusal / a refusal part
        assert said.finish == FINISH[sdk]["stop"]
    elif sdk == "anthropic":
        assert (said.finish, said.text) == ("refusal", REFUSAL)
    else:  # Gemini and Workers AI have no refusal field: the refusal is the text
        assert (said.refusal, said.text) == (None, REFUSAL)


# --- ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("sdk", HAS_IDS)
def test_left_out_ids_are_the_same_for_the_same_request(sdk: str, streamed: bool) -> None:
    def once() -> tuple[Called, ...]:
        with MockGateway() as gateway:
            gateway.respond(tool_calls=[WEATHER, {**TIME, "id": None}])
            return ask(gateway, sdk, "sync", streamed, Ask(tools=("get_weather", "get_time"))).calls

    first, second = once(), once()
    assert first == second
    assert len({called.id for called in first}) == 2


@pytest.mark.parametrize("sdk", HAS_IDS)
def test_left_out_ids_differ_between_turns(aigw: MockGateway, sdk: str, streamed: bool) -> None:
    aigw.respond(tool_calls=[WEATHER], times=2)
    question = Ask(tools=("get_weather",))
    first = ask(aigw, sdk, "sync", streamed, question)
    results = tuple((called, "sunny") for called in first.calls)
    second = ask(aigw, sdk, "sync", streamed, replace(question, results=results))
    assert first.calls[0].id != second.calls[0].id
    assert (first.calls[0].name, first.calls[0].arguments) == ("get_weather", {"city": "Paris"})


# --- a whole tool loop ------------------------------------------------------------------


def get_weather(arguments: dict[str, Any]) -> str:
    return f"sunny, 21°C in {arguments['city']}"


def sent_result_text(sdk: str, result: str) -> str:
    """The result's text as the gateway reads it: Gemini wraps it in a response object."""
    if sdk == "gemini":
        return json.dumps({"result": result}, separators=(",", ":"))
    return result


def test_whole_tool_loop(aigw: MockGateway, sdk: str, mode: str, streamed: bool) -> None:
    aigw.respond(tool_calls=[tool_call("get_weather", {"city": "Paris"})], tool_result=False)
    aigw.respond("It is sunny", tool_result="get_weather")
    question = Ask(tools=("get_weather",))

    first = ask(aigw, sdk, mode, streamed, question)
    results = tuple((called, get_weather(called.arguments)) for called in first.calls)
    final = ask(aigw, sdk, mode, streamed, replace(question, results=results))

    assert final.text == "It is sunny"
    assert final.calls == ()
    assert aigw.calls[0].tools == ["get_weather"]
    assert aigw.calls[0].tool_results == []
    sent = aigw.calls[1].tool_results[0]
    assert sent.name == "get_weather"
    assert sent.text == sent_result_text(sdk, "sunny, 21°C in Paris")
    assert sent.call_id == first.calls[0].id


# --- stream details the drivers above do not show ---------------------------------------


def test_anthropic_tool_input_arrives_as_input_json_deltas(aigw: MockGateway) -> None:
    arguments = {"zone": "Europe/Paris", "exact": True, "nested": {"list": [1, 2, "três"]}}
    aigw.respond("Sure.", tool_calls=[{"name": "get_time", "arguments": arguments}])
    request = anthropic_request(Ask(tools=("get_time",)))
    with sync_anthropic(aigw.url("anthropic")) as client, client.messages.stream(**request) as s:
        events = list(s)
        message = s.get_final_message()
    pieces = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == arguments
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[1].input == arguments  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"


def test_openai_chat_stream_helper_sends_tool_call_events(aigw: MockGateway) -> None:
    aigw.respond(tool_calls=[WEATHER, TIME])
    request = chat_request(Ask(tools=("get_weather", "get_time")), MODEL, strict=True)
    with sync_openai(aigw.url("openai")) as client, completions(client).stream(**request) as s:
        done = [e for e in s if e.type == "tool_calls.function.arguments.done"]
    assert [(e.name, e.parsed_arguments) for e in done] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Paris", "exact": True}),
    ]


LEGACY_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "user", "content": PROMPT}],
    "functions": [{"name": "get_time", "parameters": strict_schema(TimeArgs)}],
    "function_call": {"name": "get_time"},
}


def test_legacy_functions_get_a_function_call(aigw: MockGateway, streamed: bool) -> None:
    """Apps still on `functions`/`function_call` read `message.function_call`, not tool calls."""
    from openai.lib.streaming.chat import ChatCompletionStreamState

    aigw.respond(tool_calls=[TIME])
    with sync_openai(aigw.url("openai")) as client:
        if streamed:
            state: Any = ChatCompletionStreamState()
            for chunk in client.chat.completions.create(**LEGACY_REQUEST, stream=True):
                state.handle_chunk(chunk)
            completion: Any = state.get_final_completion()
        else:
            completion = client.chat.completions.create(**LEGACY_REQUEST)
    choice = completion.choices[0]
    assert choice.finish_reason == "function_call"
    assert choice.message.tool_calls is None
    assert choice.message.function_call.name == "get_time"
    assert json.loads(choice.message.function_call.arguments) == TIME["arguments"]
    assert aigw.calls.last.tools == ["get_time"]


def test_unscripted_legacy_function_call_is_schema_valid(aigw: MockGateway) -> None:
    with sync_openai(aigw.url("openai")) as client:
        completion: Any = client.chat.completions.create(**LEGACY_REQUEST)
    TimeArgs.model_validate_json(completion.choices[0].message.function_call.arguments)


def test_responses_tool_output_as_content_parts_is_read_as_text(aigw: MockGateway) -> None:
    """`function_call_output.output` may be a list of `input_text` parts instead of a string."""
    aigw.respond("It is sunny", tool_result="get_weather")
    called = {"call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
    output = [{"type": "input_text", "text": "sunny, "}, {"type": "input_text", "text": "21°C"}]
    items: Any = [
        {"role": "user", "content": PROMPT},
        {"type": "function_call", **called},
        {"type": "function_call_output", "call_id": "call_1", "output": output},
    ]
    with sync_openai(aigw.url("openai")) as client:
        response = client.responses.create(model=MODEL, input=items)
    assert response.output_text == "It is sunny"
    result = aigw.calls.last.tool_results[0]
    assert (result.name, result.call_id, result.text) == ("get_weather", "call_1", "sunny, \n21°C")
