"""The whole loop as a user runs it: record live, replay offline, then the drift report.

Recorded from the loopback stand-in for Cloudflare with the real recorder, replayed
behind a socket guard with the real replay mode: the two halves agree on the format.
"""

from __future__ import annotations

import json

import pytest
from conftest import live_args, run
from test_recording import SUITE
from test_replay import SOCKET_GUARD

from pytest_aigw import MockGatewayServer
from pytest_aigw.cli import main

pytest_plugins = ["pytester"]


def test_a_recorded_suite_replays_offline_and_its_drift_is_only_the_scripted_error(
    pytester: pytest.Pytester, standin: MockGatewayServer, capsys: pytest.CaptureFixture[str]
) -> None:
    standin.fail(500, origin="provider", prompt="break")
    standin.respond("This is a reply from the stand-in.", times=None)
    recorded = run(pytester, SUITE, *live_args(standin), "-p", "no:randomly", "--aigw-record")
    recorded.assert_outcomes(passed=6)
    seen_live = (pytester.path / "stream-seen.json").read_text()
    sent_live = len(standin.calls)

    pytester.makeconftest(SOCKET_GUARD)
    replayed = pytester.runpytest("--aigw-mode=replay", "-p", "no:randomly")
    replayed.assert_outcomes(passed=6)
    assert not (pytester.path / "blocked.log").exists()  # nothing tried the network
    assert len(standin.calls) == sent_live  # nor the stand-in: answers came from the files
    # The stream reached the app in the same pieces, byte for byte.
    assert (pytester.path / "stream-seen.json").read_text() == seen_live

    # Against the fake's defaults the recordings differ only where the stand-in was
    # scripted to fail: the fake's own answers agree with what it served over HTTP.
    capsys.readouterr()
    code = main(["drift", str(pytester.path / "cassettes"), "--json", "-"])
    out, err = capsys.readouterr()
    assert out.startswith("{"), (out, err)
    rows = json.loads(out)["differences"]
    assert code == 1
    assert [row for row in rows if row["kind"] != "status"] == [], rows
    assert {(row["kind"], row["real"], row["fake"]) for row in rows} == {("status", "500", "200")}
