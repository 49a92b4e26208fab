"""``--aigw-record``: each live test's exchanges with Cloudflare, written to its cassette.

Record modes, as pytest-recording names them, for the ``aigw_live`` tests of a live run
(the tests always run against the real gateway; the mode says which cassettes change):

- ``once`` (``--aigw-record`` given bare): a test with no cassette yet is recorded; one
  with a cassette runs live and its file is left as it is;
- ``new_episodes``: the requests a cassette lacks (by method, URL and body) are added to
  it, with their Logs API calls and logs; a cassette with nothing new is left as it is;
- ``all``: every cassette is written again;
- ``none``: nothing is written.

Recording happens in live mode only. Asked for on the command line in another mode, it
is a usage error; from the environment or the ini file, the report header says it is off.

A test's cassette is written at its teardown, after its own feedback calls: the logs of
its gateway calls are fetched through the Logs API then (polled for at most
`LOGS_WAIT` seconds in all, as the API lists a log a little after the call; a log that
does not show is listed under ``missing_logs``). What is written is scrubbed and scanned
first (`pytest_aigw.scrub`); a cassette that would hold a secret is not written, and
the test fails saying where the secret is.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

from ._config import (
    CASSETTE_DIR,
    ENV_API_TOKEN,
    ENV_GATEWAY_TOKEN,
    RECORD,
    RECORD_MODES,
    RECORD_REDACT_ACCOUNT,
    RunConfig,
    Setting,
    flag_value,
    given_value,
)
from ._errors import ConfigError
from ._validation import fail

if TYPE_CHECKING:
    from .cassette import Cassette, Exchange
    from .client import LogsClient
    from .live import LiveGateway
    from .scrub import Secret
    from .tape import Tape

__all__ = ["LOGS_WAIT", "RECORDER", "RecordConfig", "Recorder", "record_config"]

LOGS_WAIT = 60.0  # seconds a test's teardown may wait, in all, for its logs to show
RECORDER = pytest.StashKey["Recorder"]()
_TAKING = pytest.StashKey[tuple["Tape", "LiveGateway", Path]]()


@dataclass(frozen=True)
class RecordConfig:
    """What ``--aigw-record`` and its companions asked for, and where."""

    mode: str | None = None  # None: not recording
    where: str = ""
    cassette_dir: str | None = None
    redact_account: bool = False


def record_config(
    getoption: Any, getini: Any, environ: Mapping[str, str] = os.environ
) -> RecordConfig:
    """Resolve the record settings: command line > environment > ini; `ConfigError` if bad."""

    def first(setting: Setting) -> tuple[Any, str]:
        return given_value(setting, getoption, getini, environ)

    mode, where = first(RECORD)
    mode = str(mode).strip().lower() if mode is not None else None
    if mode is not None and mode not in RECORD_MODES:
        fail(where, mode, "one of " + ", ".join(RECORD_MODES))
    directory, _ = first(CASSETTE_DIR)
    hide, where_hide = first(RECORD_REDACT_ACCOUNT)
    return RecordConfig(mode, where, directory or None, flag_value(hide, where_hide))


def cassette_dir(item: pytest.Item, configured: str | None) -> Path:
    """Where *item*'s cassettes live: the configured directory, or ``cassettes`` beside it."""
    if configured:
        return Path(item.config.rootpath, configured)
    return item.path.parent / "cassettes"


