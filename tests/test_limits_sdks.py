"""The openai and anthropic SDKs see the gateway's limits as documented."""

from __future__ import annotations

import anthropic
import openai
import pytest
from anthropic import Anthropic
from openai import OpenAI

from pytest_aigw import MockGateway

pytestmark = pytest.mark.sdk

MODEL = "gpt-4o-mini"
CLAUDE = "claude-sonnet-5"


@pytest.fixture(autouse=True)
def _start_of_an_hour(aigw: MockGateway) -> None:
    """Start on a window boundary, so no window clears between a test's requests."""
    aigw.clock.advance(3600 - aigw.clock.now() % 3600 + 0.01)


def chat(aigw: MockGateway, **extra: str) -> str | None:
    with OpenAI(base_url=aigw.url("openai"), api_key="sk-test", max_retries=0) as client:
        completion = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], extra_headers=extra
        )
    return completion.choices[0].message.content


def claude(aigw: MockGateway) -> None:
    with Anthropic(base_url=aigw.url("anthropic"), api_key="k", max_retries=0) as client:
        client.messages.create(
            model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )


@pytest.mark.aigw(rate_limit=1)
def test_openai_sees_the_rate_limit_as_429_code_2003(aigw: MockGateway) -> None:
    chat(aigw)
    with pytest.raises(openai.RateLimitError) as raised:
        chat(aigw)
    assert raised.value.status_code == 429
    assert raised.value.body == [{"code": 2003, "message": "Rate limited"}]
    assert "retry-after" not in raised.value.response.headers


@pytest.mark.aigw(rate_limit=1)
def test_anthropic_sees_the_rate_limit_as_429_code_2003(aigw: MockGateway) -> None:
    claude(aigw)
    with pytest.raises(anthropic.RateLimitError) as raised:
        claude(aigw)
    body = raised.value.body
    assert isinstance(body, dict)
    assert (body["internalCode"], body["message"]) == (2003, "Rate limited")


@pytest.mark.aigw(spend_limits=[{"id": "all", "limit": 1e-9, "window": 3600}], budget_grace=0)
def test_openai_sees_a_spend_limit_as_429_code_2045(aigw: MockGateway) -> None:
    chat(aigw)
    with pytest.raises(openai.RateLimitError) as raised:
        chat(aigw)
    body = raised.value.body
    assert isinstance(body, list)
    (error,) = body
    assert error["code"] == 2045
    assert error["message"].startswith("Spend limit exceeded: rule 'all' (cost limit 1e-09 per")


@pytest.mark.aigw(
    policies=[{"id": "search", "metadata": {"team": "search"}, "action": {"type": "no-limit"}}]
)
def test_openai_sees_a_policy_denial_as_403_with_an_error_object(aigw: MockGateway) -> None:
    assert chat(aigw, **{"cf-aig-metadata": '{"team": "search"}'})
    with pytest.raises(openai.PermissionDeniedError) as raised:
        chat(aigw, **{"cf-aig-metadata": '{"team": "ads"}'})
    assert raised.value.status_code == 403
    assert raised.value.body == {"message": "Access denied by policy"}  # the SDK unwraps `error`


@pytest.mark.aigw(
    policies=[{"id": "cap", "action": {"type": "limit", "amount": 1e-9, "period": "daily"}}],
    budget_grace=0,
)
def test_anthropic_reads_the_policy_budget_bucket(aigw: MockGateway) -> None:
    claude(aigw)
    with pytest.raises(anthropic.RateLimitError) as raised:
        claude(aigw)
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["error"]["message"] == "Spending limit exceeded"
    assert (body["error"]["bucket"], body["error"]["limit"]) == ("cap", 1e-9)
    assert body["error"]["spent"] > 1e-9


@pytest.mark.aigw(retry_max_attempts=2)
def test_default_retries_hide_one_provider_error_from_the_sdk(aigw: MockGateway) -> None:
    aigw.fail(503)
    aigw.respond("after a retry")
    assert chat(aigw) == "after a retry"
    assert aigw.calls.last.attempts == 2


def test_a_users_suite_tests_its_budget_handling(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai
        import pytest
        from openai import OpenAI

        PER_USER = {"id": "per-user", "limit": 0.000001, "window": 3600,
                    "metadata": {"user": {"mode": "partition"}}}


        def ask(aigw, user):
            client = OpenAI(base_url=aigw.url("openai"), api_key="sk-test", max_retries=0)
            try:
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                    extra_headers={"cf-aig-metadata": '{"user": "%s"}' % user},
                )
            except openai.RateLimitError as error:
                codes = [entry["code"] for entry in error.body]
                return "over budget" if 2045 in codes else "slow down"
            return "ok"


        @pytest.fixture(autouse=True)
        def start_of_an_hour(aigw):
            aigw.clock.advance(3600 - aigw.clock.now() % 3600 + 0.01)


        @pytest.mark.aigw(spend_limits=[PER_USER])
        def test_a_user_over_budget_is_told_so(aigw):
            assert [ask(aigw, "ann") for _ in range(3)] == ["ok", "ok", "over budget"]
            assert ask(aigw, "bob") == "ok"


        @pytest.mark.aigw(rate_limit=1)
        def test_a_burst_is_slowed_down(aigw):
            assert [ask(aigw, "ann") for _ in range(2)] == ["ok", "slow down"]
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
