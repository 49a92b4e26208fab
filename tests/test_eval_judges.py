"""Judge calls and named scores as users meet them, in mock and live runs."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
from conftest import live_args, verdicts_by_user
from test_eval_journal import start_and_stop

from pytest_aigw import MockGateway, MockGatewayServer
from pytest_aigw.client import log_filter
from pytest_aigw.evals import score_metadata
from pytest_aigw.judges import is_judge_call

pytest_plugins = ["pytester"]

CHAT = """
import asyncio, httpx, json, pytest

def chat(aigw, user, metadata=None):
    headers = {"cf-aig-metadata": json.dumps(metadata)} if metadata else {}
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": user},
               headers=headers)
"""

# What each test's fake stored per user: feedback, score and metadata.
STORED_CONFTEST = """
import json, pytest
from pytest_aigw.plugin import _GATEWAY

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item):
    result = yield
    gateway = item.stash[_GATEWAY]
    stored = {}
    for call in gateway.calls:
        log = gateway.log_store.get(call.log_id, 1e12)
        stored[call.json["user"]] = [log.feedback, log.score, log.metadata, call.judge]
    with open("stored.json", "w") as out:
        json.dump(stored, out)
    return result
"""


def run(pytester: pytest.Pytester, body: str, *args: str) -> pytest.RunResult:
    pytester.makeconftest(STORED_CONFTEST)
    pytester.makepyfile(CHAT + body)
    return pytester.runpytest("-p", "no:randomly", "--aigw-eval-report=eval.json", *args)


def stored(pytester: pytest.Pytester) -> dict[str, list[Any]]:
    data: dict[str, list[Any]] = json.loads((pytester.path / "stored.json").read_text())
    return data


def case(pytester: pytest.Pytester) -> dict[str, Any]:
    data = json.loads((pytester.path / "eval.json").read_text())
    found: dict[str, Any] = data["cases"][0]
    return found


def test_calls_inside_judging_get_no_outcome_feedback(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
@pytest.mark.aigw_eval
def test_answer(aigw):
    chat(aigw, "answer")
    with aigw.judging():
        chat(aigw, "judge")
        with aigw.judging():
            chat(aigw, "nested")
        chat(aigw, "judge again")
    chat(aigw, "after")
    aigw.score(75)
    assert [call.judge for call in aigw.calls] == [False, True, True, True, False]
    assert False, "a wrong answer"
""",
    )
    result.assert_outcomes(failed=1)
    assert stored(pytester) == {
        "answer": [-1, 75, None, False],
        "judge": [None, None, None, True],
        "nested": [None, None, None, True],
        "judge again": [None, None, None, True],
        "after": [-1, 75, None, False],
    }
    found = case(pytester)
    assert len(found["judge_log_ids"]) == 3
    assert [log["judge"] for log in found["logs"]] == [False, True, True, True, False]
    result.stdout.fnmatch_lines(
        ["feedback: 2 log(s), 2 submitted, 2 verified (3 judge log(s): no outcome feedback)"]
    )


def test_judging_works_in_async_code_and_its_tasks(pytester: pytest.Pytester) -> None:
    run(
        pytester,
        """
async def achat(aigw, client, user):
    await client.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": user})

async def main(aigw):
    async with httpx.AsyncClient() as client:
        await achat(aigw, client, "answer")
        async with aigw.judging():
            await achat(aigw, client, "judge")
            await asyncio.gather(achat(aigw, client, "task 1"), achat(aigw, client, "task 2"))
        with aigw.judging():
            await achat(aigw, client, "sync block")
        other = asyncio.ensure_future(achat(aigw, client, "other task"))
        await other

@pytest.mark.aigw_eval
def test_answer(aigw):
    asyncio.run(main(aigw))
""",
    )
    assert {user: row[0] for user, row in stored(pytester).items()} == {
        "answer": 1,
        "judge": None,
        "task 1": None,
        "task 2": None,
        "sync block": None,
        "other task": 1,
    }


def test_a_metadata_entry_marks_a_judge_call(pytester: pytest.Pytester) -> None:
    run(
        pytester,
        """
@pytest.mark.aigw_eval
def test_answer(aigw):
    chat(aigw, "answer", {"aigw_judge": False})
    chat(aigw, "judge", {"aigw_judge": True})
    chat(aigw, "judge as text", {"aigw_judge": "True"})
    chat(aigw, "not a judge", {"aigw_judge": "no"})
""",
    )
    assert {user: row[3] for user, row in stored(pytester).items()} == {
        "answer": False,
        "judge": True,
        "judge as text": True,
        "not a judge": False,
    }
    assert {user: row[0] for user, row in stored(pytester).items()} == {
        "answer": 1,
        "judge": None,
        "judge as text": None,
        "not a judge": 1,
    }


