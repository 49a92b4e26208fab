"""``--aigw-mode=replay``: aigw_live tests answered from their cassettes, offline.

Each test writes a user's suite and the cassettes a live recording of it would leave,
then runs the suite in replay mode with pytester.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from replay_cassettes import (
    CHAT,
    REDACTED_PLACE,
    TAGS,
    chat,
    chat_answer,
    chat_body,
    error_answer,
    log,
    request,
    stream_answer,
    write,
)

from pytest_aigw.cassette import Exchange
from pytest_aigw.fake import replayed

REPLAY = "--aigw-mode=replay"
LOG1 = "019ad5a0-0000-7000-8000-000000000001"
LOG2 = "019ad5a0-0000-7000-8000-000000000002"
LOG3 = "019ad5a0-0000-7000-8000-000000000003"

# Any connection that is not to this machine fails, and is noted in blocked.log.
SOCKET_GUARD = """
import ipaddress
import socket
from pathlib import Path

_real = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
BLOCKED = Path(__file__).parent / "blocked.log"


def _local(host):
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False


def _refuse(what):
    with BLOCKED.open("a") as file:
        file.write(f"{what}\\n")
    raise OSError(f"socket guard: no network in this run ({what})")


def _connect(sock, address, *rest):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse(f"connect {address!r}")
    return _real[0](sock, address, *rest)


def _connect_ex(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _refuse(f"connect_ex {address!r}")
    return _real[1](sock, address)


def _getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse(f"getaddrinfo {host!r}")
    return _real[2](host, *args, **kwargs)


def pytest_configure(config):
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo


def pytest_unconfigure(config):
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = _real
"""

SUITE = f"""
import socket

import openai
import pytest
from openai import OpenAI

LOG1, LOG2, LOG3 = "{LOG1}", "{LOG2}", "{LOG3}"


def client(aigw):
    return OpenAI(
        base_url=aigw.url("openai"),
        api_key="sk-replay-only",
        max_retries=0,
        default_headers={{"cf-aig-metadata": '{{"user":"u1"}}'}},
    )


def ask(aigw, prompt):
    messages = [{{"role": "user", "content": prompt}}]
    return client(aigw).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages
    )


@pytest.mark.aigw_live
def test_chat(aigw):
    raw = ask(aigw, "hello")
    assert raw.parse().choices[0].message.content == "Hi there"
    assert raw.headers["cf-aig-log-id"] == LOG1
    call = aigw.calls.last
    assert (call.log_id, call.model, call.status_code) == (LOG1, "gpt-4o-mini", 200)
    assert call.metadata == {{"user": "u1", "test": True}}
    assert aigw.mode == "replay"


@pytest.mark.aigw_live
def test_stream(aigw):
    stream = client(aigw).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{{"role": "user", "content": "count"}}],
        stream=True,
    )
    deltas = [c.choices[0].delta.content for c in stream if c.choices]
    pieces = [d for d in deltas if d]
    assert pieces == ["one ", "two ", "three"]
    assert aigw.log_ids == [LOG1]


@pytest.mark.aigw_live
def test_error(aigw):
    with pytest.raises(openai.RateLimitError) as raised:
        ask(aigw, "again")
    assert raised.value.status_code == 429
    assert "Rate limited" in raised.value.response.text


@pytest.mark.aigw_live
def test_cache_hit(aigw):
    first, second = ask(aigw, "cached"), ask(aigw, "cached")
    assert first.headers["cf-aig-cache-status"] == "MISS"
    assert second.headers["cf-aig-cache-status"] == "HIT"
    assert [c.cache_status for c in aigw.calls] == ["MISS", "HIT"]
    assert second.parse().choices[0].message.content == "from cache"


@pytest.mark.aigw_live
def test_feedback(aigw):
    ask(aigw, "rate me")
    shown = aigw.assert_feedback_roundtrip(LOG2, feedback=-1, score=40)
    assert (shown.feedback, shown.score) == (-1, 40)
    assert aigw.logs.get(LOG2).metadata["user"] == "u1"


