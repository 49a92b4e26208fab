"""Tokens, cost and latency of a run's gateway calls, and the run's spending cap.

Every test that used `aigw` leaves in its teardown report its log ids and the usage
(tokens in and out, cost in USD, latency: the log's `duration`) learned so far: at once
from the fake's log store in mock mode; in live mode from the Logs API, which lists a
log a little after the call. `RunSpend`, where the reports meet, sums them per test and
per run; the live logs still unknown at the end are read from the pages the feedback
verification lists anyway, then with batched list calls (`fetch_usage`, 50 ids a call).

`SpendCap` is one small file that every process of the run (each xdist worker) appends
each log's cost to and reads, from where it last stopped, before each test that spends.
One ``write`` of whole lines on a file opened for appending lands in one piece, so the
processes need no lock.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .eval_trials import TRIAL_PROPERTY

if TYPE_CHECKING:
    from .client import Log, LogsClient
    from .logstore import StoredLog

__all__ = [
    "CAP_PROPERTY",
    "USAGE_PROPERTY",
    "LogUsage",
    "RunSpend",
    "SpendCap",
    "Totals",
    "fetch_usage",
    "skip_reason",
    "usd",
]

USAGE_PROPERTY = "aigw_usage"  # in a teardown report: the test's log ids, usage learned
CAP_PROPERTY = "aigw_cost_cap"  # in a set-up report: the cap skipped it at this spend
CAP_OPTION = "--aigw-max-cost"
BATCH = 50  # ids per filtered list call, the Logs API's largest page
COSTLIEST = 5
USAGE_WAIT = 10.0  # seconds the end of a live run waits for logs not listed yet


def usd(amount: float) -> str:
    """Dollars with at least 2 decimals and up to 6: $0.00, $1.50, $0.0123, $0.000003."""
    text = f"{amount:,.6f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def skip_reason(spent: float, limit: float) -> str:
    """Why the cap skips a test: the spend that reached it, and the cap."""
    return f"aigw: the run's spend {usd(spent)} reached {CAP_OPTION}={usd(limit)}"


def _number(value: object) -> float | None:
    """A finite number the Logs API gave, or None (absent, null, text, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _count(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


@dataclass(frozen=True)
class LogUsage:
    """One log's tokens, cost (USD, as the gateway logged it) and latency (ms)."""

    log_id: str
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None

    @classmethod
    def from_stored(cls, log: StoredLog) -> LogUsage:
        """From the fake's log store."""
        return cls(log.id, log.tokens_in, log.tokens_out, log.cost, float(log.duration))

    @classmethod
    def from_api(cls, log: Log) -> LogUsage:
        """From a log the Logs API listed."""
        return cls(
            log.id,
            _count(log.tokens_in),
            _count(log.tokens_out),
            _number(log.cost),
            _number(log.raw.get("duration")),
        )

    def fields(self) -> dict[str, Any]:
        """The report's per-log fields (no id)."""
        return {
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "latency_ms": self.latency_ms,
        }


@dataclass(frozen=True)
class Totals:
    """Usage summed over logs; latency is the mean over the logs that give one."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None
    logs: int = 0  # logs whose usage is known

    @classmethod
    def of(cls, usages: Iterable[LogUsage]) -> Totals:
        known = list(usages)
        latencies = [u.latency_ms for u in known if u.latency_ms is not None]
        return cls(
            sum(u.tokens_in or 0 for u in known),
            sum(u.tokens_out or 0 for u in known),
            sum(u.cost_usd or 0.0 for u in known),  # an absurd cost sums to inf, never raises
            math.fsum(x / len(latencies) for x in latencies) if latencies else None,
            len(known),
        )

    def fields(self) -> dict[str, Any]:
        """The report's fields: tokens_in, tokens_out, cost_usd, latency_ms."""
        latency = None if self.latency_ms is None else round(self.latency_ms, 3)
        return {
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost_usd, 12),
            "latency_ms": latency,
        }

    def line(self) -> str:
        """12,345 tokens in, 2,345 out, $0.0123 (mean latency 820 ms)."""
        latency = "" if self.latency_ms is None else f" (mean latency {self.latency_ms:,.0f} ms)"
        return (
            f"{self.tokens_in:,} tokens in, {self.tokens_out:,} out, {usd(self.cost_usd)}{latency}"
        )


class RunSpend:
    """What the run's tests spent, gathered from their reports (all xdist workers)."""

    def __init__(self, max_cost: float | None = None, live: bool = False) -> None:
        self.max_cost = max_cost
        self.live = live
        self.tests: dict[str, list[str]] = {}  # nodeid: the log ids of its calls
        self.usage: dict[str, LogUsage] = {}
        self.skipped = 0  # tests the cap skipped
        self.stopped_at: float | None = None  # the spend that first stopped the run
        self.problems: list[str] = []

    def add(self, report: Any) -> None:
        """Take what a test report carries: a test's logs and usage, or a cap skip."""
        properties = dict(report.user_properties)
        if CAP_PROPERTY in properties and report.when == "setup" and report.skipped:
            self.skipped += 1
            spent = float(properties[CAP_PROPERTY])
            self.stopped_at = spent if self.stopped_at is None else min(self.stopped_at, spent)
        given = properties.get(USAGE_PROPERTY)
        if given is None or report.when != "teardown":
            return
        # A case's trials (`test_x[trial-2of3]`) add up under the case's own nodeid.
        case = (properties.get(TRIAL_PROPERTY) or {}).get("case", report.nodeid)
        self.tests.setdefault(case, []).extend(given["log_ids"])
        self.learn(LogUsage(**usage) for usage in given["usage"])

    def learn(self, usages: Iterable[LogUsage]) -> None:
        for usage in usages:
            self.usage[usage.log_id] = usage

    def unknown(self) -> list[str]:
        """The run's log ids whose usage is not known yet."""
        return [i for ids in self.tests.values() for i in ids if i not in self.usage]

    def of_test(self, nodeid: str) -> Totals:
        return Totals.of(self.usage[i] for i in self.tests.get(nodeid, ()) if i in self.usage)

    def total(self) -> Totals:
        ids = (i for test in self.tests.values() for i in test)
        return Totals.of(self.usage[i] for i in ids if i in self.usage)

    @property
    def shown(self) -> bool:
        """Whether the summary has spend to show without eval cases (live, or a cap)."""
        return bool(self.tests and self.live) or self.max_cost is not None

    def summary(self) -> dict[str, Any]:
        """The report summary's spend fields: the whole run's (every test that used aigw)."""
        return {
            **self.total().fields(),
            "max_cost_usd": self.max_cost,
            "stopped_by_cost_cap": self.skipped > 0,
            "skipped_by_cost_cap": self.skipped,
        }

    def annotate(self, case: dict[str, Any]) -> None:
        """Add the usage fields to one case of the report, and to each of its logs."""
        totals = self.of_test(case["nodeid"])
        if totals.logs or not self.tests.get(case["nodeid"]):
            case.update(totals.fields())
        else:  # logs the Logs API never listed: unknown, not free
            case.update(dict.fromkeys(("tokens_in", "tokens_out", "cost_usd", "latency_ms")))
        for log in case.get("logs", []):
            usage = self.usage.get(log["log_id"], LogUsage(log["log_id"]))
            log.update(usage.fields())

    def lines(self, nodeids: Sequence[str] = ()) -> list[str]:
        """The summary lines: the run's spend, the costliest of *nodeids*, the cap."""
        total = self.total()
        lines = [f"spend: {total.line()}"]
        unknown = len(self.unknown())
        if unknown:
            lines.append(f"spend: usage unknown for {unknown} log(s) (not listed by the Logs API)")
        costly = sorted(
            ((self.of_test(nodeid), nodeid) for nodeid in nodeids),
            key=lambda pair: -pair[0].cost_usd,
        )[:COSTLIEST]
        costly = [(totals, nodeid) for totals, nodeid in costly if totals.cost_usd > 0]
        if costly:
            lines.append("costliest cases:")
            lines += [
                f"  {usd(t.cost_usd):>10} {t.tokens_in:>8,} in {t.tokens_out:>7,} out  {nodeid}"
                for t, nodeid in costly
            ]
        lines += self.problems
        if self.skipped and self.max_cost is not None:
            spent = usd(self.stopped_at if self.stopped_at is not None else total.cost_usd)
            lines.append(
                f"cost cap: the run's spend {spent} reached {CAP_OPTION}={usd(self.max_cost)};"
                f" the cap stopped the run, skipping {self.skipped} live or eval test(s)"
            )
        return lines


class SpendCap:
    """The run's spend, shared by its processes through one file of ``log_id cost`` lines."""

    def __init__(self, path: Path, limit: float) -> None:
        self.path = path
        self.limit = limit
        self._offset = 0  # where this process stopped reading
        self._spent = 0.0

    def add(self, usages: Iterable[LogUsage]) -> None:
        """Append the costs of *usages* (one write: the lines land in one piece)."""
        lines = "".join(f"{u.log_id} {u.cost_usd!r}\n" for u in usages if u.cost_usd)
        if not lines:
            return
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, lines.encode())
        finally:
            os.close(descriptor)

    def spent(self) -> float:
        """The run's spend so far, all processes: read only the lines added since last time."""
        try:
            with open(self.path, "rb") as source:
                source.seek(self._offset)
                data = source.read()
        except FileNotFoundError:
            return self._spent  # nothing spent yet
        end = data.rfind(b"\n") + 1  # a line being written is read next time
        lines = data[:end].split(b"\n")[:-1]
        self._spent += math.fsum(float(line.rpartition(b" ")[2]) for line in lines)
        self._offset += end
        return self._spent

    def reached(self) -> float | None:
        """The spend, if it has reached the cap; else None."""
        spent = self.spent()
        return spent if spent >= self.limit else None


