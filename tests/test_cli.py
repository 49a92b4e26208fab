"""`pytest-aigw serve` / `python -m pytest_aigw serve`: the fake gateway by hand."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Served, seeded_log, serve_error

from pytest_aigw._config import DEFAULT_ACCOUNT_ID
from pytest_aigw.cli import main
from pytest_aigw.ids import is_ulid, is_uuid7

SEED = [seeded_log("01JSEEDED0000000000000000A", "gpt-4o-mini")]


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served()
    yield server
    server.kill()


def test_port_0_prints_urls_a_script_can_parse(served: Served) -> None:
    port = served.urls["AIGW_PORT"]
    assert port.isdigit()
    assert int(port) > 0
    assert served.urls == {
        "AIGW_URL": f"http://127.0.0.1:{port}",
        "AIGW_PORT": port,
        "AIGW_GATEWAY_URL": (
            f"http://127.0.0.1:{port}/v1/0123456789abcdef0123456789abcdef/test-gateway"
        ),
        "AIGW_API_URL": f"http://127.0.0.1:{port}/client/v4",
    }


def test_logs_one_line_per_request_with_secrets_redacted_and_stops_on_ctrl_c(
    served: Served,
) -> None:
    url = served.urls["AIGW_GATEWAY_URL"] + "/google-ai-studio/v1/models/gemini:generateContent"
    response = requests.post(
        url + "?key=provider-secret",
        json={"contents": []},
        headers={"Authorization": "Bearer token-secret", "cf-aig-authorization": "Bearer gw"},
    )
    log_id = response.headers["cf-aig-log-id"]
    code, _, err = served.stop(signal.SIGINT)
    assert code == 0
    lines = err.splitlines()
    assert lines[0] == (
        "pytest-aigw: serving a fake AI Gateway (account 0123456789abcdef0123456789abcdef,"
        f" gateway test-gateway) and its Logs API on {served.urls['AIGW_URL']}"
    )
    logged = [line for line in lines if " POST " in line]
    assert len(logged) == 1
    path = "/v1/0123456789abcdef0123456789abcdef/test-gateway/google-ai-studio/v1/models/"
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d 127\.0\.0\.1:\d+ POST "
        + re.escape(
            f"{path}gemini:generateContent?key=%5Bredacted%5D -> 200 cf-aig-log-id={log_id}"
        )
        + r" \d+\.\d ms",
        logged[0],
    ), logged[0]
    assert "secret" not in err
    assert lines[-1] == "pytest-aigw: stopped after 1 gateway call(s)."


def test_sigterm_stops_cleanly_and_lists_what_the_real_gateway_would_refuse(
    served: Served,
) -> None:
    too_many_keys = json.dumps({f"k{n}": n for n in range(6)})
    requests.post(
        served.urls["AIGW_GATEWAY_URL"] + "/openai/chat/completions",
        json={"model": "gpt-4o-mini", "messages": []},
        headers={"Authorization": "Bearer sk-test", "cf-aig-metadata": too_many_keys},
    )
    code, _, err = served.stop(signal.SIGTERM)
    assert code == 0
    assert "pytest-aigw: stopped after 1 gateway call(s).\n" in err
    assert "1 thing(s) the real gateway would refuse or lose:\n  1. " in err


def test_seed_file_logs_are_served_by_the_logs_api(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"result": SEED, "success": True}))
    server = Served("--seed", str(seed), "--gateway", "my-gateway", "--quiet")
    try:
        api = server.urls["AIGW_API_URL"]
        listed = requests.get(
            f"{api}/accounts/0123456789abcdef0123456789abcdef/ai-gateway/gateways/my-gateway/logs",
            headers={"Authorization": "Bearer t"},
        ).json()
        assert [log["id"] for log in listed["result"]] == [SEED[0]["id"]]
    finally:
        code, _, err = server.stop()
    assert code == 0
    assert "  1 seeded log(s). Press Ctrl-C to stop.\n" in err
    assert " GET " not in err  # --quiet: no request lines


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read --seed {path}: No such file or directory"),
        ("{not json", "--seed {path} is not valid JSON: Expecting property name enclosed in"),
        (
            '{"id": 1}',
            "--seed {path} must hold a JSON list of logs, or a Logs API list response"
            ' ({{"result": [...]}}), got dict',
        ),
        (
            "[{}]",
            "--seed {path}: seeded log #1 (id None): missing required field(s) id,"
            " created_at, provider, model\n",
        ),
        (b"\xff\xfe[]", "--seed {path} is not UTF-8 text: "),
        (b"[" * 100_000 + b"]" * 100_000, "--seed {path} "),
    ],
)
def test_a_bad_seed_file_exits_2_with_one_line_saying_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "seed.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    err = serve_error(capsys, "--port", "0", "--seed", str(path))
    assert err.startswith("pytest-aigw serve: error: " + message.format(path=path))
    assert len(err.splitlines()) == 1


def test_a_taken_port_exits_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--port", str(port)])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"pytest-aigw serve: error: pytest-aigw cannot serve on 127.0.0.1:{port}: the port is"
        " already in use by another process. Fix: pick another port, or port 0 for a free one.\n"
    )


def test_a_bad_gateway_id_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    err = serve_error(capsys, "--port", "0", "--gateway", "Bad Id")
    assert "error: argument --gateway: gateway_id must be 1-64 characters" in err


@pytest.mark.parametrize(
    ("args", "well_formed"), [((), is_uuid7), (("--id-format", "ulid"), is_ulid)]
)
def test_id_format_sets_the_log_ids_issued(args: tuple[str, ...], well_formed: Any) -> None:
    server = Served(*args, "--quiet")
    try:
        reply = requests.post(
            server.urls["AIGW_GATEWAY_URL"] + "/openai/chat/completions",
            json={"model": "gpt-4o-mini", "messages": []},
            headers={"Authorization": "Bearer sk-test"},
        )
        log_id = reply.headers["cf-aig-log-id"]
        logs = f"{server.urls['AIGW_API_URL']}/accounts/{DEFAULT_ACCOUNT_ID}/ai-gateway/gateways"
        got = requests.get(
            f"{logs}/test-gateway/logs/{log_id}", headers={"Authorization": "Bearer t"}
        )
    finally:
        code, _, _ = server.stop()
    assert (code, reply.status_code) == (0, 200)
    assert well_formed(log_id)
    assert reply.headers["cf-aig-request-id"] == reply.headers["cf-aig-event-id"] == log_id
    assert got.json()["result"]["id"] == log_id


def test_an_unknown_id_format_exits_2_naming_the_allowed_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = serve_error(capsys, "--port", "0", "--id-format", "uuid4")
    assert err.splitlines()[-1] == (
        "pytest-aigw serve: error: argument --id-format: id_format must be 'uuid7' or 'ulid'"
        " (the gateway issues 'uuid7' since 2026-10-08; 'ulid' for older accounts' logs),"
        " got 'uuid4'"
    )


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("pytest-aigw")
    completed = subprocess.run(
        [str(script), "serve", "--help"], capture_output=True, text=True, check=True
    )
    assert completed.stdout.startswith("usage: pytest-aigw serve [-h] [--host HOST] [--port PORT]")
    assert "Ctrl-C" in completed.stdout
    assert "--max-body-size BYTES" in completed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--port", "99999"],
            "argument --port: must be a whole number from 0 to 65535 (0 picks a free port),"
            " got '99999'",
        ),
        (
            ["--port", "-1"],
            "argument --port: must be a whole number from 0 to 65535 (0 picks a free port),"
            " got '-1'",
        ),
        (
            ["--header-timeout", "nan"],
            "argument --header-timeout: header_timeout must be a finite number of seconds"
            " above 0, got nan",
        ),
        (
            ["--idle-timeout", "soon"],
            "argument --idle-timeout: idle_timeout must be a number, got 'soon'",
        ),
        (
            ["--max-connections", "0"],
            "argument --max-connections: max_connections must be a whole number of at least 1,"
            " got 0",
        ),
        (
            ["--max-body-size", "1.5"],
            "argument --max-body-size: max_body_size must be a whole number, got '1.5'",
        ),
    ],
)
def test_a_bad_server_flag_exits_2_with_one_error_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    err = serve_error(capsys, *args)
    assert err.splitlines()[-1] == f"pytest-aigw serve: error: {message}"
    assert "Traceback" not in err


@pytest.mark.parametrize("host", ["203.0.113.9", "127.0.0.1:80", "no such host"])
def test_a_host_that_cannot_be_bound_exits_2_with_the_fix(
    capsys: pytest.CaptureFixture[str], host: str
) -> None:
    err = serve_error(capsys, "--port", "0", "--host", host)
    assert err.startswith(f"pytest-aigw serve: error: pytest-aigw cannot serve on {host}:0: ")
    assert err.endswith(
        ". Fix: check the host (127.0.0.1 serves this machine only) and the port.\n"
    )
    assert "while attempting" not in err
    assert len(err.splitlines()) == 1


def test_a_seed_path_that_is_a_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = serve_error(capsys, "--port", "0", "--seed", str(tmp_path))
    assert err == (f"pytest-aigw serve: error: cannot read --seed {tmp_path}: Is a directory\n")


def test_the_server_flags_reach_the_server() -> None:
    server = Served("--max-body-size", "10", "--quiet")
    try:
        url = server.urls["AIGW_GATEWAY_URL"] + "/openai/chat/completions"
        response = requests.post(url, data=b"x" * 11, headers={"Authorization": "Bearer sk"})
    finally:
        code, _, _ = server.stop()
    assert code == 0
    assert response.status_code == 413
    assert "over the server's limit of 10 bytes" in response.text
