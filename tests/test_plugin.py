"""The plugin as users meet it: fixture, markers, ini, teardown checks and messages."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import run

from pytest_aigw import settings

pytest_plugins = ["pytester"]

# Every setting and the marker's own log_settings, as the message lists them.
ALLOWED = ", ".join(sorted([*settings.names(), "log_settings"]))
GATEWAY = "https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef/test-gateway"


def test_fixture_answers_httpx_and_records_the_call(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_chat(aigw):
            response = httpx.post(
                aigw.url("openai") + "/chat/completions",
                json={"model": "gpt-4o-mini", "messages": []},
                headers={
                    "authorization": "Bearer sk-test",
                    "cf-aig-metadata": '{"user": "u1", "team": 7}',
                },
            )
            assert response.status_code == 200
            call = aigw.calls.last
            assert call.provider == "openai"
            assert call.path == "chat/completions"
            assert call.model == "gpt-4o-mini"
            assert call.metadata == {"user": "u1", "team": 7}
            assert aigw.log_ids == [response.headers["cf-aig-log-id"]]
        """,
    )
    result.assert_outcomes(passed=1)


def test_unexpected_request_fails_at_teardown_even_when_the_app_swallows_it(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_swallowed(aigw):
            try:
                httpx.post(
                    "https://gateway.ai.cloudflare.com/v1/other-account/test-gateway/openai/chat/completions",
                    json={},
                ).raise_for_status()
            except httpx.HTTPStatusError:
                pass
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_swallowed*",
            "pytest-aigw found 1 problem(s) in what the app sent to the AI Gateway fake:",
            "  1. unexpected request POST https://gateway.ai.cloudflare.com/v1/other-account/"
            "test-gateway/openai/chat/completions: it names account 'other-account' and gateway"
            " 'test-gateway', but the fake serves account '0123456789abcdef0123456789abcdef'"
            " and gateway 'test-gateway'",
            "     Fix: build the URL from aigw.gateway_url, or mark the test"
            " @pytest.mark.aigw(account_id=..., gateway_id=...) to serve those ids.",
            "To turn these checks off for one test, mark it @pytest.mark.aigw(strict=False).",
        ]
    )


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            '{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}',
            "cf-aig-metadata has 6 entries but the gateway keeps at most 5 (the first 5);"
            " dropped: 'f'",
        ),
        (
            '{"user": "u1", "ctx": {"nested": true}}',
            "cf-aig-metadata values must be strings, numbers or booleans, not null, objects"
            " or arrays (see 'ctx'); the gateway then stores no metadata at all",
        ),
        ('{"user": null}', "*not null, objects or arrays (see 'user')*"),
        ("{not json", "cf-aig-metadata is not valid JSON (*); nothing is stored"),
        ('["a", "b"]', "cf-aig-metadata must be a JSON object, got list *; nothing is stored"),
        ('{"cf.user_id": "u"}', "*keys starting with 'cf.' are reserved and dropped: 'cf.user_id'"),
    ],
)
def test_metadata_the_gateway_would_lose_fails_at_teardown(
    pytester: pytest.Pytester, header: str, message: str
) -> None:
    result = run(
        pytester,
        f"""
        import httpx

        def test_send(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={{}},
                       headers={{"cf-aig-metadata": {header!r}}})
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*1. call #1 POST " + GATEWAY + "/openai/chat/completions (log id *): " + message,
            "To turn these checks off for one test, mark it @pytest.mark.aigw(strict=False).",
        ]
    )


def test_strict_false_marker_turns_teardown_checks_off(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx, pytest

        @pytest.mark.aigw(strict=False)
        def test_send(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={},
                       headers={"cf-aig-metadata": '{"a": null}'})
            assert aigw.calls.last.metadata is None
            assert aigw.findings()
        """,
    )
    result.assert_outcomes(passed=1)


