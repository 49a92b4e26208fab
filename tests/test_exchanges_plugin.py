"""A failed test's report lists the calls it made; eval cases carry them in the report.

Run as users run them (pytester), against the fake and live against the loopback stand-in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import live_args, run

from pytest_aigw import MockGatewayServer
from pytest_aigw.exchanges import dashboard_url

TITLE = "pytest-aigw: the calls this test made"

CHATTY = """
import httpx, pytest

def chat(aigw, text, stream=False):
    messages = [{"role": "user", "content": text}]
    body = {"model": "gpt-4o-mini", "messages": messages, "stream": stream}
    return httpx.post(aigw.url("openai") + "/chat/completions", json=body).text

@pytest.mark.aigw(credentials=None)
def test_fails_after_two_calls(aigw):
    aigw.respond("Paris.")
    aigw.respond(tool_calls=[{"name": "lookup", "arguments": {"q": "Lyon"}}])
    chat(aigw, "Capital of France?")
    chat(aigw, "And Lyon?", stream=True)
    assert False, "the answer was wrong"

@pytest.mark.aigw(credentials=None)
def test_passes(aigw):
    chat(aigw, "hi")

def test_fails_without_the_gateway():
    assert False
"""


def _report(pytester: pytest.Pytester, path: str = "eval.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / path).read_text())
    return data


def test_a_failed_test_shows_its_calls(pytester: pytest.Pytester) -> None:
    result = run(pytester, CHATTY, "-p", "no:randomly")
    result.assert_outcomes(failed=2, passed=1)
    url = "https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef/test-gateway"
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: the answer was wrong",
            "*",
            f"-* {TITLE} -*",
            "2 call(s)",
            f"#1 POST {url}/openai/chat/completions",
            "   model: gpt-4o-mini, status: 200, log id: ????????-????-????-????-????????????",
            "   prompt: Capital of France?",
            "   reply: Paris.",
            f"#2 POST {url}/openai/chat/completions",
            "   model: gpt-4o-mini, status: 200, log id: *",
            "   prompt: And Lyon?",
            '   tool call: lookup({"q":"Lyon"})',
            "*_ test_fails_without_the_gateway _*",
        ],
        consecutive=False,
    )
    assert result.stdout.str().count(TITLE) == 1


def test_the_fakes_findings_come_first(pytester: pytest.Pytester) -> None:
    source = """
        import httpx

        def test_fails(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"},
                       headers={"cf-aig-metadata": '{"a": [1]}'})
            assert False
    """
    result = run(pytester, source)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["-* pytest-aigw: what the AI Gateway fake saw -*", "1. call #1 *", f"-* {TITLE} -*"]
    )


def test_a_test_with_no_calls_says_so(pytester: pytest.Pytester) -> None:
    result = run(pytester, "def test_fails(aigw):\n    assert False\n")
    result.stdout.fnmatch_lines([f"-* {TITLE} -*", "(no calls reached the gateway)"])


MANY = """
import httpx, pytest

@pytest.mark.aigw(credentials=None)
def test_many(aigw):
    aigw.respond(lambda call: "re " + call.prompt, times=None)
    for n in range(1, 6):
        httpx.post(aigw.url("openai") + "/chat/completions",
                   json={"model": "m", "messages": [{"role": "user", "content": f"q{n}"}]})
    assert False
"""


@pytest.mark.parametrize(
    ("given", "env", "ini", "shown"),
    [
        ([], "", "", ["#1", "#2", "#3", "#4", "#5"]),
        (["--aigw-show-calls=2"], "", "", ["#1", "[…", "#5"]),
        ([], "3", "", ["#1", "#2", "[…", "#5"]),
        ([], "", "1", ["#1", "[…"]),
        (["--aigw-show-calls=4"], "1", "1", ["#1", "#2", "[…", "#4", "#5"]),
    ],
    ids=["default", "option", "env", "ini", "option wins"],
)
def test_how_many_calls_are_shown(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    given: list[str],
    env: str,
    ini: str,
    shown: list[str],
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_SHOW_CALLS", env)
    if ini:
        pytester.makeini(f"[pytest]\naigw_show_calls = {ini}\n")
    result = run(pytester, MANY, *given)
    out = result.stdout.str()
    listed = out.split(TITLE, 1)[1].split("\n")[1:]
    numbers = [
        line.split(" ")[0] for line in listed if line[:2] in ("#1", "#2", "#3", "#4", "#5", "[…")
    ]
    assert numbers == shown
    if len(shown) < 5:
        assert f"5 call(s), {5 - len(shown) + 1} in the middle left out" in out


def test_zero_leaves_the_section_out(pytester: pytest.Pytester) -> None:
    result = run(pytester, MANY, "--aigw-show-calls=0")
    result.assert_outcomes(failed=1)
    assert TITLE not in result.stdout.str()


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "٣"])
def test_a_bad_count_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    result = run(pytester, "def test_x(): pass", f"--aigw-show-calls={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*error: --aigw-show-calls must be a whole number >= 0, got {value!r}"]
    )


def test_a_secret_in_a_prompt_never_shows(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_SERVICE_TOKEN", "planted-env-secret-0099")
    monkeypatch.setenv("APP_KEY_VALUE", "sk-planted-header-secret-0098")  # a name not secret
    source = """
        import os, httpx

        def test_leaks(aigw):
            key = os.environ["APP_KEY_VALUE"]
            env = os.environ["APP_SERVICE_TOKEN"]
            messages = [{"role": "user", "content": f"{key} {env}"}]
            httpx.post(aigw.url("openai") + "/chat/completions",
                       json={"model": "m", "messages": messages},
                       headers={"authorization": "Bearer " + key})
            assert False
    """
    result = run(pytester, source, "--tb=short")
    result.stdout.fnmatch_lines(["   prompt: [redacted] [redacted]"])
    assert "planted" not in result.stdout.str()


# --- eval cases ------------------------------------------------------------------------------


EVAL = """
import httpx, pytest

