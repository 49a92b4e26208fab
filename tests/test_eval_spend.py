"""Tokens, cost and latency of a run, and the spending cap, as users meet them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import live_args

from pytest_aigw import MockGatewayServer

pytest_plugins = ["pytester"]

# Case n: one call of (n + 1) * 1000 tokens in and 100 out, costing $0.001 * (n + 1)
# (the gateway's custom cost), answered in 10 * n ms; case 3 fails.
HELPERS = """
import json, httpx, pytest

def chat(aigw, n, price):
    if aigw.mode == "mock":
        aigw.respond("ok", usage={"input": 1000 * (n + 1), "output": 100}, latency=0.01 * n)
    cost = json.dumps({"total_cost": price})
    httpx.post(
        aigw.url("openai") + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "user": str(n)},
        headers={"authorization": "Bearer sk-test", "cf-aig-custom-cost": cost},
    )
"""
PRICED = (
    HELPERS
    + """

@pytest.mark.aigw_eval
@pytest.mark.aigw_live
@pytest.mark.parametrize("n", range(COUNT))
def test_case(aigw, n):
    chat(aigw, n, PRICE)
    aigw.score(min(100, 25 * n))
    assert n != 3
"""
)


def priced(count: int = 4, price: str = "0.001 * (n + 1)") -> str:
    return PRICED.replace("COUNT", str(count)).replace("PRICE", price)


PLAIN = """

def test_plain(aigw):
    chat(aigw, 9, 0.5)
"""
LIVE_PLAIN = PLAIN.replace("def test_plain", "@pytest.mark.aigw_live\ndef test_plain")


def report(pytester: pytest.Pytester, name: str = "eval.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / name).read_text())
    return data


def test_usage_per_log_case_and_run_in_the_summary_and_the_report(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(priced())
    result = pytester.runpytest("-p", "no:randomly", "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "feedback: 4 log(s), 4 submitted, 4 verified",
            "spend: 10,000 tokens in, 400 out, $0.01 (mean latency 15 ms)",
            "costliest cases:",
            "      $0.004    4,000 in     100 out  test_*.py::test_case[[]3[]]",
            "      $0.003    3,000 in     100 out  test_*.py::test_case[[]2[]]",
            "      $0.002    2,000 in     100 out  test_*.py::test_case[[]1[]]",
            "      $0.001    1,000 in     100 out  test_*.py::test_case[[]0[]]",
            "slowest cases:",
        ]
    )
    assert "cost cap" not in result.stdout.str()
    data = report(pytester)
    assert data["summary"]["schema"] == 2
    spend = {key: data["summary"][key] for key in ("tokens_in", "tokens_out", "cost_usd")}
    assert spend == {"tokens_in": 10_000, "tokens_out": 400, "cost_usd": 0.01}
    assert data["summary"]["latency_ms"] == 15.0
    assert data["summary"]["max_cost_usd"] is None
    assert data["summary"]["stopped_by_cost_cap"] is False
    assert data["summary"]["skipped_by_cost_cap"] == 0
    case = data["cases"][2]
    assert (case["tokens_in"], case["tokens_out"], case["cost_usd"]) == (3000, 100, 0.003)
    assert case["latency_ms"] == 20.0
    log = case["logs"][0]
    assert (log["tokens_in"], log["tokens_out"], log["cost_usd"], log["latency_ms"]) == (
        3000,
        100,
        0.003,
        20.0,
    )


def test_every_test_that_used_aigw_counts_in_the_runs_spend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(priced(1) + PLAIN)
    result = pytester.runpytest("-p", "no:randomly", "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["spend: 11,000 tokens in, 200 out, $0.501 (mean latency 45 ms)"])
    assert report(pytester)["summary"]["cost_usd"] == 0.501
    assert report(pytester)["cases"][0]["cost_usd"] == 0.001


def test_a_mock_run_without_eval_cases_or_cap_shows_no_spend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HELPERS + PLAIN)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "pytest-aigw eval" not in result.stdout.str()


def test_a_case_that_made_no_call_costs_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aigw_eval
        def test_case(aigw):
            pass
        """
    )
    result = pytester.runpytest("--aigw-eval-report=eval.json")
    result.stdout.fnmatch_lines(["spend: 0 tokens in, 0 out, $0.00"])
    case = report(pytester)["cases"][0]
    assert (case["tokens_in"], case["cost_usd"], case["latency_ms"]) == (0, 0.0, None)
    assert "costliest cases:" not in result.stdout.str()


