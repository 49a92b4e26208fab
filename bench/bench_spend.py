"""Measuring usage and the spending cap: the cost per eval case.

Run: python bench/bench_spend.py [--cases N] [--rounds N]

Three figures, each the median over rounds (cases alternate, see _rounds.py):
    (a) measure: what every test that used `aigw` now pays at its end in mock mode:
        its logs' usage read from the fake's log store and put into its report
        (one call, one log);
    (b) cap read: what each eval or live test pays before it starts under
        --aigw-max-cost: one read of the shared spend file, from where this process
        last stopped, after another process appended one test's line (so the file
        grows to N lines as in a run of N cases);
    (c) a whole pytest run of N mock eval cases (one call each), in process, without and
        with --aigw-max-cost, per case.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from _rounds import alternate

from pytest_aigw import MockGateway
from pytest_aigw._config import RunConfig
from pytest_aigw.eval_spend import LogUsage, SpendCap
from pytest_aigw.spend_plugin import SpendMeter

CASES = """
import httpx, pytest

@pytest.mark.aigw_eval
@pytest.mark.parametrize("n", range(COUNT))
def test_case(aigw, n):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m"},
               headers={"authorization": "Bearer sk-test"})
"""


class Item:
    """What `measure` touches of a pytest item."""

    def __init__(self) -> None:
        self.user_properties: list[tuple[str, object]] = []


def measure_cost(count: int) -> float:
    """(a): seconds per `SpendMeter.measure` for a test with one log."""
    meter = SpendMeter(RunConfig(), None)
    with MockGateway() as gateway, httpx.Client() as http:
        http.post(
            gateway.url("openai") + "/chat/completions",
            json={"model": "m"},
            headers={"authorization": "Bearer sk-test"},
        )
        started = time.perf_counter()
        for _ in range(count):
            meter.measure(Item(), gateway)  # type: ignore[arg-type]
        return (time.perf_counter() - started) / count


def cap_read_cost(count: int) -> float:
    """(b): seconds per cap read, with one line appended by another process before each."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "spend.txt"
        reader, writer = SpendCap(path, 1e9), SpendCap(path, 1e9)
        usage = [LogUsage("01a2356b-142f-73b0-acd3-e9aa1bac3f61", cost_usd=2.807e-06)]
        elapsed = 0.0
        for _ in range(count):
            writer.add(usage)
            started = time.perf_counter()
            reader.reached()
            elapsed += time.perf_counter() - started
        return elapsed / count


def run_cost(directory: Path, count: int, *args: str) -> float:
    """(c): seconds per case of a pytest run of *count* mock eval cases."""
    test_file = directory / "test_cases.py"
    test_file.write_text(textwrap.dedent(CASES.replace("COUNT", str(count))))
    started = time.perf_counter()
    code = pytest.main(
        [str(test_file), "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        plugins=[],
    )
    elapsed = time.perf_counter() - started
    assert code == 0, code
    return elapsed / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        results = alternate(
            {
                "(a) measure, per test": lambda: measure_cost(args.cases),
                "(b) cap read, per test": lambda: cap_read_cost(args.cases),
                "(c) run, no cap, per case": lambda: run_cost(directory, args.cases),
                "(c) run, --aigw-max-cost, per case": lambda: run_cost(
                    directory, args.cases, "--aigw-max-cost=1000"
                ),
            },
            args.rounds,
        )
    for name, seconds in results.items():
        print(f"{name:40} {statistics.median(seconds) * 1e6:10.1f} µs")


if __name__ == "__main__":
    main()
