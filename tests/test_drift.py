"""`pytest-aigw drift`: recordings from a stand-in for Cloudflare, replayed on the fake.

The stand-in is the fake itself over HTTP, so a stand-in with the fake's defaults must
show no drift (a check of the fake against itself), and each planted change must show
as the one difference it is.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from recording import Headers, Recorder

from pytest_aigw import MockGateway, MockGatewayServer
from pytest_aigw.cassette import Body, Cassette, Exchange, RecordedRequest, RecordedResponse
from pytest_aigw.cli import main
from pytest_aigw.drift import drift_report, replay
from pytest_aigw.drift.replay import STAND_IN_CREDENTIAL

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
CLAUDE = {"model": "claude-sonnet-4", "max_tokens": 50, "messages": CHAT["messages"]}
HEADINGS = "kind   | where             | real | fake  | cassettes | exchanges"


def record_suite(recorder: Recorder) -> None:
    """A test's worth of calls: formats, streams, errors, a cache hit, feedback."""
    cached = {"cf-aig-cache-ttl": "60"}
    first = recorder.gateway("openai/chat/completions", CHAT, cached)
    hit = recorder.gateway("openai/chat/completions", CHAT, cached)
    assert hit.headers["cf-aig-cache-status"] == "HIT"
    recorder.gateway("openai/chat/completions", {**CHAT, "stream": True})
    recorder.gateway("anthropic/v1/messages", CLAUDE)
    recorder.gateway("anthropic/v1/messages", {**CLAUDE, "stream": True})
    recorder.gateway("openai/responses", {"model": "gpt-4o-mini", "input": "hi"})
    recorder.gateway("openai/responses", {"model": "gpt-4o-mini", "input": "hi", "stream": True})
    recorder.gateway("openai/embeddings", {"model": "text-embedding-3-small", "input": "hi"})
    recorder.gateway("workers-ai/@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi"})
    recorder.gateway("workers-ai/@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi", "stream": True})
    gemini = "google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent"
    recorder.gateway(gemini, {"contents": [{"parts": [{"text": "hi"}]}]}, {"x-goog-api-key": "g"})
    recorder.gateway("Not_A_Provider/chat", CHAT)  # the gateway's 400
    recorder.rest("ai/v1/chat/completions", {"messages": []})  # the REST API's 404
    recorder.gateway("openai/chat/completions", CHAT, {"authorization": ""})  # no key: 401
    recorder.gateway("", [{"provider": "openai", "endpoint": "chat/completions", "query": CHAT}])
    recorder.rest("ai/v1/chat/completions", {**CHAT, "model": "openai/gpt-4o-mini"})
    recorder.rest("ai/run", {"model": "@cf/meta/llama-3.1-8b-instruct", "input": {"prompt": "x"}})
    recorder.rest("ai/v1/messages", {**CLAUDE, "model": "anthropic/claude-sonnet-4.5"})
    recorder.gateway("openai/chat/completions", {**CHAT, "stream": True}, cached)
    streamed_hit = recorder.gateway("openai/chat/completions", {**CHAT, "stream": True}, cached)
    assert streamed_hit.headers["cf-aig-cache-status"] == "HIT"
    recorder.gateway("compat/chat/completions", {**CHAT, "model": "openai/gpt-4o-mini"})
    recorder.gateway(
        gemini.replace(":generateContent", ":streamGenerateContent?alt=sse"),
        {"contents": [{"parts": [{"text": "hi"}]}]},
        {"x-goog-api-key": "g"},
    )
    recorder.rest(
        "ai/v1/messages", {**CLAUDE, "model": "anthropic/claude-sonnet-4.5", "stream": True}
    )
    recorder.rest("ai/v1/responses", {"model": "openai/gpt-4o-mini", "input": "hi", "stream": True})
    recorder.feedback(first.headers["cf-aig-log-id"], feedback=1, score=90)