def test_a_verdict_given_a_judge_log_by_id_is_sent(pytester: pytest.Pytester) -> None:
    run(
        pytester,
        """
@pytest.mark.aigw_eval
def test_answer(aigw):
    chat(aigw, "answer")
    with aigw.judging():
        chat(aigw, "judge")
    aigw.score(40)
    aigw.score(90, log_id=aigw.calls.last.log_id)
    aigw.score(50, name="agreement", log_id=aigw.calls.last.log_id)
""",
    )
    assert stored(pytester) == {
        "answer": [1, 40, None, False],
        "judge": [None, 90, {"score_agreement": 50}, True],
    }


def test_named_scores_are_kept_per_log_per_case_and_in_the_logs_metadata(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
@pytest.mark.aigw_eval
def test_answer(aigw):
    chat(aigw, "a", {"user": "a", "team": "x"})
    chat(aigw, "b")
    aigw.score(80, name="relevance")
    aigw.score(60, name="relevance", log_id=aigw.calls.last.log_id)
    aigw.score(70, name="tone")
    aigw.score(55)
""",
    )
    result.assert_outcomes(passed=1)
    assert stored(pytester) == {
        "a": [1, 55, {"user": "a", "team": "x", "score_relevance": 80, "score_tone": 70}, False],
        "b": [1, 55, {"score_relevance": 60, "score_tone": 70}, False],
    }
    found = case(pytester)
    assert [log["scores"] for log in found["logs"]] == [
        {"relevance": 80, "tone": 70},
        {"relevance": 60, "tone": 70},
    ]
    assert found["scores"] == {"relevance": 70.0, "tone": 70.0}
    result.stdout.fnmatch_lines(
        [
            "mean score: 55.0 (2 scored log(s))",
            "named scores (mean): relevance 70.0, tone 70.0",
        ]
    )


def test_named_scores_past_the_metadata_cap_stay_in_the_report_only(
    pytester: pytest.Pytester,
) -> None:
    run(
        pytester,
        """
@pytest.mark.aigw_eval
def test_answer(aigw):
    chat(aigw, "a", {"k1": 1, "k2": 2, "k3": 3, "k4": 4})
    aigw.score(80, name="relevance")
    aigw.score(70, name="tone")
""",
    )
    assert stored(pytester)["a"][:3] == [1, None, {"k1": 1, "k2": 2, "k3": 3, "k4": 4}]
    (log,) = case(pytester)["logs"]
    assert (log["scores"], log["metadata"], log["verified"]) == (
        {"relevance": 80, "tone": 70},
        None,
        True,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "aigw.score(80, name='')",
            "aigw.score() name must be 1 to 50 letters, digits, '_' or '-', got ''",
        ),
        (
            "aigw.score(80, name='a b')",
            "aigw.score() name must be 1 to 50 letters, digits, '_' or '-', got 'a b'",
        ),
        ("aigw.score(80, name=5)", "aigw.score() name must be a string, got 5"),
        (
            "aigw.score(101, name='tone')",
            "aigw.score() value must be a number from 0 to 100, got 101",
        ),
        (
            "aigw.score(1, name='tone', log_id='nope')",
            "aigw.score(log_id='nope'): this test produced no such log; its log ids are []",
        ),
    ],
)
def test_bad_named_scores_say_what_is_allowed(
    pytester: pytest.Pytester, call: str, message: str
) -> None:
    result = run(pytester, f"\n@pytest.mark.aigw_eval\ndef test_case(aigw):\n    {call}\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"E   *ConfigError: {message}"])


def test_the_fake_logs_api_keeps_a_patched_metadata_and_filters_on_it() -> None:
    with MockGateway(strict=False) as gateway:
        import httpx

        httpx.post(
            gateway.url("openai") + "/chat/completions",
            json={"model": "m"},
            headers={"cf-aig-metadata": '{"user": "u1"}'},
        )
        log_id = gateway.log_ids[0]
        gateway.logs.patch(log_id, feedback=1, metadata={"user": "u1", "score_relevance": 80})
        by_key = gateway.logs.list(filters=[log_filter("metadata.key", "eq", "score_relevance")])
        by_value = gateway.logs.list(filters=[log_filter("metadata.value", "eq", "80")])
        searched = gateway.logs.list(search="score_relevance")
        assert [log.id for log in (*by_key.logs, *by_value.logs, *searched.logs)] == [log_id] * 3
        assert gateway.logs.get(log_id).metadata == {"user": "u1", "score_relevance": 80}


def test_judge_calls_and_metadata_helpers() -> None:
    assert not is_judge_call(None)
    assert not is_judge_call({"other": True})
    assert is_judge_call({"aigw_judge": " TRUE "})
    assert not is_judge_call({"aigw_judge": 1})
    assert score_metadata({"a": 1}, {}) is None
    assert score_metadata(None, {"x": 5}) == {"score_x": 5}
    assert score_metadata({f"k{n}": n for n in range(5)}, {"x": 5}) is None


# --- live, against the loopback stand-in ------------------------------------------------

LIVE = """
import httpx, json, pytest, time

def chat(aigw, user, judge=False):
    headers = {"cf-aig-metadata": json.dumps({"aigw_judge": True})} if judge else {}
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": user},
               headers=headers)