def fetch_usage(
    client: LogsClient,
    log_ids: Sequence[str],
    *,
    timeout: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, LogUsage]:
    """The usage of *log_ids*, by id, read with filtered list calls (50 ids a call).

    Lists them once; with *timeout*, lists the ones not shown yet again, with backoff,
    until all show or the time is up. Logs API errors are raised.
    """
    from .client import log_filter

    wanted = list(dict.fromkeys(log_ids))
    found: dict[str, LogUsage] = {}
    end, delay = clock() + timeout, 0.25
    while wanted:
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            page = client.list(filters=[log_filter("id", "eq", *batch)], per_page=BATCH)
            found.update(_shown(page.logs, batch))
        wanted = [log_id for log_id in wanted if log_id not in found]
        if not wanted or clock() + delay > end:
            break
        sleep(delay)
        delay = min(delay * 2, 2.0)
    return found


def _shown(logs: Iterable[Log], wanted: Iterable[str]) -> dict[str, LogUsage]:
    ids = set(wanted)
    return {log.id: LogUsage.from_api(log) for log in logs if log.id in ids}


def usages_of(logs: Mapping[str, Log], wanted: Iterable[str]) -> list[LogUsage]:
    """The usage of the *wanted* ids among *logs* (logs the Logs API listed, by id)."""
    return [LogUsage.from_api(logs[i]) for i in wanted if i in logs]


def as_property(log_ids: Sequence[str], learned: Iterable[LogUsage]) -> dict[str, Any]:
    """The value of `USAGE_PROPERTY`: a test's log ids and the usage learned with it."""
    # Built by hand: dataclasses.asdict deep-copies each field, ten times slower here.
    usage = [{"log_id": u.log_id, **u.fields()} for u in learned]
    return {"log_ids": list(log_ids), "usage": usage}
