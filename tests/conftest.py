"""What the test modules share: a user's test file run with pytester, fakes, clients, stand-ins.

Plain helpers are imported (``from conftest import run``); fixtures are found by name. A
module that needs a fixture of the same name shaped otherwise defines its own.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from pytest_aigw import MockGateway, MockGatewayServer
from pytest_aigw.cli import main

try:  # the framework envs run without Hypothesis
    from hypothesis import settings
except ImportError:  # pragma: no cover - Hypothesis is in every env that measures coverage
    pass
else:
    # Speed is measured in bench/, never in tests: on a loaded machine one example of a
    # property test may take longer than Hypothesis's default 200 ms deadline.
    settings.register_profile("aigw-tests", deadline=None)
    settings.load_profile("aigw-tests")

API_TOKEN = "cf-api-token-SECRET-1"  # the stand-in's Cloudflare API token: never shown


def seeded_log(log_id: str, model: str = "gpt-4o") -> dict[str, Any]:
    """A log as the Logs API returns it, for `seed_logs` and ``serve --seed``: user u1's."""
    return {
        "id": log_id,
        "created_at": "2026-11-01T09:00:00.000Z",
        "provider": "openai",
        "model": model,
        "metadata": {"user": "u1"},
    }


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Write *source* (dedented) as a test file and run pytest on it with *args*."""
    pytester.makepyfile(textwrap.dedent(source))
    return pytester.runpytest(*args)


def serve_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``serve`` with *args*, expecting a usage error (exit 2); return what it printed."""
    with pytest.raises(SystemExit) as exited:
        main(["serve", *args])
    assert exited.value.code == 2
    return capsys.readouterr().err


class Served:
    """A ``pytest-aigw serve`` process on a free port, and the URLs it printed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest_aigw", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        self.urls: dict[str, str] = {}
        while len(self.urls) < 4:
            line = self.process.stdout.readline()
            assert line, f"serve exited early: {self.process.communicate()[1]}"
            key, _, value = line.rstrip("\n").partition("=")
            self.urls[key] = value

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str, str]:
        """Send *signum*; return the exit code and the rest of stdout and stderr."""
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=20)
        return self.process.returncode, out, err

    def kill(self) -> None:
        """End the process if a test left it running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture(scope="module")
def gw() -> Iterator[MockGateway]:
    """A started fake, not strict, for a module's tests; they `reset()` it as they need."""
    with MockGateway(strict=False) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """One httpx client for a module's tests: a client per request costs ~25 ms of TLS setup."""
    with httpx.Client() as shared:
        yield shared


@contextmanager
def gateway_with_calls(count: int) -> Iterator[MockGateway]:
    """A started fake holding *count* logged chat calls: models alternate, users u0, u1, ..."""
    key = {"authorization": "Bearer sk-test"}  # the app's provider key
    with MockGateway() as gateway, httpx.Client(headers=key) as http:
        for n in range(count):
            http.post(
                gateway.url("openai") + "/chat/completions",
                json={"model": "gpt-4o" if n % 2 else "gpt-4o-mini", "messages": [], "n": n},
                headers={"cf-aig-metadata": json.dumps({"user": f"u{n}"})},
            )
        yield gateway


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockGatewayServer]:
    """A fake over real HTTP standing in for Cloudflare in a live run, the environment set.

    Its logs are listed 0.3 s after each call, as the real Logs API lists them a little late.
    """
    with MockGatewayServer(strict=False, visibility_lag=0.3) as server:
        for name in ("PYTEST_AIGW_MODE", "PYTEST_AIGW_GATEWAY_TOKEN", "PYTEST_AIGW_TAGS"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", server.account_id)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", API_TOKEN)
        monkeypatch.setenv("PYTEST_AIGW_GATEWAY_ID", server.gateway_id)
        yield server


def live_args(server: MockGatewayServer) -> list[str]:
    """The command-line arguments of a live run against *server* (a `standin`)."""
    return [
        "--aigw-mode=live",
        f"--aigw-gateway-base-url={server.url}/v1",
        f"--aigw-api-base-url={server.api_url}",
    ]


LIVE_EVAL_CASES = """
import time, httpx, pytest

@pytest.mark.aigw_eval
@pytest.mark.aigw_live
@pytest.mark.parametrize("n", range(COUNT))
def test_case(aigw, n):
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": str(n)})
    aigw.score(10 * n)
"""


def live_eval_cases(count: int, ending: str) -> str:
    """A test file of *count* live eval cases, each ending with the lines of *ending*.

    Case n sends a chat as user n and scores 10 * n (`verdicts_by_user` reads both back).
    """
    return LIVE_EVAL_CASES.replace("COUNT", str(count)) + textwrap.indent(
        textwrap.dedent(ending), "    "
    )


def verdicts_by_user(server: MockGatewayServer) -> dict[str, tuple[Any, Any]]:
    """Each request's log's (feedback, score) on *server*, by the request's ``user``."""
    by_id = {log.id: log for log in server.log_store.find([], now=1e12)}
    return {
        call.json["user"]: (by_id[call.log_id].feedback, by_id[call.log_id].score)
        for call in server.calls
        if call.log_id
    }


class _QuietLoopScope:
    """Keeps pytest-asyncio's start-up warning about an unset loop scope out of pytester runs.

    The project's own ini ignores it; a pytester run has no ini of its own, and the warning,
    raised while that run configures, would be counted against the test running it.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        # pytest restores the warning filters when this run's configuration is cleaned up.
        warnings.filterwarnings(
            "ignore",
            'The configuration option "asyncio_default_fixture_loop_scope" is unset',
            pytest.PytestDeprecationWarning,
        )


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytest's own `pytester`, its in-process runs quiet about pytest-asyncio's loop scope."""
    inline_run = pytester.inline_run  # what runpytest() calls; it takes extra plugins

    def quiet_run(*args: Any, plugins: Sequence[object] = (), **kwargs: Any) -> Any:
        return inline_run(*args, plugins=(*plugins, _QuietLoopScope()), **kwargs)

    monkeypatch.setattr(pytester, "inline_run", quiet_run)
    # the eval runs made here must not append to the job summary of a CI that runs this suite
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return pytester
