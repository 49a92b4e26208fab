"""The loopback server: real HTTP on 127.0.0.1 for any client, thread or process."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from pytest_aigw import LoopbackServer, MockGatewayServer, ServerError

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}
KEY = {"Authorization": "Bearer sk-test"}  # the provider key every client here sends


def server_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"pytest-aigw server :{port}"]


def chat_url(aigw: MockGatewayServer) -> str:
    return aigw.url("openai") + "/chat/completions"


@pytest.fixture
def own() -> Iterator[MockGatewayServer]:
    """A gateway with a server of its own, so that a test may stop and inspect it."""
    with MockGatewayServer(strict=False) as gateway:
        yield gateway


# --- the fixture's addresses and interface -------------------------------------------


def test_urls_are_on_127_0_0_1_with_the_gateway_and_api_paths(
    aigw_server: MockGatewayServer,
) -> None:
    port = aigw_server.port
    assert port > 0
    assert aigw_server.url == f"http://127.0.0.1:{port}"
    assert aigw_server.gateway_url == (
        f"http://127.0.0.1:{port}/v1/{aigw_server.account_id}/{aigw_server.gateway_id}"
    )
    assert aigw_server.api_url == f"http://127.0.0.1:{port}/client/v4"
    assert aigw_server.url("openai") == aigw_server.gateway_url + "/openai"


def test_scripts_calls_and_logs_share_one_state_over_http(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond("scripted over the wire", provider="openai")
    response = requests.post(
        chat_url(aigw_server), json=CHAT, headers={**KEY, "cf-aig-metadata": '{"user": "u1"}'}
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "scripted over the wire"
    log_id = response.headers["cf-aig-log-id"]
    assert aigw_server.log_ids == [log_id]
    assert aigw_server.calls.last.metadata == {"user": "u1"}
    logs_url = (
        f"{aigw_server.api_url}/accounts/{aigw_server.account_id}"
        f"/ai-gateway/gateways/{aigw_server.gateway_id}/logs"
    )
    listed = requests.get(logs_url, headers={"Authorization": "Bearer t"}).json()
    assert [log["id"] for log in listed["result"]] == [log_id]
    # The Logs API client reaches the same server over real HTTP too.
    aigw_server.logs.patch(log_id, feedback=1, score=80)
    assert (aigw_server.logs.get(log_id).feedback, aigw_server.logs.get(log_id).score) == (1, 80)


def test_each_test_gets_a_fresh_gateway_on_the_session_server(
    aigw_server: MockGatewayServer, aigw_loopback: LoopbackServer
) -> None:
    assert aigw_server.server is aigw_loopback
    assert aigw_server.url == aigw_loopback.url
    assert aigw_loopback.handler == aigw_server._answer
    assert len(aigw_server.calls) == 0


def test_a_server_with_no_gateway_attached_answers_503_saying_so() -> None:
    with LoopbackServer() as server:
        response = requests.get(server.url + "/v1/a/b/openai/models")
    assert response.status_code == 503
    assert "no fake gateway is being served right now" in response.json()["error"][0]["message"]


# --- clients ------------------------------------------------------------------------------


def test_urllib(aigw_server: MockGatewayServer) -> None:
    request = urllib.request.Request(
        chat_url(aigw_server),
        data=json.dumps(CHAT).encode(),
        headers={"content-type": "application/json", **KEY},
    )
    with urllib.request.urlopen(request) as response:
        body = json.load(response)
        log_id = response.headers["cf-aig-log-id"]
    assert body["object"] == "chat.completion"
    assert aigw_server.log_ids == [log_id]


def test_urllib_sees_gateway_errors_as_http_errors(aigw_server: MockGatewayServer) -> None:
    aigw_server.fail(429)
    request = urllib.request.Request(
        chat_url(aigw_server), data=json.dumps(CHAT).encode(), headers=KEY, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 429
    assert json.loads(caught.value.read())["error"][0]["code"] == 2003


def test_aiohttp_plain_and_streamed(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond(["Hel", "lo"], provider="openai", times=2)

    async def main() -> tuple[dict[str, Any], list[bytes]]:
        async with aiohttp.ClientSession() as session:
            async with session.post(chat_url(aigw_server), json=CHAT, headers=KEY) as plain:
                body = await plain.json()
            async with session.post(chat_url(aigw_server), json=STREAM, headers=KEY) as streamed:
                assert streamed.headers["content-type"].startswith("text/event-stream")
                lines = [line async for line in streamed.content]
        return body, lines

    body, lines = asyncio.run(main())
    assert body["choices"][0]["message"]["content"] == "Hel" + "lo"
    events = [line for line in lines if line.startswith(b"data: ")]
    assert events[-1] == b"data: [DONE]\n"
    assert len(aigw_server.calls) == 2


def test_curl_in_a_subprocess(aigw_server: MockGatewayServer) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed on this machine")
    headers = ["-H", "content-type: application/json", "-H", 'cf-aig-metadata: {"from": "curl"}']
    headers += ["-H", "Authorization: Bearer sk-test"]
    completed = subprocess.run(
        [curl, "-sS", "-i", chat_url(aigw_server), *headers, "-d", json.dumps(CHAT)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    head, _, body = completed.stdout.partition("\n\n")  # text mode: \r\n read as \n
    assert head.startswith("HTTP/1.1 200")
    assert f"cf-aig-log-id: {aigw_server.log_ids[0]}" in head.splitlines()
    assert json.loads(body)["object"] == "chat.completion"
    assert aigw_server.calls.last.metadata == {"from": "curl"}


def test_node_fetch_in_a_subprocess(aigw_server: MockGatewayServer) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed on this machine")
    script = (
        "const r = await fetch(process.argv[1], {method: 'POST', body: process.argv[2],"
        " headers: {'content-type': 'application/json', authorization: 'Bearer sk-test'}});"
        " console.log(r.headers.get('cf-aig-log-id'));"
    )
    completed = subprocess.run(
        [node, "--input-type=module", "-e", script, chat_url(aigw_server), json.dumps(CHAT)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert completed.stdout.strip() == aigw_server.log_ids[0]


def test_head_request_gets_headers_without_a_body(own: MockGatewayServer) -> None:
    with socket.create_connection(("127.0.0.1", own.port)) as sock:
        sock.sendall(b"HEAD /client/v4/accounts HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = _read_all(sock)
    # HEAD's answer has no body, so the GET's answer follows its head directly.
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 ")
    assert rest.startswith(b"HTTP/1.1 ")


# --- real streaming ----------------------------------------------------------------------


class GatedStream(httpx.AsyncByteStream):
    """Yields one chunk, then waits until the client says it has read it."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: first\n\n"
        for _ in range(500):  # at most 5 s, so a buffering server fails instead of hanging
            if self.gate.is_set():
                break
            await asyncio.sleep(0.01)
        yield b"data: second\n\n"


