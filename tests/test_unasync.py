"""scripts/unasync.py: `LogsClient` is generated from `AsyncLogsClient`, and checked."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_aigw.client import AsyncLogsClient, LogsClient

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path("scripts") / "unasync.py"
CLIENT = Path("pytest_aigw") / "client.py"

pytest.importorskip("ruff")  # the script formats what it writes with ruff


def unasync(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / SCRIPT), *args], capture_output=True, text=True, check=False
    )


def edit_client(root: Path, old: str, new: str) -> Path:
    """Replace *old* by *new* in the client module under *root*; return the module's path."""
    client = root / CLIENT
    text = client.read_text()
    assert old in text
    client.write_text(text.replace(old, new))
    return client


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The script, the client module and the ruff settings, away from the project."""
    for part in (SCRIPT, CLIENT, Path("pyproject.toml")):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / part, tmp_path / part)
    return tmp_path


def test_the_generated_client_is_up_to_date() -> None:
    done = unasync(ROOT, "--check")
    assert (done.returncode, done.stderr) == (0, "")


def test_an_edit_to_the_async_client_makes_the_check_fail_until_regenerated(copy: Path) -> None:
    client = edit_client(copy, "httpx.AsyncClient(timeout=30.0)", "httpx.AsyncClient()")
    edited = client.read_text()
    stale = unasync(copy, "--check")
    assert stale.returncode == 1
    assert "\n-        self._http = http_client or httpx.Client(timeout=30.0)\n" in stale.stderr
    assert "\n+        self._http = http_client or httpx.Client()\n" in stale.stderr
    assert stale.stderr.endswith(
        f"unasync: {client} is stale: LogsClient no longer matches AsyncLogsClient;"
        " run `python scripts/unasync.py`\n"
    )
    assert client.read_text() == edited  # --check writes nothing


def test_regenerating_carries_the_edit_into_the_sync_client(copy: Path) -> None:
    client = edit_client(
        copy,
        '        return f"<AsyncLogsClient {self._wire.base}>"',
        '        return f"<AsyncLogsClient at {self._wire.base}>"',
    )
    done = unasync(copy)
    assert (done.returncode, done.stdout) == (0, f"unasync: rewrote {client}\n")
    assert 'return f"<LogsClient at {self._wire.base}>"' in client.read_text()
    assert unasync(copy, "--check").returncode == 0


def test_an_async_name_without_a_sync_twin_is_an_error_not_a_broken_client(copy: Path) -> None:
    edit_client(
        copy,
        "    async def aclose(self) -> None:\n",
        "    async def aclose(self) -> None:\n        await anyio.lowlevel.checkpoint()\n",
    )
    done = unasync(copy)
    assert done.returncode == 2
    assert done.stderr.startswith("unasync: error: line ")
    assert done.stderr.endswith(
        " of the generated class still says 'anyio': add a substitution for it to"
        " scripts/unasync.py\n"
    )


def test_a_file_without_the_marker_is_refused(copy: Path) -> None:
    client = copy / CLIENT
    text = client.read_text()
    client.write_text(text[: text.index("# Everything below is generated")])
    done = unasync(copy, "--check")
    assert (done.returncode, done.stderr) == (
        2,
        "unasync: error: client.py needs one 'class AsyncLogsClient:' line and one marker"
        " comment (starting '# Everything below is generated') after it\n",
    )


def public_methods(cls: type) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in vars(cls).items()
        if callable(member) and (not name.startswith("_") or name == "__init__")
    }


def test_both_clients_have_the_same_methods_and_parameters() -> None:
    sync = public_methods(LogsClient)
    sync["aclose"] = sync.pop("close")
    assert sync == public_methods(AsyncLogsClient)
    init = inspect.signature(LogsClient.__init__).parameters
    assert init["max_retry_after"].default == 60.0
