"""Nothing leaves for Cloudflare's hosts unseen: what is not served is refused in process."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import cloudflare
import httpx
import httpx2
import pytest
import requests

from pytest_aigw import MockGateway, MockGatewayServer
from pytest_aigw.live import LiveGateway

pytest_plugins = ["pytester"]

TOKEN = "cf-api-token-SECRET"
ZONES = "https://api.cloudflare.com/client/v4/zones?token=query-SECRET"
AUTH = {"authorization": f"Bearer {TOKEN}"}
NOT_SENT = "pytest-aigw: GET /client/v4/zones on api.cloudflare.com was not sent: "


def _httpx(url: str) -> tuple[int, Any]:
    response = httpx.get(url, headers=AUTH)
    return response.status_code, response.json()


def _httpx_async(url: str) -> tuple[int, Any]:
    async def main() -> tuple[int, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.get(url, headers=AUTH)
            return response.status_code, response.json()

    return asyncio.run(main())


def _httpx2(url: str) -> tuple[int, Any]:
    response = httpx2.get(url, headers=AUTH)
    return response.status_code, response.json()


def _aiohttp(url: str) -> tuple[int, Any]:
    async def main() -> tuple[int, Any]:
        async with aiohttp.ClientSession() as session, session.get(url, headers=AUTH) as got:
            return got.status, await got.json()

    return asyncio.run(main())


def _requests(url: str) -> tuple[int, Any]:
    response = requests.get(url, headers=AUTH, timeout=5)
    return response.status_code, response.json()


CLIENTS: dict[str, Callable[[str], tuple[int, Any]]] = {
    "httpx": _httpx,
    "httpx-async": _httpx_async,
    "httpx2": _httpx2,
    "aiohttp": _aiohttp,
    "requests": _requests,
}


@pytest.mark.parametrize("client", CLIENTS)
def test_mock_mode_refuses_what_it_does_not_serve_through_every_client(client: str) -> None:
    with MockGateway(strict=False) as gw:
        status, body = CLIENTS[client](ZONES)
    assert status == 404
    (error,) = body["errors"]
    assert error["code"] == 7000
    assert error["message"].startswith(
        NOT_SENT + "the fake serves the gateway on gateway.ai.cloudflare.com, and on"
        f" api.cloudflare.com only the Logs API (/client/v4/accounts/{gw.account_id}"
        f"/ai-gateway/gateways/{gw.gateway_id}/logs...) and the REST inference API"
    )
    (finding,) = gw.findings()
    assert finding.startswith(
        "request to Cloudflare not sent: GET"
        " https://api.cloudflare.com/client/v4/zones?token=%5Bredacted%5D (refused with 404)"
    )
    assert "SECRET" not in finding + error["message"]


def test_the_cloudflare_sdk_gets_the_message_naming_the_path() -> None:
    with MockGateway(strict=False) as gw:
        cf = cloudflare.Cloudflare(api_token=TOKEN)
        with pytest.raises(cloudflare.NotFoundError) as listed:
            cf.ai_gateway.list(account_id=gw.account_id)
        with pytest.raises(cloudflare.NotFoundError) as verified:
            cf.user.tokens.verify()
    assert (
        f"pytest-aigw: GET /client/v4/accounts/{gw.account_id}/ai-gateway/gateways refused:"
        " the fake serves the AI Gateway Logs API"
    ) in str(listed.value)
    assert "pytest-aigw: GET /client/v4/user/tokens/verify on api.cloudflare.com was not sent" in (
        str(verified.value)
    )
    assert len(gw.findings()) == 2


def test_a_request_not_sent_fails_the_test_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx

            def test_lists_zones(aigw):
                httpx.get("https://api.cloudflare.com/client/v4/zones")

            def test_after_a_reset(aigw):
                httpx.get("https://api.cloudflare.com/client/v4/zones")
                aigw.reset()
            """
        )
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*  1. request to Cloudflare not sent: GET https://api.cloudflare.com/client/v4/zones"
            " (refused with 404): the fake serves the gateway on gateway.ai.cloudflare.com*",
            "*Fix: stub it in the test with an HTTP mocking library (pytest-httpx, respx), or"
            " make the call in a test that does not use aigw.",
        ]
    )


@pytest.fixture
def standin() -> Iterator[MockGatewayServer]:
    with MockGatewayServer(strict=False) as server:
        yield server


def _live(standin: MockGatewayServer) -> LiveGateway:
    return LiveGateway(
        account_id=standin.account_id,
        gateway_id=standin.gateway_id,
        api_token=TOKEN,
        gateway_base_url=f"{standin.url}/v1",
        api_base_url=standin.api_url,
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_live_mode_sends_on_only_what_it_forwards(standin: MockGatewayServer, client: str) -> None:
    live = _live(standin)
    live.start()
    try:
        status, body = CLIENTS[client](ZONES)
        forwarded = httpx.post(live.url("openai") + "/chat/completions", json={}, headers=AUTH)
    finally:
        live.stop()
    assert status == 404
    assert body["errors"][0]["message"].startswith(
        NOT_SENT + f"live mode sends on only the gateway's requests ({live.gateway_url}/...),"
        f" the REST inference API's ({live.rest_url}/...) and the Logs API's"
    )
    assert forwarded.headers["cf-aig-log-id"]
    assert [call.path for call in standin.calls] == ["chat/completions"]
    (finding,) = live.findings()
    assert finding.startswith("request to Cloudflare not sent: GET https://api.cloudflare.com/")


def test_live_mode_refuses_another_gateway_and_lets_the_logs_api_through(
    standin: MockGatewayServer,
) -> None:
    live = _live(standin)
    other = httpx.Request("POST", "https://gateway.ai.cloudflare.com/v1/a/other/openai/x")
    logs = httpx.Request(
        "GET", "https://api.cloudflare.com/client/v4/accounts/a/ai-gateway/gateways/g/logs"
    )
    assert live._wanted(other)
    assert live._forward(other).status_code == 404
    assert not live._wanted(logs)  # the run's own Logs API client goes out as is
    with pytest.raises(Exception, match="held back 1 live request"):
        live.check()
