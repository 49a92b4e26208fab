"""Throughput and first-chunk latency of the loopback server, and its start-up cost.

Run: python bench/bench_server.py [--requests N] [--streams N] [--rounds N]

(1) Requests per second with one keep-alive client (`http.client.HTTPConnection`,
    the thinnest client in the standard library, so the servers' costs dominate):
    (a) ``MockGatewayServer`` answering an OpenAI chat-completions POST with its
        default reply (routing, metadata parsing, a log id, a call record, a log);
    (b) ``pytest-httpserver`` answering the same POST with a static JSON reply of the
        same size, as its users set it up (``HTTPServer()``, the default: one thread,
        HTTP/1.0, so every request opens a new connection);
    (c) ``pytest-httpserver`` with ``threaded=True`` (HTTP/1.1, keep-alive).
(2) Latency to the first SSE chunk of a streamed 200-word reply, and to its last
    chunk, through the same keep-alive connection.
(3) What serving a gateway per test costs: starting and stopping a server per test,
    against attaching a new gateway to one server shared by the session.

Rounds of (1) alternate the cases and flip their order every round, so machine noise
hits each alike; the figure is the median over rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer

from pytest_aigw.served import MockGatewayServer
from pytest_aigw.server import LoopbackServer

PAYLOAD = json.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful support assistant for Acme Inc."},
            {"role": "user", "content": "My order #1234 has not arrived yet. Where is it?"},
        ],
    }
).encode()
HEADERS = {
    "content-type": "application/json",
    "authorization": "Bearer sk-bench",
    "cf-aig-metadata": '{"user":"u-42","team":"support"}',
}
STREAM_WORDS = 200

Case = Callable[[int], float]


def post_many(host: str, port: int, path: str, count: int) -> float:
    """Send *count* POSTs on one keep-alive connection; return requests per second."""
    conn = http.client.HTTPConnection(host, port)
    started = time.perf_counter()
    for _ in range(count):
        conn.request("POST", path, body=PAYLOAD, headers=HEADERS)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


@contextmanager
def fake_case() -> Iterator[Case]:
    with MockGatewayServer(strict=False) as gateway:
        path = "/v1/" + gateway.gateway_url.split("/v1/", 1)[1] + "/openai/chat/completions"

        def run(count: int) -> float:
            gateway.reset()  # keep memory flat: the figure is per request, not per log kept
            return post_many("127.0.0.1", gateway.port, path, count)

        yield run


@contextmanager
def httpserver_case(*, threaded: bool, body: bytes) -> Iterator[Case]:
    server = HTTPServer(threaded=threaded)
    server.expect_request("/chat/completions", method="POST").respond_with_data(
        body, content_type="application/json"
    )
    server.start()
    try:

        def run(count: int) -> float:
            return post_many(server.host, server.port, "/chat/completions", count)

        yield run
    finally:
        server.clear()
        server.stop()


def reply_body() -> bytes:
    with MockGatewayServer(strict=False) as gateway:
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port)
        path = "/v1/" + gateway.gateway_url.split("/v1/", 1)[1] + "/openai/chat/completions"
        conn.request("POST", path, body=PAYLOAD, headers=HEADERS)
        body = conn.getresponse().read()
        conn.close()
        return body


def throughput(requests: int, rounds: int) -> None:
    body = reply_body()
    figures: dict[str, list[float]] = {"fake": [], "httpserver": [], "httpserver threaded": []}
    with (
        fake_case() as fake,
        httpserver_case(threaded=False, body=body) as plain,
        httpserver_case(threaded=True, body=body) as threaded,
    ):
        cases = {"fake": fake, "httpserver": plain, "httpserver threaded": threaded}
        for run in cases.values():
            run(50)  # warm-up
        for round_no in range(rounds):
            order = list(cases.items())
            for name, run in order if round_no % 2 == 0 else reversed(order):
                figures[name].append(run(requests))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(f"(1) requests per second, one keep-alive client, {requests} requests x {rounds} rounds")
    print(f"    (a) MockGatewayServer, default reply:            {medians['fake']:8.0f} req/s")
    print(
        f"    (b) pytest-httpserver, static reply (default):   {medians['httpserver']:8.0f} req/s"
    )
    print(
        f"    (c) pytest-httpserver, static reply, threaded:   "
        f"{medians['httpserver threaded']:8.0f} req/s"
    )
    print(
        f"    ratio (a)/(b): {medians['fake'] / medians['httpserver']:.2f}x;"
        f" (a)/(c): {medians['fake'] / medians['httpserver threaded']:.2f}x"
    )
    print(f"    reply body: {len(body)} bytes")


def first_chunk(streams: int) -> None:
    words = " ".join(f"word{n}" for n in range(STREAM_WORDS))
    firsts: list[float] = []
    lasts: list[float] = []
    with MockGatewayServer(strict=False) as gateway:
        gateway.respond(words, provider="openai", times=None)
        path = "/v1/" + gateway.gateway_url.split("/v1/", 1)[1] + "/openai/chat/completions"
        body = json.dumps({**json.loads(PAYLOAD), "stream": True}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", gateway.port)
        for _ in range(streams):
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=HEADERS)
            response = conn.getresponse()
            response.read1(1)
            firsts.append(time.perf_counter() - started)
            response.read()
            lasts.append(time.perf_counter() - started)
        conn.close()
    print(
        f"(2) streamed reply of {STREAM_WORDS} words ({STREAM_WORDS + 3} SSE events),"
        f" {streams} streams"
    )
    print(f"    first chunk: median {statistics.median(firsts) * 1e6:7.0f} µs")
    print(f"    last chunk:  median {statistics.median(lasts) * 1e6:7.0f} µs")


def per_test_cost(tests: int) -> None:
    started = time.perf_counter()
    for _ in range(tests):
        with MockGatewayServer():
            pass
    own = (time.perf_counter() - started) / tests
    shared = LoopbackServer()
    shared.start()
    started = time.perf_counter()
    for _ in range(tests):
        with MockGatewayServer(server=shared):
            pass
    attached = (time.perf_counter() - started) / tests
    shared.stop()
    print(f"(3) serving one gateway per test, {tests} tests")
    print(f"    a server started and stopped per test: {own * 1e3:6.2f} ms per test")
    print(f"    a new gateway on a session server:     {attached * 1e3:6.2f} ms per test")


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--streams", type=int, default=300)
    parser.add_argument("--tests", type=int, default=200)
    args = parser.parse_args()
    throughput(args.requests, args.rounds)
    first_chunk(args.streams)
    per_test_cost(args.tests)


if __name__ == "__main__":
    main()