class Recorder:
    """The pytest plugin object that records: one per process (xdist workers each have one)."""

    def __init__(self, run: RunConfig, record: RecordConfig) -> None:
        self.run = run
        self.record = record
        self._logs: LogsClient | None = None

    @classmethod
    def install(cls, config: pytest.Config, run: RunConfig) -> None:
        """Register a recorder when recording was asked for; `ConfigError` where it cannot be."""
        record = record_config(config.getoption, config.getini)
        if record.mode is None:
            return
        if not run.live and record.where == RECORD.option:
            raise ConfigError(
                f"{RECORD.option} records what live tests exchange with the real gateway and"
                f" needs --aigw-mode=live; add it, or leave out {RECORD.option}"
            )
        config.stash[RECORDER] = recorder = cls(run, record)
        config.pluginmanager.register(recorder, "aigw-recorder")

    def pytest_report_header(self) -> str:
        if not self.run.live:
            return (
                f"aigw: recording is off ({self.record.where} asks for {self.record.mode}):"
                " cassettes are recorded in live mode only (--aigw-mode=live)"
            )
        place = self.record.cassette_dir or "cassettes/ beside each test module"
        return f"aigw: recording cassettes (record mode {self.record.mode}) in {place}"

    def watch(self, item: pytest.Item, gateway: LiveGateway) -> None:
        """Tape *gateway*'s exchanges for *item*, if its cassette is to be written."""
        if not self.run.live or self.record.mode == "none":
            return
        from .cassette import cassette_path
        from .tape import Tape

        path = cassette_path(cassette_dir(item, self.record.cassette_dir), item.nodeid)
        if self.record.mode == "once" and path.exists():
            return
        gateway.tape = tape = Tape(gateway.gateway_url, gateway.rest_url)
        item.stash[_TAKING] = (tape, gateway, path)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        # After the fixtures' teardown: the gateway is stopped, the test's calls are done.
        try:
            return (yield)
        finally:
            taking = item.stash.get(_TAKING, None)
            if taking is not None:
                del item.stash[_TAKING]
                self._write(item, *taking)

    def pytest_sessionfinish(self) -> None:
        logs, self._logs = self._logs, None
        if logs is not None:
            logs.close()

    def _write(self, item: pytest.Item, tape: Tape, gateway: LiveGateway, path: Path) -> None:
        from .cassette import Cassette, GatewayPlace
        from .scrub import Scrubber, leak_message, request_secrets, scan

        exchanges = tape.exchanges()
        logs, missing = self._fetch_logs(_log_ids(exchanges))
        place = GatewayPlace(
            gateway.account_id, gateway.gateway_id, gateway.gateway_url, gateway.api_url
        )
        recorded_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        cassette = Cassette(item.nodeid, place, recorded_at, exchanges, logs, missing)
        secrets = [*self._run_secrets(), *request_secrets(exchanges)]
        account = gateway.account_id if self.record.redact_account else None
        cassette = Scrubber(secrets, account).cassette(cassette)
        if self.record.mode == "new_episodes" and path.exists():
            merged = _merged(Cassette.load(path), cassette, _log_ids(exchanges))
            if merged is None:
                return
            cassette = merged
        text = cassette.dumps()
        leaks = scan(text, cassette, secrets)
        if leaks:
            pytest.fail(leak_message(_shown(item, path), leaks), pytrace=False)
        _write_text(path, text)

    def _run_secrets(self) -> list[Secret]:
        from .scrub import Secret

        named = ((ENV_API_TOKEN, self.run.api_token), (ENV_GATEWAY_TOKEN, self.run.gateway_token))
        return [Secret(name, value) for name, value in named if value]

    def _fetch_logs(self, log_ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """The logs of *log_ids* as the Logs API has them now, and the ids it did not list."""
        if not log_ids:
            return [], []
        import httpx

        from .client import MAX_BATCH, LogsApiError, log_filter
        from .live import run_logs_client

        if self._logs is None:
            self._logs = run_logs_client(self.run)
        deadline = time.monotonic() + LOGS_WAIT
        found: dict[str, dict[str, Any]] = {}
        for log_id in log_ids:
            try:
                left = max(0.0, deadline - time.monotonic())
                found[log_id] = dict(self._logs.wait_for(log_id, timeout=left).raw)
            except (LogsApiError, AssertionError, httpx.TransportError):
                continue  # not listed in time, or the API refused or could not be reached
        # The detail schema may lack feedback and score: the list entries carry them.
        ids = list(found)
        for start in range(0, len(ids), MAX_BATCH):
            batch = ids[start : start + MAX_BATCH]
            try:
                page = self._logs.list(filters=[log_filter("id", "eq", *batch)], per_page=MAX_BATCH)
            except (LogsApiError, httpx.TransportError):
                break  # the logs as GET returned them, then
            for log in page.logs:
                if log.id in found:
                    found[log.id] = {**log.raw, **found[log.id]}
        return [found[i] for i in log_ids if i in found], [i for i in log_ids if i not in found]


def _log_ids(exchanges: list[Exchange]) -> list[str]:
    """The log ids the gateway calls' answers carried, in order, each once."""
    ids = (
        exchange.response.header("cf-aig-log-id")
        for exchange in exchanges
        if exchange.api != "logs"
    )
    return list(dict.fromkeys(log_id for log_id in ids if log_id))


def _key(exchange: Exchange) -> tuple[str, str, str, bytes]:
    """What tells two requests apart: method, path, query and body (not the host)."""
    request = exchange.request
    url = urlsplit(request.url)
    return request.method, url.path, url.query, request.body.data


def _merged(old: Cassette, new: Cassette, log_ids: list[str]) -> Cassette | None:
    """*old* with the exchanges of *new* it lacks (and their logs); None when none is new.

    A Logs API call about a log of this run goes with that log's gateway call; one about
    no such log is added when *old* lacks it.
    """
    known = {_key(exchange) for exchange in old.exchanges}
    gateway_calls = [e for e in new.exchanges if e.api != "logs"]
    kept = set(_log_ids([e for e in gateway_calls if _key(e) not in known]))

    def adds(exchange: Exchange) -> bool:
        about = {i for i in log_ids if i in unquote(exchange.request.url)}
        if exchange.api == "logs" and about:
            return bool(about & kept)
        return _key(exchange) not in known

    added = [exchange for exchange in new.exchanges if adds(exchange)]
    if not added:
        return None
    return dataclasses.replace(
        old,
        recorded_at=new.recorded_at,
        exchanges=[*old.exchanges, *added],
        logs=[*old.logs, *(log for log in new.logs if log.get("id") in kept)],
        missing_logs=[*old.missing_logs, *(i for i in new.missing_logs if i in kept)],
    )


def _shown(item: pytest.Item, path: Path) -> str:
    try:
        return str(path.relative_to(item.config.rootpath))
    except ValueError:
        return str(path)


def _write_text(path: Path, text: str) -> None:
    """Write *text* whole or not at all: a run killed mid-write leaves the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
