"""Secrets planted in every kind of place never show in any output of a failing run.

A pytester suite sends, through the `aigw` fixture, a request carrying each secret
header and query parameter of the redaction set (and one added through the ini), a
universal request whose steps carry provider keys, a request for a Cloudflare path the
gateway does not serve and, in mock mode, a direct provider call and a reply setting a
cookie. One more test sends a prompt that repeats a header's secret and a secret from
the environment, and fails without printing it: the report's list of the calls it made
(and the eval report's exchanges) must hide both. Its tests then fail in the ways that
print the most (repr of every call, request bodies, teardown findings, the calls each
failed test made, eval report), once in mock mode and once live
against a ``pytest-aigw serve`` process standing in for Cloudflare. Every planted value
is looked for in the runs' stdout, stderr, junit XML, every file written under the test
directory, and the stand-in's stdout and stderr (its request log).

The secrets reach the suite through the environment, so no test source holds one.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator

import pytest
from conftest import Served

pytest_plugins = ["pytester"]

# Every place a secret can be put, and the value planted there.
PLANTED = {
    "authorization": "sk-planted-authorization-0001",
    "proxy_authorization": "planted-proxy-authorization-0002",
    "cf_aig_authorization": "planted-gateway-token-0003",
    "x_api_key": "planted-x-api-key-0004",
    "api_key": "planted-azure-api-key-0005",
    "x_goog_api_key": "planted-goog-api-key-0006",
    "cookie": "planted-cookie-0007",
    "cf_access_client_secret": "planted-access-secret-0008",
    "x_amz_security_token": "planted-amz-token-0009",
    "x_vendor_key": "planted-vendor-key-0010",
    "x_vendor_token": "planted-vendor-token-0011",
    "x_vendor_secret": "planted-vendor-secret-0012",
    "x_tenant": "planted-ini-added-header-0013",
    "q_key": "planted-query-key-0014",
    "q_token": "planted-query-token-0015",
    "q_access_token": "planted-query-access-token-0016",
    "q_api_key": "planted-query-api-key-0017",
    "q_sig": "planted-query-sig-0018",
    "q_tenant": "planted-ini-added-query-0019",
    "step_authorization": "sk-planted-step-key-0020",
    "step_x_api_key": "planted-step-anthropic-key-0021",
    "step_cf_aig_authorization": "planted-step-gateway-token-0022",
    "cloudflare_token": "planted-cloudflare-token-0023",
    "cloudflare_query": "planted-cloudflare-query-0024",
    "direct_key": "planted-direct-key-0025",
    "set_cookie": "planted-set-cookie-0026",
    "prompt_header": "sk-planted-prompt-header-0029",
    "app_api_key": "planted-prompt-env-secret-0030",
}
LIVE_CREDENTIALS = {
    "CLOUDFLARE_API_TOKEN": "planted-live-api-token-0027",
    "PYTEST_AIGW_GATEWAY_TOKEN": "planted-live-gateway-token-0028",
}
ENV_PREFIX = "PLANTED_"

PLANTING = '''
"""Sends every kind of secret through the gateway; the values come from the environment."""
import os
import httpx

S = {k[len("PLANTED_"):].lower(): v for k, v in os.environ.items() if k.startswith("PLANTED_")}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def plant(aigw):
    headers = {
        "authorization": "Bearer " + S["authorization"],
        "proxy-authorization": "Basic " + S["proxy_authorization"],
        "cf-aig-authorization": "Bearer " + S["cf_aig_authorization"],
        "x-api-key": S["x_api_key"],
        "api-key": S["api_key"],
        "x-goog-api-key": S["x_goog_api_key"],
        "cookie": "session=" + S["cookie"],
        "cf-access-client-secret": S["cf_access_client_secret"],
        "x-amz-security-token": S["x_amz_security_token"],
        "x-vendor-key": S["x_vendor_key"],
        "x-vendor-token": S["x_vendor_token"],
        "x-vendor-secret": S["x_vendor_secret"],
        "x-tenant": S["x_tenant"],
    }
    query = {
        "key": S["q_key"], "token": S["q_token"], "access_token": S["q_access_token"],
        "api_key": S["q_api_key"], "sig": S["q_sig"], "tenant": S["q_tenant"],
    }
    if aigw.mode == "mock":
        aigw.respond("hello", headers={"set-cookie": "session=" + S["set_cookie"]}, times=None)
    httpx.post(aigw.url("openai") + "/chat/completions", params=query, json=CHAT, headers=headers)
    steps = [
        {
            "provider": "anthropic",
            "endpoint": "v1/messages",
            "headers": {"x-api-key": S["step_x_api_key"]},
            "query": {**CHAT, "max_tokens": 5},
        },
        {
            "provider": "openai",
            "endpoint": "chat/completions",
            "headers": {
                "authorization": "Bearer " + S["step_authorization"],
                "cf-aig-authorization": "Bearer " + S["step_cf_aig_authorization"],
            },
            "query": CHAT,
        },
    ]
    httpx.post(aigw.gateway_url, json=steps)
    httpx.get(
        "https://api.cloudflare.com/client/v4/zones",
        params={"access_token": S["cloudflare_query"]},
        headers={"authorization": "Bearer " + S["cloudflare_token"]},
    )
    if aigw.mode == "mock":  # live mode has no direct-call guard: this would go out
        httpx.get("https://api.openai.com/v1/models", params={"key": S["direct_key"]})


def plant_in_prompt(aigw):
    """A prompt repeating the provider key sent as a header and a secret of the environment."""
    if aigw.mode == "mock":
        aigw.respond(lambda call: "you said: " + call.prompt, times=None)
    text = f"key {S['prompt_header']}, env {os.environ['PLANTED_APP_API_KEY']}."
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    headers = {"authorization": "Bearer " + S["prompt_header"]}
    httpx.post(aigw.url("openai") + "/chat/completions", json=body, headers=headers)
    body["stream"] = True
    httpx.post(aigw.url("openai") + "/chat/completions", json=body, headers=headers)
'''

SUITE = """
import pytest
from planting import plant, plant_in_prompt


