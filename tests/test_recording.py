"""Recording live exchanges to cassettes, end to end against a stand-in for Cloudflare.

Each test runs a pytester suite with ``--aigw-mode=live --aigw-record`` pointed at the
stand-in (a `MockGatewayServer`, its logs listed 0.3 s late) and reads the cassettes
the run wrote.
"""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from conftest import API_TOKEN, live_args, run

from pytest_aigw import MockGatewayServer, recording
from pytest_aigw.cassette import Cassette, Exchange

pytest_plugins = ["pytester"]

PROVIDER_KEY = "sk-provider-SECRET-3"
GATEWAY_TOKEN = "gw-token-SECRET-2"

SUITE = """
import asyncio, json, time
from pathlib import Path
import httpx, pytest

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
KEY = {"authorization": "Bearer PROVIDER_KEY"}

def chat(aigw, body=CHAT, **headers):
    return httpx.post(aigw.url("openai") + "/chat/completions", json=body,
                      headers={**KEY, **headers})

@pytest.mark.aigw_live
def test_chat(aigw):
    assert chat(aigw).status_code == 200

@pytest.mark.aigw_live
def test_stream(aigw):
    seen = []
    with httpx.stream("POST", aigw.url("openai") + "/chat/completions",
                      json={**CHAT, "stream": True}, headers=KEY) as r:
        for piece in r.iter_raw():
            seen.append(piece.decode())
            time.sleep(0.05)  # the app reads slowly: the tape stamps each piece as it passes
    Path("stream-seen.json").write_text(json.dumps(seen))

@pytest.mark.aigw_live
def test_async_stream(aigw):
    async def main():
        async with httpx.AsyncClient() as client:
            body = {**CHAT, "stream": True}
            async with client.stream("POST", aigw.url("openai") + "/chat/completions",
                                     json=body, headers=KEY) as r:
                return b"".join([piece async for piece in r.aiter_bytes()])
    assert b"[DONE]" in asyncio.run(main())

@pytest.mark.aigw_live
def test_error(aigw):
    body = {**CHAT, "messages": [{"role": "user", "content": "break"}]}
    assert chat(aigw, body).status_code == 500

@pytest.mark.aigw_live
def test_cache_hit(aigw):
    first = chat(aigw, **{"cf-aig-cache-ttl": "60"})
    second = chat(aigw, **{"cf-aig-cache-ttl": "60"})
    assert second.headers["cf-aig-cache-status"] == "HIT"

@pytest.mark.aigw_live
def test_feedback(aigw):
    chat(aigw)
    aigw.assert_feedback_roundtrip(aigw.log_ids[0], feedback=-1, score=40, timeout=20)
""".replace("PROVIDER_KEY", PROVIDER_KEY)


@pytest.fixture
def live(standin: MockGatewayServer) -> list[str]:
    """A recording live run against the stand-in."""
    return [*live_args(standin), "-p", "no:randomly"]


def cassette_file(pytester: pytest.Pytester, name: str, under: str = "cassettes") -> Path:
    """The cassette of test *name* (the suite is one module, named after the test)."""
    return pytester.path / under / pytester.path.name[:-1] / f"{name}.json"


def cassette(pytester: pytest.Pytester, name: str) -> Cassette:
    return Cassette.load(cassette_file(pytester, name))


def text_of(pytester: pytest.Pytester, name: str) -> str:
    return cassette_file(pytester, name).read_text()


def assert_lines(result: pytest.RunResult, lines: list[str]) -> None:
    """The output holds *lines*, one after another, exactly."""
    out = result.stdout.lines
    starts = [n for n, line in enumerate(out) if line == lines[0]]
    assert any(out[n : n + len(lines)] == lines for n in starts), "\n".join(out)


def header(pairs: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in pairs if key.lower() == name), None)


def body_json(exchange: Exchange) -> Any:
    return json.loads(exchange.response.content)


def test_a_recorded_suite_keeps_each_exchange_and_its_logs(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    """One recording (each takes seconds: logs show late), each file checked on its own."""
    standin.fail(500, origin="provider", prompt="break")
    standin.respond("This is a reply from the stand-in.", times=None)  # the rest
    result = run(pytester, SUITE, *live, "--aigw-record")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        ["aigw: recording cassettes (record mode once) in cassettes/ beside each test module"]
    )
    a_plain_call_is_kept_as_sent_and_answered_with_its_log(pytester, standin)
    a_stream_is_kept_as_the_pieces_the_app_read_with_their_times(pytester)
    an_async_stream_is_kept_as_chunks_too(pytester)
    an_error_answer_is_kept_with_its_status_and_body(pytester)
    a_cache_hit_is_kept_with_its_cache_status(pytester)
    a_feedback_round_trip_keeps_its_logs_api_calls_and_the_feedback_in_the_log(pytester)
    no_secret_reaches_any_file(pytester)