@pytest.mark.aigw_live
@pytest.mark.aigw_eval
def test_eval_case(aigw):
    assert ask(aigw, "grade me").parse().choices[0].message.content == "A+"
    aigw.score(90)


def test_plain_fake(aigw):
    aigw.respond("mocked")
    assert ask(aigw, "anything").parse().choices[0].message.content == "mocked"
    assert aigw.mode == "mock"


def test_the_guard_holds():
    with pytest.raises(OSError, match="socket guard"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
"""


def write_suite(pytester: pytest.Pytester) -> Path:
    """The suite, the socket guard, and the cassettes its recording left."""
    pytester.makeconftest(SOCKET_GUARD)
    pytester.makepyfile(test_app=SUITE)
    root = pytester.path / "cassettes"
    write(root, "test_app.py::test_chat", [chat("hello", "Hi there", LOG1)], [log(LOG1)])
    stream = Exchange(
        "gateway",
        request(chat_body("count", stream=True)),
        stream_answer(["one ", "two ", "three"], LOG1),
    )
    write(root, "test_app.py::test_stream", [stream], [log(LOG1)])
    limited = error_answer(429, 2003, "Rate limited")
    write(
        root, "test_app.py::test_error", [Exchange("gateway", request(chat_body("again")), limited)]
    )
    write(
        root,
        "test_app.py::test_cache_hit",
        [chat("cached", "from cache", LOG1), chat("cached", "from cache", LOG2, cache="HIT")],
        [log(LOG1), log(LOG2)],
    )
    write(
        root, "test_app.py::test_feedback", [chat("rate me", "ok", LOG2)], [log(LOG2, feedback=-1)]
    )
    write(root, "test_app.py::test_eval_case", [chat("grade me", "A+", LOG3)], [log(LOG3)])
    return root


def test_a_recorded_suite_replays_offline_with_the_same_outcomes(
    pytester: pytest.Pytester,
) -> None:
    write_suite(pytester)
    report = pytester.path / "eval.json"
    result = pytester.runpytest(REPLAY, f"--aigw-eval-report={report}", "-p", "no:randomly")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["aigw: mode=replay, account=*"])
    blocked = (pytester.path / "blocked.log").read_text().splitlines()
    assert blocked == ["getaddrinfo '192.0.2.1'"]  # the guard's own test, nothing else
    (case,) = json.loads(report.read_text())["cases"]
    assert case["log_ids"] == [LOG3]
    verdict = {key: case["logs"][0][key] for key in ("log_id", "feedback", "score")}
    assert verdict == {"log_id": LOG3, "feedback": 1, "score": 90}
    assert (case["logs"][0]["submitted"], case["logs"][0]["verified"]) == (True, True)


def test_the_suite_passes_through_aiohttp_requests_and_httpx_async_too(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(SOCKET_GUARD)
    pytester.makepyfile(
        test_doors=f"""
        import asyncio, json
        import aiohttp, httpx, pytest, requests

        BODY = {json.dumps(chat_body("hello"))!r}
        HEADERS = {{"content-type": "application/json", "cf-aig-metadata": '{{"user":"u1"}}'}}

        @pytest.mark.aigw_live
        def test_doors(aigw):
            url = aigw.url("openai") + "/chat/completions"
            assert requests.post(url, data=BODY, headers=HEADERS).headers["cf-aig-log-id"] == "L1"

            async def both():
                async with aiohttp.ClientSession() as session:
                    async with session.post(url, data=BODY, headers=HEADERS) as answer:
                        assert answer.headers["cf-aig-log-id"] == "L2"
                        assert (await answer.json())["choices"][0]["message"]["content"] == "2"
                async with httpx.AsyncClient() as client:
                    answer = await client.post(url, content=BODY, headers=HEADERS)
                    assert answer.headers["cf-aig-log-id"] == "L3"

            asyncio.run(both())
            assert aigw.log_ids == ["L1", "L2", "L3"]
        """
    )
    exchanges = [chat("hello", str(n), f"L{n}") for n in (1, 2, 3)]
    write(pytester.path / "cassettes", "test_doors.py::test_doors", exchanges)
    result = pytester.runpytest(REPLAY, "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "blocked.log").exists()


UNMATCHED_SUITE = """
import httpx, pytest

@pytest.mark.aigw_live
def test_asks_otherwise(aigw):
    url = aigw.url("openai") + "/chat/completions"
    body = {"messages": [{"role": "user", "content": "HELLO"}], "model": "gpt-4o-mini"}
    answer = httpx.post(url, json=body)
    assert answer.status_code == 404
    assert "no exchange recorded" in answer.json()["error"][0]["message"]
"""


def test_a_request_with_no_recorded_answer_is_a_404_and_a_finding_naming_the_closest(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_app=UNMATCHED_SUITE)
    write(
        pytester.path / "cassettes", "test_app.py::test_asks_otherwise", [chat("hello", "hi", LOG1)]
    )
    result = pytester.runpytest(REPLAY)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-aigw found 2 problem(s) replaying cassettes/test_app/test_asks_otherwise.json:",
            "  1. unexpected request POST https://gateway.ai.cloudflare.com/v1/0123456789abcdef"
            "0123456789abcdef/test-gateway/openai/chat/completions: no exchange recorded in"
            " cassettes/test_app/test_asks_otherwise.json"
            " matches it (method, path, body and cf-aig-metadata); the closest, exchange #1"
            " (POST openai/chat/completions), differs in body field messages.0.content:"
            " recorded 'hello', sent 'HELLO'",
            "     Record it: pytest --aigw-mode=live --aigw-record=new_episodes"
            " 'test_app.py::test_asks_otherwise'; or, if a field changes from run to run,"
            " leave it out of matching with --aigw-replay-ignore=FIELD.",
            "  2. recorded exchange #1 (POST openai/chat/completions) in"
            " cassettes/test_app/test_asks_otherwise.json was not used: the app no longer"
            " sends it (or sends it otherwise: see any unexpected request above). Record the"
            " test again with pytest --aigw-mode=live --aigw-record=all"
            " 'test_app.py::test_asks_otherwise' to drop it.",
            "To turn these checks off for one test, mark it @pytest.mark.aigw(strict=False).",
        ]
    )


def test_a_repeated_request_gets_the_recorded_answers_in_order_then_a_finding(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_app="""
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_thrice(aigw):
            url = aigw.url("openai") + "/chat/completions"
            body = {"messages": [{"role": "user", "content": "hello"}], "model": "gpt-4o-mini"}
            headers = {"cf-aig-metadata": '{"user":"u1"}'}
            answers = [httpx.post(url, json=body, headers=headers) for _ in range(3)]
            ids = [answer.headers.get("cf-aig-log-id") for answer in answers]
            assert ids == ["L1", "L2", None]
        """
    )
    exchanges = [chat("hello", "one", "L1"), chat("hello", "two", "L2")]
    write(pytester.path / "cassettes", "test_app.py::test_thrice", exchanges)
    result = pytester.runpytest(REPLAY)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*matches it (method, path, body and cf-aig-metadata); exchange #1"
            " (POST openai/chat/completions) matches it but already answered request #1: each"
            " recorded exchange answers once, and the app sent this request more often than"
            " when it was recorded",
        ]
    )


def test_ignored_fields_leave_matching_from_the_option_the_environment_and_the_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\naigw_replay_ignore =\n    user\n")
    pytester.makepyfile(
        test_app="""
        import time, httpx, pytest

        @pytest.mark.aigw_live
        def test_volatile(aigw):
            body = {
                "messages": [{"role": "user", "content": "hello", "id": str(time.time())}],
                "model": "gpt-4o-mini",
                "user": "someone-else",
                "metadata": {"run_id": str(time.time()), "keep": "k"},
            }
            headers = {"cf-aig-metadata": '{"user":"u1","trace":"%s"}' % time.time()}
            url = aigw.url("openai") + "/chat/completions"
            answer = httpx.post(url, json=body, headers=headers)
            assert answer.headers["cf-aig-log-id"] == "L1"
        """
    )
    recorded = chat_body("hello", user="u-rec", metadata={"run_id": "r-rec", "keep": "k"})
    recorded["messages"][0]["id"] = "m-rec"
    header = '{"user":"u1","trace":"t-rec","test":true,"aigw_run":"01JRUN"}'
    exchange = Exchange("gateway", request(recorded, metadata=header), chat_answer("hi", "L1"))
    write(pytester.path / "cassettes", "test_app.py::test_volatile", [exchange])
    monkeypatch.setenv("PYTEST_AIGW_REPLAY_IGNORE", "metadata.run_id,cf-aig-metadata.trace")
    result = pytester.runpytest(REPLAY, "--aigw-replay-ignore=messages.*.id")
    result.assert_outcomes(passed=1)
    monkeypatch.delenv("PYTEST_AIGW_REPLAY_IGNORE")
    result = pytester.runpytest(REPLAY, "--aigw-replay-ignore=messages.*.id")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*differs in body field metadata.run_id: recorded 'r-rec', sent '*"]
    )


def test_the_redacted_account_the_rest_api_and_secrets_in_a_universal_body_match(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_app="""
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_places(aigw):
            rest = httpx.post(aigw.rest_url + "/v1/chat/completions",
                              json={"model": "openai/gpt-4o-mini", "account": aigw.account_id})
            assert rest.headers["cf-aig-log-id"] == "R1"
            assert aigw.calls.last.endpoint == "rest"
            assert aigw.calls.last.model == "openai/gpt-4o-mini"
            steps = [{"provider": "openai", "endpoint": "chat/completions",
                      "headers": {"authorization": "Bearer sk-real-key"}, "query": {"model": "m"}}]
            universal = httpx.post(aigw.gateway_url, json=steps)
            assert universal.headers["cf-aig-log-id"] == "U1"
            assert aigw.calls.last.endpoint == "universal"
        """
    )
    place = REDACTED_PLACE
    rest = Exchange(
        "rest",
        type(request({}))(
            "POST",
            f"{place.api_url}/accounts/<account>/ai/v1/chat/completions",
            [("authorization", "Bearer <redacted:CLOUDFLARE_API_TOKEN>")],
            request({"model": "openai/gpt-4o-mini", "account": "<account>"}).body,
        ),
        chat_answer("rest", "R1"),
    )
    steps = [
        {
            "provider": "openai",
            "endpoint": "chat/completions",
            "headers": {"authorization": "Bearer <redacted:OPENAI_API_KEY>"},
            "query": {"model": "m"},
        }
    ]
    universal = Exchange(
        "gateway", request(steps, "", place=place, metadata=None), chat_answer("u", "U1")
    )
    logs_call = Exchange(
        "logs",
        type(request({}))("GET", f"{place.api_url}/accounts/<account>/ai-gateway/gateways/g/logs"),
        error_answer(500, 1, "never replayed"),
    )
    write(
        pytester.path / "cassettes",
        "test_app.py::test_places",
        [rest, universal, logs_call],
        place=place,
    )
    result = pytester.runpytest(REPLAY)
    result.assert_outcomes(passed=1)


def test_mock_only_calls_raise_as_in_live_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app="""
        import pytest
        from pytest_aigw import LiveModeError, MockGateway

        @pytest.mark.aigw_live
        def test_scripting(aigw):
            assert not isinstance(aigw, MockGateway)
            for name in ("respond", "fail", "guardrail", "dlp", "auto_route", "route", "seed_logs"):
                with pytest.raises(LiveModeError, match="replays its cassette"):
                    getattr(aigw, name)("x")
            with pytest.raises(LiveModeError):
                aigw.reset()
            for name in ("clock", "log_store", "scripts"):
                with pytest.raises(LiveModeError):
                    getattr(aigw, name)
            assert aigw.cassette.test == "test_app.py::test_scripting"
        """
    )
    write(pytester.path / "cassettes", "test_app.py::test_scripting", [])
    result = pytester.runpytest(REPLAY)
    result.assert_outcomes(passed=1)


def test_a_test_without_a_cassette_fails_saying_where_it_looked_and_how_to_record(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_app="""
        import pytest

        @pytest.mark.aigw_live
        def test_new(aigw):
            pass
        """
    )
    result = pytester.runpytest(REPLAY, "--aigw-cassette-dir=recorded")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-aigw: no cassette for this aigw_live test: looked for"
            " recorded/test_app/test_new.json (--aigw-mode=replay answers aigw_live tests from"
            " their cassettes). Record it once against the real gateway, with"
            " CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN and the gateway id set: pytest"
            " --aigw-mode=live --aigw-record --aigw-cassette-dir=recorded"
            " 'test_app.py::test_new'; then commit recorded/test_app/test_new.json.",
        ]
    )


def test_the_cassette_dir_comes_from_the_environment_and_the_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_app="""
        import pytest

        @pytest.mark.aigw_live
        def test_here(aigw):
            assert aigw.source.endswith("test_here.json")
        """
    )
    write(pytester.path / "from-ini", "test_app.py::test_here", [])
    write(pytester.path / "from-env", "test_app.py::test_here", [])
    pytester.makeini("[pytest]\naigw_cassette_dir = from-ini\naigw_mode = replay\n")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)
    monkeypatch.setenv("PYTEST_AIGW_CASSETTE_DIR", "from-env")
    (pytester.path / "from-ini").rename(pytester.path / "gone")
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_cassette_with_bad_logs_fails_naming_the_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app="""
        import pytest

        @pytest.mark.aigw_live
        def test_logs(aigw):
            pass
        """
    )
    write(pytester.path / "cassettes", "test_app.py::test_logs", [], [{"id": "x"}])
    result = pytester.runpytest(REPLAY)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "cassettes/test_app/test_logs.json: logs: seeded log #1 (id 'x'): missing required"
            " field(s) created_at, provider, model"
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aigw-replay-speed=fast"], "--aigw-replay-speed must be a speed >= 0"),
        (["--aigw-replay-speed=-1"], "--aigw-replay-speed must be a speed >= 0"),
        (["--aigw-replay-speed=nan"], "--aigw-replay-speed must be a speed >= 0"),
        (["--aigw-replay-ignore=a..b"], "--aigw-replay-ignore must be a dotted field path"),
        (["--aigw-replay-ignore= "], "--aigw-replay-ignore must be a dotted field path"),
    ],
)
def test_bad_replay_settings_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(REPLAY, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


SPEED_SUITE = """
import pytest
from openai import OpenAI

@pytest.mark.aigw_live
def test_stream(aigw):
    client = OpenAI(base_url=aigw.url("openai"), api_key="sk", max_retries=0,
                    default_headers={"cf-aig-metadata": '{"user":"u1"}'})
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "count"}], stream=True
    )
    assert len([chunk for chunk in stream]) == 2
