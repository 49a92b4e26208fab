"""Hostile input on every surface gets a 4xx envelope, never an exception in the app."""

from __future__ import annotations

import gc
import json
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import seeded_log, serve_error

from pytest_aigw import ConfigError, MockGateway, MockGatewayServer
from pytest_aigw.fake import bounds, gateway
from pytest_aigw.fake.formats import embeddings
from pytest_aigw.fake.formats.base import MAX_PIECES, ReplyContext, ReplySpec

AUTH = {"authorization": "Bearer sk-test"}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "1" + "0" * 400  # 10**400: beyond float range
LONG = "9" * 5_000  # past Python's 4,300-digit int() limit
SEED = seeded_log("01JA0000000000000000000001")


@pytest.fixture
def gw() -> Iterator[MockGateway]:
    with MockGateway(strict=False) as fake:
        yield fake


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(headers=AUTH) as shared:
        yield shared


def chat(gw: MockGateway) -> str:
    return gw.url("openai") + "/chat/completions"


def logs_url(gw: MockGateway) -> str:
    return f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"


def listed(client: httpx.Client, gw: MockGateway) -> Any:
    reply = client.get(logs_url(gw), params={"per_page": "50"})
    assert reply.status_code == 200
    return reply.json()["result"]


def assert_input_error(reply: httpx.Response, message: str) -> None:
    assert reply.status_code == 400
    body = reply.json()
    assert body["internalCode"] == 7003
    assert body["error"][0]["message"] == f"User Input Error: {message}"


# --- the gateway: bodies and cf-aig-* JSON headers -------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (DEEP, "request body: JSON nested deeper than 100 levels"),
        ('{"model": "m", "n": ' + HUGE + "}", "request body: the number 1000000000...(401"),
        ('{"model": "m", "n": ' + LONG + "}", "request body: the number 9999999999...(5000"),
        ('{"model": "m", "t": 1e400}', "request body: the number 1e400 is beyond"),
    ],
)
def test_a_hostile_body_is_refused_with_the_gateways_input_error_and_no_log(
    gw: MockGateway, client: httpx.Client, content: str, message: str
) -> None:
    reply = client.post(chat(gw), content=content)
    assert reply.status_code == 400
    assert reply.json()["error"][0]["message"].startswith(f"User Input Error: {message}")
    assert "cf-aig-log-id" not in reply.headers
    assert gw.calls.last.status_code == 400
    assert gw.calls.last.log_id is None
    assert listed(client, gw) == []


@pytest.mark.parametrize("header", ["cf-aig-metadata", "cf-aig-custom-cost"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('{"a": ' + "[" * 5_000 + "]" * 5_000 + "}", "JSON nested deeper than 100 levels"),
        ('{"total_cost": ' + HUGE + "}", "the number 1000000000...(401 characters) is beyond"),
        ('{"total_cost": ' + LONG + "}", "the number 9999999999...(5000 characters) is beyond"),
    ],
)
def test_a_hostile_cf_aig_json_header_is_refused_before_anything_is_logged(
    gw: MockGateway, client: httpx.Client, header: str, value: str, problem: str
) -> None:
    reply = client.post(chat(gw), json={"model": "m"}, headers={header: value})
    assert reply.status_code == 400
    assert reply.json()["error"][0]["message"].startswith(f"User Input Error: {header}: {problem}")
    assert [call.log_id for call in gw.calls] == [None]
    assert listed(client, gw) == []


def test_a_huge_custom_cost_is_refused_and_leaves_no_call_without_its_log(
    gw: MockGateway, client: httpx.Client
) -> None:
    too_much = json.dumps({"per_token_in": 1e308, "per_token_out": 1})
    reply = client.post(chat(gw), json={"model": "m"}, headers={"cf-aig-custom-cost": too_much})
    assert_input_error(
        reply, "cf-aig-custom-cost: per_token_in is 1e+308; the fake takes costs up to 1e+06 USD"
    )
    fine = client.post(
        chat(gw), json={"model": "m"}, headers={"cf-aig-custom-cost": '{"total_cost": 1000000}'}
    )
    assert fine.status_code == 200
    logged = [call.log_id for call in gw.calls if call.log_id]
    assert logged == [log["id"] for log in listed(client, gw)]
    assert listed(client, gw)[0]["cost"] == 1e6


def test_an_unreadable_custom_cost_is_still_ignored_as_before(
    gw: MockGateway, client: httpx.Client
) -> None:
    reply = client.post(chat(gw), json={"model": "m"}, headers={"cf-aig-custom-cost": "{oops"})
    assert reply.status_code == 200
    assert listed(client, gw)[0]["custom_cost"] is False