def a_plain_call_is_kept_as_sent_and_answered_with_its_log(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    recorded = cassette(pytester, "test_chat")
    assert recorded.test == f"{pytester.path.name[:-1]}.py::test_chat"
    assert recorded.gateway.account_id == standin.account_id
    assert recorded.gateway.gateway_url == standin.gateway_url
    [exchange] = recorded.exchanges
    request, response = exchange.request, exchange.response
    assert exchange.api == "gateway"
    assert (request.method, request.url) == ("POST", standin.url("openai") + "/chat/completions")
    # As sent: tagged, the app's key hidden.
    assert header(request.headers, "cf-aig-metadata") == '{"test":true}'
    assert header(request.headers, "authorization") == "Bearer <redacted:authorization>"
    assert json.loads(request.body.data) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert response.status == 200
    assert response.chunks is None
    assert body_json(exchange)["object"] == "chat.completion"
    names = {name.lower() for name, _ in response.headers}
    assert {"cf-aig-log-id", "cf-aig-cache-status", "content-type"} <= names
    assert not names & {"content-length", "content-encoding"}
    [log] = recorded.logs
    assert log["id"] == response.header("cf-aig-log-id") == standin.calls[0].log_id
    assert log["metadata"] == {"test": True}
    assert recorded.missing_logs == []


def a_stream_is_kept_as_the_pieces_the_app_read_with_their_times(
    pytester: pytest.Pytester,
) -> None:
    [exchange] = cassette(pytester, "test_stream").exchanges
    chunks = exchange.response.chunks
    assert chunks is not None
    seen = json.loads((pytester.path / "stream-seen.json").read_text())
    assert [chunk.body.data.decode() for chunk in chunks] == seen
    assert len(chunks) > 3
    assert chunks[-1].body.data.endswith(b"data: [DONE]\n\n")
    times = [chunk.at for chunk in chunks]
    assert 0 <= times[0] < 0.05
    # The app paused 0.05 s after each piece: each was stamped as it passed, not at the end.
    assert all(later - earlier >= 0.04 for earlier, later in itertools.pairwise(times))
    assert (exchange.response.header("content-type") or "").startswith("text/event-stream")


def an_async_stream_is_kept_as_chunks_too(pytester: pytest.Pytester) -> None:
    [exchange] = cassette(pytester, "test_async_stream").exchanges
    assert exchange.response.chunks is not None
    assert exchange.response.content.endswith(b"data: [DONE]\n\n")


def an_error_answer_is_kept_with_its_status_and_body(pytester: pytest.Pytester) -> None:
    recorded = cassette(pytester, "test_error")
    [exchange] = recorded.exchanges
    assert exchange.response.status == 500
    assert "error" in body_json(exchange)
    [log] = recorded.logs
    assert (log["success"], log["status_code"]) == (False, 500)


def a_cache_hit_is_kept_with_its_cache_status(pytester: pytest.Pytester) -> None:
    recorded = cassette(pytester, "test_cache_hit")
    statuses = [e.response.header("cf-aig-cache-status") for e in recorded.exchanges]
    assert statuses == ["MISS", "HIT"]
    assert [log["cached"] for log in recorded.logs] == [False, True]


def a_feedback_round_trip_keeps_its_logs_api_calls_and_the_feedback_in_the_log(
    pytester: pytest.Pytester,
) -> None:
    recorded = cassette(pytester, "test_feedback")
    gateway, *logs_calls = recorded.exchanges
    log_id = gateway.response.header("cf-aig-log-id")
    assert gateway.api == "gateway"
    assert logs_calls
    assert all(e.api == "logs" for e in logs_calls)
    patches = [e for e in logs_calls if e.request.method == "PATCH"]
    [patch] = patches
    assert patch.request.url.endswith(f"/logs/{log_id}")
    assert json.loads(patch.request.body.data) == {"feedback": -1, "score": 40}
    token = header(patch.request.headers, "authorization")
    assert token == "Bearer <redacted:CLOUDFLARE_API_TOKEN>"
    # The logs are read after the test's own PATCH: they show its feedback.
    [log] = recorded.logs
    assert (log["id"], log["feedback"], log["score"]) == (log_id, -1, 40)


def no_secret_reaches_any_file(pytester: pytest.Pytester) -> None:
    files = list((pytester.path / "cassettes").rglob("*.json"))
    assert len(files) == 6
    for path in files:
        text = path.read_text()
        assert PROVIDER_KEY not in text
        assert API_TOKEN not in text


# --- record modes -----------------------------------------------------------------------

MODES = """
import os, httpx, pytest

@pytest.mark.aigw_live
def test_a(aigw):
    for prompt in os.environ.get("PROMPTS", "one").split(","):
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        r = httpx.post(aigw.url("openai") + "/chat/completions", json=body)
        if os.environ.get("READ"):
            aigw.logs.wait_for(r.headers["cf-aig-log-id"], timeout=10)
"""


def prompts(recorded: Cassette) -> list[str]:
    return [
        json.loads(e.request.body.data)["messages"][0]["content"]
        for e in recorded.exchanges
        if e.api == "gateway"
    ]


def modes_run(
    pytester: pytest.Pytester,
    live: list[str],
    monkeypatch: pytest.MonkeyPatch,
    sent: str,
    *args: str,
) -> pytest.RunResult:
    monkeypatch.setenv("PROMPTS", sent)
    result = run(pytester, MODES, *live, *args)
    result.assert_outcomes(passed=1)
    return result


def test_once_records_a_test_without_a_cassette_and_leaves_one_that_has_it(
    pytester: pytest.Pytester, live: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    modes_run(pytester, live, monkeypatch, "one", "--aigw-record=once")
    path = cassette_file(pytester, "test_a")
    before = path.read_bytes()
    assert prompts(Cassette.load(path)) == ["one"]
    modes_run(pytester, live, monkeypatch, "one,two", "--aigw-record")
    assert path.read_bytes() == before


def test_new_episodes_adds_only_the_requests_the_cassette_lacks(
    pytester: pytest.Pytester,
    live: list[str],
    monkeypatch: pytest.MonkeyPatch,
    standin: MockGatewayServer,
) -> None:
    monkeypatch.setenv("READ", "1")
    modes_run(pytester, live, monkeypatch, "one", "--aigw-record=new_episodes")
    path = cassette_file(pytester, "test_a")
    first = Cassette.load(path)
    assert prompts(first) == ["one"]
    modes_run(pytester, live, monkeypatch, "one,two", "--aigw-record=new_episodes")
    second = Cassette.load(path)
    assert prompts(second) == ["one", "two"]
    assert second.exchanges[: len(first.exchanges)] == first.exchanges
    # The second run's log reads: only the one about the new request's log was added.
    two = standin.calls[2].log_id
    added = second.exchanges[len(first.exchanges) :]
    assert [e.api for e in added[:2]] == ["gateway", "logs"]
    assert all(e.request.url.endswith(f"/logs/{two}") for e in added[1:])
    assert [log["id"] for log in second.logs] == [first.logs[0]["id"], two]
    # Nothing new: the file is left as it is.
    before = path.read_bytes()
    modes_run(pytester, live, monkeypatch, "two,one", "--aigw-record=new_episodes")
    assert path.read_bytes() == before


def test_all_writes_every_cassette_again(
    pytester: pytest.Pytester,
    live: list[str],
    monkeypatch: pytest.MonkeyPatch,
    standin: MockGatewayServer,
) -> None:
    modes_run(pytester, live, monkeypatch, "one,two", "--aigw-record=all")
    modes_run(pytester, live, monkeypatch, "three", "--aigw-record=all")
    recorded = cassette(pytester, "test_a")
    assert prompts(recorded) == ["three"]
    assert [log["id"] for log in recorded.logs] == [standin.calls[2].log_id]


def test_none_writes_nothing(
    pytester: pytest.Pytester, live: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = modes_run(pytester, live, monkeypatch, "one", "--aigw-record=none")
    result.stdout.fnmatch_lines(["aigw: recording cassettes (record mode none) in *"])
    assert not (pytester.path / "cassettes").exists()


def test_without_the_option_nothing_is_recorded(
    pytester: pytest.Pytester, live: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = modes_run(pytester, live, monkeypatch, "one")
    assert "recording" not in result.stdout.str()
    assert not (pytester.path / "cassettes").exists()


def test_the_mode_comes_from_the_environment_or_the_ini_file(
    pytester: pytest.Pytester, live: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\naigw_record = none\n")
    result = modes_run(pytester, live, monkeypatch, "one")
    result.stdout.fnmatch_lines(["aigw: recording cassettes (record mode none) in *"])
    monkeypatch.setenv("PYTEST_AIGW_RECORD", "all")
    result = modes_run(pytester, live, monkeypatch, "one")
    result.stdout.fnmatch_lines(["aigw: recording cassettes (record mode all) in *"])
    assert prompts(cassette(pytester, "test_a")) == ["one"]


def test_the_cassette_directory_can_be_given(
    pytester: pytest.Pytester, live: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = modes_run(
        pytester, live, monkeypatch, "one", "--aigw-record", "--aigw-cassette-dir=recorded/here"
    )
    result.stdout.fnmatch_lines(["aigw: recording cassettes (record mode once) in recorded/here"])
    path = cassette_file(pytester, "test_a", "recorded/here")
    assert prompts(Cassette.load(path)) == ["one"]


def test_the_account_id_is_replaced_when_asked(
    pytester: pytest.Pytester,
    live: list[str],
    monkeypatch: pytest.MonkeyPatch,
    standin: MockGatewayServer,
) -> None:
    monkeypatch.setenv("READ", "1")
    modes_run(pytester, live, monkeypatch, "one", "--aigw-record")
    assert standin.account_id in text_of(pytester, "test_a")
    modes_run(
        pytester, live, monkeypatch, "one", "--aigw-record=all", "--aigw-record-redact-account"
    )
    text = text_of(pytester, "test_a")
    assert standin.account_id not in text
    recorded = cassette(pytester, "test_a")
    assert recorded.gateway.account_id == "<account>"
    assert "/<account>/" in recorded.exchanges[0].request.url


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--aigw-record"],
            "--aigw-record records what live tests exchange with the real gateway and needs"
            " --aigw-mode=live; add it, or leave out --aigw-record",
        ),
        (
            ["--aigw-record=sometimes"],
            "--aigw-record must be one of once, new_episodes, all, none, got 'sometimes'",
        ),
        (
            ["--aigw-record-redact-account"],
            None,
        ),
    ],
)
def test_bad_record_settings_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str | None
) -> None:
    result = run(pytester, "def test_nothing(): pass", *args)
    if message is None:
        result.assert_outcomes(passed=1)
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*error: {message}"])


def test_recording_asked_for_by_the_environment_in_mock_mode_is_noted_in_the_header(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_RECORD", "once")
    result = run(pytester, "def test_nothing(): pass")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "aigw: recording is off (PYTEST_AIGW_RECORD asks for once): cassettes are"
            " recorded in live mode only (--aigw-mode=live)"
        ]
    )


def test_a_bad_flag_value_from_the_environment_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_RECORD_REDACT_ACCOUNT", "maybe")
    result = run(pytester, "def test_nothing(): pass")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*error: PYTEST_AIGW_RECORD_REDACT_ACCOUNT must be 1/true/yes or 0/false/no, got 'maybe'"]
    )


