"""The trial rules one by one: marker options, ids, case nodeids, pass rates and verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_aigw._errors import ConfigError
from pytest_aigw.eval_trials import (
    TRIAL_PROPERTY,
    TrialRecord,
    TrialSpec,
    case_outcome,
    pass_rate,
    trial_id,
    trial_property,
    trial_spec,
    verdict,
)
from pytest_aigw.evals import EvalCase, EvalRun, LogVerdict


def mark(*args: Any, **kwargs: Any) -> pytest.Mark:
    found: pytest.Mark = pytest.mark.aigw_eval(*args, **kwargs).mark
    return found


def records(*outcomes: str) -> list[TrialRecord]:
    return [TrialRecord(n, outcome) for n, outcome in enumerate(outcomes, start=1)]


@pytest.mark.parametrize(
    ("kwargs", "spec"),
    [
        ({}, TrialSpec(1, None)),
        ({"trials": 3}, TrialSpec(3, 1.0)),
        ({"trials": 1000}, TrialSpec(1000, 1.0)),
        ({"trials": 1}, TrialSpec(1, 1.0)),
        ({"min_pass_rate": 0}, TrialSpec(1, 0.0)),
        ({"min_pass_rate": 1}, TrialSpec(1, 1.0)),
        ({"trials": 2, "min_pass_rate": 0.5}, TrialSpec(2, 0.5)),
        ({"min_pass_rate": "80%"}, TrialSpec(1, 0.8)),
        ({"min_pass_rate": " 100% "}, TrialSpec(1, 1.0)),
        ({"min_pass_rate": "0%"}, TrialSpec(1, 0.0)),
    ],
)
def test_marker_options_give_the_spec(kwargs: dict[str, Any], spec: TrialSpec) -> None:
    assert trial_spec(mark(**kwargs)) == spec
    assert isinstance(trial_spec(mark(**kwargs)).min_pass_rate, float | None)


def test_no_marker_is_a_plain_case() -> None:
    assert trial_spec(None) == TrialSpec() == TrialSpec(1, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trials": 0}, "trials= must be a whole number from 1 to 1000, got 0"),
        ({"trials": 1001}, "trials= must be a whole number from 1 to 1000, got 1001"),
        ({"min_pass_rate": -0.01}, "min_pass_rate= must be a pass rate from 0 to 1"),
        ({"min_pass_rate": 1.01}, "min_pass_rate= must be a pass rate from 0 to 1"),
        ({"min_pass_rate": "101%"}, "min_pass_rate= must be a pass rate from 0 to 1"),
        ({"min_pass_rate": "-1%"}, "min_pass_rate= must be a pass rate from 0 to 1"),
        ({"min_pass_rate": "x%"}, "(or 0% to 100%), got 'x%'"),
        ({"min_pass_rate": None}, "(or 0% to 100%), got None"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        trial_spec(mark(**kwargs))
    assert str(raised.value).startswith("@pytest.mark.aigw_eval: ")
    assert message in str(raised.value)


def test_a_percentage_out_of_range_is_shown_as_given() -> None:
    with pytest.raises(ConfigError) as raised:
        trial_spec(mark(min_pass_rate="101%"))
    assert str(raised.value) == (
        "@pytest.mark.aigw_eval: min_pass_rate= must be a pass rate from 0 to 1"
        " (or 0% to 100%), got '101%'"
    )


def test_unknown_and_positional_options_list_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        trial_spec(mark(b=1, a=2, trials=2))
    assert str(raised.value) == (
        "@pytest.mark.aigw_eval got unknown option(s) a, b."
        " Allowed options: min_pass_rate=, trials="
    )
    with pytest.raises(ConfigError, match=r"positional argument\(s\) \(2,\)\. Allowed"):
        trial_spec(mark(2, trials=2))


def test_trial_ids_number_from_one() -> None:
    assert trial_id(2, 3) == "trial-2of3"


@pytest.mark.parametrize(
    ("outcomes", "rate", "found"),
    [
        (("passed", "passed"), 1.0, "stable_pass"),
        (("failed", "failed"), 0.0, "stable_fail"),
        (("passed", "failed", "failed", "skipped"), 1 / 3, "flaky"),
        (("passed", "xfailed"), 1.0, "stable_pass"),
        (("skipped", "error"), None, None),
    ],
)
def test_rates_and_verdicts(outcomes: tuple[str, ...], rate: float | None, found: str) -> None:
    assert pass_rate(records(*outcomes)) == rate
    assert verdict(records(*outcomes)) == found


@pytest.mark.parametrize(
    ("outcomes", "minimum", "outcome"),
    [
        (("passed", "failed"), 0.5, "passed"),  # the rate reaches the minimum: equal counts
        (("passed", "failed"), 0.51, "failed"),
        (("failed",), 0.0, "passed"),
        (("skipped", "xfailed"), 1.0, "skipped"),
        (("xfailed", "skipped"), 1.0, "xfailed"),
        (("skipped", "error"), 1.0, "error"),
        ((), 1.0, "error"),
    ],
)
def test_a_case_outcome(outcomes: tuple[str, ...], minimum: float, outcome: str) -> None:
    assert case_outcome(records(*outcomes), minimum) == outcome


def test_a_trial_record_as_json() -> None:
    record = TrialRecord(2, "failed", 0.1234567, [LogVerdict("a", -1, None)])
    assert record.as_json() == {
        "trial": 2,
        "outcome": "failed",
        "duration": 0.123457,
        "log_ids": ["a"],
    }
    assert TrialRecord(1).outcome == "error"
    assert TrialRecord(1).duration == 0.0


class Item:
    """What trial_property reads of a pytest item."""

    def __init__(
        self, nodeid: str, marker: pytest.Mark | None, params: dict[str, int] | None
    ) -> None:
        self.nodeid = nodeid
        self.marker = marker
        if params is not None:
            self.callspec = type("CallSpec", (), {"params": params})()

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        assert name == "aigw_eval"
        return self.marker


def test_trial_properties() -> None:
    item = Item("t.py::f[a-trial-2of3]", mark(trials=3, min_pass_rate=0.5), {"_aigw_trial": 2})
    assert trial_property(item) == {  # type: ignore[arg-type]
        "case": "t.py::f[a]",
        "trial": 2,
        "of": 3,
        "min_pass_rate": 0.5,
    }
    single = Item("t.py::f[a]", mark(min_pass_rate=1), {"n": 1})
    assert trial_property(single) == {  # type: ignore[arg-type]
        "case": "t.py::f[a]",
        "trial": 1,
        "of": 1,
        "min_pass_rate": 1.0,
    }
    assert trial_property(Item("t.py::f", mark(), {})) is None  # type: ignore[arg-type]
    second = Item("t.py::f[trial-2of2]", mark(trials=2), {"_aigw_trial": 2})
    assert trial_property(second)["case"] == "t.py::f"  # type: ignore[arg-type,index]
    unparametrized = Item("t.py::f", mark(min_pass_rate="50%"), None)
    assert trial_property(unparametrized) == {  # type: ignore[arg-type]
        "case": "t.py::f",
        "trial": 1,
        "of": 1,
        "min_pass_rate": 0.5,
    }


class Report:
    """What EvalRun.add reads of a test report."""

    def __init__(self, when: str, outcome: str, trial: int, **extra: Any) -> None:
        self.nodeid = f"t.py::f[trial-{trial}of2]"
        self.when, self.outcome, self.duration = when, outcome, 0.5
        self.failed = outcome == "failed"
        case = {"case": "t.py::f", "trial": trial, "of": 2, "min_pass_rate": 0.5}
        self.user_properties = [("aigw_eval", True), (TRIAL_PROPERTY, case), *extra.items()]


def test_the_run_gathers_trials_into_a_case_and_skips_reruns() -> None:
    run = EvalRun()
    run.add(Report("call", "rerun", 2))
    run.add(Report("call", "passed", 2))
    run.add(Report("call", "failed", 1))
    run.add(
        Report(
            "teardown",
            "passed",
            1,
            aigw_eval_result=[{"log_id": "x", "feedback": -1, "score": None}],
        )
    )
    (case,) = run.cases.values()
    assert [record.trial for record in case.trials] == [1, 2]
    assert (case.outcome, case.verdict, case.duration) == ("passed", "flaky", 1.0)
    assert case.log_ids == ["x"]
    assert run.excused_trials() == 1
    assert not run.failing()
    summary = run.summary()
    assert (summary["trials"], summary["flaky"], summary["stable_pass"]) == (2, 1, 0)


def test_a_plain_case_outcome_is_its_one_trial() -> None:
    case = EvalCase("t.py::f")
    case.settle()
    assert case.outcome == "error"
    case.trial(1).outcome = "skipped"
    case.settle()
    assert (case.outcome, case.verdict) == ("skipped", None)
    assert case.trial(1) is case.trials[0]


@pytest.mark.parametrize(
    ("nodeid", "case"),
    [
        ("t.py::f[trial-1of2]", "t.py::f"),
        ("t.py::f[a-trial-1of2]", "t.py::f[a]"),
        ("t.py::f[trial-1of2-a]", "t.py::f[a]"),
        ("t.py::f[a-trial-1of2-b]", "t.py::f[a-b]"),
        ("t.py::f[a-trial-1of2]-trial-1of2]", "t.py::f[a]-trial-1of2]"),  # the first only
        ("t.py::f[a-trial-1of2-b-trial-1of2-c]", "t.py::f[a-b-trial-1of2-c]"),
        ("t.py::f", "t.py::f"),
    ],
)
def test_the_case_nodeid_drops_the_trial_id(nodeid: str, case: str) -> None:
    from pytest_aigw.eval_trials import _without

    assert _without(nodeid, "trial-1of2") == case


class Metafunc:
    """What parametrize reads and calls of pytest's Metafunc."""

    def __init__(self, marker: pytest.Mark | None) -> None:
        self.marker = marker
        self.fixturenames: list[str] = ["aigw"]
        self.calls: list[tuple[Any, ...]] = []
        self.definition = self

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        assert name == "aigw_eval"
        return self.marker

    def parametrize(self, name: str, values: Any, ids: list[str]) -> None:
        self.calls.append((name, list(values), ids))


