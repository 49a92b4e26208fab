"""The official SDKs, unmodified, over real HTTP to `aigw_server`."""

from __future__ import annotations

import anthropic
import openai
import pytest
from cloudflare import Cloudflare

from pytest_aigw import MockGatewayServer

pytestmark = pytest.mark.sdk


def test_openai_sdk_plain_and_streamed(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond(["Hello", " there"], times=2)
    with openai.OpenAI(
        api_key="sk-test", base_url=aigw_server.url("openai"), max_retries=0
    ) as client:
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"cf-aig-metadata": '{"user": "u1"}'},
        )
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        pieces = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
    assert reply.choices[0].message.content == "Hello there"
    assert "".join(piece or "" for piece in pieces) == "Hello there"
    assert [call.metadata for call in aigw_server.calls] == [{"user": "u1"}, None]
    # The provider key reached the fake, and is redacted in what it recorded.
    last = aigw_server.calls.last
    assert last.secret_matches("authorization", "Bearer sk-test")
    assert "sk-test" not in str(last.request.headers)


def test_openai_sdk_sees_a_scripted_timeout(aigw_server: MockGatewayServer) -> None:
    aigw_server.fail("timeout")
    with (
        openai.OpenAI(
            api_key="sk-test", base_url=aigw_server.url("openai"), max_retries=0, timeout=0.3
        ) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=[])


def test_anthropic_sdk(aigw_server: MockGatewayServer) -> None:
    with anthropic.Anthropic(
        api_key="sk-ant-test", base_url=aigw_server.url("anthropic"), max_retries=0
    ) as client:
        message = client.messages.create(
            model="claude-sonnet-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "hi"}],
        )
    assert message.content[0].type == "text"
    assert aigw_server.calls.last.provider == "anthropic"
    assert aigw_server.log_ids == [aigw_server.calls.last.log_id]


def test_cloudflare_sdk_lists_logs_and_sends_feedback(aigw_server: MockGatewayServer) -> None:
    with openai.OpenAI(api_key="sk-test", base_url=aigw_server.url("openai")) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    log_id = aigw_server.log_ids[0]
    with Cloudflare(api_token="test-token", base_url=aigw_server.api_url, max_retries=0) as cf:
        logs = cf.ai_gateway.logs
        listed = logs.list(aigw_server.gateway_id, account_id=aigw_server.account_id)
        assert [log.id for log in listed] == [log_id]
        logs.edit(
            log_id,
            account_id=aigw_server.account_id,
            gateway_id=aigw_server.gateway_id,
            feedback=1,
            score=75,
        )
    log = aigw_server.logs.get(log_id)
    assert (log.feedback, log.score) == (1, 75)
