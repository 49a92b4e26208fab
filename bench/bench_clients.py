"""Per-request cost of the fake through aiohttp and requests versus their own mocking libraries.

Run: python bench/bench_clients.py [--requests N] [--rounds N]

(a) aiohttp + fake:         MockGateway answering a chat-completions POST from a ClientSession
(b) aiohttp + aioresponses: a bare aioresponses route returning the same body
(c) requests + fake:        MockGateway answering the same POST from a requests.Session
(d) requests + responses:   a bare responses route returning the same body

All four run in one process, rounds alternating so machine noise hits each alike; the
table shows the median over rounds of the mean time per request. aioresponses 0.7.9
cannot answer on aiohttp 3.14 (its ClientResponse needs a stream_writer), so (b) shows
n/a there: run this under aiohttp 3.13 for that row.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import time
from collections.abc import Callable

import aiohttp
import requests
import responses
from _rounds import alternate
from aioresponses import aioresponses

from pytest_aigw import MockGateway

PAYLOAD = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "You are a helpful support assistant for Acme Inc."},
        {"role": "user", "content": "My order #1234 has not arrived yet. Where is it?"},
    ],
    "temperature": 0.2,
    "max_tokens": 256,
}
HEADERS = {
    "Authorization": "Bearer sk-test-0123456789abcdef",
    "cf-aig-metadata": '{"user":"u-42","feature":"support"}',
}
AIORESPONSES_ANSWERS = "stream_writer" not in inspect.signature(aiohttp.ClientResponse).parameters


def run(count: int, rounds: int) -> dict[str, list[float]]:
    gw = MockGateway(strict=False)
    url = gw.url("openai") + "/chat/completions"
    with gw, requests.Session() as probe:
        reply = probe.post(url, json=PAYLOAD, headers=HEADERS).json()
    gw.reset()
    loop = asyncio.new_event_loop()
    session = requests.Session()

    async def aiohttp_posts() -> float:
        async with aiohttp.ClientSession() as client:
            start = time.perf_counter()
            for _ in range(count):
                async with client.post(url, json=PAYLOAD, headers=HEADERS) as response:
                    assert response.status == 200
                    await response.json()
            return (time.perf_counter() - start) / count

    def requests_posts() -> float:
        start = time.perf_counter()
        for _ in range(count):
            response = session.post(url, json=PAYLOAD, headers=HEADERS)
            assert response.status_code == 200
            response.json()
        return (time.perf_counter() - start) / count

    def aiohttp_fake() -> float:
        with gw:
            seconds = loop.run_until_complete(aiohttp_posts())
        gw.reset()
        return seconds

    def aiohttp_bare() -> float:
        with aioresponses() as mocked:
            mocked.post(url, payload=reply, repeat=True)
            return loop.run_until_complete(aiohttp_posts())

    def requests_fake() -> float:
        with gw:
            seconds = requests_posts()
        gw.reset()
        return seconds

    def requests_bare() -> float:
        with responses.RequestsMock() as mocked:
            mocked.post(url, json=reply)
            return requests_posts()

    cases: dict[str, Callable[[], float]] = {"aiohttp_fake": aiohttp_fake}
    if AIORESPONSES_ANSWERS:
        cases["aiohttp_bare"] = aiohttp_bare
    cases |= {"requests_fake": requests_fake, "requests_bare": requests_bare}
    results = alternate(cases, rounds)
    session.close()
    loop.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    args = parser.parse_args()
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be at least 1")
    results = run(args.requests, args.rounds)
    median = {name: statistics.median(times) * 1e6 for name, times in results.items()}
    labels = {
        "aiohttp_fake": "(a) aiohttp + MockGateway",
        "aiohttp_bare": "(b) aiohttp + bare aioresponses route",
        "requests_fake": "(c) requests + MockGateway",
        "requests_bare": "(d) requests + bare responses route",
    }
    print(f"aiohttp {aiohttp.__version__}, requests {requests.__version__}")
    print(f"{args.rounds} rounds x {args.requests} requests, median of per-round means")
    print(f"{'case':<40} {'µs/request':>10} {'min':>8} {'max':>8}")
    for name, label in labels.items():
        if name not in results:
            print(f"{label:<40} {'n/a':>10}")
            continue
        low, high = min(results[name]) * 1e6, max(results[name]) * 1e6
        print(f"{label:<40} {median[name]:>10.1f} {low:>8.1f} {high:>8.1f}")
    if "aiohttp_bare" in median:
        print(f"ratio (a)/(b): {median['aiohttp_fake'] / median['aiohttp_bare']:.2f}x")
    print(f"ratio (c)/(d): {median['requests_fake'] / median['requests_bare']:.2f}x")


if __name__ == "__main__":
    main()
