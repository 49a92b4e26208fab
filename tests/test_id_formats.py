"""The ids on the wire: one UUIDv7 (or ULID) per single-step answer, in every id header,
and both formats through the Logs API."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.client import log_filter
from pytest_aigw.ids import is_ulid, is_uuid7

pytest_plugins = ["pytester"]

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
WORKERS_MODEL = "@cf/meta/llama-3.1-8b-instruct"
ID_HEADERS = ("cf-aig-log-id", "cf-aig-request-id", "cf-aig-event-id")
FORMATS = {"uuid7": is_uuid7, "ulid": is_ulid}
AUTH = {"authorization": "Bearer t"}
CACHED = {"cf-aig-cache-ttl": "60"}


# The provider keys the app's clients send; the gateway checks them (credentials="provider").
KEYS = {"authorization": "Bearer sk-test", "x-goog-api-key": "test-key"}


def post(url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """`httpx.post` with the provider keys; *headers* add to or replace them."""
    return httpx.post(url, headers={**KEYS, **(headers or {})}, **kwargs)


def step(provider: str, endpoint: str, query: Any = None, **extra: Any) -> dict[str, Any]:
    return {"provider": provider, "endpoint": endpoint, "query": query or CHAT, **extra}


def ids_of(response: httpx.Response) -> list[str | None]:
    return [response.headers.get(name) for name in ID_HEADERS]


def logs_url(gw: MockGateway) -> str:
    return f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"


@pytest.mark.parametrize("id_format", ["uuid7", "ulid"])
def test_a_single_step_answer_carries_one_id_in_every_id_header(id_format: Any) -> None:
    with MockGateway(id_format=id_format) as gw:
        replies = [
            post(gw.url("openai") + "/chat/completions", json=CHAT),
            post(gw.url("compat") + "/chat/completions", json={**CHAT, "model": "openai/m"}),
            post(gw.gateway_url, json=[step("openai", "chat/completions")]),
            post(gw.url("openai") + "/chat/completions", json=CHAT, headers=CACHED),
            post(gw.url("openai") + "/chat/completions", json=CHAT, headers=CACHED),
        ]
    assert replies[-1].headers["cf-aig-cache-status"] == "HIT"  # a cache hit has its own id
    for reply, call, log_id in zip(replies, gw.calls, gw.log_ids, strict=True):
        assert ids_of(reply) == [log_id] * 3
        assert FORMATS[id_format](log_id)
        assert call.event_id == log_id
        assert call.response_headers["cf-aig-request-id"] == log_id
        assert gw.logs.get(log_id).raw["event_id"] == log_id
    assert gw.log_ids == sorted(gw.log_ids)  # time-ordered
    assert len(set(gw.log_ids)) == 5


def test_a_clients_event_id_is_echoed_and_kept_in_call_and_log() -> None:
    with MockGateway() as gw:
        reply = post(
            gw.url("openai") + "/chat/completions", json=CHAT, headers={"cf-aig-event-id": "ev-1"}
        )
        log_id = reply.headers["cf-aig-log-id"]
        assert ids_of(reply) == [log_id, log_id, "ev-1"]
        assert gw.calls.last.event_id == "ev-1"
        assert gw.logs.get(log_id).raw["event_id"] == "ev-1"
        found = gw.logs.list(filters=[log_filter("event_id", "eq", "ev-1")])
        assert [log.id for log in found.logs] == [log_id]


def test_a_refused_request_has_no_ids_but_still_echoes_the_clients_event_id() -> None:
    with MockGateway(authenticated=True, strict=False) as gw:
        plain = post(gw.url("openai") + "/chat/completions", json=CHAT)
        traced = post(
            gw.url("openai") + "/chat/completions", json=CHAT, headers={"cf-aig-event-id": "ev-2"}
        )
    assert plain.status_code == traced.status_code == 401
    assert ids_of(plain) == [None, None, None]
    assert ids_of(traced) == [None, None, "ev-2"]
    assert [call.event_id for call in gw.calls] == [None, "ev-2"]


def test_a_universal_request_answered_after_a_fallback_has_its_own_request_id() -> None:
    with MockGateway() as gw:
        gw.fail(503, provider="openai")
        gw.respond("from workers", provider="workers-ai")
        reply = post(
            gw.gateway_url,
            json=[step("openai", "chat/completions"), step("workers-ai", WORKERS_MODEL, {"x": 1})],
        )
        log_id, request_id, event_id = ids_of(reply)
        assert reply.headers["cf-aig-step"] == "1"
        assert log_id == gw.calls.last.log_id
        assert is_uuid7(log_id)
        assert is_uuid7(request_id)
        assert request_id != log_id
        assert event_id == request_id == gw.calls.last.event_id
        assert gw.logs.get(str(log_id)).raw["event_id"] == request_id  # the log id fetches the log
        assert gw.log_ids == [log_id]  # one log per request, as for every other request


def test_a_universal_fallback_echoes_the_clients_event_id_too() -> None:
    with MockGateway(id_format="ulid") as gw:
        gw.fail(500, provider="openai")
        gw.fail(503, provider="groq")
        reply = post(
            gw.gateway_url,
            json=[step("openai", "chat/completions"), step("groq", "chat/completions")],
            headers={"cf-aig-event-id": "ev-3"},
        )
    log_id, request_id, event_id = ids_of(reply)
    assert reply.status_code == 503
    assert is_ulid(log_id)
    assert is_ulid(request_id)
    assert request_id != log_id
    assert event_id == "ev-3" == gw.calls.last.event_id


@pytest.mark.parametrize("value", ["UUID7", "uuid4", None, 7])
def test_an_unknown_id_format_is_a_config_error(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"^id_format must be 'uuid7' or 'ulid' \("):
        MockGateway(id_format=value)


def test_the_gateway_says_its_id_format() -> None:
    assert MockGateway().id_format == "uuid7"
    assert MockGateway(id_format="ulid").id_format == "ulid"


SEEDED = [
    {
        "id": "01JADMCQQQBWH3NXZ5GCRN98DP",
        "created_at": "2026-10-01T09:00:00.000Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
    },
    {
        "id": "019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e07",
        "created_at": "2026-10-09T09:00:00.000Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
    },
]


def test_seeded_logs_of_both_formats_are_served_side_by_side() -> None:
    ulid, uuid7 = (item["id"] for item in SEEDED)
    with MockGateway() as gw:
        gw.seed_logs(SEEDED)
        issued = post(gw.url("openai") + "/chat/completions", json=CHAT)
        fresh = issued.headers["cf-aig-log-id"]
        assert [log.id for log in gw.logs.iter(order_by_direction="asc")] == [ulid, uuid7, fresh]
        for log_id in (ulid, uuid7, fresh):
            assert gw.logs.get(log_id).id == log_id
            gw.logs.patch(log_id, feedback=-1)
            only = gw.logs.list(filters=[log_filter("id", "eq", log_id)])
            assert [log.feedback for log in only.logs] == [-1]
        gw.logs.delete(filters=[log_filter("id", "eq", ulid, uuid7)])
        assert [log.id for log in gw.logs.iter()] == [fresh]


@pytest.mark.parametrize(
    "unknown", ["01JADMCQQQBWH3NXZ5GCRN98DQ", "019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e08", "nope"]
)
def test_an_unknown_id_of_either_format_is_404(unknown: str) -> None:
    with MockGateway() as gw:
        gw.seed_logs(SEEDED)
        with httpx.Client() as client:
            got = client.get(f"{logs_url(gw)}/{unknown}", headers=AUTH)
            patched = client.patch(f"{logs_url(gw)}/{unknown}", json={"feedback": 1}, headers=AUTH)
    assert (got.status_code, patched.status_code) == (404, 404)


@pytest.mark.parametrize(("id_format", "check"), [("uuid7", "is_uuid7"), ("ulid", "is_ulid")])
@pytest.mark.parametrize("fixture", ["aigw", "aigw_server"])
def test_the_marker_sets_the_id_format_end_to_end(
    pytester: pytest.Pytester, id_format: str, check: str, fixture: str
) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import httpx
            import pytest
            from pytest_aigw.ids import {check} as well_formed

            CHAT = {{"model": "gpt-4o-mini", "messages": []}}
            KEY = {{"authorization": "Bearer sk-test"}}

            @pytest.mark.aigw(id_format={id_format!r})
            def test_ids({fixture}):
                gw = {fixture}
                assert gw.id_format == {id_format!r}
                replies = [
                    httpx.post(gw.url("openai") + "/chat/completions", json=CHAT, headers=KEY)
                    for _ in range(3)
                ]
                ids = [r.headers["cf-aig-log-id"] for r in replies]
                for reply, log_id in zip(replies, ids):
                    assert well_formed(log_id)
                    assert reply.headers["cf-aig-request-id"] == log_id
                    assert reply.headers["cf-aig-event-id"] == log_id
                assert gw.log_ids == ids
                assert [log.id for log in gw.logs.iter(order_by_direction="asc")] == ids
                first = ids[0]
                assert gw.logs.get(first).raw["event_id"] == first
                gw.logs.patch(first, feedback=1, score=90)
                log = gw.logs.get(first)
                assert (log.feedback, log.score) == (1, 90)
                gw.assert_feedback_roundtrip(ids[1], feedback=-1, timeout=1)
                gw.logs.delete(filters=[{{"key": "id", "operator": "eq", "value": [first]}}])
                assert [log.id for log in gw.logs.iter(order_by_direction="asc")] == ids[1:]
            """
        )
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
