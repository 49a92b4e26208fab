"""Live mode end to end, against a loopback server standing in for Cloudflare.

The stand-in is a `MockGatewayServer` with log visibility lag, 429s and 5xx switched
on; a pytester suite runs with ``--aigw-mode=live`` pointed at it, and each test here
checks what the stand-in received.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import API_TOKEN, live_args, run

from pytest_aigw import Call, MockGatewayServer

pytest_plugins = ["pytester"]

GATEWAY_TOKEN = "gw-token-SECRET-2"
PROVIDER_KEY = "sk-provider-SECRET-3"
CONTRACT = Path(__file__).with_name("test_contract.py")


@pytest.fixture
def live(standin: MockGatewayServer) -> list[str]:
    """The command-line arguments of a live run against the stand-in."""
    return [*live_args(standin), "-p", "no:randomly"]


def run_of(call: Call) -> object:
    assert call.metadata is not None
    return call.metadata["aigw_run"]


APP = """
import asyncio, json
import httpx, httpx2, pytest
from openai import OpenAI

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

@pytest.mark.aigw_live
def test_openai_sdk_plain_and_streamed(aigw):
    client = OpenAI(base_url=aigw.url("openai"), api_key="PROVIDER_KEY_HERE", max_retries=0)
    client.chat.completions.create(**CHAT, extra_headers={"cf-aig-metadata": '{"user": "u1"}'})
    stream = client.chat.completions.create(**CHAT, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert [call.metadata for call in aigw.calls] == [{"user": "u1", "test": True}, {"test": True}]
    assert aigw.calls[1].response_headers["content-type"].startswith("text/event-stream")
    assert len(aigw.log_ids) == 2

@pytest.mark.aigw_live
def test_async_httpx2(aigw):
    async def main():
        async with httpx2.AsyncClient() as client:
            response = await client.post(aigw.url("openai") + "/chat/completions", json=CHAT)
            return response.headers["cf-aig-log-id"]
    log_id = asyncio.run(main())
    assert aigw.log_ids == [log_id]

@pytest.mark.aigw_live
def test_feedback_round_trip(aigw):
    httpx.post(aigw.url("openai") + "/chat/completions", json=CHAT)
    log = aigw.assert_feedback_roundtrip(aigw.log_ids[0], feedback=-1, score=40, timeout=20)
    assert (log.feedback, log.score) == (-1, 40)

def test_unmarked_stays_on_the_fake(aigw):
    assert aigw.mode == "mock"
    httpx.post(aigw.url("openai") + "/chat/completions", json=CHAT)
    assert aigw.calls.last.metadata is None
""".replace("PROVIDER_KEY_HERE", PROVIDER_KEY)


def test_marked_tests_go_live_tagged_and_unmarked_ones_stay_on_the_fake(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    standin.fail_logs_api(429, times=2, retry_after=0.05)
    standin.fail_logs_api(503, times=1)
    result = run(pytester, APP, *live)
    result.assert_outcomes(passed=4)
    # The stand-in saw the live tests' four requests and none of the unmarked test's.
    assert len(standin.calls) == 4
    assert all(call.metadata and call.metadata["test"] is True for call in standin.calls)
    assert standin.calls[0].metadata == {"user": "u1", "test": True}
    assert standin.calls[1].json["stream"] is True
    assert all(
        call.secret_matches("authorization", f"Bearer {PROVIDER_KEY}") for call in standin.calls[:2]
    )
    # Feedback reached the stand-in's logs, through the 429s and the 503.
    patched = [log for log in standin.log_store.find([], now=1e12) if log.feedback is not None]
    assert [(log.feedback, log.score) for log in patched] == [(-1, 40)]


def test_the_contract_suite_runs_live_unchanged(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    standin.fail_logs_api(429, times=1, retry_after=0.05)
    pytester.makepyfile(test_contract_live=CONTRACT.read_text())  # a name not yet imported
    result = pytester.runpytest(*live)
    result.assert_outcomes(passed=3)
    assert [call.provider for call in standin.calls] == ["workers-ai"] * 3
    assert all(call.metadata == {"suite": "contract", "test": True} for call in standin.calls)


def test_the_report_header_shows_the_target_and_no_secret(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    result = run(pytester, "def test_nothing(): pass", *live, "--aigw-tag", "team=qa")
    result.stdout.fnmatch_lines(
        [
            f"aigw: mode=live, account={standin.account_id}, gateway={standin.gateway_id},"
            f" gateway_base_url={standin.url}/v1, api_base_url={standin.api_url},"
            ' tags={"test":true,"team":"qa"}'
        ]
    )
    assert API_TOKEN not in result.stdout.str()


def test_extra_tags_and_the_run_id_go_on_every_live_request(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    source = """
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_one(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"},
                       headers={"cf-aig-metadata": '{"user": "u1", "team": "app"}'})
    """
    result = run(
        pytester,
        source,
        *live,
        "--aigw-tag",
        "team=qa",
        "--aigw-tag",
        "build=42",
        "--aigw-run-id",
        "run-7",
    )
    result.assert_outcomes(passed=1)
    assert standin.calls.last.metadata == {
        "user": "u1",
        "team": "qa",
        "test": True,
        "build": 42,
        "aigw_run": "run-7",
    }


def test_a_request_with_no_room_for_the_tags_is_not_sent_and_fails_the_test(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    source = """
        import httpx, pytest

        FULL = '{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}'

        @pytest.mark.aigw_live
        def test_swallows_the_error(aigw):
            try:
                httpx.post(aigw.url("openai") + "/chat/completions", json={},
                           headers={"cf-aig-metadata": FULL})
            except Exception:
                pass
    """
    result = run(pytester, source, *live)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-aigw held back 1 live request(s):",
            "*1. POST http://127.0.0.1:*/openai/chat/completions was not sent to the real"
            " gateway: cannot add 'test' to the app's metadata ('a', 'b', 'c', 'd', 'e'): the"
            " gateway keeps at most 5 entries and the app uses 5, leaving room for 0. Every"
            ' live request must carry {"test": true}; free room in the app\'s cf-aig-metadata'
            " (at most 5 entries), or drop extra tags.",
        ]
    )
    assert len(standin.calls) == 0


def test_mock_only_calls_in_a_live_test_say_why(pytester: pytest.Pytester, live: list[str]) -> None:
    source = """
        import pytest

        @pytest.mark.aigw_live
        def test_scripts(aigw):
            aigw.respond("hello")
    """
    result = run(pytester, source, *live)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LiveModeError: aigw.respond works on the fake gateway only, and this test runs"
            " against the real one (it is marked aigw_live and the run is --aigw-mode=live)."
            " Guard mock-only setup with `if aigw.mode == 'mock':`, or keep it in a test not"
            " marked aigw_live."
        ]
    )


def test_cleanup_deletes_the_runs_logs_and_no_other(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    standin.seed_logs(
        [
            {
                "id": "01JOTHERRUN000000000000000",
                "created_at": "2026-11-01T09:00:00.000Z",
                "provider": "openai",
                "model": "gpt-4o-mini",
                "metadata": {"test": True, "aigw_run": "another-run"},
            }
        ]
    )
    source = """
        import httpx, pytest

        @pytest.mark.aigw_live
        @pytest.mark.parametrize("n", range(3))
        def test_call(aigw, n):
            httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
            aigw.logs.wait_for(aigw.log_ids[0], timeout=10)
    """
    result = run(pytester, source, *live, "--aigw-cleanup")
    result.assert_outcomes(passed=3)
    run_id = run_of(standin.calls.last)
    assert {run_of(call) for call in standin.calls} == {run_id}
    result.stdout.fnmatch_lines([f"pytest-aigw: deleted 3 live log(s) of run {run_id}"])
    assert [log.id for log in standin.log_store.find([], now=1e12)] == [
        "01JOTHERRUN000000000000000"
    ]


def test_xdist_workers_share_one_run_id(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    source = """
        import httpx, pytest

        @pytest.mark.aigw_live
        @pytest.mark.parametrize("n", range(4))
        def test_call(aigw, n):
            httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
    """
    result = run(pytester, source, *live, "--aigw-cleanup", "-n", "2")
    result.assert_outcomes(passed=4)
    assert len({run_of(call) for call in standin.calls}) == 1
    assert len(standin.calls) == 4


def test_a_gateway_token_is_sent_and_no_secret_is_printed_or_written(
    pytester: pytest.Pytester,
    standin: MockGatewayServer,
    live: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_GATEWAY_TOKEN", GATEWAY_TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", PROVIDER_KEY)  # the app reads its key, as apps do
    standin._fake.authenticated = True
    source = """
        import pytest
        from openai import OpenAI

        @pytest.mark.aigw_live
        def test_fails_after_calls(aigw):
            client = OpenAI(base_url=aigw.url("openai"), max_retries=0)  # key from the env
            client.chat.completions.create(model="m", messages=[])
            aigw.assert_feedback_roundtrip(aigw.log_ids[0], timeout=10)
            print(aigw.calls, aigw.calls.last.request.headers, aigw.logs, aigw)
            assert aigw.calls.last.status_code == 999
    """
    result = run(pytester, source, *live, "-rA", "-vv", "-l", "--junitxml=report.xml")
    result.assert_outcomes(failed=1)
    assert standin.calls.last.secret_matches("cf-aig-authorization", f"Bearer {GATEWAY_TOKEN}")
    written = [
        path.read_text(errors="replace") for path in pytester.path.rglob("*") if path.is_file()
    ]
    for text in [result.stdout.str(), result.stderr.str(), *written]:
        for secret in (API_TOKEN, GATEWAY_TOKEN, PROVIDER_KEY):
            assert secret not in text


# --- switching on, and never by accident ------------------------------------------------


def test_live_mode_with_nothing_set_names_everything_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "PYTEST_AIGW_GATEWAY_ID"):
        monkeypatch.delenv(name, raising=False)
    result = run(pytester, "def test_nothing(): pass", "--aigw-mode=live")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-aigw: live mode (--aigw-mode=live) needs CLOUDFLARE_ACCOUNT_ID"
            " (environment); CLOUDFLARE_API_TOKEN (environment); the gateway id"
            " (--aigw-gateway, PYTEST_AIGW_GATEWAY_ID or ini aigw_gateway). Set them, or"
            " leave out --aigw-mode=live to test against the fake gateway."
        ]
    )


def test_live_mode_names_only_what_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", "acct")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    result = run(pytester, "def test_nothing(): pass", "--aigw-mode=live", "--aigw-gateway=gw")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-aigw: live mode (--aigw-mode=live) needs"
            " CLOUDFLARE_API_TOKEN (environment). Set them*"
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aigw-mode=staging"], "--aigw-mode must be mock, live or replay, got 'staging'"),
        (
            ["--aigw-api-base-url=api.example.com"],
            "--aigw-api-base-url must be an http:// or https:// URL, got 'api.example.com'",
        ),
        (["--aigw-tag", "oops"], "--aigw-tag must be KEY=VALUE tags, got 'oops'"),
    ],
)
def test_bad_settings_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = run(pytester, "def test_nothing(): pass", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*: error: {message}"])


def test_command_line_beats_environment_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\naigw_mode = live\naigw_gateway = from-ini\n")
    monkeypatch.setenv("PYTEST_AIGW_MODE", "mock")
    monkeypatch.setenv("PYTEST_AIGW_GATEWAY_ID", "from-env")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["aigw: mode=mock, account=*, gateway=from-env"])
    result = pytester.runpytest("--aigw-gateway=from-cli")
    result.stdout.fnmatch_lines(["aigw: mode=mock, account=*, gateway=from-cli"])
    monkeypatch.delenv("PYTEST_AIGW_MODE")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    result = pytester.runpytest()  # the ini's live mode now applies
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_mock_mode_sends_nothing_live_even_for_marked_tests(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    source = """
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_marked(aigw):
            assert aigw.mode == "mock"
            httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
    """
    mock_args = [arg for arg in live if arg != "--aigw-mode=live"]
    result = run(pytester, source, *mock_args)
    result.assert_outcomes(passed=1)
    assert len(standin.calls) == 0


def test_round_trip_timeout_says_what_the_api_last_returned(
    pytester: pytest.Pytester, live: list[str]
) -> None:
    source = """
        import pytest

        @pytest.mark.aigw_live
        def test_unknown_log(aigw):
            aigw.assert_feedback_roundtrip("01JNOSUCHLOG00000000000000", timeout=0.5)
    """
    result = run(pytester, source, *live)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*01JNOSUCHLOG00000000000000*404*"])


def test_the_tags_setting_reads_comma_separated_env(
    pytester: pytest.Pytester,
    standin: MockGatewayServer,
    live: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_TAGS", "ci=true, job=nightly")
    source = """
        import httpx, pytest

        @pytest.mark.aigw_live
        def test_one(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"})
    """
    run(pytester, source, *live).assert_outcomes(passed=1)
    assert standin.calls.last.metadata == {"test": True, "ci": True, "job": "nightly"}
    assert json.dumps(standin.calls.last.metadata)


REST_APP = """
import httpx, pytest
from openai import OpenAI
from anthropic import Anthropic

HI = [{"role": "user", "content": "hi"}]

@pytest.mark.aigw_live
def test_rest_calls_are_forwarded_and_tagged(aigw):
    client = OpenAI(base_url=aigw.rest_url + "/v1", api_key="APP_TOKEN", max_retries=0)
    client.chat.completions.create(
        model="openai/gpt-4.1", messages=HI, extra_headers={"cf-aig-metadata": '{"user": "u1"}'}
    )
    stream = client.chat.completions.create(model="openai/gpt-4.1", messages=HI, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    claude = Anthropic(base_url=aigw.rest_url, api_key="APP_TOKEN", max_retries=0)
    claude.messages.create(model="anthropic/claude-sonnet-4", max_tokens=9, messages=HI)
    run = httpx.post(aigw.rest_url + "/run", json={"model": "openai/gpt-4.1", "input": {}})
    assert run.json()["success"] is True
    cf = httpx.post(aigw.rest_url + "/run/@cf/meta/llama-3.1-8b-instruct", json={"prompt": "x"})
    assert cf.status_code == 400  # Workers AI models need cf-aig-gateway-id, live or not
    assert [c.endpoint for c in aigw.calls] == ["rest"] * 5
    assert [c.model for c in aigw.calls][:4] == [
        "openai/gpt-4.1", "openai/gpt-4.1", "anthropic/claude-sonnet-4", "openai/gpt-4.1"]
    assert aigw.calls[0].metadata["user"] == "u1"
    assert len(aigw.log_ids) == 4
    aigw.logs.wait_for(aigw.log_ids[-1], timeout=10)
"""


def test_rest_api_calls_go_live_tagged_to_the_configured_gateway_and_are_cleaned_up(
    pytester: pytest.Pytester, standin: MockGatewayServer, live: list[str]
) -> None:
    result = run(pytester, REST_APP, *live, "--aigw-cleanup")
    result.assert_outcomes(passed=1)
    calls = standin.calls
    assert [call.endpoint for call in calls] == ["rest"] * 5
    assert all(call.metadata and call.metadata["test"] is True for call in calls)
    assert calls[0].metadata == {"user": "u1", "test": True, "aigw_run": run_of(calls[0])}
    # The app's own token passes through; the run's API token fills in where it sent none.
    assert all(call.secret_matches("authorization", "Bearer APP_TOKEN") for call in calls[:3])
    assert calls[3].secret_matches("authorization", f"Bearer {API_TOKEN}")
    # Calls without cf-aig-gateway-id go to the configured gateway; @cf models get none.
    assert [call.headers.get("cf-aig-gateway-id") for call in calls] == [standin.gateway_id] * 4 + [
        None
    ]
    assert calls[4].status_code == 400
    result.stdout.fnmatch_lines([f"pytest-aigw: deleted 4 live log(s) of run {run_of(calls[0])}"])
    assert standin.log_store.find([], now=1e12) == []
