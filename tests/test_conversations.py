"""Replies chosen by the request: matchers, reply functions, conversation views, messages."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from pytest_aigw import Call, ConfigError, MockGateway, reply, tool_call

CHAT = "/chat/completions"
# The provider key each client sends; the gateway checks it (credentials="provider").
KEY = {"authorization": "Bearer sk-test"}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def chat(gw: MockGateway, *messages: dict[str, Any], **body: Any) -> httpx.Response:
    payload = {"model": "gpt-4o-mini", "messages": list(messages), **body}
    headers = {**KEY, **body.pop("headers", {})}
    return httpx.post(gw.url("openai") + CHAT, json=payload, headers=headers)


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def text_of(response: httpx.Response) -> Any:
    return response.json()["choices"][0]["message"]["content"]


def anthropic(gw: MockGateway, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        gw.url("anthropic") + "/v1/messages",
        json={"model": "claude-sonnet-5", **body},
        headers={"x-api-key": "sk-ant-test"},
    )


def gemini(gw: MockGateway, body: dict[str, Any]) -> httpx.Response:
    url = gw.url("google-ai-studio") + "/v1beta/models/gemini-2.5-flash:generateContent"
    return httpx.post(url, json=body, headers={"x-goog-api-key": "test-key"})


def responses(gw: MockGateway, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gw.url("openai") + "/responses", json={"model": "gpt-5", **body}, headers=KEY)


# --- matchers -----------------------------------------------------------------------------


def test_prompt_picks_the_reply_whatever_order_the_requests_come_in() -> None:
    with MockGateway() as gw:
        gw.respond("Your invoice is attached.", prompt="invoice")
        gw.respond("Refund issued.", prompt=re.compile(r"\brefund\b", re.I))
        assert text_of(chat(gw, user("I want a REFUND now"))) == "Refund issued."
        assert text_of(chat(gw, user("Where is my invoice?"))) == "Your invoice is attached."


def test_prompt_is_the_last_user_message_in_every_format() -> None:
    with MockGateway() as gw:
        gw.respond("chat", prompt="weather", provider="openai", path="chat/completions")
        gw.respond("responses", prompt="weather", path="responses")
        gw.respond("claude", prompt="weather", provider="anthropic")
        gw.respond("gemini", prompt="weather", provider="google-ai-studio")
        chat(gw, user("old question"), {"role": "assistant", "content": "x"}, user("weather?"))
        responses(gw, {"input": [{"role": "user", "content": "weather in Paris"}]})
        anthropic(
            gw, {"messages": [{"role": "user", "content": [{"type": "text", "text": "weather"}]}]}
        )
        gemini(gw, {"contents": [{"role": "user", "parts": [{"text": "weather"}]}]})
    assert [call.prompt for call in gw.calls] == [
        "weather?",
        "weather in Paris",
        "weather",
        "weather",
    ]


def test_system_metadata_tools_body_and_match_matchers() -> None:
    with MockGateway() as gw:
        gw.respond("pirate", system="pirate")
        gw.respond("gold", metadata={"tier": "gold"})
        gw.respond("tooled", tools=["get_weather"])
        gw.respond("cold", body={"temperature": 0})
        gw.respond("called", match=lambda call: call.model == "gpt-4o")
        pirate = chat(gw, {"role": "system", "content": "Talk like a pirate"}, user("hi"))
        gold = chat(gw, user("hi"), headers={"cf-aig-metadata": '{"tier": "gold", "n": 1}'})
        tooled = chat(gw, user("hi"), tools=[WEATHER_TOOL])
        cold = chat(gw, user("hi"), temperature=0)
        called = chat(gw, user("hi"), model="gpt-4o")
    answers = [text_of(r) for r in (pirate, gold, tooled, cold, called)]
    assert answers == ["pirate", "gold", "tooled", "cold", "called"]


def test_tool_result_tells_the_first_turn_from_the_follow_up() -> None:
    with MockGateway() as gw:
        gw.respond("It is sunny in Paris.", tool_result="get_weather")
        gw.respond(
            tool_calls=[tool_call("get_weather", {"city": "Paris"}, id="call_1")], tool_result=False
        )
        first = chat(gw, user("Weather in Paris?"), tools=[WEATHER_TOOL])
        asked = first.json()["choices"][0]["message"]
        follow_up = chat(
            gw,
            user("Weather in Paris?"),
            asked,
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            tools=[WEATHER_TOOL],
        )
    assert asked["tool_calls"][0]["function"]["name"] == "get_weather"
    assert text_of(follow_up) == "It is sunny in Paris."
    results = gw.calls[1].tool_results
    assert [(r.name, r.call_id, r.text) for r in results] == [("get_weather", "call_1", "sunny")]


def test_fail_takes_the_same_matchers() -> None:
    with MockGateway() as gw:
        gw.fail(429, prompt="flood")
        gw.respond("fine")
        assert chat(gw, user("calm")).status_code == 200
        assert chat(gw, user("a flood of requests")).status_code == 429


# --- the conversation as the call records it ------------------------------------------------


def test_calls_read_the_conversation_the_same_way_across_formats() -> None:
    with MockGateway() as gw:
        anthropic(
            gw,
            {
                "system": [{"type": "text", "text": "Be brief."}],
                "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
                "messages": [
                    {"role": "user", "content": "Find order 7"},
                    {
                        "role": "assistant",
                        "content": [
                            {
                                "type": "tool_use",
                                "id": "toolu_1",
                                "name": "lookup",
                                "input": {"id": 7},
                            }
                        ],
                    },
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "shipped"}
                        ],
                    },
                ],
            },
        )
        gemini(
            gw,
            {
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "tools": [{"functionDeclarations": [{"name": "lookup"}]}],
                "contents": [
                    {"role": "user", "parts": [{"text": "Find order 7"}]},
                    {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {}}}]},
                    {
                        "role": "user",
                        "parts": [
                            {
                                "functionResponse": {
                                    "name": "lookup",
                                    "response": {"status": "shipped"},
                                }
                            }
                        ],
                    },
                ],
            },
        )
        responses(
            gw,
            {
                "instructions": "Be brief.",
                "tools": [{"type": "function", "name": "lookup", "parameters": {}}],
                "input": [
                    {"role": "user", "content": "Find order 7"},
                    {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "c1", "output": "shipped"},
                ],
            },
        )
    for call in gw.calls:
        assert (call.prompt, call.system, call.tools) == ("Find order 7", "Be brief.", ["lookup"])
        assert [r.name for r in call.tool_results] == ["lookup"]
    assert gw.calls[0].messages[0].role == "user"
    assert gw.calls[1].tool_results[0].text == '{"status":"shipped"}'


# --- reply functions ------------------------------------------------------------------------


def test_a_reply_function_computes_the_answer_from_the_call() -> None:
    def echo(call: Call) -> str:
        return f"You said: {call.prompt}"

    with MockGateway() as gw:
        gw.respond(echo, times=None)
        assert text_of(chat(gw, user("hello"))) == "You said: hello"
        assert text_of(chat(gw, user("bye"))) == "You said: bye"


def test_a_reply_function_may_return_a_whole_reply_or_a_model() -> None:
    class Answer(BaseModel):
        city: str

    def decide(call: Call) -> Any:
        if call.tool_results:
            return Answer(city="Paris")
        return reply(tool_calls=[tool_call("get_weather", {"city": "Paris"})], usage={"output": 9})

    with MockGateway() as gw:
        gw.respond(decide, times=None)
        first = chat(gw, user("weather"), tools=[WEATHER_TOOL]).json()
        second = chat(gw, user("weather"), {"role": "tool", "tool_call_id": "x", "content": "ok"})
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    assert first["usage"]["completion_tokens"] == 9
    assert text_of(second) == '{"city":"Paris"}'


def test_a_reply_function_that_raises_fails_the_test_with_its_traceback(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import httpx

        def broken(call):
            return {"a": 1}["missing"]

        def test_app(aigw):
            aigw.respond(broken)
            reply = httpx.post(aigw.url("openai") + "/chat/completions",
                               json={"model": "m", "messages": []},
                               headers={"authorization": "Bearer sk-test"})
            assert reply.status_code == 500
            assert reply.headers["x-should-retry"] == "false"
            assert reply.json()["error"][0]["message"].startswith(
                "pytest-aigw: broken of scripted reply #1 aigw.respond(broken) raised KeyError"
            )
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*call #1 POST https://gateway.ai.cloudflare.com/*: broken of scripted reply #1"
            " aigw.respond(broken) raised KeyError: 'missing'",
            "*Traceback (most recent call last):*",
            "*line 4, in broken",
            '*return {"a": 1}?"missing"?',
        ]
    )
    result.stdout.no_fnmatch_line("*pytest_aigw/fake/*")


def test_a_reply_function_returning_something_else_is_named() -> None:
    with MockGateway(strict=False) as gw:
        gw.respond(lambda call: 42)
        answer = chat(gw, user("hi"))
    assert answer.status_code == 500
    assert gw.findings() == [
        f"call #1 POST {gw.url('openai')}{CHAT}: <lambda> returned something that is not a"
        " reply: content= must be a string, a list of strings (the stream's pieces), a dict,"
        " a list of dicts or a pydantic model, got 42"
    ]


# --- reply content --------------------------------------------------------------------------


def test_content_may_be_a_dict_a_list_of_dicts_or_a_model() -> None:
    class Item(BaseModel):
        name: str

    with MockGateway() as gw:
        gw.respond({"ok": True})
        gw.respond([{"n": 1}, {"n": 2}])
        gw.respond(Item(name="pen"))
        texts = [text_of(chat(gw, user("hi"))) for _ in range(3)]
    assert texts == ['{"ok":true}', '[{"n":1},{"n":2}]', '{"name":"pen"}']


@pytest.mark.parametrize(
    ("finish", "openai", "claude", "gemini_reason"),
    [
        ("stop", "stop", "end_turn", "STOP"),
        ("length", "length", "max_tokens", "MAX_TOKENS"),
        ("tool_calls", "tool_calls", "tool_use", "STOP"),
        ("content_filter", "content_filter", "refusal", "SAFETY"),
    ],
)
def test_finish_reason_is_mapped_per_provider(
    finish: str, openai: str, claude: str, gemini_reason: str
) -> None:
    with MockGateway() as gw:
        gw.respond("x", finish_reason=finish, times=3)
        plain = chat(gw, user("hi")).json()["choices"][0]["finish_reason"]
        stop = anthropic(gw, {"messages": []}).json()["stop_reason"]
        reason = gemini(gw, {"contents": []}).json()["candidates"][0]["finishReason"]
    assert (plain, stop, reason) == (openai, claude, gemini_reason)


def test_usage_sets_the_reply_and_the_log() -> None:
    with MockGateway() as gw:
        gw.respond("x", usage={"input": 120, "output": 30, "cached": 100, "reasoning": 12})
        usage = chat(gw, user("hi")).json()["usage"]
        log = gw.logs.get(gw.log_ids[0])
    assert usage == {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
        "prompt_tokens_details": {"cached_tokens": 100},
        "completion_tokens_details": {"reasoning_tokens": 12},
    }
    assert (log.tokens_in, log.tokens_out) == (120, 30)


def test_a_refusal_is_said_as_each_provider_says_it() -> None:
    with MockGateway() as gw:
        gw.respond(refusal="I can't help with that.", times=2)
        message = chat(gw, user("hi")).json()["choices"][0]["message"]
        claude = anthropic(gw, {"messages": []}).json()
    assert (message["content"], message["refusal"]) == (None, "I can't help with that.")
    assert claude["stop_reason"] == "refusal"


# --- defaults follow the request -------------------------------------------------------------


def test_an_unscripted_forced_tool_gets_a_call_with_valid_arguments() -> None:
    with MockGateway() as gw:
        body = chat(gw, user("hi"), tools=[WEATHER_TOOL], tool_choice="required").json()
    call = body["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather"
    assert set(httpx.Response(200, content=call["arguments"]).json()) == {"city"}


def test_an_unscripted_schema_request_gets_json_for_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    with MockGateway() as gw:
        answer = chat(
            gw,
            user("hi"),
            response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        )
    assert text_of(answer) == '{"n":0}'


# --- messages that name the cause -----------------------------------------------------------


def test_near_misses_say_which_new_matcher_failed_and_what_the_request_had() -> None:
    with MockGateway(strict=False) as gw:
        gw.respond("r", prompt="refund", system="support", tools="lookup", metadata={"u": "1"})
        gw.respond("t", tool_result=True)
        gw.respond("b", body={"temperature": 0.7})
        gw.respond("m", match=lambda call: False)
        reply_ = chat(
            gw,
            {"role": "system", "content": "You are a sales agent"},
            user("Where is my invoice?"),
            temperature=0.2,
            headers={"cf-aig-metadata": '{"u": "2"}'},
        )
    message = reply_.json()["error"][0]["message"]
    assert (
        "#1 aigw.respond('r', prompt='refund', system='support', metadata={'u': '1'},"
        " tools=['lookup']): prompt does not contain 'refund' (last user message:"
        " 'Where is my invoice?'); system prompt does not contain 'support' (system prompt:"
        " 'You are a sales agent'); tools offered are [], without ['lookup'];"
        " metadata['u'] is '2', not '1'" in message
    )
    assert "#2 aigw.respond('t', tool_result=True): the request carries no tool result" in message
    assert (
        "#3 aigw.respond('b', body={'temperature': 0.7}): body['temperature'] is 0.2, not 0.7"
        in message
    )
    assert "#4 aigw.respond('m', match=<lambda>): match=<lambda> returned False" in message


def test_a_forced_tool_answered_with_text_is_a_finding_and_explains_the_retry() -> None:
    with MockGateway(strict=False) as gw:
        gw.respond("plain text")
        forced = {"tools": [WEATHER_TOOL], "tool_choice": "required"}
        chat(gw, user("weather"), **forced)
        retry = chat(gw, user("weather"), user("that was not a tool call"), **forced)
    message = retry.json()["error"][0]["message"]
    assert (
        "Likely cause: call #1 was answered by #1 aigw.respond('plain text'), and the request"
        " forced a tool call (tool_choice='required': any tool), but scripted reply #1"
        " aigw.respond('plain text') answers without one" in message
    )
    assert gw.findings()[1].endswith(
        "Script tool_calls=[pytest_aigw.tool_call('name', {...})] instead."
    )


def test_a_retry_that_uses_a_script_up_is_named_as_such() -> None:
    with MockGateway(strict=False) as gw:
        gw.fail(503)
        chat(gw, user("hi"))
        again = chat(gw, user("hi"))
    assert (
        "Likely cause: it repeats call #1 (same body), which scripted reply #1 aigw.fail(503)"
        " answered with status 503: the client retried" in again.json()["error"][0]["message"]
    )


def test_a_json_reply_to_a_stream_request_is_a_finding() -> None:
    with MockGateway(strict=False) as gw:
        gw.respond(json={"choices": []})
        chat(gw, user("hi"), stream=True)
    assert "the request asked for a stream, but scripted reply #1" in gw.findings()[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"json": {}, "stream": True}, "stream= must be left out with json="),
        ({"tool_calls": "get_weather"}, "tool_calls= must be a list of tool calls"),
        ({"tool_calls": [{"nam": "x"}]}, "tool_calls entry= must be a dict with 'name'"),
        (
            {"tool_calls": [{"name": "x", "arguments": "[1]"}]},
            "tool_call arguments= must be a JSON object string",
        ),
        (
            {"tool_calls": [{"name": "x", "arguments": "{"}]},
            "tool_call arguments= must be a dict or a JSON object string",
        ),
        (
            {"finish_reason": "done"},
            "finish_reason= must be one of ('stop', 'length', 'tool_calls',"
            " 'content_filter'), got 'done'",
        ),
        (
            {"usage": {"prompt": 1}},
            "usage= must be a dict of token counts with keys from input, output, cached, reasoning",
        ),
        (
            {"usage": {"input": -1}},
            "usage['input']= must be a whole number of tokens from 0 to 2147483647, got -1",
        ),
        ({"refusal": 3}, "refusal= must be a string, got 3"),
        ({"prompt": 3}, "prompt= must be a string or a compiled regex (re.compile(...)), got 3"),
        ({"metadata": "u=1"}, "metadata= must be a dict (a subset to find), got 'u=1'"),
        ({"tools": 3}, "tools= must be a tool name or a list of tool names that must be offered"),
        ({"tool_result": 1}, "tool_result= must be True, False or a tool name, got 1"),
        ({"match": "yes"}, "match= must be a function taking the request's Call, got 'yes'"),
        ({"content": [1, "a"]}, "content= must be a string, a list of strings"),
    ],
)
def test_bad_conversation_arguments_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        MockGateway().respond(**kwargs)


def test_tool_call_builds_one_entry() -> None:
    assert tool_call("f", {"a": 1}) == tool_call("f", '{"a":1}')
    assert tool_call("f").arguments == "{}"
    assert tool_call("f", id="c9").id == "c9"
    with pytest.raises(ConfigError, match="tool_call name= must be a non-empty string, got ''"):
        tool_call("")


def test_a_schema_no_value_fits_is_named_not_answered_with_junk() -> None:
    schema = {"type": "integer", "minimum": 5, "maximum": 3}
    with MockGateway(strict=False) as gw:
        answer = chat(
            gw,
            user("hi"),
            response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}},
        )
    assert answer.status_code == 500
    assert answer.headers["x-should-retry"] == "false"
    (finding,) = gw.findings()
    assert finding.endswith(
        "the request's schema has no valid value: no JSON value fits the schema at #:"
        " no number is >= 5 and <= 3"
    )


def test_a_tool_result_sent_by_call_id_alone_is_named_from_the_call_the_fake_issued() -> None:
    # Responses with previous_response_id send only the output and its call id.
    with MockGateway() as gw:
        gw.respond(tool_calls=[tool_call("get_weather", {"city": "Paris"})], tool_result=False)
        gw.respond("Sunny.", tool_result="get_weather")
        first = responses(gw, {"input": "Weather in Paris?", "tools": []}).json()
        (item,) = [o for o in first["output"] if o["type"] == "function_call"]
        follow_up = {
            "previous_response_id": first["id"],
            "input": [{"type": "function_call_output", "call_id": item["call_id"], "output": "ok"}],
        }
        second = responses(gw, follow_up).json()
    assert second["output"][0]["content"][0]["text"] == "Sunny."
    assert [(r.name, r.call_id) for r in gw.calls[1].tool_results] == [
        ("get_weather", item["call_id"])
    ]


def test_anthropic_tool_use_ids_are_remembered_too() -> None:
    with MockGateway() as gw:
        gw.respond(tool_calls=[tool_call("lookup", {})], tool_result=False)
        gw.respond("Found.", tool_result="lookup")
        asked = anthropic(gw, {"messages": [{"role": "user", "content": "find"}]}).json()
        (use,) = [b for b in asked["content"] if b["type"] == "tool_use"]
        result = {"type": "tool_result", "tool_use_id": use["id"], "content": "x"}
        anthropic(gw, {"messages": [{"role": "user", "content": [result]}]})
    assert gw.calls[1].tool_results[0].name == "lookup"