def test_a_universal_steps_own_hostile_metadata_is_refused(
    gw: MockGateway, client: httpx.Client
) -> None:
    step = {
        "provider": "openai",
        "endpoint": "chat/completions",
        "headers": {"cf-aig-metadata": "[" * 1_000 + "]" * 1_000},
        "query": {"model": "m"},
    }
    assert_input_error(
        client.post(gw.gateway_url, json=[step]),
        "cf-aig-metadata: JSON nested deeper than 100 levels",
    )
    step["headers"] = {"cf-aig-custom-cost": '{"total_cost": ' + HUGE + "}"}
    reply = client.post(gw.gateway_url, json=[step])
    assert reply.status_code == 400
    assert listed(client, gw) == []


def test_a_digit_run_in_a_whole_number_header_is_the_input_error(
    gw: MockGateway, client: httpx.Client
) -> None:
    reply = client.post(chat(gw), json={}, headers={"cf-aig-request-timeout": LONG})
    assert reply.status_code == 400
    assert "cf-aig-request-timeout must be a whole number >= 1" in reply.text


def test_the_rest_api_refuses_a_hostile_body_in_its_v4_envelope(
    gw: MockGateway, client: httpx.Client
) -> None:
    reply = client.post(gw.rest_url + "/v1/chat/completions", content=DEEP)
    assert reply.status_code == 400
    assert reply.json() == {
        "success": False,
        "errors": [
            {
                "code": 7001,
                "message": "Invalid input: request body: JSON nested deeper than 100 levels",
            }
        ],
        "messages": [],
        "result": None,
    }


# --- the Logs API ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (
            json.dumps([{"key": "cost", "operator": "eq", "value": [1]}])[:-1] + "[" * 5_000,
            "filters: JSON nested deeper than 100 levels",
        ),
        ('[{"key": "cost", "operator": "eq", "value": [' + HUGE + "]}]", "filters: the number"),
        ('[{"key": "cost", "operator": "eq", "value": [NaN]}]', "filters: must be a JSON array"),
    ],
)
def test_hostile_filters_are_refused_with_7001(
    gw: MockGateway, client: httpx.Client, filters: str, message: str
) -> None:
    gw.seed_logs([SEED])
    for method in ("GET", "DELETE"):
        reply = client.request(method, logs_url(gw), params={"filters": filters})
        assert reply.status_code == 400
        assert reply.json()["errors"][0]["code"] == 7001
        assert reply.json()["errors"][0]["message"].startswith(message)
    assert len(listed(client, gw)) == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"big": ' + HUGE + "}",
        '{"metadata": {"big": ' + HUGE + "}}",
        '{"score": ' + LONG + "}",
        '{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"feedback": 1, "metadata": {"x": 1e999}}',
    ],
)
def test_a_hostile_patch_is_refused_and_every_later_list_still_answers(
    gw: MockGateway, client: httpx.Client, body: str
) -> None:
    gw.seed_logs([SEED])
    before = listed(client, gw)
    reply = client.patch(f"{logs_url(gw)}/{SEED['id']}", content=body)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["code"] == 7001
    assert listed(client, gw) == before
    assert (
        client.get(
            logs_url(gw),
            params={"filters": '[{"key":"metadata.value","operator":"eq","value":["1"]}]'},
        ).status_code
        == 200
    )


@pytest.mark.parametrize("name", ["page", "per_page"])
def test_a_digit_run_as_page_is_refused_with_7001(
    gw: MockGateway, client: httpx.Client, name: str
) -> None:
    reply = client.get(logs_url(gw), params={name: LONG})
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["message"].startswith(f"{name}: must be a whole number")


def test_a_seeded_integer_beyond_float_range_is_refused_and_filters_keep_working(
    gw: MockGateway, client: httpx.Client
) -> None:
    with pytest.raises(ConfigError, match="field 'metadata' must be a flat object"):
        gw.seed_logs([{**SEED, "metadata": {"n": 10**400}}])
    for operator in ("eq", "lt", "neq"):
        filters = json.dumps([{"key": "metadata.value", "operator": operator, "value": ["5"]}])
        assert client.get(logs_url(gw), params={"filters": filters}).status_code == 200


# --- sizes ----------------------------------------------------------------------------------


