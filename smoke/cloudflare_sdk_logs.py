"""Run the cloudflare SDK's own generated Logs API tests against ``pytest-aigw serve``.

The SDK's source distribution carries tests generated from Cloudflare's OpenAPI spec
(``tests/api_resources/ai_gateway/test_logs.py``), written for a schema mock server at
``TEST_API_BASE_URL`` and run with strict response validation. This script takes them
from the sdist of the installed ``cloudflare`` version (downloaded from PyPI unless
``--sdist`` names one), serves the fake with ``--metadata-as string`` (the schema's
type), the account and gateway ids the tests use, and a seeded log under the id they
read and patch, runs them, and stops the server. The exit status is pytest's.

The generated tests assume a stateless mock: ``DELETE /logs`` without filters deletes
every log, on the fake as on the real API, so the delete tests run last.

    python smoke/cloudflare_sdk_logs.py [--sdist FILE] [pytest args...]

Needs ``cloudflare[aiohttp]`` and ``pytest-asyncio`` (the SDK's test conftest imports them).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from importlib.metadata import version
from pathlib import Path

LOGS_TESTS = "tests/api_resources/ai_gateway/test_logs.py"
MEMBERS = (
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/utils.py",
    "tests/api_resources/__init__.py",
    "tests/api_resources/ai_gateway/__init__.py",
    LOGS_TESTS,
)
PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
xfail_strict = true
"""
DELETES_LAST = """\
import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: "delete" in item.name)
"""


def download_sdist(into: Path) -> Path:
    """The sdist of the installed cloudflare version, from PyPI."""
    wanted = f"cloudflare=={version('cloudflare')}"
    command = [sys.executable, "-m", "pip", "download", wanted, "--no-binary", ":all:"]
    subprocess.run([*command, "--no-deps", "-d", str(into)], check=True, capture_output=True)
    return next(into.glob("cloudflare-*.tar.gz"))


def extract(sdist: Path, into: Path) -> str:
    """Copy the Logs API tests and what they import out of *sdist*; their source."""
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            relative = member.name.partition("/")[2]
            if relative in MEMBERS:
                target = into / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    (into / "pytest.ini").write_text(PYTEST_INI)
    (into / "deletes_last.py").write_text(DELETES_LAST)
    return (into / LOGS_TESTS).read_text()


def most_common(pattern: str, source: str) -> str:
    """The most frequent non-empty value the tests pass for a path parameter."""
    found: Counter[str] = Counter(value for value in re.findall(pattern, source) if value)
    return found.most_common(1)[0][0]


def seed_file(log_id: str, into: Path) -> Path:
    """A log under *log_id*, with bodies, as the Logs API returns one."""
    log = {
        "id": log_id,
        "created_at": "2026-11-01T09:00:00.000Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "path": "chat/completions",
        "metadata": {"user": "u-42"},
        "tokens_in": 3,
        "tokens_out": 2,
        "request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
        "response": {"id": "chatcmpl-1", "object": "chat.completion", "choices": []},
    }
    path = into / "seed.json"
    path.write_text(json.dumps([log]))
    return path


def serve(account: str, gateway: str, seed: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``pytest-aigw serve`` on a free port; the process and its API base URL."""
    command = [sys.executable, "-m", "pytest_aigw", "serve", "--port", "0", "--quiet"]
    command += ["--account", account, "--gateway", gateway, "--metadata-as", "string"]
    process = subprocess.Popen([*command, "--seed", str(seed)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        key, _, value = line.strip().partition("=")
        if key == "AIGW_API_URL":
            return process, value
    raise SystemExit(f"pytest-aigw serve exited early with status {process.wait()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="the cloudflare sdist (default: download)")
    args, pytest_args = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="aigw-cf-sdk-") as tmp:
        work = Path(tmp)
        source = extract(args.sdist or download_sdist(work), work)
        account = most_common(r'account_id="([^"]*)"', source)
        gateway = most_common(r'gateway_id="([^"]*)"', source)
        log_id = most_common(r'\bid="([^"]*)"', source)
        process, api_url = serve(account, gateway, seed_file(log_id, work))
        try:
            env = {**os.environ, "TEST_API_BASE_URL": api_url, "PYTHONPATH": str(work)}
            command = [sys.executable, "-m", "pytest", str(work / "tests"), "-c"]
            command += [str(work / "pytest.ini"), "--rootdir", str(work), "-p", "deletes_last"]
            command += ["-p", "no:aigw", "-p", "no:randomly", "-p", "no:cacheprovider"]
            return subprocess.run([*command, *pytest_args], env=env, check=False).returncode
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
