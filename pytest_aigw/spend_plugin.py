"""The spend meter as a pytest plugin object, in every process (xdist workers included).

As a test that used `aigw` ends, `SpendMeter.measure` puts its log ids and the usage
learned so far into its report (`pytest_aigw.eval_spend`): from the fake's log store
in mock mode; in live mode, with ``--aigw-max-cost`` only, from one filtered list call
for the process's logs not listed yet (without a cap, live usage is read once, at the
end of the run). With ``--aigw-max-cost``, each cost goes to the run's shared
`SpendCap`, and a live or eval test is skipped before it starts once the spend has
reached the cap.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._config import EVAL_MARKER, RunConfig
from ._errors import AigwError

if TYPE_CHECKING:
    from .client import LogsClient
    from .eval_spend import LogUsage, SpendCap
    from .gateway_base import Gateway

__all__ = ["SpendMeter", "spend_cap"]

LIVE_MARKER = "aigw_live"
KEPT_PENDING = 50  # live logs not listed yet, looked up again after the next test


def spend_cap(run: RunConfig, shared: str | None) -> tuple[SpendCap | None, str | None]:
    """The run's `SpendCap` (None without a cap) and its file, made here unless *shared*.

    The process that makes the file (the run, or the xdist controller) deletes it at exit.
    """
    if run.max_cost is None:
        return None, None
    from .eval_spend import SpendCap

    if shared is None:
        descriptor, shared = tempfile.mkstemp(prefix="aigw-spend-", suffix=".txt")
        os.close(descriptor)
    return SpendCap(Path(shared), run.max_cost), shared


def spends(item: pytest.Item) -> bool:
    """Whether the cap stops *item*: an eval case, or a test written to run live."""
    return any(item.get_closest_marker(name) for name in (EVAL_MARKER, LIVE_MARKER))


class SpendMeter:
    """Measures each test's usage into its report; skips spending tests past the cap."""

    def __init__(self, run: RunConfig, cap: SpendCap | None) -> None:
        self.run = run
        self.cap = cap
        self._pending: list[str] = []
        self._client: LogsClient | None = None

    def measure(self, item: pytest.Item, gateway: Gateway) -> None:
        """Record *gateway*'s log ids and the usage known now in *item*'s report."""
        from .eval_spend import USAGE_PROPERTY, as_property

        log_ids = gateway.log_ids
        if gateway.mode == "mock":
            learned = _stored(gateway, log_ids)
        elif self.cap is not None:
            learned = self._listed(log_ids)
        else:
            learned = []
        if self.cap is not None:
            self.cap.add(learned)
        item.user_properties.append((USAGE_PROPERTY, as_property(log_ids, learned)))

    def _listed(self, log_ids: list[str]) -> list[LogUsage]:
        """One look at the Logs API for this process's logs not listed yet; no waiting."""
        from .eval_spend import fetch_usage

        self._pending = (self._pending + log_ids)[-KEPT_PENDING:]
        if not self._pending:
            return []
        try:
            found = fetch_usage(self._logs_client(), self._pending)
        except AigwError:
            return []  # looked up again after the next test, and at the end of the run
        self._pending = [log_id for log_id in self._pending if log_id not in found]
        return list(found.values())

    def _logs_client(self) -> LogsClient:
        if self._client is None:
            from .client import LogsClient

            # No retries: a 429 would hold the test; the next test's look-up tries again.
            self._client = LogsClient(
                **self.run.client_args(), base_url=self.run.api_base_url, max_retries=0
            )
        return self._client

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.cap is None or not spends(item):
            return
        spent = self.cap.reached()
        if spent is not None:
            from .eval_spend import CAP_PROPERTY, skip_reason

            item.user_properties.append((CAP_PROPERTY, spent))
            # Shown at the test's line, as a skip marker's reason is.
            raise pytest.skip.Exception(skip_reason(spent, self.cap.limit), _use_item_location=True)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _stored(gateway: Any, log_ids: list[str]) -> list[LogUsage]:
    from .eval_spend import LogUsage

    store = gateway.log_store
    logs = (store.get(log_id, math.inf) for log_id in log_ids)  # listed or not yet
    return [LogUsage.from_stored(log) for log in logs if log is not None]