def test_sse_chunks_are_flushed_as_produced_not_buffered() -> None:
    gate = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=GatedStream(gate))

    server = LoopbackServer(handler)
    with server, requests.get(server.url + "/stream", stream=True, timeout=10) as response:
        chunks = response.iter_content(chunk_size=None)
        first = next(chunks)
        # The second chunk does not exist yet: the first reached us on its own.
        second_existed = gate.is_set()
        gate.set()
        rest = b"".join(chunks)
    assert first == b"data: first\n\n"
    assert not second_existed
    assert rest == b"data: second\n\n"


def test_latency_delays_the_first_byte_of_a_stream(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond(["a", "b"], latency=0.3)
    started = time.perf_counter()
    with requests.post(chat_url(aigw_server), json=STREAM, headers=KEY, stream=True) as response:
        lines = [line for line in response.iter_lines() if line]
    assert time.perf_counter() - started >= 0.3
    assert lines[-1] == b"data: [DONE]"


# --- concurrency and keep-alive ---------------------------------------------------------


def test_threads_are_served_in_parallel_and_nothing_is_lost(
    aigw_server: MockGatewayServer,
) -> None:
    # Each request waits 0.2 s for its first byte: served one at a time, 40 would take 8 s.
    aigw_server.respond("slow", latency=0.2, times=None)

    def call(n: int) -> str:
        body = {**CHAT, "user": f"u{n}"}
        response = requests.post(chat_url(aigw_server), json=body, headers=KEY, timeout=10)
        response.raise_for_status()
        return response.headers["cf-aig-log-id"]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=40) as pool:
        log_ids = list(pool.map(call, range(40)))
    elapsed = time.perf_counter() - started
    assert elapsed < 4.0  # generous: one at a time would be 8 s
    assert len(set(log_ids)) == 40
    assert sorted(aigw_server.log_ids) == sorted(log_ids)
    assert sorted(call.json["user"] for call in aigw_server.calls) == sorted(
        f"u{n}" for n in range(40)
    )


def test_asyncio_clients_are_served_in_parallel(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond(["x"] * 3, times=None)

    async def main() -> list[str]:
        async with aiohttp.ClientSession() as session:

            async def call(n: int) -> str:
                body = {**STREAM, "user": f"u{n}"}
                async with session.post(chat_url(aigw_server), json=body, headers=KEY) as response:
                    await response.read()
                    return response.headers["cf-aig-log-id"]

            return await asyncio.gather(*(call(n) for n in range(50)))

    log_ids = asyncio.run(main())
    assert len(set(log_ids)) == 50
    assert sorted(aigw_server.log_ids) == sorted(log_ids)


CHILD = """
import json, sys, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
ids = []
for i in range(n):
    body = json.dumps({"model": "gpt-4o-mini", "messages": [], "user": sys.argv[3] + str(i)})
    key = {"Authorization": "Bearer sk-test"}
    request = urllib.request.Request(url, data=body.encode(), headers=key, method="POST")
    with urllib.request.urlopen(request) as response:
        ids.append(response.headers["cf-aig-log-id"])
print(json.dumps(ids))
"""


def test_several_processes_are_served_and_nothing_is_lost(
    aigw_server: MockGatewayServer,
) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, chat_url(aigw_server), "15", f"p{p}-"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for p in range(4)
    ]
    log_ids = [log_id for child in children for log_id in json.loads(child.communicate()[0])]
    assert all(child.returncode == 0 for child in children)
    assert len(set(log_ids)) == 60
    assert sorted(aigw_server.log_ids) == sorted(log_ids)


