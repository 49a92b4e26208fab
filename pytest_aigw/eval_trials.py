"""Trials: one eval case run N times, judged by its pass rate across them.

``@pytest.mark.aigw_eval(trials=N, min_pass_rate=R)`` parametrizes the test at collection
into N items, ``test_x[trial-1of3]`` ... ``test_x[trial-3of3]`` (after the test's own
parameters: ``test_x[a-trial-2of3]``), so pytest-xdist spreads the trials over its
workers like any other items. Each trial is a test of its own: its own ``aigw`` gateway,
logs and feedback from its own outcome. Every trial's reports carry `TRIAL_PROPERTY`
(the case's nodeid without the trial id, the trial number, the case's R), from which
`pytest_aigw.evals.EvalRun` gathers the trials back into one case: its pass rate, its
verdict (`STABLE_PASS`, `FLAKY`, `STABLE_FAIL`), and its outcome, passed when the pass
rate reaches R (by default 1.0: every trial).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._config import EVAL_MARKER
from ._errors import ConfigError
from ._validation import check, check_number, fail

if TYPE_CHECKING:
    import pytest

__all__ = [
    "FLAKY",
    "MARKER_OPTIONS",
    "STABLE_FAIL",
    "STABLE_PASS",
    "TRIAL_PROPERTY",
    "TrialRecord",
    "TrialSpec",
    "case_outcome",
    "parametrize",
    "trial_spec",
    "verdict",
]

TRIAL_PROPERTY = "aigw_trial"  # user_properties key: {"case", "trial", "of", "min_pass_rate"}
TRIAL_ARG = "_aigw_trial"  # the parameter that numbers the trials
MAX_TRIALS = 1000
MARKER_OPTIONS = ("min_pass_rate", "trials")
STABLE_PASS, FLAKY, STABLE_FAIL = "stable_pass", "flaky", "stable_fail"
_WHERE = f"@pytest.mark.{EVAL_MARKER}"
_RATE = "a pass rate from 0 to 1 (or 0% to 100%)"


@dataclass(frozen=True)
class TrialSpec:
    """What the `aigw_eval` marker asks: *trials* runs, passed at *min_pass_rate*.

    *min_pass_rate* is None when the marker gives neither option: a plain eval case.
    """

    trials: int = 1
    min_pass_rate: float | None = None


def trial_spec(marker: pytest.Mark | None) -> TrialSpec:
    """The checked options of an `aigw_eval` *marker*; `ConfigError` names the bad one."""
    if marker is None:
        return TrialSpec()
    allowed = ", ".join(f"{name}=" for name in MARKER_OPTIONS)
    if marker.args:
        raise ConfigError(
            f"{_WHERE} takes keyword options only, got positional argument(s)"
            f" {marker.args!r}. Allowed options: {allowed}"
        )
    unknown = sorted(set(marker.kwargs) - set(MARKER_OPTIONS))
    if unknown:
        raise ConfigError(
            f"{_WHERE} got unknown option(s) {', '.join(unknown)}. Allowed options: {allowed}"
        )
    if not marker.kwargs:
        return TrialSpec()
    trials = check_number(
        f"{_WHERE}: trials=", marker.kwargs.get("trials", 1), min=1, max=MAX_TRIALS, integer=True
    )
    return TrialSpec(trials, _rate(marker.kwargs.get("min_pass_rate", 1.0)))


def _rate(value: object) -> float:
    """A pass rate given as a number from 0 to 1 or a percentage string ("80%")."""
    name = f"{_WHERE}: min_pass_rate="
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            rate = float(value.strip()[:-1]) / 100
        except ValueError:
            fail(name, value, _RATE)
        check(name, value, 0 <= rate <= 1, _RATE)
        return rate
    return float(check_number(name, value, min=0, max=1, expected=_RATE))


def trial_id(number: int, of: int) -> str:
    """The id a trial adds to its test's id: ``trial-2of3``."""
    return f"trial-{number}of{of}"


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Run a test marked ``aigw_eval(trials=N)`` as N items, one per trial."""
    marker = metafunc.definition.get_closest_marker(EVAL_MARKER)
    if marker is None or not (marker.args or marker.kwargs):
        return
    try:
        spec = trial_spec(marker)
    except ConfigError as error:
        import pytest

        raise pytest.Collector.CollectError(str(error)) from None
    if spec.trials > 1:
        metafunc.fixturenames.append(TRIAL_ARG)
        numbers = range(1, spec.trials + 1)
        metafunc.parametrize(TRIAL_ARG, numbers, ids=[trial_id(n, spec.trials) for n in numbers])


def trial_property(item: pytest.Item) -> dict[str, Any] | None:
    """What each report of a trial of *item* carries (None for a plain eval case)."""
    spec = trial_spec(item.get_closest_marker(EVAL_MARKER))
    if spec.min_pass_rate is None:
        return None
    callspec = getattr(item, "callspec", None)
    number = callspec.params.get(TRIAL_ARG, 1) if callspec is not None else 1
    case = item.nodeid
    if spec.trials > 1:
        case = _without(item.nodeid, trial_id(number, spec.trials))
    return {"case": case, "trial": number, "of": spec.trials, "min_pass_rate": spec.min_pass_rate}


def _without(nodeid: str, suffix: str) -> str:
    """*nodeid* without the trial's id among its parameter ids."""
    for old, new in ((f"[{suffix}]", ""), (f"-{suffix}]", "]"), (f"[{suffix}-", "[")):
        if old in nodeid:
            return nodeid.replace(old, new, 1)
    return nodeid.replace(f"-{suffix}-", "-", 1)


@dataclass
class TrialRecord:
    """One trial of a case, as its reports tell it."""

    trial: int
    outcome: str = "error"
    duration: float = 0.0
    logs: list[Any] = field(default_factory=list)  # its LogVerdicts

    def as_json(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
            "log_ids": [log.log_id for log in self.logs],
        }


def _judged(trials: list[TrialRecord]) -> list[TrialRecord]:
    return [t for t in trials if t.outcome in ("passed", "failed")]


def pass_rate(trials: list[TrialRecord]) -> float | None:
    """The share of judged trials (passed or failed) that passed; None if none were judged."""
    judged = _judged(trials)
    if not judged:
        return None
    return sum(t.outcome == "passed" for t in judged) / len(judged)


def verdict(trials: list[TrialRecord]) -> str | None:
    """`STABLE_PASS` (every judged trial passed), `STABLE_FAIL` (none did), else `FLAKY`."""
    rate = pass_rate(trials)
    if rate is None:
        return None
    return STABLE_PASS if rate == 1 else STABLE_FAIL if rate == 0 else FLAKY


def case_outcome(trials: list[TrialRecord], min_pass_rate: float) -> str:
    """Passed when the pass rate reaches *min_pass_rate*; else failed.

    A case with no judged trial takes the outcome of its trials: error if one erred,
    else the first one's (skipped, xfailed...).
    """
    rate = pass_rate(trials)
    if rate is not None:
        return "passed" if rate >= min_pass_rate else "failed"
    outcomes = [t.outcome for t in trials]
    return "error" if "error" in outcomes or not outcomes else outcomes[0]
