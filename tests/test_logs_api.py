"""The log store and the fake Logs REST API, over raw HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.logstore import HEAD_LIMIT, LogSettings

AUTH = {"authorization": "Bearer test-token"}
KEY = {"authorization": "Bearer sk-test"}  # the provider key the app sends
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def logs_url(gw: MockGateway, suffix: str = "") -> str:
    return f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs{suffix}"


def call(client: httpx.Client, gw: MockGateway, **headers: str) -> str:
    body = json.loads(headers.pop("body", "null")) or CHAT
    headers = {**KEY, **headers}
    response = client.post(gw.url("openai") + "/chat/completions", json=body, headers=headers)
    return str(response.headers.get("cf-aig-log-id", ""))


def listed(client: httpx.Client, gw: MockGateway, **params: Any) -> dict[str, Any]:
    if "filters" in params and not isinstance(params["filters"], str):
        params["filters"] = json.dumps(params["filters"])
    response = client.get(logs_url(gw), params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["result"]]


def meta(**entries: Any) -> str:
    return json.dumps(entries)


# --- what a log holds ----------------------------------------------------------------------


def test_every_call_writes_a_log_with_the_api_fields(client: httpx.Client) -> None:
    with MockGateway() as gw:
        log_id = call(client, gw, **{"cf-aig-metadata": meta(user="u1"), "cf-aig-event-id": "e1"})
        detail = client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).json()
    assert detail["success"] is True
    log = detail["result"]
    assert log["id"] == log_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", log["created_at"])
    assert (log["provider"], log["model"], log["path"], log["model_type"]) == (
        "openai",
        "gpt-4o-mini",
        "chat/completions",
        "chat",
    )
    assert (log["success"], log["status_code"], log["cached"], log["step"]) == (True, 200, False, 0)
    assert log["metadata"] == {"user": "u1"}
    assert log["event_id"] == "e1"
    assert log["tokens_in"] > 0
    assert log["tokens_out"] > 0
    assert log["cost"] == pytest.approx(log["tokens_in"] * 0.15e-6 + log["tokens_out"] * 0.6e-6)
    assert log["custom_cost"] is False
    assert json.loads(log["request_head"]) == CHAT
    assert log["request_head_complete"] is True
    assert log["response_head"].startswith('{"id":"chatcmpl-')
    assert log["request_size"] == len(json.dumps(CHAT, separators=(",", ":")))
    assert "feedback" not in log
    assert "score" not in log


def test_collect_log_false_writes_no_log_and_payload_false_keeps_no_bodies(
    client: httpx.Client,
) -> None:
    with MockGateway() as gw:
        skipped = call(client, gw, **{"cf-aig-collect-log": "false"})
        bare = call(client, gw, **{"cf-aig-collect-log-payload": "false"})
        assert ids(listed(client, gw)) == [bare]
        assert client.get(logs_url(gw, f"/{skipped}"), headers=AUTH).status_code == 404
        assert client.get(logs_url(gw, f"/{bare}/request"), headers=AUTH).status_code == 404
        assert client.get(logs_url(gw, f"/{bare}"), headers=AUTH).json()["result"]["tokens_in"]


def test_custom_cost_cache_hits_and_failures_set_cost_and_success(client: httpx.Client) -> None:
    with MockGateway() as gw:
        custom = call(client, gw, **{"cf-aig-custom-cost": '{"total_cost": 0.5}'})
        gw.fail(429)
        gw.respond(times=None)
        limited = call(client, gw)
        call(client, gw, **{"cf-aig-cache-ttl": "60"})
        hit = call(client, gw, **{"cf-aig-cache-ttl": "60"})
        logs = {item["id"]: item for item in listed(client, gw)["result"]}
    assert (logs[custom]["cost"], logs[custom]["custom_cost"]) == (0.5, True)
    assert (logs[hit]["cached"], logs[hit]["cost"], logs[hit]["tokens_in"]) == (True, 0.0, 0)
    assert (logs[limited]["success"], logs[limited]["status_code"]) == (False, 429)
    assert logs[limited]["cost"] == 0.0


def test_bodies_come_back_as_sent_and_as_answered(client: httpx.Client) -> None:
    with MockGateway() as gw:
        gw.respond(["a", "b"])
        log_id = call(client, gw, body=json.dumps({**CHAT, "stream": True}))
        request = client.get(logs_url(gw, f"/{log_id}/request"), headers=AUTH)
        response = client.get(logs_url(gw, f"/{log_id}/response"), headers=AUTH)
    assert request.json() == {**CHAT, "stream": True}
    assert response.headers["content-type"] == "text/event-stream"
    assert response.text.endswith("data: [DONE]\n\n")


def test_universal_logs_record_the_answering_step(client: httpx.Client) -> None:
    with MockGateway() as gw:
        gw.fail(500, provider="openai")
        gw.respond(provider="groq")
        steps = [
            {"provider": p, "endpoint": "chat/completions", "query": CHAT}
            for p in ("openai", "groq")
        ]
        log_id = client.post(gw.gateway_url, json=steps, headers=KEY).headers["cf-aig-log-id"]
        log = client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).json()["result"]
    assert (log["provider"], log["step"], log["request_type"]) == ("groq", 1, "universal")


def test_metadata_can_be_served_as_a_json_string(client: httpx.Client) -> None:
    with MockGateway(log_settings=LogSettings(metadata_as="string")) as gw:
        call(client, gw, **{"cf-aig-metadata": meta(user="u1", n=2)})
        assert listed(client, gw)["result"][0]["metadata"] == '{"user":"u1","n":2}'


def test_new_logs_show_after_the_visibility_lag_and_details_fill_in_later(
    client: httpx.Client,
) -> None:
    settings = LogSettings(visibility_lag=5, detail_lag=10)
    with MockGateway(log_settings=settings) as gw:
        log_id = call(client, gw)
        assert client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).status_code == 404
        assert listed(client, gw)["result"] == []
        gw.clock.advance(5)
        log = client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).json()["result"]
        assert (log["request_head"], log["response_head"]) == (None, None)
        assert client.get(logs_url(gw, f"/{log_id}/request"), headers=AUTH).status_code == 404
        gw.clock.advance(5)
        log = client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).json()["result"]
        assert log["request_head"] is not None


def test_heads_are_cut_at_the_limit(client: httpx.Client) -> None:
    long = {**CHAT, "messages": [{"role": "user", "content": "x" * (2 * HEAD_LIMIT)}]}
    with MockGateway() as gw:
        log_id = call(client, gw, body=json.dumps(long))
        log = client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).json()["result"]
    assert len(log["request_head"]) == HEAD_LIMIT
    assert log["request_head_complete"] is False


# --- listing -------------------------------------------------------------------------------


@pytest.fixture
def seeded() -> Iterator[MockGateway]:
    """Six logs: two providers, three models, metadata users u0-u5, one a minute apart."""
    with MockGateway() as gw:
        gw.seed_logs(
            {
                "id": f"01JA{n:022d}",
                "created_at": f"2026-11-01T09:0{n}:00.000Z",
                "provider": "openai" if n % 2 else "anthropic",
                "model": ["gpt-4o", "gpt-4o-mini", "claude"][n % 3],
                "metadata": {"user": f"u{n}", "team": "a" if n < 3 else "b"},
                "tokens_in": 10 * n,
                "tokens_out": 5,
                "cost": n / 100,
                "success": n != 4,
                "request": {"n": n},
            }
            for n in range(6)
        )
        yield gw


def seed_id(n: int) -> str:
    return f"01JA{n:022d}"


def test_list_is_newest_first_by_default_and_pages_to_an_empty_result(
    client: httpx.Client, seeded: MockGateway
) -> None:
    pages = [listed(client, seeded, per_page=4, page=p) for p in (1, 2, 3)]
    assert ids(pages[0]) == [seed_id(n) for n in (5, 4, 3, 2)]
    assert ids(pages[1]) == [seed_id(n) for n in (1, 0)]
    assert pages[2]["result"] == []
    assert pages[1]["result_info"] == {"page": 2, "per_page": 4, "count": 2, "total_count": 6}
    assert "errors" not in pages[0]


@pytest.mark.parametrize(
    ("order_by", "direction", "expected"),
    [
        ("created_at", "asc", [0, 1, 2, 3, 4, 5]),
        ("model", "asc", [2, 5, 0, 3, 1, 4]),
        ("provider", "desc", [5, 3, 1, 4, 2, 0]),
        ("success", "asc", [4, 0, 1, 2, 3, 5]),
    ],
)
def test_list_orders_by_the_key_asked_for(
    client: httpx.Client, seeded: MockGateway, order_by: str, direction: str, expected: list[int]
) -> None:
    body = listed(client, seeded, order_by=order_by, order_by_direction=direction)
    assert ids(body) == [seed_id(n) for n in expected]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"key": "model", "operator": "eq", "value": ["gpt-4o"]}], [3, 0]),
        ([{"key": "model", "operator": "eq", "value": ["gpt-4o", "claude"]}], [5, 3, 2, 0]),
        ([{"key": "model", "operator": "neq", "value": ["gpt-4o", "claude"]}], [4, 1]),
        ([{"key": "model", "operator": "contains", "value": ["mini"]}], [4, 1]),
        ([{"key": "tokens_in", "operator": "gt", "value": [25]}], [5, 4, 3]),
        ([{"key": "tokens", "operator": "lt", "value": [20]}], [1, 0]),
        ([{"key": "cost", "operator": "gt", "value": ["0.035"]}], [5, 4]),
        ([{"key": "success", "operator": "eq", "value": [False]}], [4]),
        ([{"key": "success", "operator": "eq", "value": ["false"]}], [4]),
        ([{"key": "created_at", "operator": "lt", "value": ["2026-11-01T09:02:00.000Z"]}], [1, 0]),
        ([{"key": "id", "operator": "eq", "value": [seed_id(2), seed_id(4)]}], [4, 2]),
        ([{"key": "metadata.value", "operator": "eq", "value": ["u3"]}], [3]),
        (
            [
                {"key": "metadata.key", "operator": "eq", "value": ["team"]},
                {"key": "metadata.value", "operator": "eq", "value": ["b"]},
                {"key": "provider", "operator": "eq", "value": ["openai"]},
            ],
            [5, 3],
        ),
        ([{"key": "feedback", "operator": "eq", "value": [None]}], [5, 4, 3, 2, 1, 0]),
        ([{"key": "event_id", "operator": "eq", "value": ["nope"]}], []),
    ],
)
def test_filters_and_across_entries_and_or_within_values(
    client: httpx.Client, seeded: MockGateway, filters: list[dict[str, Any]], expected: list[int]
) -> None:
    assert ids(listed(client, seeded, filters=filters)) == [seed_id(n) for n in expected]


def test_search_matches_metadata_and_flat_parameters_still_filter(
    client: httpx.Client, seeded: MockGateway
) -> None:
    assert ids(listed(client, seeded, search="U4")) == [seed_id(4)]
    assert ids(listed(client, seeded, model="claude", provider="anthropic")) == [seed_id(2)]
    assert ids(listed(client, seeded, success="false")) == [seed_id(4)]
    assert ids(listed(client, seeded, min_tokens_in="35")) == [seed_id(5), seed_id(4)]
    assert ids(listed(client, seeded, direction="asc"))[0] == seed_id(0)


def test_the_sdks_dotted_filter_form_is_ignored_as_the_real_api_does(
    client: httpx.Client, seeded: MockGateway
) -> None:
    dotted = {"filters.key": "model", "filters.operator": "eq", "filters.value": "claude"}
    assert len(listed(client, seeded, **dotted)["result"]) == 6


# --- patch and delete ----------------------------------------------------------------------


def test_patch_sets_feedback_score_and_metadata(client: httpx.Client, seeded: MockGateway) -> None:
    url = logs_url(seeded, f"/{seed_id(1)}")
    reply = client.patch(
        url, json={"feedback": -1, "score": 42.5, "metadata": {"k": "v"}}, headers=AUTH
    )
    assert reply.json() == {"result": {}, "success": True}
    log = client.get(url, headers=AUTH).json()["result"]
    assert (log["feedback"], log["score"], log["metadata"]) == (-1, 42.5, {"k": "v"})
    by_feedback = [{"key": "feedback", "operator": "eq", "value": [-1]}]
    assert ids(listed(client, seeded, filters=by_feedback)) == [seed_id(1)]
    client.patch(url, json={"feedback": None}, headers=AUTH)
    assert "feedback" not in client.get(url, headers=AUTH).json()["result"]


def test_feedback_can_be_left_out_of_get_where_the_api_does_not_return_it(
    client: httpx.Client,
) -> None:
    with MockGateway(log_settings=LogSettings(feedback_in_get=False)) as gw:
        log_id = call(client, gw)
        client.patch(logs_url(gw, f"/{log_id}"), json={"feedback": 1}, headers=AUTH)
        assert (
            "feedback" not in client.get(logs_url(gw, f"/{log_id}"), headers=AUTH).json()["result"]
        )
        assert listed(client, gw)["result"][0]["feedback"] == 1


def test_delete_removes_matching_logs_in_order_up_to_the_limit(
    client: httpx.Client, seeded: MockGateway
) -> None:
    params = {
        "filters": json.dumps([{"key": "provider", "operator": "eq", "value": ["openai"]}]),
        "limit": "2",
    }
    reply = client.delete(logs_url(seeded), params=params, headers=AUTH)
    assert reply.json() == {"success": True}
    assert ids(listed(client, seeded)) == [seed_id(n) for n in (5, 4, 2, 0)]
    client.delete(
        logs_url(seeded), params={"order_by_direction": "desc", "limit": "1"}, headers=AUTH
    )
    assert ids(listed(client, seeded)) == [seed_id(n) for n in (4, 2, 0)]


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "body", "message"),
    [
        (
            "GET",
            {"per_page": "51"},
            None,
            "per_page: must be a whole number from 1 to 50, got '51'",
        ),
        ("GET", {"page": "0"}, None, "page: must be a whole number >= 1, got '0'"),
        ("GET", {"order_by": "cost"}, None, "order_by: Invalid enum value. Expected 'created_at'"),
        (
            "GET",
            {"order_by_direction": "up"},
            None,
            "order_by_direction: Invalid enum value. Expected 'asc' | 'desc', received 'up'",
        ),
        ("GET", {"filters": "not json"}, None, "filters: must be a JSON array"),
        ("GET", {"filters": "{}"}, None, "filters: Expected array, received object"),
        (
            "GET",
            {"filters": '[{"key":"colour","operator":"eq","value":[]}]'},
            None,
            "filters[0].key: Invalid enum value. Expected 'id' | 'created_at'",
        ),
        (
            "GET",
            {"filters": '[{"key":"model","operator":"like","value":[]}]'},
            None,
            "filters[0].operator: Invalid enum value. Expected 'eq' | 'neq' | 'contains'"
            " | 'lt' | 'gt', received 'like'",
        ),
        (
            "GET",
            {"filters": '[{"key":"model","operator":"eq","value":"x"}]'},
            None,
            "filters[0].value: Expected array, received string",
        ),
        (
            "GET",
            {"filters": '[{"key":"model","operator":"eq","value":[{}]}]'},
            None,
            "filters[0].value: items must be strings, numbers, booleans or null, received object",
        ),
        ("GET", {"min_cost": "cheap"}, None, "min_cost: Expected number, received 'cheap'"),
        ("DELETE", {"limit": "10001"}, None, "limit: must be a whole number from 1 to 10000"),
        ("PATCH", {}, {"feedback": 2}, "feedback: must be a number from -1 to 1, or null; got 2"),
        (
            "PATCH",
            {},
            {"feedback": True},
            "feedback: must be a number from -1 to 1, or null; got True",
        ),
        ("PATCH", {}, {"score": 101, "feedback": 1}, "score: must be a number from 0 to 100"),
        ("PATCH", {}, {"metadata": {"a": {"b": 1}}}, "metadata: must be a flat object"),
        ("PATCH", {}, [1], "body: Expected object, received array"),
    ],
)
def test_invalid_input_is_400_code_7001_naming_the_field_and_changes_nothing(
    client: httpx.Client,
    seeded: MockGateway,
    method: str,
    params: dict[str, str],
    body: Any,
    message: str,
) -> None:
    before = listed(client, seeded)
    suffix = f"/{seed_id(1)}" if method == "PATCH" else ""
    reply = client.request(method, logs_url(seeded, suffix), params=params, json=body, headers=AUTH)
    assert reply.status_code == 400
    error = reply.json()
    assert (error["success"], error["result"], error["errors"][0]["code"]) == (False, {}, 7001)
    assert error["errors"][0]["message"].startswith(message)
    assert listed(client, seeded) == before


def test_unknown_logs_and_other_gateways_are_404_code_7002(
    client: httpx.Client, seeded: MockGateway
) -> None:
    expected = {"success": False, "errors": [{"code": 7002, "message": "Not Found"}]}
    unknown = client.get(logs_url(seeded, "/01JNOPE"), headers=AUTH)
    other = client.get(logs_url(seeded).replace("test-gateway", "other-gw"), headers=AUTH)
    patch = client.patch(logs_url(seeded, "/01JNOPE"), json={"score": 1}, headers=AUTH)
    for reply in (unknown, other, patch):
        assert (reply.status_code, reply.json()) == (404, expected)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"authorization": "Bearer "}, 401),
        ({"x-auth-email": "me@example.com"}, 401),
        ({"x-auth-email": "me@example.com", "x-auth-key": "k"}, 200),
        ({"authorization": "Bearer t"}, 200),
    ],
)
def test_the_api_needs_a_token_or_the_legacy_email_and_key(
    client: httpx.Client, seeded: MockGateway, headers: dict[str, str], status: int
) -> None:
    reply = client.get(logs_url(seeded), headers=headers)
    assert reply.status_code == status
    if status == 401:
        assert reply.json() == {
            "success": False,
            "errors": [{"code": 10000, "message": "Authentication error"}],
            "messages": [],
            "result": None,
        }


# --- seeding -------------------------------------------------------------------------------


def test_seeded_logs_keep_their_ids_bodies_and_unknown_fields(
    client: httpx.Client, seeded: MockGateway
) -> None:
    seeded.seed_logs(
        [
            {
                "id": "custom-id",
                "created_at": "2026-10-01T00:00:00Z",
                "provider": "workers-ai",
                "model": "@cf/meta/llama",
                "metadata": '{"user": "string-form"}',
                "wholesale": True,
                "response": "plain text",
            }
        ]
    )
    log = client.get(logs_url(seeded, "/custom-id"), headers=AUTH).json()["result"]
    assert (log["metadata"], log["wholesale"]) == ({"user": "string-form"}, True)
    assert client.get(logs_url(seeded, "/custom-id/response"), headers=AUTH).text == "plain text"
    by_key = [{"key": "wholesale", "operator": "eq", "value": [True]}]
    assert ids(listed(client, seeded, filters=by_key)) == ["custom-id"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("x", "seeded log #1 must be an object as the Logs API returns it, got 'x'"),
        (
            {"id": "a"},
            "seeded log #1 (id 'a'): missing required field(s) created_at, provider, model",
        ),
        (
            {"id": "a", "created_at": "yesterday", "provider": "p", "model": "m"},
            "seeded log #1 (id 'a'): field 'created_at' must be an RFC 3339 time such as"
            " '2026-11-22T10:00:00.000Z', got 'yesterday'",
        ),
        (
            {
                "id": "a",
                "created_at": "2026-11-01T00:00:00Z",
                "provider": "p",
                "model": "m",
                "score": 101,
            },
            "seeded log #1 (id 'a'): field 'score' must be a number from 0 to 100, or null,"
            " got 101",
        ),
        (
            {
                "id": "a",
                "created_at": "2026-11-01T00:00:00Z",
                "provider": "p",
                "model": "m",
                "metadata": [1],
            },
            "seeded log #1 (id 'a'): field 'metadata' must be a flat object",
        ),
    ],
)
def test_bad_seeds_name_the_item_and_field_and_load_nothing(item: Any, message: str) -> None:
    gw = MockGateway()
    good = {"id": "ok", "created_at": "2026-11-01T00:00:00Z", "provider": "p", "model": "m"}
    with pytest.raises(ConfigError, match=re.escape(message)):
        gw.seed_logs([item])
    with pytest.raises(ConfigError):
        gw.seed_logs([good, item])
    assert len(gw.log_store) == 0


def test_reset_forgets_the_logs(client: httpx.Client) -> None:
    with MockGateway() as gw:
        call(client, gw)
        gw.reset()
        assert listed(client, gw)["result"] == []


def test_fail_logs_api_scripts_rate_limits_and_server_errors(client: httpx.Client) -> None:
    with MockGateway() as gw:
        gw.fail_logs_api(429, times=2, retry_after=0.5)
        gw.fail_logs_api(503)
        answers = [client.get(logs_url(gw), headers=AUTH) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 503, 200]
    assert answers[0].headers["retry-after"] == "0.5"
    assert answers[0].json()["errors"] == [
        {"code": 971, "message": "Please wait and consider throttling your request speed"}
    ]
    assert "retry-after" not in answers[2].headers
    assert answers[2].json()["errors"][0]["message"] == "Service Unavailable"


def test_the_logs_client_retries_through_scripted_outages() -> None:
    with MockGateway() as gw:
        gw.fail_logs_api(429, retry_after=0)
        gw.fail_logs_api(500)
        assert gw.logs.list().total_count == 0
        assert gw.logs.calls == 3


def test_reset_forgets_scripted_outages(client: httpx.Client) -> None:
    with MockGateway() as gw:
        gw.fail_logs_api(503, times=5)
        gw.reset()
        assert client.get(logs_url(gw), headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 404}, "status= must be 429 or a server error status from 500 to 599, got 404"),
        ({"times": 0}, "times= must be a whole number from 1 to 100000, got 0"),
        ({"retry_after": -1}, "retry_after= must be seconds from 0 to 86400, or None, got -1"),
    ],
)
def test_fail_logs_api_rejects_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    gw = MockGateway()
    with pytest.raises(ConfigError) as caught:
        gw.fail_logs_api(**kwargs)
    assert str(caught.value) == message