def test_parametrize_adds_one_item_per_trial() -> None:
    from pytest_aigw.eval_trials import parametrize

    two = Metafunc(mark(trials=2))
    parametrize(two)  # type: ignore[arg-type]
    assert two.calls == [("_aigw_trial", [1, 2], ["trial-1of2", "trial-2of2"])]
    metafunc = Metafunc(mark(trials=3))
    parametrize(metafunc)  # type: ignore[arg-type]
    assert metafunc.fixturenames == ["aigw", "_aigw_trial"]
    assert metafunc.calls == [
        ("_aigw_trial", [1, 2, 3], ["trial-1of3", "trial-2of3", "trial-3of3"])
    ]
    for marker in (None, mark(), mark(trials=1), mark(min_pass_rate=0.5)):
        untouched = Metafunc(marker)
        parametrize(untouched)  # type: ignore[arg-type]
        assert (untouched.fixturenames, untouched.calls) == (["aigw"], [])


def test_parametrize_turns_a_bad_option_into_a_collection_error() -> None:
    from pytest_aigw.eval_trials import parametrize

    with pytest.raises(pytest.Collector.CollectError) as raised:
        parametrize(Metafunc(mark(5)))  # type: ignore[arg-type]
    assert str(raised.value).startswith("@pytest.mark.aigw_eval takes keyword options only")
    assert raised.value.__suppress_context__  # the message alone, no chained traceback
