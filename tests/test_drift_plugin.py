"""``--aigw-drift``: the drift report at the end of a replay run, as a user sees it."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording import Recorder

from pytest_aigw import MockGatewayServer

TESTS = """
import pytest

@pytest.mark.aigw_live
def test_x():
    pass

@pytest.mark.aigw_live
def test_y():
    pass
"""
REPLAY = ("--aigw-mode=replay", "--aigw-drift")
ULID_ROWS = [
    "kind   | where             | real | fake  | cassettes | exchanges",
    "header | cf-aig-event-id   | ulid | uuid7 | 1         | 1",
    "header | cf-aig-log-id     | ulid | uuid7 | 1         | 1",
    "header | cf-aig-request-id | ulid | uuid7 | 1         | 1",
    "log    | event_id          | ulid | uuid7 | 1         | 1",
    "log    | id                | ulid | uuid7 | 1         | 1",
]


def record(directory: Path, test: str = "test_app.py::test_x", **settings: object) -> Path:
    """One chat call to a stand-in with *settings*, as the cassette of *test*."""
    with MockGatewayServer(strict=False, **settings) as server:  # type: ignore[arg-type]
        recorder = Recorder(server, test)
        recorder.gateway("openai/chat/completions", {"model": "m", "messages": []})
        path = recorder.save(directory)
        recorder.close()
    return path


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_app=TESTS)
    return pytester


def test_drift_fails_the_run_and_shows_the_table(project: pytest.Pytester) -> None:
    record(project.path / "cassettes", id_format="ulid")
    result = project.runpytest(*REPLAY)
    result.assert_outcomes(passed=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*= pytest-aigw drift report =*",
            *ULID_ROWS,
            "pytest-aigw drift: 1 cassette(s), 1 exchange(s) replayed on the fake: 5"
            " difference(s) from the recorded gateway, 0 allowed",
        ]
    )


def test_no_drift_leaves_the_run_passing(project: pytest.Pytester) -> None:
    record(project.path / "cassettes")
    record(project.path / "cassettes", "test_app.py::test_y")
    result = project.runpytest(*REPLAY)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*= pytest-aigw drift report =*",
            "pytest-aigw drift: 2 cassette(s), 2 exchange(s) replayed on the fake: no differences",
        ]
    )


def test_the_allow_list_allows(project: pytest.Pytester) -> None:
    record(project.path / "cassettes", id_format="ulid")
    project.path.joinpath("allow.txt").write_text("\n".join(ULID_ROWS[1:]))
    result = project.runpytest(*REPLAY, "--aigw-drift-allow=allow.txt")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["header (allowed) | cf-aig-event-id   | ulid | uuid7 | 1 * | 1"])


def test_ini_keys_and_the_cassette_dir(project: pytest.Pytester) -> None:
    record(project.path / "recorded", id_format="ulid")
    project.path.joinpath("allow.txt").write_text("\n".join(ULID_ROWS[1:3]))
    project.makeini(
        """
        [pytest]
        aigw_drift = true
        aigw_drift_allow = allow.txt
        aigw_cassette_dir = recorded
        """
    )
    result = project.runpytest("--aigw-mode=replay")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*: 3 difference(s) from the recorded gateway, 2 allowed"])


def test_only_the_tests_that_ran_are_reported(project: pytest.Pytester) -> None:
    record(project.path / "cassettes", id_format="ulid")
    result = project.runpytest(*REPLAY, "-k", "test_y")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*: 0 cassette(s), 0 exchange(s) replayed on the fake: no diff*"])


def test_a_failed_run_stays_failed(project: pytest.Pytester) -> None:
    record(project.path / "cassettes")
    project.makepyfile(test_app=TESTS + "\ndef test_z():\n    assert False\n")
    result = project.runpytest(*REPLAY)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*replayed on the fake: no differences"])


def test_a_broken_cassette_is_named_and_fails_the_run(project: pytest.Pytester) -> None:
    path = record(project.path / "cassettes")
    path.write_text('{"pytest_aigw_cassette": 1}')
    result = project.runpytest(*REPLAY)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [f"pytest-aigw drift: error: {path}: test must be a string, got NoneType"]
    )


def test_under_xdist_the_controller_reports_once(project: pytest.Pytester) -> None:
    record(project.path / "cassettes", id_format="ulid")
    result = project.runpytest(*REPLAY, "-n", "2")
    assert result.ret == 1
    assert result.stdout.str().count("= pytest-aigw drift report =") == 1
    result.stdout.fnmatch_lines(["*: 5 difference(s) from the recorded gateway, 0 allowed"])


@pytest.mark.parametrize(
    ("args", "env", "where"),
    [
        (["--aigw-drift"], {}, "--aigw-drift"),
        (["--aigw-mode=live", "--aigw-drift"], {}, "--aigw-drift"),
        ([], {"PYTEST_AIGW_DRIFT": "1"}, "PYTEST_AIGW_DRIFT"),
    ],
)
def test_outside_replay_mode_it_is_a_usage_error(
    args: list[str],
    env: dict[str, str],
    where: str,
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    mode = "live" if "--aigw-mode=live" in args else "mock"
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*error: {where} reports on the cassettes a replay run used, and this run's mode"
            f" is '{mode}': add --aigw-mode=replay, or run `pytest-aigw drift CASSETTE_DIR` on"
            " its own"
        ]
    )


def test_a_bad_drift_switch_or_allow_list_is_a_usage_error(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = project.runpytest("--aigw-mode=replay", "--aigw-drift", "--aigw-drift-allow=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*error: --aigw-drift-allow: cannot read the allow-list nope: No such file or directory"]
    )
    monkeypatch.setenv("PYTEST_AIGW_DRIFT", "maybe")
    result = project.runpytest("--aigw-mode=replay")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*PYTEST_AIGW_DRIFT must be 1/true/yes or 0/false/no, got 'maybe'"]
    )


def test_off_by_default(project: pytest.Pytester) -> None:
    record(project.path / "cassettes", id_format="ulid")
    result = project.runpytest("--aigw-mode=replay")
    assert result.ret == 0
    assert "drift" not in result.stdout.str()


def test_the_options_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = " ".join(result.stdout.str().split())
    for option in ("--aigw-drift ", "--aigw-drift-allow=PATH", "--aigw-cassette-dir=DIR"):
        assert option in text
    assert "aigw_drift_allow (string):" in result.stdout.str()