@pytest.mark.aigw_eval
@pytest.mark.aigw(credentials=None)
@pytest.mark.parametrize("calls", [1, 12])
def test_case(aigw, calls):
    aigw.respond("an answer", times=None)
    for n in range(calls):
        httpx.post(aigw.url("openai") + "/chat/completions",
                   json={"model": "m", "messages": [{"role": "user", "content": f"q{n}"}]})
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_eval_cases_carry_their_exchanges(pytester: pytest.Pytester, workers: list[str]) -> None:
    result = run(pytester, EVAL, *workers, "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=2)
    cases = sorted(_report(pytester)["cases"], key=lambda case: len(case["log_ids"]))
    one, many = cases
    assert one["exchanges"] == [
        {
            "log_id": one["log_ids"][0],
            "method": "POST",
            "url": "https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef"
            "/test-gateway/openai/chat/completions",
            "model": "m",
            "prompt": "q0",
            "reply": "an answer",
            "tool_calls": [],
            "status": 200,
            "judge": False,
            "dashboard_url": None,
        }
    ]
    assert one["exchanges_left_out"] == 0
    assert [e["prompt"] for e in many["exchanges"]] == [
        f"q{n}" for n in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)
    ]
    assert many["exchanges_left_out"] == 2


# --- live mode -----------------------------------------------------------------------------


LIVE = """
import asyncio, httpx, pytest
from openai import OpenAI

@pytest.mark.aigw_live
def test_live_fails(aigw):
    client = OpenAI(base_url=aigw.url("openai"), api_key="sk-live-planted-key-0097", max_retries=0)
    messages = [{"role": "user", "content": "Capital of France?"}]
    stream = client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
    "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    async def tools():
        async with httpx.AsyncClient() as http:
            await http.post(aigw.url("anthropic") + "/v1/messages",
                            headers={"x-api-key": "sk-ant-planted-key-0096"},
                            json={"model": "claude", "max_tokens": 5,
                                  "messages": [{"role": "user", "content": "Use a tool"}]})
    asyncio.run(tools())
    assert False

@pytest.mark.aigw_live
@pytest.mark.aigw_eval
def test_live_eval(aigw):
    httpx.post(aigw.url("openai") + "/chat/completions", headers={"authorization": "Bearer k"},
               json={"model": "gpt-4o", "messages": [{"role": "user", "content": "eval q"}]})
"""


def test_live_calls_show_with_their_dashboard_link(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    standin.respond(["Paris", " is the capital."], provider="openai", prompt="Capital of France?")
    standin.respond(tool_calls=[{"name": "lookup", "arguments": {"q": "x"}}], provider="anthropic")
    standin.respond("eval answer", prompt="eval q")
    result = run(
        pytester, LIVE, *live_args(standin), "-p", "no:randomly", "--aigw-eval-report=eval.json"
    )
    result.assert_outcomes(failed=1, passed=1)
    first, second, third = standin.calls
    base = f"{standin.url}/v1/{standin.account_id}/{standin.gateway_id}"
    link = dashboard_url(standin.account_id, standin.gateway_id, str(first.log_id))
    result.stdout.fnmatch_lines(
        [
            f"-* {TITLE} -*",
            "2 call(s)",
            f"#1 POST {base}/openai/chat/completions",
            f"   model: gpt-4o, status: 200, log id: {first.log_id}",
            "   prompt: Capital of France?",
            "   reply: Paris is the capital.",
            f"   dashboard: {link}",
            f"#2 POST {base}/anthropic/v1/messages",
            f"   model: claude, status: 200, log id: {second.log_id}",
            "   prompt: Use a tool",
            '   tool call: lookup({"q":"x"})',
            "   dashboard: "
            + dashboard_url(standin.account_id, standin.gateway_id, str(second.log_id)),
        ]
    )
    assert "planted" not in result.stdout.str().split(TITLE)[1]  # the source shows the keys
    (case,) = _report(pytester)["cases"]
    (exchange,) = case["exchanges"]
    assert (exchange["prompt"], exchange["reply"]) == ("eval q", "eval answer")
    assert exchange["dashboard_url"] == dashboard_url(
        standin.account_id, standin.gateway_id, str(third.log_id)
    )