# --- the spending cap ---------------------------------------------------------------


def test_the_cap_skips_the_remaining_eval_and_live_tests_and_says_so(
    pytester: pytest.Pytester,
) -> None:
    source = priced(6, "0.001") + PLAIN.replace("0.5", "0") + "\n\ndef test_other():\n    pass\n"
    pytester.makepyfile(source)
    result = pytester.runpytest(
        "-p", "no:randomly", "-rs", "--aigw-max-cost=0.003", "--aigw-eval-report=eval.json"
    )
    result.assert_outcomes(passed=5, skipped=3)  # 3 cases; the plain and other tests run
    result.stdout.fnmatch_lines(
        [
            "spend: 16,000 tokens in, 400 out, $0.003 (mean latency 30 ms)",
            "cost cap: the run's spend $0.003 reached --aigw-max-cost=$0.003; the cap stopped"
            " the run, skipping 3 live or eval test(s)",
            "SKIPPED [[]3[]] test_*.py:14: aigw: the run's spend $0.003 reached"
            " --aigw-max-cost=$0.003",
        ]
    )
    summary = report(pytester)["summary"]
    assert summary["max_cost_usd"] == 0.003
    assert summary["stopped_by_cost_cap"] is True
    assert summary["skipped_by_cost_cap"] == 3


def test_a_cap_not_reached_stops_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(priced(2))
    result = pytester.runpytest("--aigw-max-cost=$1", "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=2)
    assert "cost cap" not in result.stdout.str()
    assert report(pytester)["summary"]["stopped_by_cost_cap"] is False


def test_a_cap_is_shown_for_a_run_without_eval_cases(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HELPERS + PLAIN)
    result = pytester.runpytest("--aigw-max-cost=1")
    result.stdout.fnmatch_lines(
        ["*= pytest-aigw eval =*", "spend: 10,000 tokens in, 100 out, $0.50 (mean latency 90 ms)"]
    )


@pytest.mark.parametrize(
    ("where", "args", "env", "ini"),
    [
        ("--aigw-max-cost", ["--aigw-max-cost=0.002"], "", ""),
        ("PYTEST_AIGW_MAX_COST", [], "0.002", ""),
        ("ini aigw_max_cost", [], "", "0.002"),
    ],
)
def test_the_cap_has_env_and_ini_twins(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    args: list[str],
    env: str,
    ini: str,
) -> None:
    monkeypatch.delenv("PYTEST_AIGW_MAX_COST", raising=False)
    if env:
        monkeypatch.setenv("PYTEST_AIGW_MAX_COST", env)
    if ini:
        pytester.makeini(f"[pytest]\naigw_max_cost = {ini}\n")
    pytester.makepyfile(priced(4, "0.001"))
    result = pytester.runpytest("-p", "no:randomly", *args)
    result.assert_outcomes(passed=2, skipped=2)


@pytest.mark.parametrize("value", ["lots", "0", "-1", "nan", "inf", "$"])
def test_a_bad_cap_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PYTEST_AIGW_MAX_COST", value)
    pytester.makepyfile(priced(1))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*: error: PYTEST_AIGW_MAX_COST must be an amount in USD above 0, e.g. 0.50,"
            f" got '{value}'"
        ]
    )


def test_the_cap_holds_across_xdist_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(priced(10, "0.001").replace("assert n != 3", "pass"))
    result = pytester.runpytest("-n", "2", "--aigw-max-cost=0.003", "--aigw-eval-report=eval.json")
    outcomes = result.parseoutcomes()
    # Each worker reads the shared spend before each test: at most one test in flight on
    # the other worker can start before the spend reaches the cap.
    assert 3 <= outcomes["passed"] <= 4
    skipped = 10 - outcomes["passed"]
    assert outcomes["skipped"] == skipped
    assert result.stdout.str().count("= pytest-aigw eval =") == 1
    result.stdout.fnmatch_lines([f"cost cap: * skipping {skipped} live or eval test(s)"])
    summary = report(pytester)["summary"]
    assert summary["skipped_by_cost_cap"] == skipped
    assert summary["cost_usd"] == pytest.approx(0.001 * outcomes["passed"])


def test_the_spend_file_is_removed_at_the_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spend_dir = tmp_path / "tmp"
    spend_dir.mkdir()
    monkeypatch.setenv("TMPDIR", str(spend_dir))
    monkeypatch.setattr("tempfile.tempdir", None)
    pytester.makepyfile(priced(2))
    pytester.runpytest("--aigw-max-cost=1")
    assert list(spend_dir.iterdir()) == []


