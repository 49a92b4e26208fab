"""Submitting and verifying eval feedback: wall time and Logs API calls for N results.

Run: python bench/bench_evals.py [--results N] [--rounds N] [--rtt SECONDS]

The stand-in for Cloudflare is a `MockGatewayServer` on a loopback port holding N
logs; the client is the real `LogsClient` over HTTP with Cloudflare's documented rate
limit on (1200 requests per 5 minutes). Each request first waits --rtt (default 50 ms,
a typical round trip to api.cloudflare.com), in the client's transport, so that
concurrency shows as it would against the real API. Cases:
    (a) bulk, as live eval runs submit at the end: PATCH with 8 threads, then verify
        with batched list calls (50 ids per call);
    (b) the same bulk submission with 1 thread;
    (c) one log at a time, PATCH then verify, as if each test submitted its own.
Each round flips every log's feedback, so verification checks fresh values. Rounds
alternate the cases; the figure is the median over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx

from pytest_aigw import LogsClient, MockGatewayServer, new_log_id
from pytest_aigw.evals import LogVerdict, submit

Case = Callable[[LogsClient, list[LogVerdict]], None]


def bulk(threads: int) -> Case:
    def run(client: LogsClient, verdicts: list[LogVerdict]) -> None:
        submit(client, verdicts, concurrency=threads)

    return run


def one_at_a_time(client: LogsClient, verdicts: list[LogVerdict]) -> None:
    for verdict in verdicts:
        submit(client, [verdict], concurrency=1)


CASES: dict[str, Case] = {
    "(a) bulk, 8 threads, batched verify": bulk(8),
    "(b) bulk, 1 thread, batched verify": bulk(1),
    "(c) per log: PATCH then verify": one_at_a_time,
}


class DistantTransport(httpx.HTTPTransport):
    """An HTTP transport whose every request first waits one network round trip."""

    def __init__(self, rtt: float) -> None:
        super().__init__()
        self.rtt = rtt

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        time.sleep(self.rtt)
        return super().handle_request(request)


def seed(server: MockGatewayServer, count: int) -> list[str]:
    ids = [new_log_id() for _ in range(count)]
    server.seed_logs(
        {
            "id": log_id,
            "created_at": "2026-11-22T10:00:00.000Z",
            "provider": "openai",
            "model": "gpt-4o-mini",
        }
        for log_id in ids
    )
    return ids


def measure(
    server: MockGatewayServer, case: Case, ids: list[str], feedback: int, rtt: float
) -> tuple[float, int]:
    verdicts = [LogVerdict(log_id, feedback, 50 + feedback) for log_id in ids]
    with LogsClient(
        account_id=server.account_id,
        gateway_id=server.gateway_id,
        api_token="bench",
        base_url=server.api_url,
        http_client=httpx.Client(transport=DistantTransport(rtt)),
    ) as client:
        started = time.perf_counter()
        case(client, verdicts)
        elapsed = time.perf_counter() - started
        calls = client.calls
    assert all(v.verified for v in verdicts), [v.error for v in verdicts if v.error][:3]
    return elapsed, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rtt", type=float, default=0.05)
    args = parser.parse_args()
    with MockGatewayServer(strict=False) as server:
        ids = seed(server, args.results)
        times: dict[str, list[float]] = {name: [] for name in CASES}
        calls: dict[str, int] = {}
        feedback = 1
        for round_number in range(args.rounds):
            order = list(CASES) if round_number % 2 == 0 else list(reversed(CASES))
            for name in order:
                feedback = -feedback
                elapsed, calls[name] = measure(server, CASES[name], ids, feedback, args.rtt)
                times[name].append(elapsed)
    print(
        f"submit and verify {args.results} eval results, {args.rtt * 1000:.0f} ms round trip,"
        f" median of {args.rounds} rounds"
    )
    for name in CASES:
        median = statistics.median(times[name])
        print(f"    {name:40} {median:7.2f} s  {calls[name]:5d} API calls")
    base = statistics.median(times["(a) bulk, 8 threads, batched verify"])
    for name in list(CASES)[1:]:
        print(f"    ratio {name[:3]}/(a): {statistics.median(times[name]) / base:.2f}x")


if __name__ == "__main__":
    main()
