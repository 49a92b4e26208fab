"""What the plugin adds to pytest's start-up when its fixtures are not used.

Run: python bench/bench_startup.py [--tests N] [--rounds N]

Times ``pytest --collect-only -q`` on N plain tests (10 files), in a new process each
time, with the plugin loaded and with ``-p no:aigw``. Rounds alternate the two and flip
their order; the figures are medians. Targets: the plugin adds under 3% and under 30 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SHARE = 0.03
TARGET_MS = 30.0


def write_tests(folder: Path, count: int) -> None:
    per_file = max(1, count // 10)
    for number in range(0, count, per_file):
        tests = "\n".join(
            f"def test_{n}():\n    assert {n} == {n}\n"
            for n in range(number, min(count, number + per_file))
        )
        (folder / f"test_{number}.py").write_text(tests)
    (folder / "pytest.ini").write_text("[pytest]\n")  # keep the project's own config out


def collect(folder: Path, *extra: str) -> float:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    subprocess.run([*command, *extra], cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_tests(folder, args.tests)
        cases = {"with the plugin": (), "with -p no:aigw": ("-p", "no:aigw")}
        times: dict[str, list[float]] = {case: [] for case in cases}
        for extra in cases.values():  # warm-up: byte-code caches
            collect(folder, *extra)
        for round_number in range(args.rounds):
            order = list(cases.items())
            if round_number % 2:
                order.reverse()
            for case, extra in order:
                times[case].append(collect(folder, *extra))
    with_plugin = statistics.median(times["with the plugin"])
    without = statistics.median(times["with -p no:aigw"])
    added_ms, share = (with_plugin - without) * 1000, with_plugin / without - 1
    print(f"pytest --collect-only on {args.tests} tests, median of {args.rounds} rounds")
    print(f"    with the plugin:   {with_plugin * 1000:7.1f} ms")
    print(f"    with -p no:aigw:   {without * 1000:7.1f} ms")
    verdict = "met" if share < TARGET_SHARE and added_ms < TARGET_MS else "NOT met"
    print(
        f"    the plugin adds {added_ms:.1f} ms ({share:.1%}); target under"
        f" {TARGET_SHARE:.0%} and under {TARGET_MS:.0f} ms: {verdict}"
    )


if __name__ == "__main__":
    main()