@pytest.mark.aigw_eval
@pytest.mark.aigw_live
@pytest.mark.parametrize("n", range(3))
def test_case(aigw, n):
    chat(aigw, f"answer {n}")
    with aigw.judging():
        chat(aigw, f"judge {n}")
    chat(aigw, f"marked {n}", judge=True)
    aigw.score(10 * n, name="relevance")
    assert n != 1
"""


def test_live_judge_calls_get_nothing_and_named_scores_reach_the_metadata(
    pytester: pytest.Pytester, standin: MockGatewayServer
) -> None:
    pytester.makepyfile(LIVE)
    result = pytester.runpytest(*live_args(standin), "--aigw-eval-report=eval.json")
    result.assert_outcomes(passed=2, failed=1)
    verdicts = verdicts_by_user(standin)
    assert {user: v for user, v in verdicts.items() if v != (None, None)} == {
        "answer 0": (1, None),
        "answer 1": (-1, None),
        "answer 2": (1, None),
    }
    logs: dict[str | None, Any] = {log.id: log for log in standin.log_store.find([], now=1e12)}
    metadata = {call.json["user"]: logs[call.log_id].metadata for call in standin.calls}
    assert metadata["answer 2"] == {"test": True, "score_relevance": 20}
    assert metadata["judge 2"] == {"test": True}
    report = json.loads((pytester.path / "eval.json").read_text())
    assert [len(found["judge_log_ids"]) for found in report["cases"]] == [2, 2, 2]
    assert report["summary"]["judge_logs"] == 6


JOURNALED = """
import time, httpx, pytest

@pytest.mark.aigw_eval(trials=2, min_pass_rate=0.5)
@pytest.mark.aigw_live
@pytest.mark.parametrize("n", range(2))
def test_case(aigw, n, _aigw_trial):
    user = f"{n}-{_aigw_trial}"
    httpx.post(aigw.url("openai") + "/chat/completions", json={"model": "m", "user": user})
    with aigw.judging():
        httpx.post(aigw.url("openai") + "/chat/completions",
                   json={"model": "m", "user": "judge " + user})
    aigw.score(10 * n + _aigw_trial, name="relevance")
    if n == 1 and _aigw_trial == 2:
        open("reached", "w").close()
        time.sleep(300)
"""


def test_a_killed_run_leaves_trials_and_named_scores_for_resubmit(
    pytester: pytest.Pytester, standin: MockGatewayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import test_eval_journal

    monkeypatch.setattr(test_eval_journal, "CASES", JOURNALED.replace("STOP", ""))
    start_and_stop(pytester, standin, signal.SIGKILL)  # type: ignore[arg-type]
    assert all(v == (None, None) for v in verdicts_by_user(standin).values())
    result = pytester.runpytest("--aigw-eval-resubmit")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["journal: 3 verdict(s) left by an earlier run (*): 3 verified*"])
    logs: dict[str | None, Any] = {log.id: log for log in standin.log_store.find([], now=1e12)}
    sent = {
        call.json["user"]: (logs[call.log_id].feedback, logs[call.log_id].metadata)
        for call in standin.calls
    }
    assert sent == {
        "0-1": (1, {"test": True, "score_relevance": 1}),
        "0-2": (1, {"test": True, "score_relevance": 2}),
        "1-1": (1, {"test": True, "score_relevance": 11}),
        "judge 0-1": (None, {"test": True}),
        "judge 0-2": (None, {"test": True}),
        "judge 1-1": (None, {"test": True}),
        "1-2": (None, {"test": True}),  # its test never ended
        "judge 1-2": (None, {"test": True}),
    }


class CallReport:
    """A call-phase report as EvalJudge reads it."""

    def __init__(self, outcome: str) -> None:
        self.outcome, self.passed = outcome, outcome == "passed"


class Item:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


def test_verdicts_judged_but_never_reported_are_sent_when_the_run_ends() -> None:
    import httpx

    from pytest_aigw._config import RunConfig
    from pytest_aigw.eval_plugin import EvalJudge

    judge = EvalJudge(RunConfig(), None)
    gateways = []
    for outcome in ("passed", "rerun"):
        gateway = MockGateway(strict=False)
        with gateway:
            httpx.post(gateway.url("openai") + "/chat/completions", json={"model": "m"})
        judge.judge(Item(outcome), gateway, CallReport(outcome))  # type: ignore[arg-type]
        gateways.append(gateway)
    judge.close()
    kept, dropped = (g.log_store.get(g.log_ids[0], 1e12) for g in gateways)
    assert (kept and kept.feedback, dropped and dropped.feedback) == (1, None)
    judge.close()  # nothing left: nothing sent twice