"""


@pytest.mark.parametrize(
    ("args", "waits"),
    [
        ([], []),
        (["--aigw-replay-speed=1"], [0.25, 0.25, 0.25]),
        (["--aigw-replay-speed=2"], [0.125, 0.125, 0.125]),
    ],
)
def test_replay_speed_paces_chunks_by_their_recorded_times(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    waits: list[float],
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(replayed, "sleep", slept.append)
    pytester.makepyfile(test_app=SPEED_SUITE)
    stream = Exchange(
        "gateway", request(chat_body("count", stream=True)), stream_answer(["a", "b"], LOG1)
    )
    write(pytester.path / "cassettes", "test_app.py::test_stream", [stream])
    pytester.runpytest(REPLAY, *args).assert_outcomes(passed=1)
    assert slept == waits


def test_replay_speed_from_the_environment_and_the_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(replayed, "sleep", slept.append)
    pytester.makepyfile(test_app=SPEED_SUITE)
    stream = Exchange(
        "gateway", request(chat_body("count", stream=True)), stream_answer(["a", "b"], LOG1)
    )
    write(pytester.path / "cassettes", "test_app.py::test_stream", [stream])
    pytester.makeini("[pytest]\naigw_replay_speed = 0.5\n")
    pytester.runpytest(REPLAY).assert_outcomes(passed=1)
    monkeypatch.setenv("PYTEST_AIGW_REPLAY_SPEED", "4")
    pytester.runpytest(REPLAY).assert_outcomes(passed=1)
    assert slept == [0.5] * 3 + [0.0625] * 3


def test_tests_not_marked_live_and_mock_runs_ignore_cassettes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app="""
        import pytest

        def test_plain(aigw):
            assert aigw.mode == "mock"

        @pytest.mark.aigw_live
        def test_live_in_mock_mode(aigw):
            assert aigw.mode == "mock"
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
    result = pytester.runpytest(REPLAY, "-k", "plain")
    result.assert_outcomes(passed=1, deselected=1)


