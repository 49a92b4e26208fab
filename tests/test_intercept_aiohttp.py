"""aiohttp requests reach the fake in process: plain, streamed, faults, pass-through."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest
from aioresponses import aioresponses
from multidict import CIMultiDict
from pytest_httpserver import HTTPServer

from pytest_aigw import MockGateway
from pytest_aigw.calls import REDACTED
from pytest_aigw.intercept import Interception

GATEWAY_HOST = "gateway.ai.cloudflare.com"
SSE = {"content-type": "text/event-stream"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}
KEY = {"Authorization": "Bearer sk-test"}  # the provider key the app's session sends
T = TypeVar("T")


def run(main: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
    async def session() -> T:
        async with aiohttp.ClientSession(headers=KEY) as client:
            return await main(client)

    return asyncio.run(session())


def chat_url(aigw: MockGateway) -> str:
    return aigw.url("openai") + "/chat/completions"


def test_plain_json_reply_with_log_id_and_recorded_headers(aigw: MockGateway) -> None:
    aigw.respond("in process", provider="openai")
    headers = CIMultiDict(
        [
            ("Authorization", "Bearer sk-secret-aiohttp"),
            ("cf-aig-metadata", '{"user": "u1"}'),
            ("x-multi", "a"),
            ("x-multi", "b"),
        ]
    )

    async def main(client: aiohttp.ClientSession) -> tuple[dict[str, Any], str]:
        async with client.post(chat_url(aigw), json=CHAT, headers=headers) as response:
            return await response.json(), response.headers["cf-aig-log-id"]

    body, log_id = run(main)
    assert body["choices"][0]["message"]["content"] == "in process"
    assert aigw.log_ids == [log_id]
    call = aigw.calls.last
    assert call.metadata == {"user": "u1"}
    assert call.json == CHAT
    assert call.request.headers.get_list("x-multi") == ["a", "b"]
    assert call.request.headers["authorization"] == f"Bearer {REDACTED}"
    assert call.request.headers["user-agent"].startswith("Python/3")  # aiohttp's own
    assert "sk-secret-aiohttp" not in repr(call) + str(call.request.headers)


def test_form_data_reaches_the_fake_as_aiohttp_encoded_it(aigw: MockGateway) -> None:
    async def main(client: aiohttp.ClientSession) -> int:
        async with client.post(aigw.url("openai") + "/files", data={"purpose": "batch"}) as r:
            return r.status

    run(main)
    request = aigw.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.content == b"purpose=batch"


@pytest.mark.parametrize("read", ["iter_any", "iter_chunked", "lines"])
def test_a_stream_arrives_event_by_event(aigw: MockGateway, read: str) -> None:
    aigw.respond(["Hel", "lo"], provider="openai")

    async def main(client: aiohttp.ClientSession) -> list[bytes]:
        async with client.post(chat_url(aigw), json=STREAM) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            if read == "iter_any":
                return [chunk async for chunk in response.content.iter_any()]
            if read == "iter_chunked":
                return [chunk async for chunk in response.content.iter_chunked(1 << 16)]
            return [line async for line in response.content if line.strip()]

    chunks = run(main)
    assert len(chunks) == 5  # role, "Hel", "lo", finish, [DONE]: one read each
    assert b'"content":"Hel"' in chunks[1]
    assert chunks[-1].strip() == b"data: [DONE]"


class GatedStream(httpx.AsyncByteStream):
    """Yields one chunk, then the second only once the client has read the first."""

    def __init__(self, gate: asyncio.Event) -> None:
        self.gate = gate

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        await asyncio.wait_for(self.gate.wait(), 5)
        yield b"data: 2\n\n"


def test_the_first_chunk_arrives_before_the_second_is_produced() -> None:
    gate = asyncio.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, stream=GatedStream(gate))

    interception = Interception(handler, lambda request: request.url.host == GATEWAY_HOST)
    interception.start()
    try:

        async def main(client: aiohttp.ClientSession) -> list[bytes]:
            got = []
            async with client.get("https://gateway.ai.cloudflare.com/v1/a/g/x") as response:
                async for chunk in response.content.iter_any():
                    got.append(chunk)
                    gate.set()  # a buffering door would never get here: wait_for times out
            return got

        assert run(main) == [b"data: 1\n\n", b"data: 2\n\n"]
    finally:
        interception.stop()


def test_fifty_concurrent_requests_get_fifty_log_ids(aigw: MockGateway) -> None:
    async def one(client: aiohttp.ClientSession) -> str:
        async with client.post(chat_url(aigw), json=CHAT) as response:
            await response.read()
            return response.headers["cf-aig-log-id"]

    async def main(client: aiohttp.ClientSession) -> list[str]:
        return await asyncio.gather(*(one(client) for _ in range(50)))

    log_ids = run(main)
    assert len(set(log_ids)) == 50
    assert sorted(aigw.log_ids) == sorted(log_ids)


def test_the_logs_api_answers_aiohttp(aigw: MockGateway) -> None:
    async def main(client: aiohttp.ClientSession) -> tuple[str, list[str]]:
        async with client.post(chat_url(aigw), json=CHAT) as response:
            log_id = response.headers["cf-aig-log-id"]
        logs = (
            f"{aigw.api_url}/accounts/{aigw.account_id}/ai-gateway/gateways/{aigw.gateway_id}/logs"
        )
        async with client.get(logs, headers={"Authorization": "Bearer t"}) as listed:
            return log_id, [log["id"] for log in (await listed.json())["result"]]

    log_id, listed = run(main)
    assert listed == [log_id]


def test_a_scripted_timeout_raises_aiohttps_read_timeout(aigw: MockGateway) -> None:
    aigw.fail("timeout")

    async def main(client: aiohttp.ClientSession) -> None:
        async with client.post(chat_url(aigw), json=CHAT):
            pass

    with pytest.raises(asyncio.TimeoutError) as caught:
        run(main)
    assert isinstance(caught.value, aiohttp.ServerTimeoutError)
    assert str(caught.value) == "Timeout on reading data from socket"


def test_a_dropped_connection_raises_server_disconnected(aigw: MockGateway) -> None:
    aigw.fail("disconnect")

    async def main(client: aiohttp.ClientSession) -> None:
        async with client.post(chat_url(aigw), json=CHAT):
            pass

    with pytest.raises(aiohttp.ServerDisconnectedError):
        run(main)


def test_a_cut_stream_raises_client_payload_error_mid_way(aigw: MockGateway) -> None:
    aigw.respond(["a", "b", "c"], provider="openai", cut_after=2)
    got: list[bytes] = []

    async def main(client: aiohttp.ClientSession) -> None:
        async with client.post(chat_url(aigw), json=STREAM) as response:
            async for chunk in response.content.iter_any():
                got.append(chunk)

    with pytest.raises(aiohttp.ClientPayloadError, match="payload is not completed"):
        run(main)
    assert len(got) == 2


def test_other_hosts_pass_through_to_the_network(aigw: MockGateway, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/other").respond_with_json({"real": True})

    async def main(client: aiohttp.ClientSession) -> Any:
        async with client.get(httpserver.url_for("/other")) as response:
            return await response.json()

    assert run(main) == {"real": True}
    assert len(aigw.calls) == 0


# aioresponses 0.7.9 (the latest) builds its replies without the stream_writer that
# aiohttp 3.14's ClientResponse requires, so it can answer nothing there.
AIORESPONSES_ANSWERS = "stream_writer" not in inspect.signature(aiohttp.ClientResponse).parameters


def test_a_users_aioresponses_mock_lets_the_gateway_through(aigw: MockGateway) -> None:
    async def main(client: aiohttp.ClientSession) -> int:
        with aioresponses() as mocked:
            mocked.get("https://api.example.com/user", payload={"id": 7})
            async with client.post(chat_url(aigw), json=CHAT) as reply:
                return reply.status

    assert run(main) == 200
    assert len(aigw.calls) == 1


@pytest.mark.skipif(not AIORESPONSES_ANSWERS, reason="aioresponses cannot answer on this aiohttp")
def test_a_users_aioresponses_mock_keeps_its_own_hosts(aigw: MockGateway) -> None:
    async def main(client: aiohttp.ClientSession) -> Any:
        with aioresponses() as mocked:
            mocked.get("https://api.example.com/user", payload={"id": 7})
            async with client.get("https://api.example.com/user") as user:
                return await user.json()

    assert run(main) == {"id": 7}
    assert len(aigw.calls) == 0


def test_a_session_made_before_the_gateway_started_is_caught() -> None:
    # litellm and others keep one long-lived ClientSession for the whole process.
    async def main() -> str:
        async with aiohttp.ClientSession(headers=KEY) as client:
            with MockGateway(strict=False) as aigw:
                async with client.post(chat_url(aigw), json=CHAT) as response:
                    assert response.headers["cf-aig-log-id"] == aigw.log_ids[0]
                    return str((await response.json())["object"])

    assert asyncio.run(main()) == "chat.completion"


def test_stopping_restores_aiohttp_and_aioresponses() -> None:
    connect = aiohttp.TCPConnector._create_connection
    request_mock = aioresponses._request_mock
    with MockGateway(strict=False):
        assert aiohttp.TCPConnector._create_connection is not connect
        assert aioresponses._request_mock is not request_mock
    assert aiohttp.TCPConnector._create_connection is connect
    assert aioresponses._request_mock is request_mock


def test_a_nested_gateway_answers_while_it_runs() -> None:
    async def main(client: aiohttp.ClientSession) -> None:
        with MockGateway(strict=False) as outer:
            with MockGateway(strict=False) as inner:
                async with client.post(chat_url(inner), json=CHAT):
                    pass
            async with client.post(chat_url(outer), json=CHAT):
                pass
        assert (len(outer.calls), len(inner.calls)) == (1, 1)

    run(main)
