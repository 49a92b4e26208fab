"""Each call summarised as a person reads it: every API format, streams, tool calls, faults,
unreadable bodies, folding and secrets (the plugin's sections are in test_exchanges_plugin)."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pytest_aigw import MockGateway
from pytest_aigw.calls import Call, Received
from pytest_aigw.exchanges import (
    DASHBOARD_LOG,
    TEXT_LIMIT,
    ExchangeSummary,
    dashboard_url,
    exchanges,
    fold,
    section,
    summarize,
)

PROMPT = "What is the capital of France?"
TOOL = {"name": "lookup", "arguments": {"q": "Paris"}}
TOOL_SHOWN = 'lookup({"q":"Paris"})'


@pytest.fixture(scope="module")
def fake() -> Iterator[MockGateway]:
    with MockGateway(strict=False, credentials=None) as gateway:
        yield gateway


@pytest.fixture
def gw(fake: MockGateway) -> MockGateway:
    fake.reset()
    return fake


def _chat(model: str) -> Callable[[bool], dict[str, Any]]:
    return lambda stream: {
        "model": model,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": PROMPT},
        ],
        "stream": stream,
    }


# (url below the gateway, body for a stream or not); the URL may depend on the stream
FORMATS: dict[str, tuple[Callable[[MockGateway, bool], str], Callable[[bool], dict[str, Any]]]] = {
    "openai chat": (lambda g, s: g.url("openai") + "/chat/completions", _chat("gpt-4o")),
    "mistral chat": (lambda g, s: g.url("mistral") + "/v1/chat/completions", _chat("mistral-l")),
    "compat": (lambda g, s: g.url("compat") + "/chat/completions", _chat("openai/gpt-4o")),
    "groq": (lambda g, s: g.url("groq") + "/openai/v1/chat/completions", _chat("llama")),
    "responses": (
        lambda g, s: g.url("openai") + "/responses",
        lambda s: {"model": "gpt-4o", "input": PROMPT, "instructions": "brief", "stream": s},
    ),
    "anthropic": (
        lambda g, s: g.url("anthropic") + "/v1/messages",
        lambda s: {
            "model": "claude-x",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
            "stream": s,
        },
    ),
    "workers ai": (
        lambda g, s: g.url("workers-ai") + "/@cf/meta/llama-3.1-8b-instruct",
        lambda s: {"prompt": PROMPT, "stream": s},
    ),
    "workers ai messages": (
        lambda g, s: g.url("workers-ai") + "/@cf/meta/llama-3.1-8b-instruct",
        _chat("ignored"),
    ),
    "gemini": (
        lambda g, s: (
            g.url("google-ai-studio")
            + "/v1beta/models/gemini-2.0-flash:"
            + ("streamGenerateContent?alt=sse" if s else "generateContent")
        ),
        lambda s: {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]},
    ),
    "gemini json stream": (
        lambda g, s: (
            g.url("google-ai-studio")
            + "/v1beta/models/gemini-2.0-flash:"
            + ("streamGenerateContent" if s else "generateContent")
        ),
        lambda s: {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]},
    ),
    "rest ai/run": (
        lambda g, s: g.rest_url + "/run",
        lambda s: {"model": "openai/gpt-4o", "input": {"prompt": PROMPT, "stream": s}},
    ),
    "run api": (
        lambda g, s: g.gateway_url + "/run",
        lambda s: {"model": "openai/gpt-4o", "input": {"prompt": PROMPT}},
    ),
    "generic": (
        lambda g, s: g.url("replicate") + "/v1/predictions",
        lambda s: {"model": "some/model", "messages": [{"role": "user", "content": PROMPT}]},
    ),
}


def _send(gw: MockGateway, name: str, stream: bool, headers: dict[str, str] | None = None) -> Call:
    url, body = FORMATS[name]
    rest = {"cf-aig-gateway-id": gw.gateway_id, "authorization": "Bearer cf-api-token"}
    rest = rest if "/client/v4/" in url(gw, stream) else {}
    response = httpx.post(url(gw, stream), json=body(stream), headers={**rest, **(headers or {})})
    assert response.status_code == 200, response.text
    return gw.calls.last


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", FORMATS)
def test_a_text_reply_in_every_format(gw: MockGateway, name: str, stream: bool) -> None:
    gw.respond("Paris, of course.")
    summary = summarize(_send(gw, name, stream))
    assert (summary.prompt, summary.reply, summary.tool_calls) == (PROMPT, "Paris, of course.", ())
    assert summary.status == 200
    assert summary.log_id == gw.calls.last.log_id
    assert summary.method == "POST"
    assert summary.dashboard_url is None


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("name", [n for n in FORMATS if n != "generic"])
def test_tool_calls_in_every_format(gw: MockGateway, name: str, stream: bool) -> None:
    gw.respond(tool_calls=[TOOL, {"name": "clock", "arguments": {}}])
    summary = summarize(_send(gw, name, stream))
    assert summary.tool_calls == (TOOL_SHOWN, "clock({})")
    assert summary.reply is None
    assert summary.prompt == PROMPT


def test_text_and_a_tool_call_together(gw: MockGateway) -> None:
    gw.respond("Let me look.", tool_calls=[TOOL])
    summary = summarize(_send(gw, "anthropic", stream=True))
    assert (summary.reply, summary.tool_calls) == ("Let me look.", (TOOL_SHOWN,))


def test_the_model_and_the_legacy_function_call(gw: MockGateway) -> None:
    gw.respond(tool_calls=[TOOL])
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    functions = [{"name": "lookup", "parameters": {"type": "object"}}]
    for stream in (False, True):
        httpx.post(
            gw.url("openai") + "/chat/completions",
            json={**body, "functions": functions, "stream": stream},
        )
        gw.respond(tool_calls=[TOOL])
        summary = summarize(gw.calls.last)
        assert (summary.model, summary.tool_calls) == ("gpt-4o", (TOOL_SHOWN,))


def test_a_refusal_is_the_reply(gw: MockGateway) -> None:
    gw.respond(refusal="I cannot help with that.", times=2)
    assert summarize(_send(gw, "openai chat", False)).reply == "I cannot help with that."
    assert summarize(_send(gw, "responses", True)).reply == "I cannot help with that."


def test_embeddings_show_their_last_input_and_the_vectors_count(gw: MockGateway) -> None:
    httpx.post(
        gw.url("openai") + "/embeddings",
        json={"model": "text-embedding-3-small", "input": ["first", "second"], "dimensions": 8},
    )
    summary = summarize(gw.calls.last)
    assert (summary.prompt, summary.reply) == ("second", "[2 embedding(s), 8 dimensions]")


def test_a_universal_call_shows_the_step_that_answered(gw: MockGateway) -> None:
    gw.fail(500, provider="anthropic", origin="provider")
    gw.respond("from the second step")
    steps: list[dict[str, Any]] = [
        {
            "provider": "anthropic",
            "endpoint": "v1/messages",
            "headers": {"x-api-key": "sk-ant-step-secret-1"},
            "query": {
                "model": "c",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "a"}],
            },
        },
        {
            "provider": "openai",
            "endpoint": "chat/completions",
            "headers": {},
            "query": {"model": "gpt-4o", "messages": [{"role": "user", "content": "b"}]},
        },
    ]
    httpx.post(gw.gateway_url, json=steps)
    summary = summarize(gw.calls.last)
    assert (summary.prompt, summary.reply, summary.model) == ("b", "from the second step", "gpt-4o")
    one = {
        **steps[1],
        "query": {**steps[1]["query"], "messages": [{"role": "user", "content": "c"}]},
    }
    gw.respond("single")
    httpx.post(gw.gateway_url, json=one)
    assert summarize(gw.calls.last).prompt == "c"
    # Live mode records the steps as sent, the provider and path left empty.
    live = dataclasses.replace(gw.calls.last, provider="", path="", json=steps, step=1)
    assert summarize(live).prompt == "b"
    assert summarize(dataclasses.replace(live, json=steps[0], step=None)).prompt == "a"
    for sent, step in ([{"provider": "openai"}], 0), (steps, 2), ("text", 0):
        assert summarize(dataclasses.replace(live, json=sent, step=step)).prompt is None


def test_errors_show_their_message_and_code(gw: MockGateway) -> None:
    gw.fail(429)
    gw.fail(400, message="bad model", origin="provider")
    gw.fail(401, provider="anthropic", origin="provider", message="no key")
    for _ in range(2):
        httpx.post(gw.url("openai") + "/chat/completions", json=_chat("gpt-4o")(False))
    httpx.post(gw.url("anthropic") + "/v1/messages", json=FORMATS["anthropic"][1](False))
    replies = [(summarize(c).status, summarize(c).reply) for c in gw.calls]
    assert replies == [
        (429, "[error] code 2003: Rate limited"),
        (400, "[error] bad model"),
        (401, "[error] no key"),
    ]


def test_a_network_fault_shows_no_answer(gw: MockGateway) -> None:
    gw.fail("timeout")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(gw.url("openai") + "/chat/completions", json=_chat("gpt-4o")(False))
    summary = summarize(gw.calls.last)
    assert (summary.status, summary.fault, summary.reply) == (
        None,
        "timeout",
        "[no answer: timeout]",
    )
    assert summary.lines(1)[1] == "   model: gpt-4o, status: none (timeout), log id: none"


def test_a_cut_stream_shows_what_arrived(gw: MockGateway) -> None:
    gw.respond(["one ", "two ", "three"], cut_after=3)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(gw.url("openai") + "/chat/completions", json=_chat("gpt-4o")(True))
    summary = summarize(gw.calls.last)
    assert (summary.reply, summary.fault) == ("one two  [stream cut]", "cut")


def test_a_broken_body_shows_as_such(gw: MockGateway) -> None:
    gw.respond("fine")
    call = _send(gw, "openai chat", False)
    html = dataclasses.replace(call, _received=Received([b"<html>Bad gateway</html>"]))
    assert summarize(html).reply == "[unreadable: not JSON] <html>Bad gateway</html>"
    plain = dataclasses.replace(
        call, response_headers={"Content-Type": "text/plain"}, _received=Received([b"ok"])
    )
    assert summarize(plain).reply == "ok"
    binary = dataclasses.replace(call, _received=Received([b"\xff\xfe\x00"]))
    assert summarize(binary).reply == "[unreadable: 3 bytes of application/json]"
    empty = dataclasses.replace(call, _received=Received())
    assert summarize(empty).reply is None
    assert summarize(empty).lines(1)[-1] == "   reply: (none)"
    events = dataclasses.replace(
        call,
        response_headers={"content-type": "text/event-stream"},
        _received=Received(
            [b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n', b"data: {oops\n\n"]
        ),
    )
    assert summarize(events).reply == "[unreadable: 1 stream event(s) not JSON] hi"


def test_an_unknown_json_shape_shows_as_json(gw: MockGateway) -> None:
    gw.respond(json={"answer": 42})
    assert summarize(_send(gw, "openai chat", False)).reply == '{"answer":42}'


def test_a_reply_larger_than_what_is_kept_says_so(
    gw: MockGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw.respond("x" * 50)
    call = _send(gw, "openai chat", False)
    content = call._received.content
    monkeypatch.setattr(Received, "LIMIT", 20)
    kept = Received()
    for chunk in content[:10], content[10:]:
        kept.add(chunk)
    cut = summarize(dataclasses.replace(call, _received=kept))
    assert cut.reply == f"[unreadable: not JSON] {content[:20].decode()}" + (
        f" [only the first 20 of {len(content)} bytes were kept]"
    )
    assert (kept.content, kept.size) == (content[:20], len(content))


def test_a_summary_that_fails_says_so() -> None:
    class Broken:
        method = "POST"
        url = "https://x"

        @property
        def _secret_words(self) -> frozenset[str]:
            raise ValueError("no words")

    summary = summarize(Broken())  # type: ignore[arg-type]
    assert summary == ExchangeSummary(
        "POST", "https://x", reply="[could not be summarised: ValueError: no words]"
    )


def test_the_dashboard_link_of_a_log() -> None:
    assert dashboard_url("acc", "gw", "L1") == (
        "https://dash.cloudflare.com/acc/ai/ai-gateway/gateways/gw/logs/L1"
    )
    assert DASHBOARD_LOG.count("{") == 3


def test_a_call_with_a_log_in_live_mode_links_to_it(gw: MockGateway) -> None:
    gw.respond("hi")
    call = _send(gw, "openai chat", False)
    summary = summarize(dataclasses.replace(call, judge=True), dashboard=("acc", "gw"))
    assert summary.dashboard_url == dashboard_url("acc", "gw", str(call.log_id))
    assert summary.as_json()["judge"] is True
    unlogged = dataclasses.replace(call, log_id=None)
    assert summarize(unlogged, dashboard=("acc", "gw")).dashboard_url is None


def test_as_json_has_the_reports_shape(gw: MockGateway) -> None:
    gw.respond(tool_calls=[TOOL])
    call = _send(gw, "openai chat", False)
    assert summarize(call).as_json() == {
        "log_id": call.log_id,
        "method": "POST",
        "url": str(call.url),
        "model": "gpt-4o",
        "prompt": PROMPT,
        "reply": None,
        "tool_calls": [TOOL_SHOWN],
        "status": 200,
        "judge": False,
        "dashboard_url": None,
    }


def test_the_lines_of_one_call() -> None:
    summary = ExchangeSummary(
        "POST",
        "https://gw/openai/chat/completions",
        model="gpt-4o",
        prompt="first line\nsecond line",
        reply="Paris.",
        tool_calls=("a({})", "b({})"),
        status=200,
        log_id="L1",
        judge=True,
        dashboard_url="https://dash/L1",
    )
    assert summary.lines(7) == [
        "#7 POST https://gw/openai/chat/completions",
        "   model: gpt-4o, status: 200, log id: L1, judge call",
        "   prompt: first line",
        "      second line",
        "   reply: Paris.",
        "   tool call: a({})",
        "   tool call: b({})",
        "   dashboard: https://dash/L1",
    ]
    bare = ExchangeSummary("GET", "https://gw/x", tool_calls=("a({})",))
    assert bare.lines(1) == [
        "#1 GET https://gw/x",
        "   model: none, status: none, log id: none",
        "   prompt: (none)",
        "   tool call: a({})",
    ]


# --- folding ------------------------------------------------------------------------------


def test_the_smallest_folds() -> None:
    assert fold("ab cd", limit=1) == "[… 5 characters cut …]"
    assert fold("ab cd", limit=2) == "[… 5 characters cut …]"
    assert fold("ab cd", limit=3) == "ab[… 3 characters cut …]"


def test_short_text_is_kept_whole() -> None:
    assert fold("a" * 600) == "a" * 600
    assert fold("short", limit=5) == "short"


def test_long_text_keeps_its_start_and_end_with_what_was_cut() -> None:
    text = " ".join(f"w{n:03d}" for n in range(200))  # 999 characters, words of 4
    folded = fold(text, limit=60)
    assert folded == f"{text[:40]}[… {len(text) - 40 - 20} characters cut …]{text[-20:]}"


def test_a_fold_never_cuts_a_word() -> None:
    text = "a" * 30 + " " + "b" * 100 + " " + "c" * 30
    # The cut falls before the word at the start's end and after the word at the end's start.
    assert fold(text, limit=60) == "a" * 30 + " [… 131 characters cut …]"
    one_word = "x" * 1000
    assert fold(one_word, limit=60) == "[… 1000 characters cut …]"


def test_a_fold_at_a_word_boundary_keeps_the_words_on_either_side() -> None:
    text = "a" * 40 + " " + "b" * 59 + " " + "c" * 19
    assert fold(text, limit=60) == "a" * 40 + "[… 60 characters cut …]" + " " + "c" * 19


# --- secrets --------------------------------------------------------------------------------


def test_a_secret_sent_in_a_header_is_hidden_in_the_prompt_and_reply(gw: MockGateway) -> None:
    secret = "sk-live-abcdef0123456789"
    gw.respond(lambda call: f"your key {secret}.")
    httpx.post(
        gw.url("openai") + "/chat/completions",
        params={"api_key": "query-secret-value-1"},
        json={
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": f"key={secret}, q=query-secret-value-1"}],
        },
        headers={"authorization": f"Bearer {secret}"},
    )
    summary = summarize(gw.calls.last)
    assert summary.prompt == "key=[redacted], q=[redacted]"
    assert summary.reply == "your key [redacted]."
    assert "query-secret-value-1" not in summary.url


def test_a_universal_steps_secret_is_hidden_in_the_prompt(gw: MockGateway) -> None:
    gw.respond("ok")
    step = {
        "provider": "openai",
        "endpoint": "chat/completions",
        "headers": {"authorization": "Bearer sk-step-secret-0042"},
        "query": {"model": "m", "messages": [{"role": "user", "content": "sk-step-secret-0042"}]},
    }
    httpx.post(gw.gateway_url, json=[step])
    assert summarize(gw.calls.last).prompt == "[redacted]"


def test_a_secret_in_the_environment_is_hidden(
    gw: MockGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "env-planted-value-77")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to hide everywhere
    gw.respond(tool_calls=[{"name": "call", "arguments": {"token": "env-planted-value-77"}}])
    httpx.post(
        gw.url("openai") + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "env-planted-value-77 abc"}]},
    )
    summary = summarize(gw.calls.last)
    assert summary.prompt == "[redacted] abc"
    assert summary.tool_calls == ('call({"token":"[redacted]"})',)


def test_a_secret_across_the_fold_is_hidden_whole(gw: MockGateway) -> None:
    secret = "sk-" + "s" * 40
    gw.respond("ok")
    prompt = "p" * 380 + " " + secret + " " + "q" * 600
    httpx.post(
        gw.url("openai") + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": prompt}]},
        headers={"x-api-key": secret},
    )
    shown = summarize(gw.calls.last).prompt
    assert shown is not None
    assert "sss" not in shown
    assert shown.startswith("p" * 380 + " [… ")


# --- the section ----------------------------------------------------------------------------


def test_the_section_of_a_few_calls(gw: MockGateway) -> None:
    gw.respond("one", times=None)
    for _ in range(2):
        _send(gw, "openai chat", False)
    first, second = gw.calls
    url = str(first.url)
    assert section(gw, 10) == "\n".join(
        [
            "2 call(s)",
            f"#1 POST {url}",
            f"   model: gpt-4o, status: 200, log id: {first.log_id}",
            f"   prompt: {PROMPT}",
            "   reply: one",
            f"#2 POST {url}",
            f"   model: gpt-4o, status: 200, log id: {second.log_id}",
            f"   prompt: {PROMPT}",
            "   reply: one",
        ]
    )


def test_the_section_of_many_calls_shows_the_first_and_last(gw: MockGateway) -> None:
    gw.respond(lambda call: call.prompt, times=None)
    for n in range(1, 8):
        httpx.post(
            gw.url("openai") + "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": f"q{n}"}]},
        )
    text = section(gw, 3)
    headers = [line for line in text.split("\n") if not line.startswith("   ")]
    assert headers[0] == "7 call(s), 4 in the middle left out"
    assert [h.split(" ")[0] for h in headers[1:]] == ["#1", "#2", "[…", "#7"]
    assert "[… 4 call(s) left out …]" in headers
    assert "   prompt: q7" in text
    assert "   prompt: q3" not in text
    assert section(gw, 1).split("\n")[:2] == [
        "7 call(s), 6 in the middle left out",
        "#1 " + headers[1][3:],
    ]


def test_the_section_of_no_calls(gw: MockGateway) -> None:
    assert section(gw, 10) == "(no calls reached the gateway)"


def _ask(gw: MockGateway, count: int) -> None:
    gw.respond(lambda call: call.prompt, times=None)
    for n in range(1, count + 1):
        httpx.post(
            gw.url("openai") + "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": f"q{n}"}]},
        )


def test_the_eval_reports_exchanges(gw: MockGateway) -> None:
    _ask(gw, 12)
    shown, left_out = exchanges(gw)
    kept = [1, 2, 3, 4, 5, 8, 9, 10, 11, 12]
    assert [e["prompt"] for e in shown] == [f"q{n}" for n in kept]
    assert left_out == 2
    shown, left_out = exchanges(gw, 3)
    assert ([e["prompt"] for e in shown], left_out) == (["q1", "q2", "q12"], 9)
    assert exchanges(gw, 12)[1] == 0
    assert len(exchanges(gw, 13)[0]) == 12


def test_a_live_gateways_calls_link_to_the_dashboard(gw: MockGateway) -> None:
    _ask(gw, 2)

    class Live:
        mode = "live"
        account_id = "acc"
        gateway_id = "gid"
        calls = gw.calls

    shown, _ = exchanges(Live())  # type: ignore[arg-type]
    links = [dashboard_url("acc", "gid", str(call.log_id)) for call in gw.calls]
    assert [e["dashboard_url"] for e in shown] == links
    lines = section(Live(), 1).split("\n")  # type: ignore[arg-type]
    assert lines[-2:] == ["   dashboard: " + links[0], "[… 1 call(s) left out …]"]
    assert all(e["dashboard_url"] is None for e in exchanges(gw)[0])


def test_secrets_at_both_ends_of_a_folded_text(gw: MockGateway) -> None:
    secret = "sk-both-ends-0123456789"
    gw.respond("ok")
    prompt = f"{secret} {'q' * 1000} {secret}"
    httpx.post(
        gw.url("openai") + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": prompt}]},
        headers={"authorization": f"Bearer {secret}"},
    )
    shown = summarize(gw.calls.last).prompt
    assert shown == "[redacted] [… 1000 characters cut …] [redacted]"


def test_a_dropped_connection_shows_no_answer(gw: MockGateway) -> None:
    gw.fail("disconnect")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(gw.url("openai") + "/chat/completions", json=_chat("gpt-4o")(False))
    assert summarize(gw.calls.last).reply == "[no answer: disconnect]"


def _as_sent_live(gw: MockGateway, steps: list[Any], step: int) -> Call:
    """A universal call as live mode records it: the steps as sent, the answering index."""
    gw.respond("ok")
    httpx.post(gw.url("openai") + "/chat/completions", json={"model": "m", "messages": []})
    return dataclasses.replace(
        gw.calls.last, endpoint="universal", provider="", json=steps, step=step
    )


GEMINI_STEP = {
    "provider": "google-ai-studio",
    "endpoint": "/v1beta/models/gemini-2.0-flash:generateContent/",
    "query": {"contents": [{"role": "user", "parts": [{"text": "from gemini"}]}]},
}
OPENAI_STEP = {
    "provider": "openai",
    "endpoint": "chat/completions",
    "query": {"model": "gpt-4o", "messages": [{"role": "user", "content": "from openai"}]},
}


EMBEDDINGS_STEP = {
    "provider": "openai",
    "endpoint": "/embeddings/",
    "query": {"model": "text-embedding-3-small", "input": "embed me"},
}


@pytest.mark.parametrize(
    ("steps", "step", "prompt"),
    [
        ([OPENAI_STEP, GEMINI_STEP], 1, "from gemini"),  # read as its own provider's format
        ([OPENAI_STEP, GEMINI_STEP], 0, "from openai"),
        (OPENAI_STEP, 0, "from openai"),  # one step sent as an object
        ([EMBEDDINGS_STEP], 0, "embed me"),  # read as its endpoint's format
        ([OPENAI_STEP], 1, None),  # an answering index past the steps
        ([{"provider": "openai"}], 0, None),  # a step without a query
        (["not a step"], 0, None),
    ],
)
def test_a_live_universal_call_is_read_from_the_step_that_answered(
    gw: MockGateway, steps: list[Any], step: int, prompt: str | None
) -> None:
    summary = summarize(_as_sent_live(gw, steps, step))
    assert summary.prompt == prompt
    assert summary.reply == "ok"


def test_a_gzip_answer_is_read_as_the_app_read_it(gw: MockGateway) -> None:
    call = _send(gw, "openai chat", False)
    body = json.dumps(
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": "unzipped"}}]}
    )
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    zipped = dataclasses.replace(
        call, response_headers=headers, _received=Received([gzip.compress(body.encode())])
    )
    assert summarize(zipped).reply == "unzipped"


def test_secrets_are_hidden_in_the_model_and_the_tool_calls(gw: MockGateway) -> None:
    secret = "sk-provider-WORD-123456789"
    gw.respond(tool_calls=[{"name": "lookup", "arguments": {"key": secret}}])
    body = {"model": secret, "messages": [{"role": "user", "content": PROMPT}]}
    headers = {"authorization": f"Bearer {secret}"}
    url = gw.url("openai") + f"/chat/completions?trace={secret}"
    httpx.post(url, json=body, headers=headers)
    summary = summarize(gw.calls.last)
    shown = json.dumps(summary.as_json())
    assert secret not in shown
    assert summary.model is not None
    assert summary.tool_calls[0].startswith("lookup(")


def test_a_long_tool_call_is_folded_at_its_own_limit(gw: MockGateway) -> None:
    words = " ".join(["word"] * 100)  # 499 characters: over the tool-call limit only
    gw.respond(tool_calls=[{"name": "note", "arguments": {"text": words}}])
    (shown,) = summarize(_send(gw, "openai chat", False)).tool_calls
    assert "characters cut" in shown
    assert len(shown) < TEXT_LIMIT


def test_text_at_the_limit_is_not_folded() -> None:
    assert fold("x" * TEXT_LIMIT) == "x" * TEXT_LIMIT
    assert "cut" in fold("x " * TEXT_LIMIT)


def test_a_call_that_cannot_be_read_is_summarised_as_such() -> None:
    summary = summarize(object())  # type: ignore[arg-type]
    assert (summary.method, summary.url) == ("?", "?")
    assert summary.reply is not None
    assert summary.reply.startswith("[could not be summarised: AttributeError")