@pytest.fixture
def recorded(standin: MockGatewayServer, tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Records `record_suite` from a stand-in built with the given settings; the directory."""
    servers: list[MockGatewayServer] = []

    def record(
        answer: Callable[[Headers], Headers] = lambda headers: headers,
        rename: dict[str, str] | None = None,
        **settings: object,
    ) -> Path:
        server = standin
        if settings:
            server = MockGatewayServer(strict=False, **settings)  # type: ignore[arg-type]
            server.start()
            servers.append(server)
        recorder = Recorder(server, answer=answer)
        record_suite(recorder)
        recorder.save(tmp_path / "cassettes", rename=rename)
        recorder.close()
        return tmp_path / "cassettes"

    yield record
    for server in servers:
        server.stop()


def rows(directory: Path) -> list[tuple[str, str, str, str]]:
    report = drift_report([directory])
    return [dataclasses.astuple(row.difference) for row in report.rows]


def test_a_stand_in_with_the_fake_defaults_shows_no_drift(recorded: Callable[..., Path]) -> None:
    directory = recorded()
    cassette = Cassette.load(next(directory.rglob("*.json")))
    statuses = sorted({exchange.response.status for exchange in cassette.exchanges})
    assert statuses == [200, 400, 401, 404]  # answers and errors both
    assert sum(exchange.response.chunks is not None for exchange in cassette.exchanges) == 9
    assert any(log.get("feedback") == 1 for log in cassette.logs)
    report = drift_report([directory])
    assert report.rows == []
    assert report.exchanges == 24
    assert report.summary() == (
        "pytest-aigw drift: 1 cassette(s), 24 exchange(s) replayed on the fake: no differences"
    )


def test_ulid_ids_show_as_an_id_format_difference(recorded: Callable[..., Path]) -> None:
    directory = recorded(id_format="ulid")
    assert rows(directory) == [
        ("header", "cf-aig-event-id", "ulid", "uuid7"),
        ("header", "cf-aig-log-id", "ulid", "uuid7"),
        ("header", "cf-aig-request-id", "ulid", "uuid7"),
        ("log", "event_id", "ulid", "uuid7"),
        ("log", "id", "ulid", "uuid7"),
    ]


def test_an_extra_header_shows_as_missing_in_the_fake(recorded: Callable[..., Path]) -> None:
    directory = recorded(answer=lambda headers: [*headers, ("cf-aig-region", "weur")])
    assert rows(directory) == [("header", "cf-aig-region", "text", "missing")]


def test_a_renamed_log_field_shows_both_names(recorded: Callable[..., Path]) -> None:
    directory = recorded(rename={"user_agent": "client_agent"})
    assert rows(directory) == [
        ("log", "client_agent", "text", "missing"),
        ("log", "user_agent", "missing", "text"),
    ]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """One chat call to a stand-in issuing ULIDs, recorded into tmp_path/cassettes."""
    with MockGatewayServer(strict=False, id_format="ulid") as server:
        recorder = Recorder(server)
        recorder.gateway("openai/chat/completions", CHAT)
        recorder.save(tmp_path / "cassettes")
        recorder.close()
    return tmp_path / "cassettes"


SMALL_TABLE = """\
kind   | where             | real | fake  | cassettes | exchanges
header | cf-aig-event-id   | ulid | uuid7 | 1         | 1
header | cf-aig-log-id     | ulid | uuid7 | 1         | 1
header | cf-aig-request-id | ulid | uuid7 | 1         | 1
log    | event_id          | ulid | uuid7 | 1         | 1
log    | id                | ulid | uuid7 | 1         | 1
pytest-aigw drift: 1 cassette(s), 1 exchange(s) replayed on the fake: 5 difference(s) from the\
 recorded gateway, 0 allowed
"""


def drift(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["drift", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_and_the_summary(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift(capsys, small) == (1, SMALL_TABLE, "")


def test_json_on_stdout_and_the_summary_aside(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = drift(capsys, small, "--json", "-")
    assert (code, err) == (1, SMALL_TABLE.splitlines()[-1] + "\n")
    cassette = str(small / "test_app" / "test_x.json")
    row = {"cassettes": 1, "exchanges": 1, "allowed": False, "seen_in": [cassette]}
    assert json.loads(out) == {
        "cassettes": 1,
        "exchanges": 1,
        "differences": [
            {"key": "header | cf-aig-event-id | ulid | uuid7", "kind": "header",
             "where": "cf-aig-event-id", "real": "ulid", "fake": "uuid7", **row},
            {"key": "header | cf-aig-log-id | ulid | uuid7", "kind": "header",
             "where": "cf-aig-log-id", "real": "ulid", "fake": "uuid7", **row},
            {"key": "header | cf-aig-request-id | ulid | uuid7", "kind": "header",
             "where": "cf-aig-request-id", "real": "ulid", "fake": "uuid7", **row},
            {"key": "log | event_id | ulid | uuid7", "kind": "log",
             "where": "event_id", "real": "ulid", "fake": "uuid7", **row},
            {"key": "log | id | ulid | uuid7", "kind": "log",
             "where": "id", "real": "ulid", "fake": "uuid7", **row},
        ],
        "failing": 5,
        "summary": SMALL_TABLE.splitlines()[-1],
    }  # fmt: skip


def test_json_to_a_file_beside_the_table(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "drift.json"
    assert drift(capsys, small, "--json", target) == (1, SMALL_TABLE, "")
    assert json.loads(target.read_text())["failing"] == 5


def test_an_allow_list_of_pasted_rows_allows_them(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = tmp_path / "allow.txt"
    pasted = SMALL_TABLE.splitlines()[1:4]  # the header rows, counts and padding included
    allow.write_text("# UUIDv7 since 2026-10-08; these cassettes are older\n" + "\n".join(pasted))
    code, out, _ = drift(capsys, small, "--allow", allow)
    assert code == 1
    assert out.splitlines()[1:] == [
        "header (allowed) | cf-aig-event-id   | ulid | uuid7 | 1         | 1",
        "header (allowed) | cf-aig-log-id     | ulid | uuid7 | 1         | 1",
        "header (allowed) | cf-aig-request-id | ulid | uuid7 | 1         | 1",
        "log              | event_id          | ulid | uuid7 | 1         | 1",
        "log              | id                | ulid | uuid7 | 1         | 1",
        "pytest-aigw drift: 1 cassette(s), 1 exchange(s) replayed on the fake: 2 difference(s)"
        " from the recorded gateway, 3 allowed",
    ]
    allow.write_text("log | event_id | ulid | uuid7\nlog|id|ulid|uuid7\n" + "\n".join(pasted))
    assert drift(capsys, small, "--allow", allow)[0] == 0


@pytest.mark.parametrize("form", ["report", "keys"])
def test_a_json_allow_list_a_report_or_keys(
    form: str, small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "drift.json"
    drift(capsys, small, "--json", report)
    if form == "keys":
        keys = [row["key"] for row in json.loads(report.read_text())["differences"]]
        report.write_text(json.dumps(keys))
    code, out, _ = drift(capsys, small, "--allow", report)
    assert code == 0
    assert out.endswith(": 0 difference(s) from the recorded gateway, 5 allowed\n")


def test_no_directory_and_no_tests_cassettes_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert drift(capsys) == (
        2,
        "",
        "pytest-aigw drift: error: no cassette directory given, and tests/cassettes does not"
        " exist here: pass the directories to search, e.g. pytest-aigw drift tests/cassettes\n",
    )


def test_tests_cassettes_is_the_default(
    small: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (small.parent / "tests").mkdir()
    small.rename(small.parent / "tests" / "cassettes")
    monkeypatch.chdir(small.parent)
    code, out, _ = drift(capsys)
    assert code == 1
    assert out.splitlines()[1] == SMALL_TABLE.splitlines()[1]


def test_a_file_for_a_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.json").write_text("{}")
    assert drift(capsys, tmp_path / "x.json") == (
        2,
        "",
        f"pytest-aigw drift: error: {tmp_path / 'x.json'} is not a directory: pass directories"
        " of cassettes\n",
    )


def test_other_json_is_ignored_and_no_cassettes_is_no_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "package.json").write_text('{"name": "app"}')
    (tmp_path / "broken.json").write_text("{not json")
    assert drift(capsys, tmp_path) == (
        0,
        "pytest-aigw drift: 0 cassette(s), 0 exchange(s) replayed on the fake: no differences\n",
        "",
    )


def test_each_broken_cassette_is_one_line_naming_it(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (small / "a.json").write_text('{"pytest_aigw_cassette": 1, "test": 3}')
    (small / "b.json").write_text('{"pytest_aigw_cassette": 1, "test"')
    code, out, err = drift(capsys, small)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"pytest-aigw drift: error: {small / 'a.json'}: test must be a string, got int",
        f"pytest-aigw drift: error: {small / 'b.json'}: not a readable cassette"
        " (Expecting ':' delimiter: line 1 column 35 (char 34))",
    ]


def test_a_url_of_another_api_is_a_broken_cassette(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = small / "test_app" / "test_x.json"
    cassette = Cassette.load(path)
    exchange = cassette.exchanges[0]
    request = dataclasses.replace(exchange.request, url="https://example.com/chat")
    cassette.exchanges[0] = dataclasses.replace(exchange, request=request)
    cassette.save(path)
    assert drift(capsys, small) == (
        2,
        "",
        f"pytest-aigw drift: error: {path}: exchanges[0].request.url 'https://example.com/chat'"
        " is not a URL of the gateway API; record the cassette again\n",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "cannot read the allow-list {path}: No such file or directory"),
        ("[1, 2]", "the allow-list {path} must be a JSON list of keys"),
        ('{"differences": 3}', "the allow-list {path} must be a JSON list of keys"),
        ("[not json", "the allow-list {path} is not valid JSON: "),
    ],
)
def test_an_allow_list_that_cannot_be_read_is_a_usage_error(
    text: str | None, problem: str, small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "allow"
    if text is not None:
        path.write_text(text)
    code, out, err = drift(capsys, small, "--allow", path)
    assert (code, out) == (2, "")
    assert err.startswith("pytest-aigw drift: error: " + problem.format(path=path))


def test_a_json_path_that_cannot_be_written_is_a_usage_error(
    small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = small / "missing" / "drift.json"
    assert drift(capsys, small, "--json", target) == (
        2,
        "",
        f"pytest-aigw drift: error: cannot write --json {target}: No such file or directory\n",
    )


def test_a_log_the_fake_no_longer_has_is_a_difference(small: Path) -> None:
    path = small / "test_app" / "test_x.json"
    cassette = Cassette.load(path)
    log_id = cassette.logs[0]["id"]
    # The test deleted its log (the recorder kept it from before): the fake deletes too.
    logs = f"{cassette.gateway.api_url}/accounts/acc/ai-gateway/gateways/gw/logs"
    filters = json.dumps([{"key": "id", "operator": "eq", "value": [log_id]}])
    url = str(httpx.URL(logs, params={"filters": filters}))
    delete = RecordedRequest("DELETE", url, [("authorization", "<redacted:x>")])
    cassette.exchanges.append(Exchange("logs", delete, RecordedResponse(200, [], Body(b"{}"))))
    cassette.save(path)
    assert rows(small)[-1] == ("log", "(log)", "present", "missing")


@pytest.mark.parametrize(
    ("name", "value", "sent"),
    [
        ("authorization", "Bearer <redacted:authorization>", f"Bearer {STAND_IN_CREDENTIAL}"),
        ("Authorization", "<redacted:CLOUDFLARE_API_TOKEN>", f"Bearer {STAND_IN_CREDENTIAL}"),
        ("x-api-key", "[redacted]", STAND_IN_CREDENTIAL),
        ("authorization", "", ""),
        ("authorization", "Bearer sk-kept", "Bearer sk-kept"),
        ("cf-aig-gateway-id", "their-gateway", "test-gateway"),
        ("host", "gateway.ai.cloudflare.com", None),
    ],
)
def test_recorded_headers_are_made_sendable(name: str, value: str, sent: str | None) -> None:
    recorded = RecordedRequest("POST", "https://x", [(name, value), ("user-agent", "app/1")])
    expected = [(name, sent)] if sent is not None else []
    assert replay.request_headers(recorded, MockGateway()) == [*expected, ("user-agent", "app/1")]


@pytest.mark.parametrize(
    ("api", "url", "name"),
    [
        ("gateway", "https://g/v1/a/g/openai/chat/completions", "openai-chat"),
        ("gateway", "https://g/v1/a/g/anthropic/v1/messages", "anthropic-messages"),
        ("gateway", "https://g/v1/a/g", "universal"),
        ("gateway", "https://g/v1/a/g/", "universal"),
        ("gateway", "https://elsewhere/x", "universal"),
        ("rest", "https://c/client/v4/accounts/a/ai/run", "rest ai-run"),
        ("rest", "https://c/client/v4/accounts/a/ai/run/@cf/meta/x", "rest workers-ai"),
        ("rest", "https://c/client/v4/accounts/a/ai/v1/chat/completions", "rest openai-chat"),
        ("rest", "https://c/elsewhere", "rest generic"),
    ],
)
def test_each_exchange_is_placed_by_its_api_format(api: str, url: str, name: str) -> None:
    exchange = Exchange(api, RecordedRequest("POST", url), RecordedResponse(200))
    assert replay.api_format(exchange) == name