# --- logs ---------------------------------------------------------------------------------

UNLOGGED = """
import httpx, pytest

@pytest.mark.aigw_live
def test_unlogged(aigw):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"},
               headers={"cf-aig-collect-log": "false"})
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "n": 2})
"""


def test_a_log_that_never_shows_is_listed_as_missing(
    pytester: pytest.Pytester,
    live: list[str],
    standin: MockGatewayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recording, "LOGS_WAIT", 0.5)  # the run is in this process
    result = run(pytester, UNLOGGED, *live, "--aigw-record")
    result.assert_outcomes(passed=1)
    recorded = cassette(pytester, "test_unlogged")
    unlogged, logged = (call.log_id for call in standin.calls)
    assert recorded.missing_logs == [unlogged]
    assert [log["id"] for log in recorded.logs] == [logged]


APP_READS_LOGS = """
import httpx, pytest

@pytest.mark.aigw_live
def test_reads(aigw):
    r = httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
    logs = f"{aigw.api_url}/accounts/{aigw.account_id}/ai-gateway/gateways/{aigw.gateway_id}/logs"
    token = {"authorization": "Bearer API_TOKEN"}
    assert httpx.get(logs, params={"per_page": 5}, headers=token).status_code == 200
""".replace("API_TOKEN", API_TOKEN)


