"""The redaction set, and universal step headers hidden wherever a request is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest

from pytest_aigw import MockGateway, MockGatewayServer, redaction
from pytest_aigw._errors import ConfigError
from pytest_aigw.live import LiveGateway
from pytest_aigw.redaction import (
    ENV_REDACT,
    REDACTED,
    extra_names,
    is_secret_header,
    is_secret_param,
    redact_body,
    redact_steps,
    redaction_names,
    restore_extra_names,
    use_extra_names,
)

pytest_plugins = ["pytester"]

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STEP_KEY = "sk-step-SECRET-1"
STEP_TOKEN = "gw-step-SECRET-2"
KEY = {"authorization": "Bearer sk-test"}


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "cf-aig-authorization",
        "Cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "cf-access-client-secret",
        "x-my-vendor-key",
        "x-session-token",
        "x-client-secret",
    ],
)
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)


@pytest.mark.parametrize(
    "name", ["content-type", "cf-aig-metadata", "cf-aig-cache-key", "x-keyboard", "user-agent"]
)
def test_headers_that_are_no_secret(name: str) -> None:
    assert not is_secret_header(name)


@pytest.mark.parametrize(
    "name", ["key", "token", "access_token", "api_key", "API-KEY", "sig", "client_secret"]
)
def test_secret_query_params(name: str) -> None:
    assert is_secret_param(name)


@pytest.mark.parametrize("name", ["alt", "model", "keys", "page"])
def test_query_params_that_are_no_secret(name: str) -> None:
    assert not is_secret_param(name)


@pytest.fixture
def extra() -> Iterator[None]:
    before = use_extra_names(redaction_names(["x-session-id", "*-sid", "session"], "test"))
    yield
    restore_extra_names(before)


@pytest.mark.usefixtures("extra")
def test_added_names_and_suffixes_cover_headers_and_query_params() -> None:
    assert is_secret_header("X-Session-Id")
    assert is_secret_header("x-app-sid")
    assert is_secret_param("session")
    assert is_secret_param("app-sid")
    assert not is_secret_header("x-session")


def test_the_verdict_per_header_name_follows_the_names_in_use() -> None:
    assert not is_secret_header("X-Session-Id")  # asked before: the answer is remembered
    before = use_extra_names(redaction_names(["x-session-id"], "test"))
    try:
        assert is_secret_header("X-Session-Id")
    finally:
        restore_extra_names(before)
    assert not is_secret_header("X-Session-Id")


def test_endless_new_header_names_are_answered_and_not_all_kept() -> None:
    for n in range(5000):
        assert is_secret_header(f"x-{n}-token")
        assert not is_secret_header(f"x-{n}-plain")
    assert len(redaction._header_verdicts) <= redaction._MAX_REMEMBERED


def test_names_from_the_environment_are_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_REDACT, "x-tenant, *-pin\nlogin")
    before = use_extra_names(None)
    try:
        assert extra_names() == (frozenset({"x-tenant", "login"}), ("-pin",))
    finally:
        restore_extra_names(before)


@pytest.mark.parametrize("bad", ["", "two words", "x-a*", "x:y", 3])
def test_a_bad_name_is_refused_naming_where(bad: object) -> None:
    with pytest.raises(ConfigError) as raised:
        redaction_names([bad], "ini aigw_redact")
    assert str(raised.value) == (
        "ini aigw_redact must be header or query parameter names such as x-session-id, or"
        f" *-suffix for every name ending so, got {bad!r}"
    )


def test_steps_keep_their_shape_and_lose_their_secrets() -> None:
    first = {"Authorization": "Bearer sk-1", "x-trace": "t"}
    steps: list[dict[str, object]] = [
        {"provider": "openai", "headers": first},
        {"provider": "anthropic", "headers": {"x-api-key": ["not", "a", "string"]}},
        {"provider": "groq"},
    ]
    assert redact_steps(steps) == [
        {"provider": "openai", "headers": {"Authorization": f"Bearer {REDACTED}", "x-trace": "t"}},
        {"provider": "anthropic", "headers": {"x-api-key": REDACTED}},
        {"provider": "groq"},
    ]
    assert redact_steps(steps[0])["headers"]["Authorization"] == f"Bearer {REDACTED}"
    assert redact_steps(steps[2]) is steps[2]
    assert first["Authorization"] == "Bearer sk-1"  # the caller's copy untouched


@pytest.mark.parametrize("body", [b"", b"not json", b"[[[", b"[" * 100_000, b'{"a": 1}'])
def test_bodies_without_step_secrets_come_back_as_they_are(body: bytes) -> None:
    assert redact_body(body) is body


def _universal(gw: MockGateway, steps: object) -> httpx.Response:
    return httpx.post(gw.gateway_url, json=steps, headers={"cf-aig-authorization": "Bearer gw"})


def test_a_universal_requests_step_keys_are_hidden_in_the_call() -> None:
    step = {
        "provider": "openai",
        "endpoint": "chat/completions",
        "headers": {"authorization": f"Bearer {STEP_KEY}", "cf-aig-authorization": STEP_TOKEN},
        "query": CHAT,
    }
    with MockGateway() as gw:
        # The fake still reads the key: without one the step is refused with the provider's 401.
        assert _universal(gw, [step]).status_code == 200
        keyless = {**step, "headers": {}}
        assert _universal(gw, [keyless]).status_code == 401
    call = gw.calls[0]
    shown = [call.request.content, repr(call), repr(gw.calls), str(call.json)]
    assert not any(STEP_KEY in text or STEP_TOKEN in text for text in map(str, shown))
    assert b'"authorization":"Bearer [redacted]"' in call.request.content
    assert b'"cf-aig-authorization":"[redacted]"' in call.request.content
    assert call.json == CHAT


def test_a_refused_universal_request_keeps_its_steps_redacted() -> None:
    with MockGateway(strict=False) as gw:
        response = _universal(gw, [{"provider": "NOT A SLUG", "headers": {"x-api-key": STEP_KEY}}])
    assert response.status_code == 400
    call = gw.calls.last
    assert call.json == [{"provider": "NOT A SLUG", "headers": {"x-api-key": REDACTED}}]
    assert STEP_KEY not in repr(call) + call.request.content.decode()


def test_cookies_in_the_answer_reach_the_app_and_are_hidden_in_the_call() -> None:
    with MockGateway() as gw:
        gw.respond("hello", headers={"set-cookie": "session=cookie-SECRET"})
        response = httpx.post(gw.url("openai") + "/chat/completions", json=CHAT, headers=KEY)
    assert response.headers["set-cookie"] == "session=cookie-SECRET"
    assert gw.calls.last.response_headers["set-cookie"] == REDACTED


def test_every_listed_header_and_param_is_hidden_in_the_call() -> None:
    headers = {
        "cookie": "c=SECRET-cookie",
        "proxy-authorization": "Basic SECRET-proxy",
        "x-amz-security-token": "SECRET-amz",
        "cf-access-client-secret": "SECRET-access",
        "x-vendor-token": "SECRET-vendor",
        "cf-aig-cache-key": "my-cache-key",
        **KEY,
    }
    query = "?token=SECRET-t&access_token=SECRET-a&api_key=SECRET-k&sig=SECRET-s&alt=sse"
    with MockGateway() as gw:
        httpx.post(gw.url("openai") + "/chat/completions" + query, json=CHAT, headers=headers)
    call = gw.calls.last
    assert "SECRET" not in str(call.url) + str(call.headers) + repr(call)
    assert call.headers["cf-aig-cache-key"] == "my-cache-key"
    assert call.url.params["alt"] == "sse"
    assert call.secret_matches("x-amz-security-token", "SECRET-amz")
    assert call.secret_matches("?access_token", "SECRET-a")


def test_the_ini_key_adds_names(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        aigw_redact =
            x-tenant
            *-pin
        """
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx

            def test_added(aigw):
                url = aigw.url("openai") + "/chat/completions?user-pin=1234"
                httpx.post(url, json={}, headers={"x-tenant": "acme"})
                call = aigw.calls.last
                assert call.headers["x-tenant"] == "[redacted]"
                assert call.url.params["user-pin"] == "[redacted]"
                assert call.secret_matches("x-tenant", "acme")
            """
        )
    )
    result = pytester.runpytest("-p", "no:randomly", "--aigw-redact", "x-other")
    result.assert_outcomes(passed=1)


def test_a_bad_name_stops_the_run_with_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("-p", "no:randomly", "--aigw-redact", "two words")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*: error: --aigw-redact must be header or query parameter names such as"
            " x-session-id, or *-suffix for every name ending so, got 'two words'"
        ]
    )


def test_a_bad_name_in_the_environment_fails_where_the_gateway_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_REDACT, "ok-name,two words")
    before = use_extra_names(None)
    try:
        with pytest.raises(ConfigError, match=r"^PYTEST_AIGW_REDACT must be header or query"):
            MockGateway()
    finally:
        restore_extra_names(before)
    served = subprocess.run(
        [sys.executable, "-m", "pytest_aigw", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, ENV_REDACT: "two words"},
    )
    assert served.returncode == 2
    assert served.stderr.splitlines()[-1] == (
        "pytest-aigw serve: error: PYTEST_AIGW_REDACT must be header or query parameter names"
        " such as x-session-id, or *-suffix for every name ending so, got 'two words'"
    )


def test_live_mode_forwards_the_step_keys_and_keeps_them_redacted() -> None:
    step = {
        "provider": "openai",
        "endpoint": "chat/completions",
        "headers": {"authorization": f"Bearer {STEP_KEY}"},
        "query": CHAT,
    }
    with MockGatewayServer() as standin:
        live = LiveGateway(
            account_id=standin.account_id,
            gateway_id=standin.gateway_id,
            api_token="cf-token",
            gateway_base_url=f"{standin.url}/v1",
            api_base_url=standin.api_url,
        )
        with live:
            # The stand-in checks provider keys: a 200 means the real key went out.
            assert httpx.post(live.gateway_url, json=[step]).status_code == 200
    call = live.calls.last
    assert call.endpoint == "universal"
    assert call.json == [{**step, "headers": {"authorization": f"Bearer {REDACTED}"}}]
    assert STEP_KEY not in repr(call) + call.request.content.decode()
    assert STEP_KEY not in standin.calls.last.request.content.decode()