def test_a_body_over_the_request_limit_is_413(
    gw: MockGateway, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bounds, "MAX_REQUEST_BYTES", 1_000)
    reply = client.post(chat(gw), json={"model": "m", "pad": "x" * 2_000})
    assert reply.status_code == 413
    assert reply.json()["error"][0]["message"] == (
        "Payload Too Large: the request body has 2,022 bytes, more than the 1,000 Cloudflare"
        " accepts"
    )
    assert listed(client, gw) == []


def test_a_logs_api_body_over_the_request_limit_is_413(
    gw: MockGateway, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw.seed_logs([SEED])
    monkeypatch.setattr("pytest_aigw.logs_api.MAX_REQUEST_BYTES", 10)
    reply = client.patch(f"{logs_url(gw)}/{SEED['id']}", json={"feedback": 1})
    assert reply.status_code == 413
    assert reply.json()["success"] is False


def test_a_log_over_the_log_size_is_not_stored_and_its_call_keeps_no_body(
    gw: MockGateway, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "MAX_LOG_BYTES", 2_000)
    small = client.post(chat(gw), json={"model": "m"})
    large = client.post(chat(gw), json={"model": "m", "pad": "x" * 2_000})
    assert large.status_code == 200
    assert large.headers["cf-aig-log-id"]  # issued, as the gateway issues it before storing
    assert [log["id"] for log in listed(client, gw)] == [small.headers["cf-aig-log-id"]]
    assert client.get(f"{logs_url(gw)}/{large.headers['cf-aig-log-id']}").status_code == 404
    assert gw.calls.last.json is None
    assert gw.calls.last.request.content == b""
    assert gw.calls[0].json == {"model": "m"}


def test_a_long_streamed_text_is_sent_in_a_bounded_number_of_events(
    gw: MockGateway, client: httpx.Client
) -> None:
    words = " ".join(f"w{n}" for n in range(5 * MAX_PIECES))
    gw.respond(content=words)
    reply = client.post(chat(gw), json={"model": "m", "stream": True})
    events = [line for line in reply.text.splitlines() if line.startswith("data: {")]
    assert len(events) <= MAX_PIECES + 3
    text = "".join(
        json.loads(e[6:])["choices"][0]["delta"].get("content") or ""
        for e in events
        if json.loads(e[6:])["choices"]
    )
    assert text == words


def test_a_schema_asking_for_a_gigantic_string_ends_quickly(
    gw: MockGateway, client: httpx.Client
) -> None:
    schema = {"type": "string", "minLength": 10**8}
    body = {
        "model": "m",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    started = time.perf_counter()
    reply = client.post(chat(gw), json=body)
    assert time.perf_counter() - started < 5
    assert "minLength 100000000 is more than any model writes (1,000,000 characters)" in reply.text


# --- embeddings ----------------------------------------------------------------------------


@pytest.mark.parametrize("dimensions", [3_073, 10**7, 2**63])
def test_embedding_dimensions_above_3072_answer_openais_400(
    gw: MockGateway, client: httpx.Client, dimensions: int
) -> None:
    started = time.perf_counter()
    reply = client.post(
        gw.url("openai") + "/embeddings",
        json={"model": "m", "input": "x", "dimensions": dimensions},
    )
    assert time.perf_counter() - started < 5
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid 'dimensions': ")
    assert error["message"].endswith("Expected a value at most 3072.")


def test_embedding_dimensions_beyond_float_range_are_the_gateways_input_error(
    gw: MockGateway, client: httpx.Client
) -> None:
    content = '{"model": "m", "input": "x", "dimensions": ' + HUGE + "}"
    reply = client.post(gw.url("openai") + "/embeddings", content=content)
    assert reply.status_code == 400
    assert reply.json()["internalCode"] == 7003


def test_more_than_2048_embedding_inputs_answer_openais_400(
    gw: MockGateway, client: httpx.Client
) -> None:
    reply = client.post(
        gw.url("openai") + "/embeddings", json={"model": "m", "input": ["x"] * 2_049}
    )
    assert reply.status_code == 400
    assert (
        "maximum length 2048, but got an array with length 2049" in reply.json()["error"]["message"]
    )


def test_3072_dimensions_are_served_as_unit_vectors(gw: MockGateway, client: httpx.Client) -> None:
    reply = client.post(
        gw.url("openai") + "/embeddings",
        json={"model": "m", "input": ["a", "b"], "dimensions": 3072},
    )
    assert reply.status_code == 200
    vectors = [item["embedding"] for item in reply.json()["data"]]
    assert [len(v) for v in vectors] == [3072, 3072]
    assert all(abs(sum(x * x for x in v) - 1) < 1e-3 for v in vectors)
    assert reply.json()["usage"]["prompt_tokens"] > 0


def embed_direct(gw: MockGateway, client: httpx.Client) -> httpx.Response:
    return client.post(gw.url("openai") + "/embeddings", json={"model": "m", "input": "x"})


def embed_universal(gw: MockGateway, client: httpx.Client) -> httpx.Response:
    step = {"provider": "openai", "endpoint": "/embeddings", "query": {"model": "m", "input": "x"}}
    return client.post(gw.gateway_url, json=[step])


@pytest.mark.parametrize("embed", [embed_direct, embed_universal])
def test_embedding_vectors_are_built_outside_the_gateways_lock(
    gw: MockGateway,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    embed: Callable[[MockGateway, httpx.Client], httpx.Response],
) -> None:
    others_answered = threading.Event()
    preparing = threading.Event()
    prepare = embeddings.Embeddings.prepare

    def slow_prepare(self: embeddings.Embeddings, path: str, body: Any) -> None:
        preparing.set()
        # Under the lock, the other request could not be answered and this would time out.
        assert others_answered.wait(10), "another request waited for an embedding's vectors"
        prepare(self, path, body)

    monkeypatch.setattr(embeddings.Embeddings, "prepare", slow_prepare)
    results: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: results.append(embed(gw, client)))
    worker.start()
    assert preparing.wait(10)
    assert client.post(chat(gw), json={"model": "m"}).status_code == 200
    others_answered.set()
    worker.join(10)
    assert results[0].status_code == 200
    assert len(gw.calls) == 2


def test_a_prepared_reply_is_the_reply_built_under_the_lock() -> None:
    body = {"input": ["a", "b"], "dimensions": 16, "encoding_format": "base64"}
    prepared = embeddings._Prepared(10_000)
    data = embeddings._data(body)
    prepared.put(embeddings._key(body), data)
    prepared.put(embeddings._key(body), b"other")  # the first one stays
    assert prepared.take(embeddings._key(body)) == data
    assert prepared.take(embeddings._key(body)) is None


def test_prepared_replies_are_bounded_in_bytes() -> None:
    prepared = embeddings._Prepared(10)
    prepared.put(b"a", b"123456")
    prepared.put(b"b", b"123456")  # evicts a
    prepared.put(b"c", b"x" * 11)  # larger than the bound: never kept
    assert prepared.take(b"a") is None
    assert prepared.take(b"c") is None
    assert prepared.take(b"b") == b"123456"


# --- the loopback server and seed files -----------------------------------------------------


def test_over_the_loopback_server_hostile_input_is_answered_not_dropped() -> None:
    with MockGatewayServer(strict=False) as served, httpx.Client(headers=AUTH) as client:
        reply = client.post(served.url("openai") + "/chat/completions", content=DEEP)
        assert reply.status_code == 400
        assert reply.json()["internalCode"] == 7003
        patch = client.patch(
            f"{served.api_url}/accounts/{served.account_id}/ai-gateway/gateways/{served.gateway_id}/logs/x",
            content=DEEP,
        )
        assert patch.status_code in (400, 404)
        assert client.post(served.url("openai") + "/chat/completions", json={}).status_code == 200


def test_a_100000_deep_seed_file_is_a_serve_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(DEEP)
    err = serve_error(capsys, "--port", "0", "--seed", str(path))
    assert err == (
        f"pytest-aigw serve: error: --seed {path} cannot be loaded: JSON nested deeper than"
        " 100 levels\n"
    )


def test_memory_returns_to_baseline_after_a_body_over_the_log_size(
    gw: MockGateway, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "MAX_LOG_BYTES", 1_000_000)  # 10 MB: as well, but slower

    def post_large() -> int:
        large = json.dumps({"model": "m", "pad": "x" * 2_000_000})
        return client.post(chat(gw), content=large).status_code

    assert post_large() == 200  # warm up (imports, pools)
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            assert post_large() == 200
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert kept < 500_000  # each body is 2 MB: none of them is kept
    assert len(gw.calls) == 4


def test_the_embeddings_reply_as_json_is_its_encoded_reply() -> None:
    context = ReplyContext(
        provider="openai",
        path="embeddings",
        body={"input": ["a"], "dimensions": 4},
        model="m",
        reply_id="r",
        now=0,
        spec=ReplySpec("x"),
        tokens_in=3,
        tokens_out=0,
    )
    reply = embeddings.FORMAT.reply(context)
    assert reply == json.loads(embeddings.FORMAT.reply_bytes(context))
    assert reply["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert len(reply["data"][0]["embedding"]) == 4
    assert embeddings.FORMAT.refusal("embeddings", None) is None