def test_keep_alive_serves_many_requests_on_one_connection(own: MockGatewayServer) -> None:
    before = own.server.connections_opened
    with requests.Session() as session:
        for _ in range(10):
            assert session.post(chat_url(own), json=CHAT, headers=KEY).status_code == 200
    assert own.server.connections_opened - before == 1
    assert len(own.calls) == 10


def test_a_body_sent_after_100_continue_is_read(own: MockGatewayServer) -> None:
    body = json.dumps(CHAT).encode()
    path = chat_url(own).removeprefix(own.url)
    with socket.create_connection(("127.0.0.1", own.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            "Authorization: Bearer sk-test\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert own.calls.last.model == "gpt-4o-mini"


# --- failures on the wire ---------------------------------------------------------------


def test_scripted_timeout_is_silence_until_the_client_gives_up(
    aigw_server: MockGatewayServer,
) -> None:
    aigw_server.fail("timeout")
    aigw_server.respond("after the timeout")
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(chat_url(aigw_server), json=CHAT, headers=KEY, timeout=0.3)
    # The server is still there for the next request.
    assert (
        requests.post(chat_url(aigw_server), json=CHAT, headers=KEY, timeout=5).status_code == 200
    )


def test_scripted_disconnect_drops_the_connection(aigw_server: MockGatewayServer) -> None:
    aigw_server.fail("disconnect")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(chat_url(aigw_server), json=CHAT, headers=KEY, timeout=5)


def test_cut_after_ends_the_stream_early(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond(["a", "b", "c", "d"], cut_after=2)
    with requests.post(
        chat_url(aigw_server), json=STREAM, headers=KEY, stream=True, timeout=5
    ) as response:
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(response.iter_content(chunk_size=None))


def test_a_client_leaving_mid_stream_hangs_nothing(own: MockGatewayServer) -> None:
    own.respond(["x"] * 2000, times=None)  # more than the socket buffers hold
    body = json.dumps(STREAM).encode()
    path = chat_url(own).removeprefix(own.url)
    with socket.create_connection(("127.0.0.1", own.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
    # ...and hung up mid-stream, with most of the stream still unsent.
    # The server goes on serving, and stops at once.
    assert requests.post(chat_url(own), json=CHAT, headers=KEY, timeout=5).status_code == 200
    started = time.perf_counter()
    own.stop()
    assert time.perf_counter() - started < 2.0
    assert server_threads(own.port) == []


def test_malformed_http_gets_a_400_saying_so() -> None:
    with LoopbackServer() as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = _read_all(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"pytest-aigw: malformed HTTP request" in data


# --- start and stop ---------------------------------------------------------------------


def test_stop_frees_the_port_and_ends_the_thread() -> None:
    server = LoopbackServer()
    server.start()
    port = server.port
    assert server.running
    assert len(server_threads(port)) == 1
    with socket.create_connection(("127.0.0.1", port)):  # an idle keep-alive client
        server.stop()
    assert not server.running
    assert server_threads(port) == []
    # The same port can be bound again at once.
    again = LoopbackServer(port=port)
    again.start()
    assert again.port == port
    again.stop()


def test_a_taken_port_gives_a_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ServerError) as caught:
            LoopbackServer(port=port).start()
    assert str(caught.value) == (
        f"pytest-aigw cannot serve on 127.0.0.1:{port}: the port is already in use by another"
        " process. Fix: pick another port, or port 0 for a free one."
    )
    assert server_threads(port) == []


def test_an_unknown_host_gives_a_clear_error() -> None:
    with pytest.raises(ServerError, match=r"cannot serve on 203\.0\.113\.9:0: .*Fix: check"):
        LoopbackServer(host="203.0.113.9").start()


def test_start_and_stop_are_idempotent() -> None:
    server = LoopbackServer()
    server.stop()  # never started: nothing to do
    server.start()
    port = server.port
    server.start()
    assert server.port == port
    server.stop()
    server.stop()
    assert server_threads(port) == []


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    parts = []
    while chunk := sock.recv(65536):
        parts.append(chunk)
    return b"".join(parts)