def test_the_apps_own_logs_api_calls_are_recorded(
    pytester: pytest.Pytester, live: list[str]
) -> None:
    result = run(pytester, APP_READS_LOGS, *live, "--aigw-record")
    result.assert_outcomes(passed=1)
    recorded = cassette(pytester, "test_reads")
    assert [e.api for e in recorded.exchanges] == ["gateway", "logs"]
    listing = recorded.exchanges[1]
    assert listing.request.method == "GET"
    assert "per_page=5" in listing.request.url
    assert header(listing.request.headers, "authorization") == (
        "Bearer <redacted:CLOUDFLARE_API_TOKEN>"
    )
    assert "cf-aig-metadata" not in {name for name, _ in listing.request.headers}
    assert body_json(listing)["success"] is True


# --- secrets ------------------------------------------------------------------------------

ECHO = """
import httpx, pytest

@pytest.mark.aigw_live
def test_echo(aigw):
    body = {"model": "m", "messages": [{"role": "user", "content": "say it"}]}
    r = httpx.post(aigw.url("openai") + "/chat/completions", json=body,
                   params={"api_key": "QUERY_KEY"},
                   headers={"authorization": "Bearer PROVIDER_KEY"})
    assert r.status_code == 200
"""


def test_secrets_in_replies_headers_urls_and_logs_are_scrubbed(
    pytester: pytest.Pytester,
    live: list[str],
    standin: MockGatewayServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_GATEWAY_TOKEN", GATEWAY_TOKEN)
    query_key = "query key/SECRET+4"
    standin.respond(
        f"the key is {PROVIDER_KEY}, the token {API_TOKEN}, the gateway's {GATEWAY_TOKEN}"
        f" and in a URL ?k={quote(query_key, safe='')}"
    )
    source = ECHO.replace("PROVIDER_KEY", PROVIDER_KEY).replace("QUERY_KEY", query_key)
    result = run(pytester, source, *live, "--aigw-record")
    result.assert_outcomes(passed=1)
    text = text_of(pytester, "test_echo")
    for secret in (PROVIDER_KEY, API_TOKEN, GATEWAY_TOKEN, query_key, quote(query_key)):
        assert secret not in text
    recorded = cassette(pytester, "test_echo")
    [exchange] = recorded.exchanges
    reply = body_json(exchange)["choices"][0]["message"]["content"]
    assert reply == (
        "the key is <redacted:authorization>, the token <redacted:CLOUDFLARE_API_TOKEN>, the"
        " gateway's <redacted:PYTEST_AIGW_GATEWAY_TOKEN> and in a URL ?k=<redacted:api_key>"
    )
    sent = exchange.request
    assert sent.url.endswith("?api_key=<redacted:api_key>")
    assert header(sent.headers, "authorization") == "Bearer <redacted:authorization>"
    assert header(sent.headers, "cf-aig-authorization") == (
        "Bearer <redacted:PYTEST_AIGW_GATEWAY_TOKEN>"
    )
    # The log keeps the reply too (its response head): scrubbed the same way.
    assert "<redacted:authorization>" in json.dumps(recorded.logs)


def test_a_secret_the_scrubber_cannot_see_stops_the_file_and_fails_the_test(
    pytester: pytest.Pytester, live: list[str], standin: MockGatewayServer
) -> None:
    hidden = base64.b64encode(f"key={PROVIDER_KEY}".encode()).decode()
    standin.respond(f"here it is, encoded: {hidden}")
    source = ECHO.replace("PROVIDER_KEY", PROVIDER_KEY).replace("QUERY_KEY", "x")
    result = run(pytester, source, *live, "--aigw-record")
    result.assert_outcomes(passed=1, errors=1)
    name = pytester.path.name
    assert_lines(
        result,
        [
            f"pytest-aigw did not write the cassette cassettes/{name[:-1]}/test_echo.json: after"
            " scrubbing it would still hold 1 secret(s):",
            "  1. authorization (base64-encoded) at exchanges[0].response.body",
            "The scrubber replaces secrets as they are, JSON-escaped or URL-encoded; these are"
            " in another form (base64, or split across a stream's chunks). Keep the secret out"
            " of what this test exchanges (a reply should not echo a key), or leave the test"
            " out of the recording (deselect it, or run it without --aigw-record).",
        ],
    )
    assert PROVIDER_KEY not in result.stdout.str()
    assert not (pytester.path / "cassettes").exists()