def test_strict_false_in_ini_turns_checks_off_and_a_marker_turns_them_back_on(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\naigw_strict = false\n")
    result = run(
        pytester,
        """
        import httpx, pytest

        def send(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={},
                       headers={"cf-aig-metadata": '{"a": null}'})

        def test_lenient(aigw):
            send(aigw)

        @pytest.mark.aigw(strict=True)
        def test_strict(aigw):
            send(aigw)
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_strict*"])


def test_teardown_checks_are_skipped_when_the_test_already_failed(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_fails(aigw):
            httpx.post(aigw.url("openai") + "/chat/completions", json={},
                       headers={"cf-aig-metadata": "not json"})
            assert False, "the test's own failure"
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.no_fnmatch_line("*pytest-aigw found*")


def test_marker_options_merge_with_the_closest_winning(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.aigw(account_id="module-account", gateway_id="module-gw")

        @pytest.mark.aigw(gateway_id="class-gw")
        class TestIds:
            def test_class_wins_for_gateway(self, aigw):
                assert (aigw.account_id, aigw.gateway_id) == ("module-account", "class-gw")

            @pytest.mark.aigw(gateway_id="fn-gw")
            def test_function_wins(self, aigw):
                assert aigw.gateway_id == "fn-gw"
                assert aigw.gateway_url == (
                    "https://gateway.ai.cloudflare.com/v1/module-account/fn-gw"
                )
        """,
    )
    result.assert_outcomes(passed=2)


def test_ini_sets_the_ids_for_the_whole_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naigw_account_id = acct123\naigw_gateway = prod-gw\n")
    result = run(
        pytester,
        """
        def test_ids(aigw):
            assert aigw.url("openai") == "https://gateway.ai.cloudflare.com/v1/acct123/prod-gw/openai"
        """,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["aigw: mode=mock, account=acct123, gateway=prod-gw"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            "aigw(stric=False)",
            "@pytest.mark.aigw got unknown option(s) stric. Allowed options: " + ALLOWED,
        ),
        ("aigw(authenticated=1)", "@pytest.mark.aigw: authenticated must be True or False, got 1"),
        (
            "aigw(cache_ttl=0)",
            "@pytest.mark.aigw: cache_ttl must be whole seconds from 1 to 2592000 (one month),"
            " or None for no gateway-wide caching, got 0",
        ),
        (
            "aigw(False)",
            "@pytest.mark.aigw takes keyword options only, got positional argument(s)"
            " (False,). Allowed options: " + ALLOWED,
        ),
        (
            "aigw(id_format='uuid4')",
            "@pytest.mark.aigw: id_format must be 'uuid7' or 'ulid' (the gateway issues 'uuid7'"
            " since 2026-10-08; 'ulid' for older accounts' logs), got 'uuid4'",
        ),
        (
            "aigw(logs={'metadata_as': 'string'})",
            "@pytest.mark.aigw: logs must be a pytest_aigw.LogSettings(...),"
            " got {'metadata_as': 'string'}",
        ),
        (
            "aigw(log_settings={'metadata_as': 'string'})",
            "@pytest.mark.aigw: log_settings must be a pytest_aigw.LogSettings(...),"
            " got {'metadata_as': 'string'}",
        ),
        (
            "aigw(log_settings=None, logs=None)",
            "@pytest.mark.aigw takes log_settings= or logs= (its old name), not both",
        ),
        ("aigw(strict='no')", "@pytest.mark.aigw: strict must be True or False, got 'no'"),
        (
            "aigw(allow_direct='yes')",
            "@pytest.mark.aigw: allow_direct must be True or False, got 'yes'",
        ),
        (
            "aigw(gateway_id='Bad Id')",
            "@pytest.mark.aigw: gateway_id must be 1-64 characters of a-z, 0-9, '_' and inner '-'"
            " (the gateway's own rule), got 'Bad Id'",
        ),
        (
            "aigw(metadata_as='x')",
            "@pytest.mark.aigw: metadata_as must be 'object' or 'string', got 'x'",
        ),
    ],
)
def test_bad_marker_errors_at_setup_with_the_allowed_options(
    pytester: pytest.Pytester, marker: str, message: str
) -> None:
    result = run(
        pytester,
        f"""
        import pytest

        @pytest.mark.{marker}
        def test_marked(aigw):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR at setup of test_marked*", message])


def test_markers_are_registered_for_strict_marker_suites(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.aigw(strict=True)
        @pytest.mark.aigw_live
        @pytest.mark.aigw_eval
        def test_marked():
            pass
        """,
        "--strict-markers",
    )
    result.assert_outcomes(passed=1)


