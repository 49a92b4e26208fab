"""Calls that skip the gateway for a model provider's own host are refused and reported."""

from __future__ import annotations

import json
import textwrap

import httpcore2  # noqa: F401
import httpx
import pytest
from conftest import run
from pytest_httpserver import HTTPServer

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.fake.routing import GATEWAY_HOST
from pytest_aigw.intercept.guard import DirectCallGuard
from pytest_aigw.logs_api import API_HOST
from pytest_aigw.provider_hosts import CLOUDFLARE_HOSTS, ProviderHosts, host_patterns

# Imported here, not first inside pytester's in-process run: that run forgets the modules
# it imported, and a second copy of httpcore2 would not match the error classes httpx2
# has already cached.

pytest_plugins = ["pytester"]

OPENAI_REFUSAL = (
    "pytest-aigw: direct call to api.openai.com refused (POST /v1/chat/completions): while"
    " aigw is active, model provider calls must go through the AI Gateway. Fix: route it"
    " through the gateway: base_url=aigw.url('openai'), or mark the test"
    " @pytest.mark.aigw(allow_direct=True) to let direct calls through."
)
OPENAI_FINDING = [
    "pytest-aigw found 1 problem(s) in what the app sent to the AI Gateway fake:",
    "  1. direct call to a model provider: POST https://api.openai.com/v1/chat/completions"
    " went to api.openai.com, not through the AI Gateway (refused with 403)",
    "     Fix: route it through the gateway: base_url=aigw.url('openai'), or mark the"
    " test @pytest.mark.aigw(allow_direct=True) to let direct calls through.",
]
CHAT = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'

CLIENTS = {
    "httpx": """
        import httpx

        def test_app(aigw):
            response = httpx.post(URL, json=BODY)
            assert response.status_code == 403
            assert response.headers["x-should-retry"] == "false"
            assert response.json()["error"]["message"] == REFUSAL
    """,
    "httpx2": """
        import httpx2

        def test_app(aigw):
            with httpx2.Client() as client:
                response = client.post(URL, json=BODY)
            assert response.status_code == 403
            assert response.json()["error"]["message"] == REFUSAL
    """,
    "aiohttp": """
        import asyncio

        import aiohttp

        async def post():
            async with aiohttp.ClientSession() as session:
                async with session.post(URL, json=BODY) as response:
                    return response.status, await response.json()

        def test_app(aigw):
            status, body = asyncio.run(post())
            assert status == 403
            assert body["error"]["message"] == REFUSAL
    """,
    "requests": """
        import requests

        def test_app(aigw):
            response = requests.post(URL, json=BODY)
            assert response.status_code == 403
            assert response.json()["error"]["message"] == REFUSAL
    """,
}


def with_constants(source: str, url: str = "https://api.openai.com/v1/chat/completions") -> str:
    return f"URL = {url!r}\nBODY = {CHAT}\nREFUSAL = {OPENAI_REFUSAL!r}\n" + textwrap.dedent(source)


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_each_client_is_refused_in_process_and_fails_the_test_at_teardown(
    pytester: pytest.Pytester, client: str
) -> None:
    result = run(pytester, with_constants(CLIENTS[client]))
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_app*", *OPENAI_FINDING])


def test_the_openai_sdk_gets_the_refusal_at_once_without_retrying(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        f"""
        import openai
        import pytest

        REFUSAL = {OPENAI_REFUSAL!r}

        def test_app(aigw):
            client = openai.OpenAI(api_key="sk-test")  # the SDK retries twice by default
            with pytest.raises(openai.PermissionDeniedError) as caught:
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}]
                )
            assert str(caught.value) == "Error code: 403 - " + REFUSAL
            assert len(aigw.direct_calls) == 1
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(OPENAI_FINDING)


def test_the_anthropic_sdk_reads_the_refusal_in_its_own_error_format(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import anthropic
        import pytest

        @pytest.mark.aigw(strict=False)
        def test_app(aigw):
            client = anthropic.Anthropic(api_key="sk-ant-test")
            with pytest.raises(anthropic.PermissionDeniedError) as caught:
                client.messages.create(
                    model="claude-haiku-4-5",
                    max_tokens=10,
                    messages=[{"role": "user", "content": "hi"}],
                )
            error = caught.value.body["error"]
            assert error["type"] == "permission_error"
            assert error["message"].startswith(
                "pytest-aigw: direct call to api.anthropic.com refused (POST /v1/messages)"
            )
            assert "base_url=aigw.url('anthropic')" in error["message"]
            assert len(aigw.direct_calls) == 1
        """,
    )
    result.assert_outcomes(passed=1)


