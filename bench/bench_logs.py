"""Logs API queries over 100,000 stored logs, and memory per stored log.

Each query goes through `MockGateway.handler`: request parsing, filtering, ordering,
paging and the JSON envelope, as a client would see it minus the transport.
Target (issue): under 50 ms a page.

    python bench/bench_logs.py [--logs N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc

import httpx

from pytest_aigw import MockGateway
from pytest_aigw.logstore import StoredLog

MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-5", "@cf/meta/llama-3.1-8b-instruct")
PROVIDERS = ("openai", "openai", "anthropic", "workers-ai")
BODY = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' + b"x" * 240 + b'"}]}'
TARGET_MS = 50.0


def make_logs(count: int, *, bodies: bool) -> list[StoredLog]:
    start = 1_790_000_000.0
    return [
        StoredLog(
            id=f"01JA{n:022d}",
            created=start + n,
            provider=PROVIDERS[n % 4],
            model=MODELS[n % 4],
            path="chat/completions",
            model_type="chat",
            duration=100 + n % 900,
            success=n % 17 != 0,
            tokens_in=10 + n % 500,
            tokens_out=20 + n % 300,
            cost=(n % 1000) * 1e-6,
            metadata={"user": f"u{n % 5000}", "team": f"t{n % 40}", "test": True},
            request_body=bytes(bytearray(BODY)) if bodies else None,  # one copy per log
            response_body=bytes(bytearray(BODY)) if bodies else None,
            request_size=len(BODY),
            response_size=len(BODY),
        )
        for n in range(count)
    ]


def bytes_per_log(count: int, *, bodies: bool) -> float:
    tracemalloc.start()
    gw = MockGateway(strict=False)
    before = tracemalloc.get_traced_memory()[0]
    gw.log_store.load(make_logs(count, bodies=bodies))
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


QUERIES: dict[str, dict[str, str]] = {
    "filtered (model eq), newest first": {
        "filters": json.dumps([{"key": "model", "operator": "eq", "value": ["gpt-4o"]}]),
        "order_by": "created_at",
        "order_by_direction": "desc",
        "per_page": "50",
    },
    "unfiltered, newest first": {"per_page": "50"},
    "metadata.value eq": {
        "filters": json.dumps([{"key": "metadata.value", "operator": "eq", "value": ["u42"]}]),
        "per_page": "50",
    },
    "search": {"search": "u4242", "per_page": "50"},
    "page 500, ordered by model": {"page": "500", "per_page": "50", "order_by": "model"},
}


def verify_calls(count: int) -> None:
    """API calls `verify_feedback` makes for *count* logs whose feedback already shows."""
    with MockGateway(strict=False) as gw:
        logs = make_logs(count, bodies=False)
        for log in logs:
            log.feedback, log.score = 1, 50
        gw.log_store.load(logs)
        started = time.perf_counter()
        gw.logs.verify_feedback({log.id: (1, 50) for log in logs}, timeout=5)
        took = (time.perf_counter() - started) * 1000
        calls = gw.logs.calls
    print(
        f"verify {count} feedbacks: {calls} API calls ({calls / count:.2f} N; target <= 1.1 N),"
        f" {took:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    gw = MockGateway(strict=False)
    gw.log_store.load(make_logs(args.logs, bodies=False))
    base = f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"
    auth = {"authorization": "Bearer bench"}
    print(
        f"{args.logs:,} logs, {args.rounds} rounds; ms per page (median, min); target {TARGET_MS}"
    )
    for name, params in QUERIES.items():
        request = httpx.Request("GET", base, params=params, headers=auth)
        gw.handler(request)  # warm-up
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            response = gw.handler(request)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        median = statistics.median(times)
        met = "met" if median < TARGET_MS else "NOT met"
        print(f"  {name:36} {median:7.1f} {min(times):7.1f}  ({met})")
    verify_calls(500)
    small = bytes_per_log(20_000, bodies=False)
    large = bytes_per_log(20_000, bodies=True)
    print(
        f"memory per stored log: {small:,.0f} bytes; with two {len(BODY)}-byte bodies {large:,.0f}"
    )


if __name__ == "__main__":
    main()
