"""Per-request cost of replay (answers from a cassette) versus the plain fake.

Run: python bench/bench_replay.py [--exchanges N] [--batches N] [--rounds N]

(a) fake:        MockGateway answering OpenAI chat-completions POSTs via httpx.Client
(b) replay:      ReplayGateway answering the same POSTs from a cassette of N recorded
                 exchanges (a new gateway per batch of N requests, built outside the timing)
(c) replay x20:  the same with a cassette 20 times larger, whose requests all share one
                 path: the cost of matching against many exchanges
(d), (e):        the handlers of (a) and (b) called directly, no client and no
                 interception: what the fake's own code and replay's matching cost

Each request asks a different prompt, as a recorded conversation would. Rounds of the
cases alternate so machine noise hits each alike; the table shows the median over rounds
of the mean time per request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
from _rounds import alternate

from pytest_aigw import MockGateway, ReplayGateway
from pytest_aigw.cassette import (
    Body,
    Cassette,
    Exchange,
    GatewayPlace,
    RecordedRequest,
    RecordedResponse,
)
from pytest_aigw.settings import DEFAULT_ACCOUNT_ID, DEFAULT_GATEWAY_ID

PLACE = GatewayPlace(
    DEFAULT_ACCOUNT_ID,
    DEFAULT_GATEWAY_ID,
    f"https://gateway.ai.cloudflare.com/v1/{DEFAULT_ACCOUNT_ID}/{DEFAULT_GATEWAY_ID}",
    "https://api.cloudflare.com/client/v4",
)
HEADERS = {
    "Authorization": "Bearer sk-test-0123456789abcdef",
    "User-Agent": "OpenAI/Python 1.55.0",
    "cf-aig-metadata": '{"user":"u-42","feature":"support"}',
}


def payload(number: int) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful support assistant for Acme Inc."},
            {"role": "user", "content": f"Question {number}: where is my order #{number}?"},
        ],
        "temperature": 0.2,
        "max_tokens": 256,
    }


def cassette(exchanges: int) -> Cassette:
    """*exchanges* recorded chat calls, each with its own prompt and log id."""
    recorded = []
    for number in range(exchanges):
        sent = RecordedRequest(
            "POST",
            f"{PLACE.gateway_url}/openai/chat/completions",
            [(name.lower(), value) for name, value in HEADERS.items()],
            Body(json.dumps(payload(number)).encode()),
        )
        answer = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": 1764547200,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"Answer {number}."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 30, "completion_tokens": 4, "total_tokens": 34},
        }
        headers = [
            ("content-type", "application/json"),
            ("cf-aig-log-id", f"019ad5a0-0000-7000-8000-{number:012d}"),
            ("cf-aig-cache-status", "MISS"),
        ]
        body = Body(json.dumps(answer).encode())
        recorded.append(Exchange("gateway", sent, RecordedResponse(200, headers, body)))
    return Cassette("bench", PLACE, "", recorded)


def run(exchanges: int, batches: int, rounds: int) -> dict[str, list[float]]:
    client = httpx.Client()
    url = f"{PLACE.gateway_url}/openai/chat/completions"
    small, large = cassette(exchanges), cassette(exchanges * 20)

    def post(number: int) -> None:
        response = client.post(url, headers=HEADERS, json=payload(number))
        assert response.status_code == 200, response.text

    def timed(count: int) -> float:
        start = time.perf_counter()
        for number in range(count):
            post(number)
        return time.perf_counter() - start

    def fake_round() -> float:
        gw = MockGateway(strict=False)
        with gw:
            seconds = timed(exchanges * batches)
        return seconds / (exchanges * batches)

    def replay_round(recorded: Cassette, per_gateway: int, count: int) -> float:
        seconds = 0.0
        for _ in range(count):
            with ReplayGateway(recorded, strict=False) as gw:
                seconds += timed(per_gateway)
                assert gw.findings() == [] or per_gateway < len(recorded.exchanges)
        return seconds / (per_gateway * count)

    requests = [
        httpx.Request("POST", url, headers=HEADERS, json=payload(number))
        for number in range(exchanges)
    ]

    def fake_handler_round() -> float:
        gw = MockGateway(strict=False)
        start = time.perf_counter()
        for _ in range(batches):
            for sent in requests:
                gw.handler(sent)
        return (time.perf_counter() - start) / (exchanges * batches)

    def replay_handler_round() -> float:
        seconds = 0.0
        for _ in range(batches):
            handler = ReplayGateway(small, strict=False)._fake.handler  # the fake inside
            start = time.perf_counter()
            for sent in requests:
                handler(sent)
            seconds += time.perf_counter() - start
        return seconds / (exchanges * batches)

    cases = {
        "fake": fake_round,
        "replay": lambda: replay_round(small, exchanges, batches),
        "replay_x20": lambda: replay_round(large, exchanges * 20, max(1, batches // 20)),
        "fake_handler": fake_handler_round,
        "replay_handler": replay_handler_round,
    }
    results = alternate(cases, rounds)
    client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=20, help="exchanges per cassette")
    parser.add_argument("--batches", type=int, default=60, help="gateways per round")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds")
    args = parser.parse_args()
    if min(args.exchanges, args.batches, args.rounds) < 1:
        parser.error("--exchanges, --batches and --rounds must be at least 1")
    results = run(args.exchanges, args.batches, args.rounds)
    median = {name: statistics.median(times) * 1e6 for name, times in results.items()}
    labels = {
        "fake": "(a) MockGateway, default reply",
        "replay": f"(b) ReplayGateway, {args.exchanges} exchanges",
        "replay_x20": f"(c) ReplayGateway, {args.exchanges * 20} exchanges",
        "fake_handler": "(d) MockGateway.handler alone",
        "replay_handler": "(e) ReplayGateway's handler alone",
    }
    print(f"{args.rounds} rounds, median of per-round means")
    print(f"{'case':<40} {'µs/request':>10} {'min':>8} {'max':>8} {'ratio':>8}")
    for name, label in labels.items():
        low, high = min(results[name]) * 1e6, max(results[name]) * 1e6
        ratio = median[name] / median["fake_handler" if "handler" in name else "fake"]
        print(f"{label:<40} {median[name]:>10.1f} {low:>8.1f} {high:>8.1f} {ratio:>7.2f}x")


if __name__ == "__main__":
    main()