# --- live mode, against the loopback stand-in ---------------------------------------


def stored_usage(server: MockGatewayServer) -> dict[str, tuple[Any, ...]]:
    """Each log's (tokens in, tokens out, cost) on the stand-in, by the request's user."""
    by_id = {log.id: log for log in server.log_store.find([], now=1e12)}
    return {
        call.json["user"]: (by_id[i].tokens_in, by_id[i].tokens_out, by_id[i].cost)
        for call in server.calls
        if (i := call.log_id)
    }


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_live_usage_comes_from_the_gateways_logs(
    pytester: pytest.Pytester, standin: MockGatewayServer, workers: list[str]
) -> None:
    pytester.makepyfile(priced(3) + LIVE_PLAIN)
    result = pytester.runpytest(*live_args(standin), *workers, "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=4)
    data = report(pytester)
    stored = stored_usage(standin)
    for n, case in enumerate(sorted(data["cases"], key=lambda c: c["nodeid"])):
        tokens_in, tokens_out, cost = stored[str(n)]
        assert (case["tokens_in"], case["tokens_out"], case["cost_usd"]) == (
            tokens_in,
            tokens_out,
            cost,
        )
        assert case["cost_usd"] == 0.001 * (n + 1)
        assert case["latency_ms"] is not None
    assert data["summary"]["cost_usd"] == pytest.approx(0.506)  # the plain live test's too
    tokens_in = sum(usage[0] for usage in stored.values())
    result.stdout.fnmatch_lines([f"spend: {tokens_in:,} tokens in, * out, $0.506 (mean latency *"])


def test_a_live_run_without_eval_cases_shows_its_spend(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    pytester.makepyfile(HELPERS + LIVE_PLAIN)
    result = pytester.runpytest(*live_args(standin))
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*= pytest-aigw eval =*", "spend: * tokens in, * out, $0.50*"])


def test_the_cap_stops_a_live_run(pytester: pytest.Pytester, standin: MockGatewayServer) -> None:
    # A stand-in that lists each log at once: the spend is read after each test, so the
    # cap stops the run right after the third $0.001 case (under the real Logs API's lag
    # it stops a test or two later, as the README says).
    pytester.makepyfile(priced(10, "0.001").replace("assert n != 3", "pass"))
    with MockGatewayServer(strict=False) as prompt:
        result = pytester.runpytest(
            *live_args(prompt), "-p", "no:randomly", "-rs", "--aigw-max-cost=0.003"
        )
        shown = result.stdout.str()
        result.assert_outcomes(passed=3, skipped=7)
        result.stdout.fnmatch_lines(
            [
                "SKIPPED [[]7[]] test_*.py:*: aigw: the run's spend $0.003 reached"
                " --aigw-max-cost=$0.003"
            ]
        )
        assert len(prompt.calls) == 3, shown


def test_a_failing_logs_api_leaves_the_usage_unknown_and_says_so(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    standin.fail_logs_api(500, times=10_000, retry_after=0)
    pytester.makepyfile(priced(3, "0.001").replace("assert n != 3", "pass"))
    result = pytester.runpytest(
        *live_args(standin), "--aigw-max-cost=0.001", "--aigw-eval-submit-timeout=1"
    )
    result.assert_outcomes(passed=3)  # the spend cannot be read: the cap cannot stop the run
    result.stdout.fnmatch_lines(
        [
            "spend: 0 tokens in, 0 out, $0.00",
            "spend: usage unknown for 3 log(s) (not listed by the Logs API)",
            "spend: could not read the logs' usage: *",
        ]
    )


def test_a_cases_trials_add_up_to_its_usage(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HELPERS
        + """

@pytest.mark.aigw_eval(trials=3, min_pass_rate=0.5)
def test_case(aigw):
    chat(aigw, 0, 0.002)
"""
    )
    result = pytester.runpytest("-p", "no:randomly", "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=3)
    (case,) = report(pytester)["cases"]
    assert case["nodeid"] == "test_a_cases_trials_add_up_to_its_usage.py::test_case"
    assert len(case["trials"]) == 3
    assert (case["tokens_in"], case["tokens_out"], case["cost_usd"]) == (3000, 300, 0.006)
    result.stdout.fnmatch_lines(["costliest cases:", "*$0.006*::test_case"])
