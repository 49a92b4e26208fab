"""Any value at any public keyword: a `ConfigError` at the call, or the fake answers well.

Each test throws arbitrary values (numbers including NaN and infinities, strings,
None, containers, objects, functions) at one keyword, then sends requests. A value
the fake took must never make it raise later, at request time or when logs are
listed: what it cannot use is refused where the test passed it.
"""

from __future__ import annotations

import json
import math
import re
import types
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any
from unittest import mock

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_aigw import ConfigError, LogSettings, MockGateway
from pytest_aigw.fake import transport

CREATED = "2026-11-22T10:00:00.000Z"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


class Opaque:
    """An object no check knows, with a repr that fails (messages must still work)."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _raises(call: object) -> object:
    raise RuntimeError("a reply function that fails")


ODD = [
    Opaque(),
    object(),
    re.compile("x"),
    _raises,
    print,
    b"bytes",
    set(),
    frozenset({1}),
    (1, 2),
    Decimal("1.5"),
    Fraction(1, 3),
    complex(1, 1),
    10**400,
    -(10**400),
    10**5000,
    2**63,
    1e308,
    5e-324,
    -0.0,
    "timeout",
    "disconnect",
    "gateway",
    "provider",
    "stop",
    "tool_calls",
    "é",
    "\r\nx: y",
    "\x00",
    {"x-a": "é"},
    {"x-a": "a\r\nb: c"},
    {"bad name": "v"},
    {"input": 10**30},
    {"a": math.nan},
    {"a": [math.inf]},
    {"a": Opaque()},
    [{"name": "f", "arguments": {"a": math.nan}}],
    [{"name": "f", "arguments": '{"a": NaN}'}],
    [{"name": "f", "arguments": "[" * 5000}],
    [{"name": "f", "id": 5}],
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from([0, 1, -1, 100, 200, 204, 400, 401, 429, 430, 500, 599, 600, 3600, 3601]),
)
VALUES = st.one_of(
    SCALARS,
    st.sampled_from(ODD),
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
    st.sampled_from([int, float, str, bytes, bool]).flatmap(st.from_type),
)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
RESPOND = [
    "content",
    "tool_calls",
    "finish_reason",
    "usage",
    "refusal",
    "provider",
    "model",
    "path",
    "prompt",
    "system",
    "metadata",
    "tools",
    "tool_result",
    "body",
    "match",
    "status",
    "json",
    "headers",
    "stream",
    "times",
    "latency",
    "cut_after",
    "optional",
]
FAIL = [
    "status",
    "code",
    "message",
    "origin",
    "provider",
    "model",
    "path",
    "prompt",
    "tools",
    "tool_result",
    "body",
    "match",
    "headers",
    "times",
    "optional",
]
SEEDED = [
    "id",
    "created_at",
    "provider",
    "model",
    "path",
    "duration",
    "success",
    "status_code",
    "tokens_in",
    "tokens_out",
    "cost",
    "step",
    "event_id",
    "feedback",
    "score",
    "metadata",
    "request",
    "response",
    "user_agent",
]


@pytest.fixture(autouse=True)
def no_waiting() -> Iterator[None]:
    """A scripted latency is taken as given, but nobody waits for it here."""
    with mock.patch.object(transport, "time", types.SimpleNamespace(sleep=lambda s: None)):
        yield


def _taken(call: Callable[[], object]) -> bool:
    """Whether *call* took its value: False when it refused it with a `ConfigError`."""
    try:
        call()
    except ConfigError:
        return False
    return True


def _gateway(**options: Any) -> MockGateway:
    return MockGateway(strict=False, credentials=None, **options)


def _strict_json(text: bytes) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} in a JSON answer")

    return json.loads(text, parse_constant=refuse)


def _well_formed(response: httpx.Response) -> None:
    """An HTTP answer a client can read: a status, ASCII headers, JSON where it says so."""
    assert 100 <= response.status_code <= 599
    response.read()
    for name, value in response.headers.raw:
        value.decode("ascii")
        assert b"\n" not in name + value
    if response.headers.get("content-type", "").startswith("application/json"):
        _strict_json(response.content)


def _send(gw: MockGateway, request: httpx.Request) -> None:
    try:
        response = gw.handler(request)
    except (httpx.ReadTimeout, httpx.RemoteProtocolError):
        return  # a scripted network fault, as asked for
    _well_formed(response)


def _ask_models(gw: MockGateway) -> None:
    """A plain and a streamed chat, an Anthropic message, and the logs listed."""
    url = gw.url("openai") + "/chat/completions"
    _send(gw, httpx.Request("POST", url, json=CHAT))
    _send(gw, httpx.Request("POST", url, json={**CHAT, "stream": True}))
    anthropic = gw.url("anthropic") + "/v1/messages"
    _send(gw, httpx.Request("POST", anthropic, json={**CHAT, "max_tokens": 5}))
    _list_logs(gw)


def _list_logs(gw: MockGateway) -> httpx.Response:
    base = f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"
    auth = {"authorization": "Bearer t"}
    listed = gw.handler(httpx.Request("GET", base, headers=auth))
    _well_formed(listed)
    if listed.status_code == 200:
        for log in listed.json()["result"]:
            _well_formed(gw.handler(httpx.Request("GET", f"{base}/{log['id']}", headers=auth)))
    return listed


@pytest.mark.parametrize("keyword", RESPOND)
@given(value=VALUES, with_content=st.booleans())
@SETTINGS
def test_respond_takes_a_value_or_refuses_it_at_the_call(
    keyword: str, value: Any, with_content: bool
) -> None:
    gw = _gateway()
    given_args: dict[str, Any] = (
        {"content": "hi"} if with_content and keyword not in ("content", "json") else {}
    )
    if not _taken(lambda: gw.respond(**{**given_args, keyword: value})):
        return
    _ask_models(gw)


def _fail(gw: MockGateway, keyword: str, value: object) -> None:
    args: dict[str, Any] = {"status": 500, keyword: value}
    gw.fail(args.pop("status"), **args)


def _seed(gw: MockGateway, field: str, value: object) -> None:
    gw.seed_logs(
        [{"id": "a", "created_at": CREATED, "provider": "openai", "model": "m", field: value}]
    )


# A call given one value by keyword, and what then shows the value was taken whole.
KEYWORD_CALLS: dict[str, tuple[Callable[[MockGateway, str, object], None], Callable[..., Any]]] = {
    "fail": (_fail, _ask_models),
    "seed_logs": (_seed, _list_logs),
}


@pytest.mark.parametrize(
    ("call", "keyword"),
    [("fail", keyword) for keyword in FAIL] + [("seed_logs", field) for field in SEEDED],
)
@given(value=VALUES)
@SETTINGS
def test_fail_and_seeded_logs_take_a_value_or_refuse_it_at_the_call(
    call: str, keyword: str, value: object
) -> None:
    act, then = KEYWORD_CALLS[call]
    gw = _gateway()
    if _taken(lambda: act(gw, keyword, value)):
        then(gw)


@pytest.mark.parametrize("kind", ["score", "feedback"])
@given(value=VALUES)
@SETTINGS
def test_verdicts_take_a_number_in_range_or_refuse_it(kind: str, value: object) -> None:
    gw = _gateway()
    if not _taken(lambda: getattr(gw, kind)(value)):
        return
    taken = (gw.verdicts.scores if kind == "score" else gw.verdicts.feedback)[None]
    assert isinstance(taken, int | float)
    assert math.isfinite(taken)


@pytest.mark.parametrize("keyword", ["status", "times", "retry_after"])
@given(value=VALUES)
@SETTINGS
def test_logs_api_outages_take_a_value_or_refuse_it(keyword: str, value: object) -> None:
    gw = _gateway()
    args: dict[str, Any] = {"status": 429, "times": 1, "retry_after": 1, keyword: value}
    if not _taken(lambda: gw.fail_logs_api(**args)):
        return
    answer = _list_logs(gw)
    if "retry-after" in answer.headers:  # a number of seconds a client can wait
        assert math.isfinite(float(answer.headers["retry-after"]))


@given(value=VALUES)
@SETTINGS
def test_the_clock_takes_seconds_or_refuses_them(value: object) -> None:
    gw = _gateway()
    if not _taken(lambda: gw.clock.advance(value)):  # type: ignore[arg-type]
        return
    _ask_models(gw)


@pytest.mark.parametrize(
    "field", ["metadata_as", "feedback_in_get", "visibility_lag", "detail_lag"]
)
@given(value=VALUES)
@SETTINGS
def test_log_settings_take_a_value_or_refuse_it(field: str, value: object) -> None:
    try:
        log_settings = LogSettings(**{field: value})  # type: ignore[arg-type]
    except ConfigError:
        return
    _ask_models(_gateway(log_settings=log_settings))


SEED = {"id": "a", "created_at": CREATED, "provider": "openai", "model": "m"}


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda gw: gw.seed_logs([{**SEED, "cost": math.nan}]),
            "seeded log #1 (id 'a'): field 'cost' must be a number, got nan",
        ),
        (
            lambda gw: gw.seed_logs([{**SEED, "metadata": {"a": math.inf}}]),
            "seeded log #1 (id 'a'): field 'metadata' must be a flat object of string, finite"
            " number and boolean values (or that object as a JSON string, or null), got {'a': inf}",
        ),
        (
            lambda gw: gw.seed_logs([{**SEED, "request": {"a": math.nan}}]),
            "seeded log #1 (id 'a'): field 'request' must be JSON-serialisable (Out of range",
        ),
        (
            lambda gw: gw.clock.advance(math.nan),
            "seconds= must be a number of seconds from 0 to 3.1536e+09",
        ),
        (
            lambda gw: gw.fail_logs_api(429, retry_after=math.inf),
            "retry_after= must be seconds from 0 to 86400, or None, got inf",
        ),
        (
            lambda gw: gw.score(math.nan),
            "aigw.score() value must be a number from 0 to 100, got nan",
        ),
        (lambda gw: gw.respond("hi", latency=math.inf), "latency= must be seconds from 0 to 3600"),
        (lambda gw: gw.respond("hi", latency=10**400), "latency= must be seconds from 0 to 3600"),
        (
            lambda gw: gw.respond("hi", headers={"x-a": "é"}),
            "headers= must be a dict of header names to string values (ASCII, no line breaks)",
        ),
        (lambda gw: gw.fail(500, headers={"x-a": "a\nb"}), "headers= must be a dict of header"),
        (lambda gw: gw.respond(json={1, 2}), "json= must be JSON-serialisable (Object of type set"),
        (lambda gw: gw.respond(json=[math.nan]), "json= must be JSON-serialisable (Out of range"),
        (lambda gw: gw.respond(stream=1), "stream= must be True, False or None"),
        (
            lambda gw: gw.respond(tool_calls=[{"name": "f", "arguments": '{"a": NaN}'}]),
            "tool_call arguments= must be a dict or a JSON object string",
        ),
        (lambda gw: gw.respond(usage={"input": 2**40}), "usage['input']= must be a whole number"),
        (lambda gw: gw.fail(500, times=10**400), "times= must be a whole number >= 1, or None"),
        (
            lambda gw: gw.fail_logs_api(times=10**9),
            "times= must be a whole number from 1 to 100000",
        ),
    ],
)
def test_what_would_break_the_fake_later_is_refused_at_the_call(call: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        call(_gateway())
    assert str(error.value).startswith(expected)


@pytest.mark.parametrize("status", [430, 499, 520, 599])
def test_an_error_status_http_names_no_phrase_for_is_answered(status: int) -> None:
    gw = _gateway()
    gw.fail(status)
    gw.fail(status, origin="gateway", code=1)
    for _ in range(2):
        response = gw.handler(
            httpx.Request("POST", gw.url("openai") + "/chat/completions", json=CHAT)
        )
        assert response.status_code == status
        assert "Error" in response.text


@pytest.mark.parametrize(
    ("ini", "env", "args", "line"),
    [
        (
            "",
            {"PYTEST_AIGW_EVAL_MIN_PASS_RATE": "nan"},
            [],
            "*: error: PYTEST_AIGW_EVAL_MIN_PASS_RATE must be a pass rate from 0 to 1"
            " (or 0% to 100%), got 'nan'",
        ),
        (
            "aigw_visibility_lag = inf",
            {},
            [],
            "*: error: ini aigw_visibility_lag: visibility_lag must be seconds >= 0, got inf",
        ),
        (
            "aigw_detail_lag = nan",
            {},
            [],
            "*: error: ini aigw_detail_lag: detail_lag must be seconds >= 0, got nan",
        ),
        (
            "",
            {},
            ["--aigw-tag", "cost=1e400"],
            "*: error: --aigw-tag tag 'cost' must be a number a float can hold, or text, got inf",
        ),
        (
            "",
            {"PYTEST_AIGW_MODE": "staging"},
            [],
            "*: error: PYTEST_AIGW_MODE must be mock, live or replay, got 'staging'",
        ),
    ],
)
def test_a_bad_run_value_stops_the_run_with_a_usage_line(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    ini: str,
    env: dict[str, str],
    args: list[str],
    line: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_x(): pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: usage: *", line])


def test_a_nan_in_a_marker_is_refused_where_the_test_gives_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aigw(visibility_lag=float("nan"))
        def test_x(aigw):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["@pytest.mark.aigw: visibility_lag must be seconds >= 0, got nan"])