def test_plugin_can_be_disabled_with_p_no_aigw(pytester: pytest.Pytester) -> None:
    result = run(pytester, "def test_uses(aigw):\n    pass\n", "-p", "no:aigw")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'aigw' not found*"])


def test_other_hosts_are_left_to_the_users_respx_mock(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx

        KEY = {"authorization": "Bearer sk-test"}

        def chat(aigw):
            return httpx.post(aigw.url("groq") + "/chat/completions", json={}, headers=KEY)

        def test_gateway_first(aigw, respx_mock):
            respx_mock.get("https://api.example.com/user").respond(json={"id": 1})
            assert httpx.get("https://api.example.com/user").json() == {"id": 1}
            assert chat(aigw).status_code == 200
            assert len(aigw.calls) == 1

        def test_respx_first(respx_mock, aigw):
            respx_mock.get("https://api.example.com/user").respond(json={"id": 2})
            assert chat(aigw).status_code == 200
            assert httpx.get("https://api.example.com/user").json() == {"id": 2}
        """,
    )
    result.assert_outcomes(passed=2)


def test_composes_with_pytest_httpx_when_it_lets_gateway_requests_through(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx, pytest

        @pytest.mark.httpx_mock(should_mock=lambda r: r.url.host != "gateway.ai.cloudflare.com")
        def test_both(aigw, httpx_mock):
            httpx_mock.add_response(url="https://api.example.com/user", json={"id": 3})
            with httpx.Client(headers={"authorization": "Bearer sk-test"}) as client:
                assert client.get("https://api.example.com/user").json() == {"id": 3}
                reply = client.post(aigw.url("openai") + "/embeddings", json={"input": "x"})
            assert reply.json()["object"] == "list"
        """,
    )
    result.assert_outcomes(passed=1)


