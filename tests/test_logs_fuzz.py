"""Any query or PATCH body gets a 200 or a 4xx with Cloudflare's envelope; a 4xx changes nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from json_strategies import json_values

from pytest_aigw import MockGateway
from pytest_aigw.logstore import FILTER_KEYS, OPERATORS

AUTH = {"authorization": "Bearer t"}
LOG_ID = "01JA0000000000000000000001"

scalars, anything = json_values(
    st.integers(-5, 200), st.floats(allow_nan=True), text=6, max_leaves=8
)
filter_entries = st.fixed_dictionaries(
    {},
    optional={
        "key": st.sampled_from(FILTER_KEYS) | st.text(max_size=8),
        "operator": st.sampled_from(OPERATORS) | st.text(max_size=4),
        "value": st.lists(scalars, max_size=3) | anything,
    },
)
query_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8)
queries = st.fixed_dictionaries(
    {},
    optional={
        "page": query_text | st.integers(-2, 5).map(str),
        "per_page": query_text | st.integers(-2, 60).map(str),
        "order_by": st.sampled_from(["created_at", "model", "cost", "x"]),
        "order_by_direction": st.sampled_from(["asc", "desc", "up"]),
        "search": query_text,
        "filters": st.lists(filter_entries, max_size=3).map(json.dumps) | query_text,
        "min_cost": query_text,
        "success": st.sampled_from(["true", "false", "yes"]),
        "feedback": query_text,
    },
)
patches = (
    st.fixed_dictionaries(
        {},
        optional={"feedback": anything, "score": anything, "metadata": anything, "other": anything},
    )
    | anything
)


def reseed(gw: MockGateway) -> None:
    gw.reset()
    gw.seed_logs(
        {
            "id": f"01JA{n:022d}",
            "created_at": f"2026-11-01T09:0{n}:00.000Z",
            "provider": "openai",
            "model": "gpt-4o",
            "metadata": {"user": f"u{n}"},
        }
        for n in range(3)
    )


def snapshot(client: httpx.Client, url: str) -> Any:
    return client.get(url, params={"per_page": "50"}, headers=AUTH).json()


def logs_url(gw: MockGateway) -> str:
    return f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"


@settings(max_examples=200, deadline=None)
@given(queries)
def test_any_list_or_delete_query_is_answered_never_with_a_500(
    gw: MockGateway, client: httpx.Client, query: dict[str, str]
) -> None:
    reseed(gw)
    url = logs_url(gw)
    before = snapshot(client, url)
    for method in ("GET", "DELETE"):
        reply = client.request(method, url, params=query, headers=AUTH)
        assert reply.status_code in (200, 400)
        if reply.status_code == 400:
            body = reply.json()
            assert body["errors"][0]["code"] == 7001
            assert snapshot(client, url) == before


@settings(max_examples=200, deadline=None)
@given(patches)
def test_any_patch_body_is_applied_whole_or_refused_changing_nothing(
    gw: MockGateway, client: httpx.Client, body: Any
) -> None:
    reseed(gw)
    url = logs_url(gw)
    before = snapshot(client, url)
    reply = client.patch(f"{url}/{LOG_ID}", content=json.dumps(body), headers=AUTH)
    assert reply.status_code in (200, 400)
    if reply.status_code == 400:
        assert reply.json()["errors"][0]["code"] == 7001
        assert snapshot(client, url) == before
    else:
        log = client.get(f"{url}/{LOG_ID}", headers=AUTH).json()["result"]
        for name in ("feedback", "score"):
            if isinstance(body, dict) and body.get(name) is not None:
                assert log[name] == body[name]