def test_the_header_line_names_the_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--aigw-mode", "replay")
    result.stdout.fnmatch_lines(["aigw: mode=replay, account=*, gateway=test-gateway"])


def test_metadata_recorded_with_other_run_tags_still_matches(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_app=textwrap.dedent(
            """
            import httpx, pytest

            @pytest.mark.aigw_live
            def test_tagged(aigw):
                url = aigw.url("openai") + "/chat/completions"
                body = {"messages": [{"role": "user", "content": "hello"}], "model": "gpt-4o-mini"}
                answer = httpx.post(url, json=body, headers={"cf-aig-metadata": '{"user":"u1"}'})
                assert answer.headers["cf-aig-log-id"] == "L1"
                assert aigw.calls.last.metadata == {"user": "u1", "test": True, "ci": "yes"}
            """
        )
    )
    header = '{"user":"u1","test":true,"ci":"yes","aigw_run":"01JOTHER"}'
    exchange = Exchange(
        "gateway", request(chat_body("hello"), CHAT, metadata=header), chat_answer("x", "L1")
    )
    write(pytester.path / "cassettes", "test_app.py::test_tagged", [exchange])
    pytester.runpytest(REPLAY, "--aigw-tag", "ci=yes").assert_outcomes(passed=1)
    assert TAGS  # the default recorded header carries the same live tags