def test_a_failing_test_shows_the_direct_call_next_to_its_failure(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_app(aigw):
            httpx.get("https://api.groq.com/openai/v1/models").raise_for_status()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-aigw: what the AI Gateway fake saw*",
            "1. direct call to a model provider: GET https://api.groq.com/openai/v1/models went"
            " to api.groq.com, not through the AI Gateway (refused with 403)",
            "     Fix: route it through the gateway: base_url=aigw.url('groq'), or mark the test"
            " @pytest.mark.aigw(allow_direct=True) to let direct calls through.",
        ]
    )


def test_openai_agents_traces_are_refused_with_how_to_turn_tracing_off(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        import httpx

        def test_app(aigw):
            # What openai-agents' default trace exporter sends.
            response = httpx.post(
                "https://api.openai.com/v1/traces/ingest",
                json={"data": []},
                headers={"Authorization": "Bearer sk-test", "OpenAI-Beta": "traces=v1"},
            )
            assert response.status_code == 403
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "  1. direct call to a model provider: POST https://api.openai.com/v1/traces/ingest"
            " went to api.openai.com, not through the AI Gateway (refused with 403)",
            "     Fix: openai-agents sends its traces here by default; turn tracing off in"
            " tests with agents.set_tracing_disabled(True) or OPENAI_AGENTS_DISABLE_TRACING=1,"
            " or mark the test @pytest.mark.aigw(allow_direct=True) to let direct calls through.",
        ]
    )


ALLOWED_SOURCE = """
    import httpx
    import pytest
    import requests
    import responses
    import respx

    def test_app(aigw):
        with respx.mock(assert_all_called=False) as router:
            router.post("https://api.openai.com/v1/chat/completions").respond(json={"own": 1})
            assert httpx.post("https://api.openai.com/v1/chat/completions").json() == {"own": 1}
        with responses.RequestsMock() as mocked:
            mocked.post("https://api.anthropic.com/v1/messages", json={"own": 2})
            assert requests.post("https://api.anthropic.com/v1/messages").json() == {"own": 2}
        assert aigw.direct_calls == []
"""


def test_allow_direct_marker_lets_provider_calls_through_to_the_tests_own_mocks(
    pytester: pytest.Pytester,
) -> None:
    source = ALLOWED_SOURCE.replace(
        "    def test_app", "    @pytest.mark.aigw(allow_direct=True)\n    def test_app"
    )
    run(pytester, source).assert_outcomes(passed=1)


def test_allow_direct_ini_lets_provider_calls_through_and_the_marker_can_undo_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\naigw_allow_direct = true\n")
    source = textwrap.dedent(ALLOWED_SOURCE) + textwrap.dedent(
        """
        @pytest.mark.aigw(allow_direct=False, strict=False)
        def test_refused(aigw):
            assert httpx.get("https://api.openai.com/v1/models").status_code == 403
        """
    )
    run(pytester, source).assert_outcomes(passed=2)