@pytest.mark.aigw_live
def test_prints_and_compares_every_call(aigw):
    plant(aigw)
    for call in aigw.calls:
        print(call, call.url, call.json, call.request.content, dict(call.headers))
        print(dict(call.response_headers))
    assert list(aigw.calls) == []


@pytest.mark.aigw_live
def test_compares_the_bodies(aigw):
    plant(aigw)
    assert [call.request.content for call in aigw.calls] == []


@pytest.mark.aigw_live
@pytest.mark.aigw_eval
def test_passes_then_reports_what_was_refused(aigw):
    plant(aigw)


@pytest.mark.aigw_live
@pytest.mark.aigw_eval
def test_fails_after_secrets_in_its_prompts(aigw):
    plant_in_prompt(aigw)
    assert False
"""

FLAGS = [
    "-p",
    "no:randomly",
    "-vv",
    "-rA",
    "-l",
    "--tb=long",
    "--junitxml=junit.xml",
    "-o",
    "junit_logging=all",
    "--aigw-eval-report=eval-report.json",
]


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name, value in PLANTED.items():
        monkeypatch.setenv(ENV_PREFIX + name.upper(), value)
    pytester.makeini(
        """
        [pytest]
        aigw_redact =
            x-tenant
            tenant
        """
    )
    pytester.makepyfile(planting=textwrap.dedent(PLANTING), test_suite=textwrap.dedent(SUITE))
    return pytester


@pytest.fixture
def serve() -> Iterator[Served]:
    # serve reads no ini: the names the suite's ini adds come from its environment
    server = Served(env={**os.environ, "PYTEST_AIGW_REDACT": "x-tenant,tenant"})
    yield server
    server.kill()


def _leaks(texts: dict[str, str | bytes], planted: dict[str, str] = PLANTED) -> list[str]:
    """Which planted values show where."""
    found = []
    for where, text in texts.items():
        data = text.encode() if isinstance(text, str) else text
        found += [f"{name} in {where}" for name, value in planted.items() if value.encode() in data]
    return found


def _outputs(pytester: pytest.Pytester, result: pytest.RunResult) -> dict[str, str | bytes]:
    written = {
        str(path.relative_to(pytester.path)): path.read_bytes()
        for path in pytester.path.rglob("*")
        if path.is_file() and path.name not in ("planting.py", "test_suite.py")
    }
    return {"stdout": result.stdout.str(), "stderr": result.stderr.str(), **written}


def test_mock_mode(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess(*FLAGS)
    assert _leaks(_outputs(suite, result)) == []
    result.assert_outcomes(failed=3, passed=1, errors=1)
    out = result.stdout.str()
    # The calls the failed test made were shown, their secrets hidden.
    assert "   prompt: key [redacted], env [redacted]." in out
    assert "   reply: you said: key [redacted], env [redacted]." in out
    # The calls and findings were shown, redacted.
    assert "Bearer [redacted]" in out
    assert '\\"x-api-key\\":\\"[redacted]\\"' in out or '"x-api-key":"[redacted]"' in out
    assert "request to Cloudflare not sent: GET https://api.cloudflare.com/client/v4/zones" in out
    assert "direct call to a model provider: GET https://api.openai.com/v1/models" in out
    assert (suite.path / "junit.xml").is_file()
    assert (suite.path / "eval-report.json").is_file()


def test_live_mode_and_the_stand_ins_request_log(
    suite: pytest.Pytester, serve: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PYTEST_AIGW_MODE", "PYTEST_AIGW_TAGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "0123456789abcdef0123456789abcdef")
    for name, value in LIVE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PYTEST_AIGW_GATEWAY_ID", "test-gateway")
    live = [
        "--aigw-mode=live",
        f"--aigw-gateway-base-url={serve.urls['AIGW_URL']}/v1",
        f"--aigw-api-base-url={serve.urls['AIGW_API_URL']}",
    ]
    result = suite.runpytest_subprocess(*FLAGS, *live)
    _, serve_out, serve_err = serve.stop()
    served = serve_out + serve_err
    outputs = {**_outputs(suite, result), "serve output": served}
    assert _leaks(outputs) == []
    result.assert_outcomes(failed=3, passed=1, errors=1)
    out = result.stdout.str()
    assert "   prompt: key [redacted], env [redacted]." in out
    assert "Bearer [redacted]" in out
    assert "request to Cloudflare not sent: GET https://api.cloudflare.com/client/v4/zones" in out
    # The stand-in logged the forwarded requests, query secrets hidden.
    assert served.count("/openai/chat/completions?key=%5Bredacted%5D&token=%5Bredacted%5D") == 3
    outputs = {**_outputs(suite, result), "serve output": served}
    extra = {"CLOUDFLARE_API_TOKEN": os.environ["CLOUDFLARE_API_TOKEN"]}
    extra["PYTEST_AIGW_GATEWAY_TOKEN"] = os.environ["PYTEST_AIGW_GATEWAY_TOKEN"]
    assert _leaks(outputs) == []
    assert [
        k for k, v in extra.items() if any(v.encode() in _bytes(t) for t in outputs.values())
    ] == []


def _bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text
