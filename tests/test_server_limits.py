"""The loopback server answers every request, and bounds what a client may take or send."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import requests

from pytest_aigw import ConfigError, LoopbackServer, MockGatewayServer


def echo(request: httpx.Request) -> httpx.Response:
    """Answers with the path, query and body size it was handed."""
    return httpx.Response(
        200, json={"target": str(request.url.raw_path, "ascii"), "size": len(request.content)}
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(echo) as running:
        yield running


def send(port: int, raw: bytes, *, timeout: float = 5.0) -> bytes:
    """Send *raw* on a new connection; everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(raw)
        return read_until_closed(sock, timeout)


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    parts = []
    while chunk := sock.recv(65536):
        parts.append(chunk)
    return b"".join(parts)


def head_and_body(data: bytes) -> tuple[list[str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


# --- every request-target form gets an answer ------------------------------------------


@pytest.mark.parametrize("authority", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_an_absolute_form_target_naming_this_server_is_served_as_its_path(
    server: LoopbackServer, authority: str
) -> None:
    target = f"http://{authority.format(port=server.port)}/v1/a/b?x=1"
    data = send(
        server.port, f"GET {target} HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n".encode()
    )
    lines, body = head_and_body(data)
    assert lines[0] == "HTTP/1.1 200 OK"
    assert json.loads(body) == {"target": "/v1/a/b?x=1", "size": 0}


def test_an_absolute_form_target_with_no_path_is_served_as_the_root(
    server: LoopbackServer,
) -> None:
    raw = f"GET http://127.0.0.1:{server.port} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert json.loads(head_and_body(send(server.port, raw.encode()))[1])["target"] == "/"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://example.com/v1", "names another origin, and pytest-aigw is not a proxy"),
        ("http://127.0.0.1:1/v1", "names another origin, and pytest-aigw is not a proxy"),
        ("https://127.0.0.1:{port}/v1", "names another origin, and pytest-aigw is not a proxy"),
        ("http://user@127.0.0.1:{port}/v1", "names another origin, and pytest-aigw is not a proxy"),
        ("http://127.0.0.1:99999/v1", "is not a valid URL"),
        ("v1/no/slash", "is not a path: send it as /path (origin-form)"),
    ],
)
def test_a_target_that_is_not_served_gets_a_400_saying_why(
    server: LoopbackServer, target: str, message: str
) -> None:
    target = target.format(port=server.port)
    data = send(server.port, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    lines, body = head_and_body(data)
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert "connection: close" in lines
    assert message in body.decode()


def test_options_asterisk_lists_the_methods(server: LoopbackServer) -> None:
    lines, body = head_and_body(send(server.port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" in lines
    assert "content-length: 0" in lines
    assert body == b""


def test_the_asterisk_target_is_for_options_only(server: LoopbackServer) -> None:
    lines, body = head_and_body(send(server.port, b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert body == b"pytest-aigw: the target * is for OPTIONS only, not GET.\n"


def test_connect_is_not_implemented(server: LoopbackServer) -> None:
    raw = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    lines, body = head_and_body(send(server.port, raw))
    assert lines[0] == "HTTP/1.1 501 Not Implemented"
    assert b"is not a proxy: CONNECT example.com:443 is not implemented" in body


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (["x:99999"], "the Host header 'x:99999' is not a valid host[:port] (ports are 0-65535)."),
        (["a b"], "the Host header 'a b' is not a valid host[:port]"),
        (["a", "b"], "malformed HTTP request"),  # h11 refuses a repeated Host itself
    ],
)
def test_a_bad_host_header_gets_a_400(
    server: LoopbackServer, hosts: list[str], message: str
) -> None:
    head = "".join(f"Host: {host}\r\n" for host in hosts)
    lines, body = head_and_body(send(server.port, f"GET /v1 HTTP/1.1\r\n{head}\r\n".encode()))
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert message in body.decode()


@pytest.mark.parametrize("host", ["x", "x:", "x:65535", "127.0.0.1:8", "[::1]:80"])
def test_a_valid_host_header_is_served(server: LoopbackServer, host: str) -> None:
    raw = f"GET /ok HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    assert send(server.port, raw).startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_refused_head_request_gets_no_body(server: LoopbackServer) -> None:
    lines, body = head_and_body(send(server.port, b"HEAD * HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert body == b""


# --- a failing handler --------------------------------------------------------------------


def broken(request: httpx.Request) -> httpx.Response:
    raise KeyError("a bug")


class BrokenStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: one\n\n"
        raise RuntimeError("broke mid-stream")


@pytest.mark.parametrize(
    "handler",
    [
        broken,
        lambda request: httpx.Response(200, headers={"content-length": "3"}, stream=BrokenStream()),
    ],
)
def test_an_exception_in_the_handler_is_a_500_and_logged(
    handler: object, caplog: pytest.LogCaptureFixture
) -> None:
    with LoopbackServer(handler) as running:  # type: ignore[arg-type]
        response = requests.get(running.url + "/v1/x", timeout=5)
        again = requests.get(running.url + "/v1/x", timeout=5)  # still serving
    assert response.status_code == again.status_code == 500
    assert response.text == (
        "pytest-aigw: the fake gateway failed on this request (a bug in pytest-aigw;"
        " the traceback is in the server's log).\n"
    )
    failures = [r for r in caplog.records if "the fake failed on this request" in r.message]
    assert len(failures) == 2
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None


def test_an_exception_mid_stream_cuts_the_stream_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=BrokenStream()
        )

    with LoopbackServer(handler) as running:
        with requests.get(running.url + "/s", stream=True, timeout=5) as response:
            assert response.status_code == 200
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                b"".join(response.iter_content(chunk_size=None))
        assert requests.get(running.url + "/s", stream=True, timeout=5).status_code == 200
    assert any("the fake failed on this request" in r.message for r in caplog.records)


# --- timeouts ------------------------------------------------------------------------------


def test_a_head_not_complete_within_the_header_timeout_gets_a_408() -> None:
    with LoopbackServer(echo, header_timeout=0.3) as running:
        started = time.perf_counter()
        data = send(running.port, b"GET /slow HTTP/1.1\r\nHost: x\r\n")
        elapsed = time.perf_counter() - started
    lines, body = head_and_body(data)
    assert lines[0] == "HTTP/1.1 408 Request Timeout"
    assert body == (
        b"pytest-aigw: the request head did not arrive within 0.3 s (header_timeout /"
        b" idle_timeout).\n"
    )
    assert 0.25 < elapsed < 3


def test_a_head_sent_a_byte_at_a_time_still_has_the_header_timeout() -> None:
    with (
        LoopbackServer(echo, header_timeout=0.5) as running,
        socket.create_connection(("127.0.0.1", running.port)) as sock,
    ):
        started = time.perf_counter()
        with pytest.raises(OSError):  # the server closes while we still send
            dribble(sock, b"GET /slow HTTP/1.1\r\nX-Padding: " + b"x" * 100)
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert time.perf_counter() - started < 3


def dribble(sock: socket.socket, data: bytes) -> None:
    for byte in data:
        sock.sendall(bytes([byte]))
        time.sleep(0.05)


def test_a_connection_that_sends_nothing_is_closed_without_an_answer() -> None:
    with LoopbackServer(echo, header_timeout=0.2) as running:
        assert send(running.port, b"") == b""


def test_an_idle_keep_alive_connection_is_closed_quietly_after_the_idle_timeout() -> None:
    with (
        LoopbackServer(echo, idle_timeout=0.4) as running,
        socket.create_connection(("127.0.0.1", running.port)) as sock,
    ):
        sock.sendall(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)  # within the idle timeout: the connection is reused
        sock.sendall(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.perf_counter()
        data = read_until_closed(sock)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert b"408" not in data
    assert 0.3 < time.perf_counter() - started < 3


def test_a_body_that_stops_arriving_gets_a_408_after_the_idle_timeout() -> None:
    with LoopbackServer(echo, idle_timeout=0.3) as running:
        data = send(running.port, b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"the request body did not arrive within 0.3 s" in data


# --- the connection cap ---------------------------------------------------------------------


def test_connections_beyond_the_cap_get_a_503_and_room_frees_up() -> None:
    with LoopbackServer(echo, max_connections=2) as running:
        held = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(2)]
        for sock in held:  # each served once: both are surely counted
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        lines, body = head_and_body(send(running.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        assert lines[0] == "HTTP/1.1 503 Service Unavailable"
        assert {"connection: close", "retry-after: 1"} <= set(lines)
        assert b"the server is serving 2 connections, its limit" in body
        held.pop().close()
        for _ in range(50):  # the server notices the close on its next loop turn
            response = requests.get(running.url + "/after", timeout=5)
            if response.status_code == 200:
                break
            time.sleep(0.02)
        assert response.status_code == 200
        held.pop().close()


def test_the_cap_leaves_room_below_the_file_descriptor_limit() -> None:
    resource = pytest.importorskip("resource")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    with LoopbackServer(max_connections=10**9) as running:
        assert running._cap == soft - max(32, soft // 8)


STARVE = textwrap.dedent(
    """
    import resource, sys, time, httpx
    from pytest_aigw import LoopbackServer
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    server = LoopbackServer(lambda request: httpx.Response(200, text="ok"), header_timeout=1.0)
    server.start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()
    """
)


def test_300_half_sent_requests_under_256_descriptors_do_not_starve_a_whole_one() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", STARVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert child.stdout is not None
    port = int(child.stdout.readline())
    half_sent = []
    try:
        for _ in range(300):
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")  # never finished
            half_sent.append(sock)
        started = time.perf_counter()
        statuses = []
        while time.perf_counter() - started < 15:
            try:
                statuses.append(requests.get(f"http://127.0.0.1:{port}/ok", timeout=5).status_code)
            except requests.ConnectionError:
                statuses.append(0)
            if statuses[-1] == 200:
                break
            time.sleep(0.1)
        served_after = time.perf_counter() - started
        answers = [read_until_closed(sock, 10)[:12] for sock in half_sent]
    finally:
        for sock in half_sent:
            sock.close()
        _, err = child.communicate("", timeout=10)
    assert statuses[-1] == 200
    assert set(statuses) <= {200, 503}  # refused at once while full, never dropped or hung
    assert served_after < 12  # the header timeout (1 s) frees the slots the half-sent hold
    assert set(answers) <= {b"HTTP/1.1 408", b"HTTP/1.1 503"}
    assert b"HTTP/1.1 408" in answers
    assert child.returncode == 0
    assert "Traceback" not in err


# --- request bodies -------------------------------------------------------------------------


def test_the_default_body_cap_is_cloudflares_100_mb() -> None:
    assert LoopbackServer().limits.max_body_size == 100 * 1024 * 1024


def test_a_declared_body_over_the_cap_gets_a_413_before_it_is_sent() -> None:
    with LoopbackServer(echo, max_body_size=1000) as running:
        raw = (
            b"POST /big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"
        )
        data = send(running.port, raw)  # no 100 Continue: the body is not wanted
    lines, body = head_and_body(data)
    assert lines[0].startswith("HTTP/1.1 413 ")  # "Content Too Large" since Python 3.13
    assert body == (
        b"pytest-aigw: the request body (5000 bytes) is over the server's limit of 1000 bytes"
        b" (Cloudflare's default request limit on the Free and Pro plans is 100 MB). Send"
        b" less, or raise max_body_size (serve --max-body-size).\n"
    )


def test_a_chunked_body_over_the_cap_gets_a_413() -> None:
    with LoopbackServer(echo, max_body_size=1000) as running:
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        raw = b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3
        data = send(running.port, raw + b"0\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 413 ")
    assert b"the request body (more than 1000 bytes) is over the server's limit" in data


def test_a_client_sending_a_body_over_the_cap_reads_the_413_not_a_reset() -> None:
    with LoopbackServer(echo, max_body_size=1000) as running:
        refused = requests.post(running.url + "/big", data=b"x" * 2_000_000, timeout=10)
        at_cap = requests.post(running.url + "/big", data=b"x" * 1000, timeout=10)
    assert refused.status_code == 413
    assert at_cap.json() == {"target": "/big", "size": 1000}


def test_a_gateway_server_takes_the_limits() -> None:
    with MockGatewayServer(max_body_size=10, header_timeout=1.5) as gateway:
        assert gateway.server.limits.header_timeout == 1.5
        response = requests.post(gateway.url("openai") + "/chat/completions", data=b"x" * 11)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"header_timeout": float("nan")}, "header_timeout must be a finite number of seconds"),
        ({"idle_timeout": float("inf")}, "idle_timeout must be a finite number of seconds"),
        ({"header_timeout": 0}, "header_timeout must be a finite number of seconds above 0"),
        ({"idle_timeout": True}, "idle_timeout must be a finite number"),
        ({"max_connections": 0}, "max_connections must be a whole number of at least 1, got 0"),
        ({"max_body_size": -1}, "max_body_size must be a whole number of at least 0, got -1"),
        ({"max_body_size": 1.5}, "max_body_size must be a whole number of at least 0, got 1.5"),
        ({"port": 99999}, "port must be a whole number from 0 to 65535 (0: a free one), got 99999"),
        ({"port": -1}, "port must be a whole number from 0 to 65535"),
        ({"host": "a\x00b"}, "host must be a host name or an IP address, got 'a\\x00b'"),
    ],
)
def test_bad_limits_and_addresses_are_refused_at_the_call(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        LoopbackServer(**options)
    assert message in str(caught.value)
    with pytest.raises(ConfigError):
        MockGatewayServer(**options)


MEMORY = textwrap.dedent(
    """
    import gc, sys
    from pathlib import Path
    from pytest_aigw import MockGatewayServer

    def rss():
        status = Path("/proc/self/status").read_text()
        return next(int(l.split()[1]) // 1024 for l in status.splitlines() if l.startswith("VmRSS"))

    with MockGatewayServer(strict=False) as gateway:
        print(gateway.url("openai") + "/chat/completions", flush=True)
        for line in sys.stdin:
            if line.strip() == "reset":
                gateway.reset()
            gc.collect()
            print(rss(), flush=True)
    """
)


def test_memory_returns_to_its_baseline_after_large_bodies() -> None:
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads resident memory from /proc (Linux)")
    child = subprocess.Popen(
        [sys.executable, "-c", MEMORY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None

    def ask(command: str) -> int:
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(command + "\n")
        child.stdin.flush()
        return int(child.stdout.readline())

    try:
        url = child.stdout.readline().strip()
        pad = "x" * (40 * 2**20)
        key = {"Authorization": "Bearer sk-test"}
        requests.post(url, json={"model": "gpt-4o-mini", "messages": []}, headers=key, timeout=10)
        baseline = ask("measure")
        for _ in range(2):
            body = {"model": "gpt-4o-mini", "messages": [], "user": pad}
            assert requests.post(url, json=body, headers=key, timeout=60).status_code == 200
        refused = requests.post(url, data=b"x" * (101 * 2**20), headers=key, timeout=60)
        after = ask("reset")
    finally:
        child.communicate(timeout=10)
    assert refused.status_code == 413
    assert after - baseline < 20, (baseline, after)  # MiB


def test_memory_is_handed_back_after_a_large_body_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_aigw import server as server_module
    from pytest_aigw._memory import RELEASE_AFTER, release_memory

    released: list[None] = []
    monkeypatch.setattr(server_module, "release_memory", lambda: released.append(None))
    with LoopbackServer(echo) as running:
        requests.post(running.url + "/small", data=b"x" * 1000, timeout=10)
        assert released == []
        requests.post(running.url + "/large", data=b"x" * RELEASE_AFTER, timeout=10)
        for _ in range(200):  # handed back just after the reply is sent
            if released:
                break
            time.sleep(0.01)
        assert released == [None]
    release_memory()  # the real one: harmless wherever it runs


# --- corners -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own_host", "target", "served"),
    [
        ("0.0.0.0", "http://10.1.2.3:8787/p", True),  # bound to every address: any name
        ("::", "http://[fe80::1]:8787/p", True),
        ("192.0.2.7", "http://192.0.2.7:8787/p", True),
        ("192.0.2.7", "http://localhost:8787/p", False),  # not bound to loopback
        ("127.0.0.1", "http://[::1]:8787/p", True),
        ("127.0.0.1", "http://127.0.0.1/p", False),  # port 80 implied
    ],
)
def test_which_absolute_targets_name_this_server(own_host: str, target: str, served: bool) -> None:
    from pytest_aigw._request_target import resolve

    answer = resolve(b"GET", target.encode(), [b"x"], own_host, 8787)
    assert (answer == "/p") is served


def test_port_80_may_be_left_out_of_an_absolute_target() -> None:
    from pytest_aigw._request_target import resolve

    assert resolve(b"GET", b"http://localhost/p?q", [], "127.0.0.1", 80) == "/p?q"


def test_an_http_1_0_request_without_host_is_served(server: LoopbackServer) -> None:
    assert send(server.port, b"GET /old HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 OK\r\n")


def test_stopping_while_a_refusal_lingers_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    server = LoopbackServer(echo)
    server.start()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")
        server.stop()  # the server still lingers on this connection, waiting for our close
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []


def test_the_header_timeout_starts_again_with_the_next_request_on_a_connection() -> None:
    with (
        LoopbackServer(echo, header_timeout=0.3, idle_timeout=30) as running,
        socket.create_connection(("127.0.0.1", running.port)) as sock,
    ):
        sock.sendall(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        time.sleep(0.5)  # idle past header_timeout, well within idle_timeout: still open
        started = time.perf_counter()
        sock.sendall(b"GET /2 HTTP/1.1\r\n")  # ...then half a head
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert time.perf_counter() - started < 3


def test_a_client_hanging_up_mid_body_is_answered_400(server: LoopbackServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        sock.shutdown(socket.SHUT_WR)
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"malformed HTTP request: peer closed connection" in data


def test_a_status_without_a_standard_reason_is_sent_without_one() -> None:
    with LoopbackServer(lambda request: httpx.Response(599, text="odd")) as running:
        data = send(running.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 599 \r\n")


def test_without_a_descriptor_limit_the_cap_is_max_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_aigw import _server_limits

    monkeypatch.setattr(_server_limits, "_descriptor_limit", lambda: None)
    assert _server_limits.ServerLimits(max_connections=7).connection_cap() == 7


def test_a_watchdog_disarmed_or_moved_later_does_not_fire_early() -> None:
    from pytest_aigw._server_limits import Watchdog

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        started = loop.time()
        watchdog = Watchdog(loop, lambda: fired.append(loop.time() - started))
        watchdog.arm(0.05)
        watchdog.disarm()
        await asyncio.sleep(0.1)  # its timer ran, and found nothing to do
        watchdog.arm(0.05)
        watchdog.arm(0.15)  # later: the early timer sets itself again
        await asyncio.sleep(0.3)
        watchdog.close()
        return fired

    fired = asyncio.run(main())
    assert len(fired) == 1
    assert fired[0] >= 0.25


def test_other_event_loop_errors_keep_asyncios_report(caplog: pytest.LogCaptureFixture) -> None:
    from pytest_aigw.server import _loop_error

    loop = asyncio.new_event_loop()
    try:
        _loop_error(loop, {"message": "something else", "exception": ValueError("x")})
        _loop_error(loop, {"message": "accept", "exception": OSError(24, "Too many open files")})
    finally:
        loop.close()
    messages = [record.getMessage() for record in caplog.records]
    assert "something else" in messages
    assert "out of file descriptors: new connections wait (Too many open files)" in messages


def test_a_refused_request_is_logged_without_its_query(
    server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pytest_aigw.server")
    send(server.port, b"GET http://example.com/v1?key=sk-secret HTTP/1.1\r\nHost: x\r\n\r\n")
    lines = [r.getMessage() for r in caplog.records if " -> 400" in r.getMessage()]
    assert len(lines) == 1
    assert " GET http://example.com/v1?[query not shown] -> 400 " in lines[0]
    assert "sk-secret" not in caplog.text
