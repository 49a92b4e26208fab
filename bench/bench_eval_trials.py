"""What trials, named scores and the verdict journal cost per eval case, side by side.

Run: python bench/bench_eval_trials.py [--cases N] [--rounds N]

Each case is a whole pytest run (its own process, ``-p no:randomly``) of N eval test
items that each send one chat to the fake and set a score; the figure is the run's wall
time, median over the rounds, and per item. Cases:
    (a) plain: N ``aigw_eval`` cases, as eval runs were before trials (mock mode);
    (b) trials: N/5 cases marked ``aigw_eval(trials=5, min_pass_rate=0.8)``: the same
        N items, parametrized at collection and gathered into cases by the plugin;
    (c) named score: (a) plus ``aigw.score(60, name="relevance")``, so every feedback
        PATCH also writes the log's metadata;
    (d) live, no journal: (a) in live mode against a loopback stand-in for Cloudflare
        (``-p no:cacheprovider``: nowhere to journal), feedback sent at the end;
    (e) live, journal: (d) with ``--aigw-eval-journal``: each case's verdict written and
        fsynced before the next test, marked done after sending, the files compacted.
Rounds alternate the order of the cases (bench/_rounds.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _rounds import alternate

from pytest_aigw import MockGatewayServer

ROOT = Path(__file__).resolve().parent.parent

CASE = """
import httpx, pytest

@pytest.mark.aigw_eval{marker}
@pytest.mark.aigw_live
@pytest.mark.parametrize("n", range({count}))
def test_case(aigw, n):
    httpx.post(aigw.url("openai") + "/chat/completions", json={{"model": "m", "user": str(n)}})
    aigw.score(50){named}
"""


def write(directory: Path, name: str, count: int, marker: str = "", named: str = "") -> Path:
    path = directory / f"test_{name}.py"
    path.write_text(CASE.format(count=count, marker=marker, named=named))
    return path


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_run(
    path: Path, *args: str, env: dict[str, str] | None = None
) -> Callable[[], tuple[float, float]]:
    """A measure of one pytest run: (wall seconds, CPU seconds of the pytest process)."""
    command = [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:randomly", *args]

    def measure() -> tuple[float, float]:
        cpu, started = _child_cpu(), time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=path.parent)
        elapsed, used = time.perf_counter() - started, _child_cpu() - cpu
        assert done.returncode == 0, done.stdout[-2000:]
        return elapsed, used

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    count = args.cases
    with tempfile.TemporaryDirectory() as tmp, MockGatewayServer(strict=False) as server:
        directory = Path(tmp)
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        live_env = {
            **env,
            "CLOUDFLARE_ACCOUNT_ID": server.account_id,
            "CLOUDFLARE_API_TOKEN": "bench",
            "PYTEST_AIGW_GATEWAY_ID": server.gateway_id,
        }
        live = [
            "--aigw-mode=live",
            f"--aigw-gateway-base-url={server.url}/v1",
            f"--aigw-api-base-url={server.api_url}",
            "-p",
            "no:cacheprovider",
        ]
        plain = write(directory, "plain", count)
        cases = {
            "(a) plain": pytest_run(plain, env=env),
            "(b) trials=5": pytest_run(
                write(directory, "trials", count // 5, "(trials=5, min_pass_rate=0.8)"), env=env
            ),
            "(c) named score": pytest_run(
                write(directory, "named", count, named='\n    aigw.score(60, name="relevance")'),
                env=env,
            ),
            "(d) live, no journal": pytest_run(plain, *live, env=live_env),
            "(e) live, journal": pytest_run(
                plain, *live, f"--aigw-eval-journal={directory / 'journal'}", env=live_env
            ),
        }
        times = alternate(cases, args.rounds)
    print(
        f"{count} eval test items per run; per pytest run: wall time and CPU time"
        f" (user + system), median of {args.rounds}"
    )
    wall = {name: statistics.median(t[0] for t in found) for name, found in times.items()}
    cpu = {name: statistics.median(t[1] for t in found) for name, found in times.items()}
    for name in times:
        print(
            f"    {name:24} wall {wall[name]:7.2f} s ({wall[name] / count * 1000:6.2f} ms/item)"
            f"  cpu {cpu[name]:7.2f} s ({cpu[name] / count * 1000:6.2f} ms/item)"
        )
    for this, base in (("(b)", "(a)"), ("(c)", "(a)"), ("(e)", "(d)")):
        one = next(k for k in times if k.startswith(this))
        other = next(k for k in times if k.startswith(base))
        print(
            f"    ratio {this}/{base}: wall {wall[one] / wall[other]:.3f}x"
            f" ({(wall[one] - wall[other]) / count * 1000:+.2f} ms/item),"
            f" cpu {cpu[one] / cpu[other]:.3f}x"
            f" ({(cpu[one] - cpu[other]) / count * 1000:+.2f} ms/item)"
        )


if __name__ == "__main__":
    main()