def test_provider_hosts_ini_adds_hosts_with_patterns(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naigw_provider_hosts =\n    *.llm.example.com\n    api.acme.ai\n")
    result = run(
        pytester,
        """
        import httpx

        def test_app(aigw):
            assert httpx.post("https://eu.llm.example.com/v1/chat").status_code == 403
            assert httpx.get("https://API.ACME.AI/v1/models?key=s3cret").status_code == 403
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "  1. direct call to a model provider: POST https://eu.llm.example.com/v1/chat"
            " went to eu.llm.example.com, not through the AI Gateway (refused with 403)",
            "     Fix: route it through the gateway as a custom provider:"
            " base_url=aigw.url('custom-<name>'), or mark the test"
            " @pytest.mark.aigw(allow_direct=True) to let direct calls through.",
            "  2. direct call to a model provider: GET"
            " https://api.acme.ai/v1/models?key=%5Bredacted%5D went to api.acme.ai, not through"
            " the AI Gateway (refused with 403)",
        ]
    )
    assert "s3cret" not in result.stdout.str()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            "https://api.acme.ai/v1",
            "*: error: ini aigw_provider_hosts: provider_hosts must be host names such as"
            " api.example.com, one per line (* stands for any characters but a dot), got"
            " 'https://api.acme.ai/v1'",
        ),
        (
            "*.ai.cloudflare.com",
            "*: error: ini aigw_provider_hosts: provider_hosts: '*.ai.cloudflare.com'"
            " matches gateway.ai.cloudflare.com, which the fake gateway answers on; list only"
            " model providers' own hosts",
        ),
    ],
)
def test_a_bad_provider_hosts_ini_stops_the_run_with_a_usage_error(
    pytester: pytest.Pytester, lines: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\naigw_provider_hosts =\n    api.ok.ai\n    {lines}\n")
    result = run(pytester, "def test_nothing(): pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_other_hosts_still_pass_through_to_the_network(
    aigw: MockGateway, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v1/chat/completions").respond_with_json({"real": True})
    assert httpx.post(httpserver.url_for("/v1/chat/completions")).json() == {"real": True}
    assert aigw.direct_calls == []


def test_gateway_requests_are_still_served(aigw: MockGateway) -> None:
    aigw.respond("through the gateway")
    key = {"authorization": "Bearer sk-test"}
    response = httpx.post(
        aigw.url("openai") + "/chat/completions", json={"model": "m"}, headers=key
    )
    assert response.json()["choices"][0]["message"]["content"] == "through the gateway"
    assert aigw.direct_calls == []


def test_reset_forgets_direct_calls_and_strict_false_only_skips_the_check() -> None:
    with MockGateway(strict=False) as gateway:
        assert httpx.get("https://api.mistral.ai/v1/models").status_code == 403
        assert [call.host for call in gateway.direct_calls] == ["api.mistral.ai"]
        gateway.reset()
        assert gateway.findings() == []


def test_a_context_managed_gateway_raises_for_direct_calls_on_exit() -> None:
    with (
        pytest.raises(AssertionError, match="direct call to a model provider: GET"),
        MockGateway(),
    ):
        httpx.get("https://api.x.ai/v1/models")


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("api.openai.com", "openai"),
        ("my-resource.openai.azure.com", "azure-openai"),
        ("us-central1-aiplatform.googleapis.com", "google-vertex-ai"),
        ("aiplatform.googleapis.com", "google-vertex-ai"),
        ("bedrock-runtime.eu-west-1.amazonaws.com", "aws-bedrock"),
        ("api.x.ai", "grok"),
        ("router.huggingface.co", "huggingface"),
        ("API.Cohere.AI.", "cohere"),
        ("api.fireworks.ai", None),
    ],
)
def test_built_in_provider_hosts_and_their_slugs(host: str, slug: str | None) -> None:
    rule = ProviderHosts().match(host)
    assert rule is not None
    assert rule.slug == slug


@pytest.mark.parametrize(
    "host",
    [
        "openai.com",
        "api.openai.com.example.org",
        "a.b.openai.azure.com",  # * stands for one label, not two
        "bedrock.us-east-1.amazonaws.com",
        "s3.amazonaws.com",
        GATEWAY_HOST,
        API_HOST,
    ],
)
def test_hosts_that_are_not_providers(host: str) -> None:
    assert ProviderHosts().match(host) is None


def test_the_fakes_own_hosts_are_the_ones_provider_hosts_keeps_clear_of() -> None:
    assert set(CLOUDFLARE_HOSTS) == {GATEWAY_HOST, API_HOST}


def test_host_patterns_are_trimmed_lowercased_and_checked() -> None:
    assert host_patterns([" API.Acme.ai ", "*-x.acme.ai"], "where") == (
        "api.acme.ai",
        "*-x.acme.ai",
    )
    for bad in ["", "acme.ai:443", "acme..ai", "-acme.ai", 7]:
        with pytest.raises(ConfigError, match=r"^where must be host names such as"):
            host_patterns([bad], "where")
    with pytest.raises(ConfigError, match=r"^where must be a list of host names, got 'acme.ai'"):
        host_patterns("acme.ai", "where")


def test_constructor_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"^allow_direct must be True or False, got 'yes'$"):
        MockGateway(allow_direct="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^provider_hosts must be host names such as"):
        MockGateway(provider_hosts=["http://acme.ai"])
    with MockGateway(provider_hosts=["api.acme.ai"], strict=False) as gateway:
        assert httpx.get("https://api.acme.ai/v1").status_code == 403
    with MockGateway(allow_direct=True) as gateway:
        assert gateway._direct.refuses(httpx.Request("GET", "https://api.openai.com/v1")) is False


@pytest.mark.parametrize(
    ("url", "body", "headers"),
    [
        (
            "https://generativelanguage.googleapis.com/v1beta/models/gemini:generateContent",
            {"error": {"code": 403, "message": "M", "status": "PERMISSION_DENIED"}},
            {},
        ),
        (
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke",
            {"message": "M"},
            {"x-amzn-errortype": "AccessDeniedException"},
        ),
        (
            "https://api.anthropic.com/v1/messages",
            {"type": "error", "error": {"type": "permission_error", "message": "M"}},
            {},
        ),
        (
            "https://api.together.xyz/v1/chat/completions",
            {
                "error": {
                    "message": "M",
                    "type": "permission_denied",
                    "param": None,
                    "code": "direct_call_refused",
                }
            },
            {},
        ),
    ],
)
def test_the_refusal_speaks_the_providers_error_format(
    url: str, body: dict[str, object], headers: dict[str, str]
) -> None:
    guard = DirectCallGuard()
    response = guard.refuse(httpx.Request("POST", url))
    message = guard.calls[0].message
    assert response.status_code == 403
    assert response.headers["x-should-retry"] == "false"
    for name, value in headers.items():
        assert response.headers[name] == value
    assert response.json() == json.loads(json.dumps(body).replace('"M"', json.dumps(message)))
