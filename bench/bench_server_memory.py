"""Resident memory of the loopback server around large request bodies.

Run: python bench/bench_server_memory.py [--mb N] [--times N]

The server runs in this process; each body is sent by a child process, so only the
server's memory is measured (VmRSS from /proc, so Linux only). Three cases:

(a) a `LoopbackServer` whose handler only looks at the body's size: what the server
    itself keeps after a request (nothing, if memory returns to its baseline);
(b) the same server sent a body over its cap (a 413, read and dropped, never kept);
(c) a `MockGatewayServer` sent chat-completions bodies of that size: what the gateway
    records (its calls and logs) comes on top.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
from pathlib import Path

import httpx

from pytest_aigw.served import MockGatewayServer
from pytest_aigw.server import LoopbackServer

SEND = """
import http.client, sys
host, port, path, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
body = b'{"model": "gpt-4o-mini", "messages": [], "pad": "' + b"x" * size + b'"}'
conn = http.client.HTTPConnection(host, port)
try:
    conn.request("POST", path, body=body, headers={"authorization": "Bearer sk-bench"})
    print(conn.getresponse().status)
except ConnectionError as error:
    print(type(error).__name__)
"""


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def send(port: int, path: str, size: int) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", SEND, "127.0.0.1", str(port), path, str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def sized(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=str(len(request.content)))


def run(label: str, port: int, path: str, size: int, times: int) -> None:
    gc.collect()
    before = rss_mib()
    statuses = []
    peak = before
    for _ in range(times):
        statuses.append(send(port, path, size))
        peak = max(peak, rss_mib())
    gc.collect()
    after = rss_mib()
    print(
        f"    {label}: {times} x {size / 2**20:.0f} MiB -> {','.join(sorted(set(statuses)))};"
        f" RSS before {before:6.1f} MiB, after each (max) {peak:6.1f}, at the end {after:6.1f}"
        f" ({after - before:+.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=90, help="body size under the cap, in MiB")
    parser.add_argument("--times", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * 2**20
    print(f"RSS of this process at start: {rss_mib():.1f} MiB")
    with LoopbackServer(sized) as server:
        send(server.port, "/warm-up", 10)
        print("(a) bodies under the cap, handler keeps nothing")
        run("served", server.port, "/size", size, args.times)
        print("(b) bodies over the cap (100 MiB)")
        run("refused", server.port, "/size", 200 * 2**20, args.times)
    with MockGatewayServer(strict=False) as gateway:
        path = gateway.url("openai").removeprefix(gateway.url) + "/chat/completions"
        send(gateway.port, path, 10)
        print("(c) chat-completions bodies to a MockGatewayServer (the gateway records them)")
        run("recorded", gateway.port, path, size, args.times)
        gateway.reset()
        gc.collect()
        print(f"    after gateway.reset(): RSS {rss_mib():6.1f} MiB")


if __name__ == "__main__":
    main()
