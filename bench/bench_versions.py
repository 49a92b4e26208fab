"""The fake's per-request handler cost in this tree against an earlier commit of it.

Run: python bench/bench_versions.py REV [--rounds N] [--requests N]

Two versions of the package cannot live in one process, so each round starts one
process per version (the earlier one from a temporary git worktree of REV, put first on
PYTHONPATH), and the order flips every round, so machine noise hits both alike. Each
process times MockGateway.handler on bench_request_cost's request and prints its mean
microseconds per request; the table shows the median over rounds and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _rounds import alternate

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
MEASURE = """
import sys, time, httpx
sys.path.insert(0, {bench!r})
from bench_request_cost import HEADERS, PAYLOAD
from pytest_aigw import MockGateway
gw = MockGateway(strict=False)
url = gw.url("openai") + "/chat/completions"
request = httpx.Request("POST", url, headers=HEADERS, json=PAYLOAD)
with gw:
    for _ in range(200):
        gw.handler(request)
    gw.reset()
    start = time.perf_counter()
    for _ in range({requests}):
        gw.handler(request)
print((time.perf_counter() - start) / {requests} * 1e6)
"""


def measure(source: Path, requests: int) -> float:
    """Mean µs per handler call in a fresh process importing pytest_aigw from *source*."""
    code = MEASURE.format(bench=str(HERE), requests=requests)
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit to compare with (e.g. HEAD~10)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        earlier = Path(scratch) / "earlier"
        git = ["git", "-C", str(TREE)]
        subprocess.run(
            [*git, "worktree", "add", "-q", "--detach", str(earlier), args.rev], check=True
        )
        try:
            results = alternate(
                {
                    args.rev: lambda: measure(earlier, args.requests),
                    "this tree": lambda: measure(TREE, args.requests),
                },
                args.rounds,
            )
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(earlier)], check=True)
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"{args.rounds} rounds x {args.requests} handler calls, median of per-process means")
    for name, median in medians.items():
        print(f"{name:<20} {median:8.1f} µs/request")
    print(f"ratio this tree / {args.rev}: {medians['this tree'] / medians[args.rev]:.2f}x")


if __name__ == "__main__":
    main()
