"""Per-request cost of the fake gateway versus bare mocks of the same request.

Run: python bench/bench_request_cost.py [--requests N] [--rounds N]

(a) fake:          MockGateway answering an OpenAI chat-completions POST via httpx.Client
(b) respx:         a bare respx route returning a chat.completion body of the same size
(c) handler:       the fake's core handler alone, no httpx client and no interception
(d) MockTransport: an httpx.Client on httpx.MockTransport returning the same body
(e) pytest-httpx:  one reusable pytest-httpx response, patched in as its fixture does

Rounds of (a), (b) and (c) alternate so machine noise hits each alike; the table shows
the median over rounds of the mean time per request.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx
import pytest
import respx
from _rounds import alternate
from pytest_httpx import HTTPXMock
from pytest_httpx._options import _HTTPXMockOptions  # what its fixture builds

from pytest_aigw import MockGateway

TARGET_RATIO = 1.25
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
    "User-Agent": "OpenAI/Python 1.55.0",
    "X-Stainless-Lang": "python",
    "cf-aig-metadata": '{"user":"u-42","feature":"support"}',
}


def time_per_request(send: Callable[[], object], requests: int) -> float:
    """Mean seconds per call of *send* over *requests* calls."""
    start = time.perf_counter()
    for _ in range(requests):
        send()
    return (time.perf_counter() - start) / requests


def run(requests: int, rounds: int) -> dict[str, list[float]]:
    gw = MockGateway(strict=False)
    url = gw.url("openai") + "/chat/completions"
    request = httpx.Request("POST", url, headers=HEADERS, json=PAYLOAD)
    reply = gw.handler(request).json()  # (b) returns exactly the body the fake builds
    gw.reset()
    client = httpx.Client()

    def post() -> object:
        response = client.post(url, headers=HEADERS, json=PAYLOAD)
        assert response.status_code == 200, response.text
        return response

    def fake_round() -> float:
        with gw:
            seconds = time_per_request(post, requests)
        gw.reset()
        return seconds

    def respx_round() -> float:
        with respx.mock(assert_all_called=False) as router:
            router.post(url).respond(json=reply)
            return time_per_request(post, requests)

    def handler_round() -> float:
        seconds = time_per_request(lambda: gw.handler(request), requests)
        gw.reset()
        return seconds

    transport_client = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=reply))
    )

    def transport_round() -> float:
        def send() -> object:
            return transport_client.post(url, headers=HEADERS, json=PAYLOAD)

        return time_per_request(send, requests)

    def pytest_httpx_round() -> float:
        mock = HTTPXMock(_HTTPXMockOptions())
        mock.add_response(url=url, json=reply, is_reusable=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(
                httpx.HTTPTransport,
                "handle_request",
                lambda transport, request: mock._handle_request(transport, request),
            )
            return time_per_request(post, requests)

    cases = {
        "fake": fake_round,
        "respx": respx_round,
        "handler": handler_round,
        "transport": transport_round,
        "pytest_httpx": pytest_httpx_round,
    }
    results = alternate(cases, rounds)
    client.close()
    transport_client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per round")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds")
    args = parser.parse_args()
    if args.requests < 1 or args.rounds < 1:
        parser.error("--requests and --rounds must be at least 1")
    results = run(args.requests, args.rounds)
    median = {name: statistics.median(times) * 1e6 for name, times in results.items()}
    ratio = median["fake"] / median["respx"]
    labels = {
        "fake": "(a) MockGateway via httpx.Client",
        "respx": "(b) bare respx route via httpx.Client",
        "handler": "(c) MockGateway.handler alone",
        "transport": "(d) httpx.MockTransport",
        "pytest_httpx": "(e) pytest-httpx response",
    }
    print(f"{args.rounds} rounds x {args.requests} requests, median of per-round means")
    print(f"{'case':<40} {'µs/request':>10} {'min':>8} {'max':>8}")
    for name, label in labels.items():
        low, high = min(results[name]) * 1e6, max(results[name]) * 1e6
        print(f"{label:<40} {median[name]:>10.1f} {low:>8.1f} {high:>8.1f}")
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"ratio (a)/(b): {ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict})")
    for name in ("transport", "pytest_httpx"):
        print(f"ratio (a)/{labels[name][:3]}: {median['fake'] / median[name]:.2f}x")


if __name__ == "__main__":
    main()
