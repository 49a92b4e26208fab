"""Usage, totals, the spend file and the run's spend, one part at a time."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_aigw import MockGateway
from pytest_aigw.client import Log
from pytest_aigw.eval_spend import (
    CAP_PROPERTY,
    USAGE_PROPERTY,
    LogUsage,
    RunSpend,
    SpendCap,
    Totals,
    as_property,
    fetch_usage,
    skip_reason,
    usages_of,
    usd,
)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "$0.00"),
        (1.5, "$1.50"),
        (0.0123, "$0.0123"),
        (2.807e-06, "$0.000003"),
        (12345.678, "$12,345.678"),
        (0.01, "$0.01"),
    ],
)
def test_dollars_keep_small_amounts_readable(amount: float, text: str) -> None:
    assert usd(amount) == text


def test_the_skip_reason_gives_the_figure() -> None:
    assert (
        skip_reason(0.0123, 0.01) == "aigw: the run's spend $0.0123 reached --aigw-max-cost=$0.01"
    )


def test_totals_sum_tokens_and_cost_and_average_latency() -> None:
    usages = [
        LogUsage("a", 10, 2, 0.1, 100.0),
        LogUsage("b", None, 3, 0.2, None),
        LogUsage("c", 5, None, None, 300.0),
    ]
    totals = Totals.of(usages)
    assert (totals.tokens_in, totals.tokens_out, totals.logs) == (15, 5, 3)
    assert totals.cost_usd == pytest.approx(0.3)
    assert totals.latency_ms == 200.0
    assert totals.fields() == {
        "tokens_in": 15,
        "tokens_out": 5,
        "cost_usd": 0.3,
        "latency_ms": 200.0,
    }
    assert Totals.of([]).line() == "0 tokens in, 0 out, $0.00"


def api_log(**fields: Any) -> Log:
    return Log.from_api({"id": "x", **fields})


def test_usage_from_the_logs_api_takes_only_finite_numbers() -> None:
    good = LogUsage.from_api(api_log(tokens_in=3, tokens_out=4.0, cost=2.5e-6, duration=812))
    assert good == LogUsage("x", 3, 4, 2.5e-6, 812.0)
    odd = LogUsage.from_api(
        api_log(tokens_in=True, tokens_out="4", cost=math.nan, duration=math.inf)
    )
    assert odd == LogUsage("x")
    assert LogUsage.from_api(api_log()) == LogUsage("x")


def test_the_spend_file_reads_only_whole_lines_and_only_once(tmp_path: Path) -> None:
    path = tmp_path / "spend.txt"
    cap, other = SpendCap(path, 1.0), SpendCap(path, 1.0)
    assert cap.spent() == 0.0  # no file yet
    cap.add([LogUsage("a", cost_usd=0.125), LogUsage("free", cost_usd=0.0), LogUsage("b")])
    cap.add([LogUsage("a2", cost_usd=0.0625), LogUsage("a3", cost_usd=0.0625)])
    assert path.read_text() == "a 0.125\na2 0.0625\na3 0.0625\n"
    assert path.stat().st_mode & 0o777 == 0o600  # log ids are the user's business
    other.add([LogUsage("c", cost_usd=0.5)])
    with path.open("a") as out:
        out.write("d 0.2")  # a line still being written
    assert cap.spent() == 0.75
    assert cap.reached() is None
    with path.open("a") as out:
        out.write("5\n")
    assert cap.reached() == 1.0
    assert other.spent() == 1.0


def test_fetch_usage_lists_fifty_ids_a_call_and_waits_for_late_logs() -> None:
    with MockGateway(visibility_lag=100) as gateway:
        with httpx.Client(headers={"authorization": "Bearer sk-test"}) as http:
            for n in range(60):
                http.post(gateway.url("openai") + "/chat/completions", json={"model": "m", "n": n})
        ids = gateway.log_ids
        calls_before = gateway.logs.calls
        assert fetch_usage(gateway.logs, ids) == {}  # not listed yet; no waiting
        assert gateway.logs.calls - calls_before == 2
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            gateway.clock.advance(100 if len(slept) == 2 else 0)

        found = fetch_usage(gateway.logs, [*ids, ids[0]], timeout=5, sleep=sleep)
        assert set(found) == set(ids)
        assert slept == [0.25, 0.5]  # listed again after each wait, until all show
        assert found[ids[0]].cost_usd == gateway.log_store.get(ids[0], 1e12).cost  # type: ignore[union-attr]
        assert fetch_usage(gateway.logs, ["missing"], timeout=0) == {}


class Report:
    """What `RunSpend.add` reads of a test report."""

    def __init__(
        self, nodeid: str, when: str, properties: list[tuple[str, Any]], skipped: bool = False
    ) -> None:
        self.nodeid, self.when, self.skipped = nodeid, when, skipped
        self.user_properties = properties


def usage_report(nodeid: str, log_ids: list[str], *learned: LogUsage) -> Report:
    return Report(nodeid, "teardown", [(USAGE_PROPERTY, as_property(log_ids, learned))])


def test_the_run_counts_a_cap_skip_by_the_lowest_figure() -> None:
    spend = RunSpend(max_cost=0.01)
    for spent in (0.015, 0.02):
        spend.add(Report("t", "setup", [(CAP_PROPERTY, spent)], skipped=True))
    spend.add(Report("t", "teardown", [(CAP_PROPERTY, 0.001)]))  # the same test's teardown
    spend.add(Report("u", "setup", [(CAP_PROPERTY, 0.001)], skipped=False))
    assert (spend.skipped, spend.stopped_at) == (2, 0.015)
    assert spend.lines()[-1] == (
        "cost cap: the run's spend $0.015 reached --aigw-max-cost=$0.01; the cap stopped the run,"
        " skipping 2 live or eval test(s)"
    )


def test_the_run_sums_per_test_and_learns_late_usage() -> None:
    spend = RunSpend(live=True)
    assert not spend.shown
    spend.add(usage_report("a", ["1", "2"], LogUsage("1", 10, 1, 0.5, 100.0)))
    spend.add(Report("a", "call", [(USAGE_PROPERTY, as_property(["9"], []))]))  # not teardown
    spend.add(usage_report("b", ["3"], LogUsage("2", 20, 2, 0.25, 300.0)))  # a's, learned late
    assert spend.shown
    assert spend.unknown() == ["3"]
    assert spend.of_test("a") == Totals(30, 3, 0.75, 200.0, 2)
    assert spend.of_test("nothing") == Totals()
    assert spend.total() == Totals(30, 3, 0.75, 200.0, 2)
    case: dict[str, Any] = {"nodeid": "b", "logs": [{"log_id": "3"}]}
    spend.annotate(case)  # listed by no one: unknown, not free
    assert case == {
        "nodeid": "b",
        "logs": [
            {
                "log_id": "3",
                "tokens_in": None,
                "tokens_out": None,
                "cost_usd": None,
                "latency_ms": None,
            }
        ],
        "tokens_in": None,
        "tokens_out": None,
        "cost_usd": None,
        "latency_ms": None,
    }
    assert spend.lines() == [
        "spend: 30 tokens in, 3 out, $0.75 (mean latency 200 ms)",
        "spend: usage unknown for 1 log(s) (not listed by the Logs API)",
    ]
    spend.learn([LogUsage("3", 1, 1, 1.0, None)])
    case = {"nodeid": "a", "logs": [{"log_id": "1"}]}
    spend.annotate(case)
    assert case["cost_usd"] == 0.75
    assert case["logs"][0]["cost_usd"] == 0.5
    assert spend.summary() == {
        "tokens_in": 31,
        "tokens_out": 4,
        "cost_usd": 1.75,
        "latency_ms": 200.0,
        "max_cost_usd": None,
        "stopped_by_cost_cap": False,
        "skipped_by_cost_cap": 0,
    }


def test_the_costliest_cases_are_five_at_most_and_cost_something() -> None:
    spend = RunSpend()
    for n in range(7):
        spend.add(usage_report(f"t{n}", [str(n)], LogUsage(str(n), 1000 * n, n, 0.001 * n)))
    lines = spend.lines([f"t{n}" for n in range(7)])
    assert lines[1:] == [
        "costliest cases:",
        "      $0.006    6,000 in       6 out  t6",
        "      $0.005    5,000 in       5 out  t5",
        "      $0.004    4,000 in       4 out  t4",
        "      $0.003    3,000 in       3 out  t3",
        "      $0.002    2,000 in       2 out  t2",
    ]
    assert RunSpend().lines(["t0"]) == ["spend: 0 tokens in, 0 out, $0.00"]
    assert RunSpend(max_cost=1.0).shown
    assert RunSpend(max_cost=1.0).lines() == ["spend: 0 tokens in, 0 out, $0.00"]  # not stopped
    case: dict[str, Any] = {"nodeid": "t1"}  # a case without logs
    spend.annotate(case)
    assert case["cost_usd"] == 0.001


def test_totals_round_for_the_report() -> None:
    totals = Totals.of([LogUsage("a", 1, 1, 0.1, 12.3456), LogUsage("b", 1, 1, 0.2, None)])
    assert totals.fields() == {
        "tokens_in": 2,
        "tokens_out": 2,
        "cost_usd": 0.3,
        "latency_ms": 12.346,
    }
    assert Totals.of([LogUsage("a")]).fields()["latency_ms"] is None


def test_fetch_usage_backs_off_up_to_two_seconds_until_its_timeout() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with MockGateway() as gateway:
        found = fetch_usage(
            gateway.logs, ["missing"], timeout=5.75, sleep=sleep, clock=lambda: now[0]
        )
    assert found == {}
    assert slept == [0.25, 0.5, 1.0, 2.0, 2.0]


def test_the_usage_the_verification_listed_is_picked_by_id() -> None:
    logs = {"a": Log.from_api({"id": "a", "cost": 0.5}), "b": Log.from_api({"id": "b"})}
    assert usages_of(logs, ["a", "c"]) == [LogUsage("a", cost_usd=0.5)]


def test_a_stored_log_gives_its_usage() -> None:
    with MockGateway() as gateway, httpx.Client() as http:
        http.post(
            gateway.url("openai") + "/chat/completions",
            json={"model": "m"},
            headers={"authorization": "Bearer sk-test"},
        )
        log = gateway.log_store.get(gateway.log_ids[0], math.inf)
        assert log is not None
        usage = LogUsage.from_stored(log)
    assert usage == LogUsage(log.id, log.tokens_in, log.tokens_out, log.cost, float(log.duration))
    assert usage.tokens_in
    assert usage.cost_usd


def test_one_skip_is_enough_to_say_the_cap_stopped_the_run() -> None:
    spend = RunSpend(max_cost=0.01)
    spend.add(Report("t", "setup", [(CAP_PROPERTY, 0.01)], skipped=True))
    assert spend.summary()["stopped_by_cost_cap"] is True
    assert spend.summary()["skipped_by_cost_cap"] == 1
