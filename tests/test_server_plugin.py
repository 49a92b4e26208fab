"""The `aigw_server` and `aigw_loopback` fixtures as users meet them."""

from __future__ import annotations

import threading

import pytest
from conftest import run

pytest_plugins = ["pytester"]


def server_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("pytest-aigw server")}


def test_tests_share_one_url_but_each_starts_from_a_fresh_gateway(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import requests

        CHAT = {"model": "gpt-4o-mini", "messages": []}
        KEY = {"authorization": "Bearer sk-test"}
        seen = []

        def chat(aigw_server):
            url = aigw_server.url("openai") + "/chat/completions"
            return requests.post(url, json=CHAT, headers=KEY)

        def test_first(aigw_server):
            aigw_server.respond("first reply")
            response = chat(aigw_server)
            assert response.json()["choices"][0]["message"]["content"] == "first reply"
            seen.append(aigw_server.url)

        def test_second(aigw_server):
            assert aigw_server.url == seen[0]
            assert len(aigw_server.calls) == 0 and aigw_server.scripts == []
            response = chat(aigw_server)
            assert response.json()["choices"][0]["message"]["content"] != "first reply"
            assert aigw_server.log_ids == [response.headers["cf-aig-log-id"]]
        """,
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=2)


def test_strict_teardown_checks_apply_to_requests_over_http(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import requests

        def test_wrong_path(aigw_server):
            requests.post(aigw_server.url + "/openai/chat/completions", json={})
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-aigw found 1 problem(s) in what the app sent to the AI Gateway fake:",
            "*1. unexpected request POST http://127.0.0.1:*/openai/chat/completions: the URL"
            " path does not have the gateway's shape /v1/{account_id}/{gateway_id}/{provider}/...",
            "*Fix: build the client's base URL from the fixture, e.g."
            " OpenAI(base_url=aigw.url('openai')); aigw.gateway_url is the gateway root.",
        ]
    )


def test_marker_settings_apply_to_the_served_gateway(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest, requests

        @pytest.mark.aigw(gateway_id="other-gateway", authenticated=True, strict=False)
        def test_marked(aigw_server):
            assert aigw_server.gateway_url.endswith("/other-gateway")
            response = requests.post(aigw_server.url("openai") + "/chat/completions", json={})
            assert response.status_code == 401
            assert response.json()["error"][0]["code"] == 2009
        """,
    )
    result.assert_outcomes(passed=1)


def test_between_tests_the_session_server_says_no_gateway_is_served(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import requests

        def test_uses_the_server_alone(aigw_loopback):
            response = requests.get(aigw_loopback.url + "/v1/a/b/openai/models")
            assert response.status_code == 503
            assert "no fake gateway is being served right now" in response.text
        """,
    )
    result.assert_outcomes(passed=1)


def test_a_session_fixture_can_hand_the_url_to_another_process(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import subprocess, sys, pytest

        CHILD = '''
        import json, sys, time, urllib.request
        url = sys.argv[1] + "/v1/0123456789abcdef0123456789abcdef/test-gateway/openai/models"
        for line in sys.stdin:
            request = urllib.request.Request(url, headers={"authorization": "Bearer sk-test"})
            with urllib.request.urlopen(request) as response:
                print(response.headers["cf-aig-log-id"], flush=True)
        '''

        @pytest.fixture(scope="session")
        def service(aigw_loopback):
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, aigw_loopback.url],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            yield child
            child.stdin.close()
            child.wait(10)
        """
    )
    result = run(
        pytester,
        """
        def ask(service):
            service.stdin.write("go\\n")
            service.stdin.flush()
            return service.stdout.readline().strip()

        def test_one(service, aigw_server):
            log_id = ask(service)
            assert aigw_server.log_ids == [log_id]

        def test_two(service, aigw_server):
            log_id = ask(service)
            assert aigw_server.log_ids == [log_id]
        """,
    )
    result.assert_outcomes(passed=2)


def test_no_server_thread_outlives_the_session(pytester: pytest.Pytester) -> None:
    before = server_threads()
    result = run(
        pytester,
        """
        import requests

        def test_leaves_a_keep_alive_connection_open(aigw_server):
            session = requests.Session()
            session.headers["authorization"] = "Bearer sk-test"
            session.post(aigw_server.url("openai") + "/chat/completions", json={})
            test_leaves_a_keep_alive_connection_open.session = session
        """,
    )
    result.assert_outcomes(passed=1)
    assert server_threads() == before