def test_importing_the_plugin_loads_no_http_or_hypothesis_module() -> None:
    code = (
        "import sys, pytest_aigw.plugin, pytest_aigw.metadata; "
        "print(sorted(m for m in ('respx', 'httpx', 'httpx2', 'httpcore', 'httpcore2',"
        " 'hypothesis', 'aiohttp', 'requests') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_xfailed_and_skipped_tests_are_not_checked_at_teardown(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx, pytest

        def send(aigw):
            httpx.post(aigw.url("openai") + "/x", headers={"cf-aig-metadata": "[]"})

        @pytest.mark.xfail(reason="known bug")
        def test_xfail(aigw):
            send(aigw)
            assert False

        def test_skipped_midway(aigw):
            send(aigw)
            pytest.skip("not today")
        """,
    )
    result.assert_outcomes(xfailed=1, skipped=1)


def test_scripted_replies_the_app_never_used_fail_at_teardown(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_unused(aigw):
            aigw.respond("used")
            aigw.respond("left over", provider="anthropic")
            httpx.post(
                aigw.url("openai") + "/chat/completions",
                json={"model": "m"},
                headers={"authorization": "Bearer sk-test"},
            )
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-aigw found 1 problem(s) in what the app sent to the AI Gateway fake:",
            "  1. scripted reply #2 aigw.respond('left over', provider='anthropic') was used"
            " 0 times of 1 time: no request matched it. Fix the matcher, lower times=, or pass"
            " optional=True if the app may not send it.",
        ]
    )


def test_an_unmatched_request_fails_the_test_with_the_closest_scripts(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_unmatched(aigw):
            aigw.respond("for gpt-4o", model="gpt-4o")
            response = httpx.post(
                aigw.url("openai") + "/chat/completions",
                json={"model": "gpt-4o-mini"},
                headers={"authorization": "Bearer sk-test"},
            )
            response.raise_for_status()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*HTTPStatusError: Client error '404 Not Found'*",
            "*- pytest-aigw: what the AI Gateway fake saw -*",
            "1. unexpected request POST https://gateway.ai.cloudflare.com/v1/*/test-gateway/openai/"
            "chat/completions: no scripted reply matches it (provider 'openai', model"
            " 'gpt-4o-mini', path 'chat/completions'). Closest scripted replies, unused first:",
            "       #1 aigw.respond('for gpt-4o', model='gpt-4o'): model is 'gpt-4o-mini', not"
            " 'gpt-4o'",
            "     Fix: add an aigw.respond(...) or aigw.fail(...) that matches this request,*",
        ]
    )


def test_authenticated_and_cache_ttl_markers_set_up_the_gateway(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx
        import pytest

        pytestmark = pytest.mark.aigw(authenticated=True, cache_ttl=60)

        def post(aigw, **headers):
            key = {"authorization": "Bearer sk-test"}
            url = aigw.url("openai") + "/chat/completions"
            return httpx.post(url, json={}, headers={**key, **headers})

        def test_refused_without_token(aigw):
            response = post(aigw)
            assert response.status_code == 401
            assert response.json()["internalCode"] == 2009

        def test_cached_with_token(aigw):
            token = {"cf-aig-authorization": "Bearer t"}
            assert post(aigw, **token).headers["cf-aig-cache-status"] == "MISS"
            assert post(aigw, **token).headers["cf-aig-cache-status"] == "HIT"
            aigw.clock.advance(60)
            assert post(aigw, **token).headers["cf-aig-cache-status"] == "MISS"

        @pytest.mark.aigw(authenticated=False)
        def test_closest_marker_wins(aigw):
            assert post(aigw).status_code == 200
        """,
    )
    result.assert_outcomes(passed=3)


def test_reset_gives_each_hypothesis_example_a_clean_gateway(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import httpx
        from hypothesis import HealthCheck, given, settings, strategies as st

        @settings(
            max_examples=25,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
            deadline=None,  # timing is not the point, and a busy worker is slow
        )
        @given(st.text(max_size=20))
        def test_each_example(aigw, text):
            aigw.reset()
            aigw.respond(text or "empty")
            response = httpx.post(
                aigw.url("openai") + "/chat/completions",
                json={"model": "m"},
                headers={"authorization": "Bearer sk-test"},
            )
            assert response.json()["choices"][0]["message"]["content"] == (text or "empty")
            assert len(aigw.calls) == 1
        """,
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("option", ["log_settings", "logs"])
def test_the_log_settings_marker_option_sets_how_the_fake_logs_api_shows_logs(
    pytester: pytest.Pytester, option: str
) -> None:
    result = run(
        pytester,
        """
        import httpx
        import pytest
        from pytest_aigw import LogSettings

        @pytest.mark.aigw(OPTION=LogSettings(metadata_as="string", visibility_lag=1))
        def test_string_metadata_after_the_lag(aigw):
            httpx.post(
                aigw.url("openai") + "/chat/completions",
                json={"model": "m"},
                headers={"cf-aig-metadata": '{"user": "u1"}'},
            )
            url = (
                f"{aigw.api_url}/accounts/{aigw.account_id}/ai-gateway/gateways/"
                f"{aigw.gateway_id}/logs"
            )
            auth = {"authorization": "Bearer t"}
            assert httpx.get(url, headers=auth).json()["result"] == []
            aigw.clock.advance(1)
            assert httpx.get(url, headers=auth).json()["result"][0]["metadata"] == (
                '{"user":"u1"}'
            )
        """.replace("OPTION", option),
    )
    result.assert_outcomes(passed=1)
