"""Smoke tests of the installed wheel, in a venv with only its own dependencies.

Run by ``tox -e wheel``: no SDKs, no Hypothesis, no test helpers are installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx
import pytest

import pytest_aigw


def test_the_installed_package_is_the_wheel() -> None:
    assert "site-packages" in Path(pytest_aigw.__file__).parts
    assert pytest_aigw.__version__ != "0.0.0"


def test_the_plugin_fixture_answers_httpx(aigw: pytest_aigw.MockGateway) -> None:
    response = httpx.post(
        aigw.url("openai") + "/chat/completions",
        json={"model": "gpt-4o-mini", "messages": []},
        headers={"authorization": "Bearer sk-test", "cf-aig-metadata": '{"user": "smoke"}'},
    )
    assert response.status_code == 200
    assert aigw.calls.last.metadata == {"user": "smoke"}


def test_the_loopback_server_answers_urllib(aigw_server: pytest_aigw.MockGatewayServer) -> None:
    request = urllib.request.Request(
        aigw_server.url("openai") + "/chat/completions",
        data=json.dumps({"model": "gpt-4o-mini", "messages": []}).encode(),
        headers={"authorization": "Bearer sk-test"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        assert response.headers["cf-aig-log-id"] == aigw_server.log_ids[0]


def test_the_console_script_serves_and_stops() -> None:
    script = Path(sys.executable).with_name("pytest-aigw")
    process = subprocess.Popen(
        [str(script), "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"AIGW_URL=http://127.0.0.1:")
    process.terminate()
    process.communicate(timeout=10)  # also closes the pipes
    assert process.returncode == 0


def test_strategies_without_hypothesis_say_how_to_install_it() -> None:
    with pytest.raises(ImportError, match=r"pip install 'pytest-aigw\[hypothesis\]'"):
        import pytest_aigw.strategies  # noqa: F401