def test_a_failing_replayed_test_shows_the_recorded_reply_in_its_calls_section(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_app="""
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_chat(aigw):
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
            headers = {"cf-aig-metadata": '{"user":"u1"}'}
            httpx.post(aigw.url("openai") + "/chat/completions", json=body, headers=headers)
            assert False, "the answer was wrong"
        """
    )
    write(pytester.path / "cassettes", "test_app.py::test_chat", [chat("hello", "Hi there", LOG1)])
    result = pytester.runpytest(REPLAY, "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*pytest-aigw: the calls this test made*", "   prompt: hello", "   reply: Hi there"]
    )


def test_a_secret_the_app_sent_is_hidden_in_a_replayed_tests_calls_section(
    pytester: pytest.Pytester,
) -> None:
    secret = "sk-replayed-SECRET-123456"
    pytester.makepyfile(
        test_app=f"""
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_chat(aigw):
            prompt = [{{"role": "user", "content": "{secret}"}}]
            body = {{"model": "gpt-4o-mini", "messages": prompt}}
            headers = {{"cf-aig-metadata": '{{"user":"u1"}}', "authorization": "Bearer {secret}"}}
            httpx.post(aigw.url("openai") + "/chat/completions", json=body, headers=headers)
            assert False
        """
    )
    exchange = chat("<redacted:authorization>", "Hi there", LOG1)
    write(pytester.path / "cassettes", "test_app.py::test_chat", [exchange])
    result = pytester.runpytest(REPLAY, "-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*pytest-aigw: the calls this test made*", "   reply: Hi there"])
    section = result.stdout.str().split("the calls this test made")[1]
    assert "prompt:" in section
    assert secret not in section
