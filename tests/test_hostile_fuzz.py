"""Any JSON, however deep, large or odd, gets a 2xx or a 4xx envelope on every surface.

Each property runs in process (httpx on the fake) and over the loopback server, and a
4xx leaves the logs as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import seeded_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_strategies import json_values

from pytest_aigw import MockGateway, MockGatewayServer

AUTH = {"authorization": "Bearer sk-test"}
LOG_ID = "01JA0000000000000000000001"

# NaN and infinities too: json.dumps writes them as NaN and Infinity
_, values = json_values(st.integers(), st.floats(), text=8)


def _deep(levels: int, inner: str) -> str:
    return "[" * levels + inner + "]" * levels


hostile_numbers = (
    st.integers(300, 6_000).map(lambda digits: "9" * digits)
    | st.integers(309, 1_000).map(lambda power: f"1e{power}")
    | st.sampled_from(["NaN", "-Infinity", "1E+400", "-" + "1" * 400])
)
texts = (
    values.map(lambda value: json.dumps(value, ensure_ascii=False))
    | st.builds(_deep, st.integers(1, 3_000), values.map(json.dumps))
    | st.builds(
        lambda key, number: json.dumps({key: 0})[:-2] + number + "}",
        st.text(max_size=4),
        hostile_numbers,
    )
    | hostile_numbers
    | st.text(max_size=20)
)
# Header values: printable ASCII (json.dumps escapes the rest), as HTTP carries them,
# without the blanks at either end that HTTP strips (h11 refuses to send " " at all).
header_texts = texts.filter(
    lambda text: text.isascii() and text.isprintable() and text == text.strip()
)


@pytest.fixture(scope="module", params=["in process", "loopback"])
def gateway(request: pytest.FixtureRequest) -> Iterator[MockGateway]:
    fake = MockGateway if request.param == "in process" else MockGatewayServer
    with fake(strict=False) as gw:
        yield gw


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(headers=AUTH) as shared:
        yield shared


def logs_url(gw: MockGateway) -> str:
    return f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"


def reseeded(client: httpx.Client, gw: MockGateway) -> Any:
    """Reset *gw* to its one seeded log; return the logs as the Logs API lists them."""
    gw.reset()
    gw.seed_logs([seeded_log(LOG_ID)])
    return logs_now(client, gw)


def logs_now(client: httpx.Client, gw: MockGateway) -> Any:
    reply = client.get(logs_url(gw), params={"per_page": "50"})
    assert reply.status_code == 200
    return reply.json()["result"]


def assert_answered(reply: httpx.Response) -> None:
    """A 2xx, or a 4xx whose JSON body is an error envelope (gateway, v4 or provider)."""
    assert reply.status_code < 500, reply.text[:300]
    if reply.status_code >= 400:
        body = reply.json()
        assert "error" in body or "errors" in body, body


def assert_logged_only_with_a_log_id(
    client: httpx.Client, gw: MockGateway, reply: httpx.Response, before: list[Any]
) -> None:
    """*reply* is answered; only one with a log id adds a log (its own), a refusal none."""
    assert_answered(reply)
    now = logs_now(client, gw)
    log_id = reply.headers.get("cf-aig-log-id")
    if log_id is None:
        assert now == before
    else:
        assert [log["id"] for log in now] == [log_id] + [log["id"] for log in before]
        before[:] = now


def assert_refusal_changes_nothing(
    client: httpx.Client, gw: MockGateway, reply: httpx.Response, before: list[Any]
) -> None:
    """*reply* is answered; a refusal (a 4xx) leaves the logs as they were."""
    assert_answered(reply)
    if reply.status_code >= 400:
        assert logs_now(client, gw) == before


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(texts)
def test_any_gateway_or_rest_api_body_is_answered(
    gateway: MockGateway, client: httpx.Client, text: str
) -> None:
    before = reseeded(client, gateway)
    for url in (
        gateway.url("openai") + "/chat/completions",
        gateway.url("openai") + "/embeddings",
        gateway.gateway_url,
        gateway.rest_url + "/v1/chat/completions",
    ):
        reply = client.post(url, content=text.encode("utf-8", "surrogatepass"))
        assert_logged_only_with_a_log_id(client, gateway, reply, before)


@FUZZ
@given(st.sampled_from(["cf-aig-metadata", "cf-aig-custom-cost"]), header_texts)
def test_any_cf_aig_json_header_is_answered(
    gateway: MockGateway, client: httpx.Client, header: str, text: str
) -> None:
    before = reseeded(client, gateway)
    reply = client.post(
        gateway.url("openai") + "/chat/completions", json={"model": "m"}, headers={header: text}
    )
    assert_logged_only_with_a_log_id(client, gateway, reply, before)


@FUZZ
@given(texts, st.sampled_from(["filters", "search", "page", "min_cost", "model"]))
def test_any_logs_api_query_is_answered(
    gateway: MockGateway, client: httpx.Client, text: str, name: str
) -> None:
    before = reseeded(client, gateway)
    for method in ("GET", "DELETE"):
        reply = client.request(method, logs_url(gateway), params={name: text})
        assert_refusal_changes_nothing(client, gateway, reply, before)


@FUZZ
@given(texts | values.map(lambda value: json.dumps({"feedback": 1, "metadata": value})))
def test_any_patch_body_is_applied_or_refused_changing_nothing(
    gateway: MockGateway, client: httpx.Client, text: str
) -> None:
    before = reseeded(client, gateway)
    reply = client.patch(
        f"{logs_url(gateway)}/{LOG_ID}", content=text.encode("utf-8", "surrogatepass")
    )
    assert_refusal_changes_nothing(client, gateway, reply, before)
    logs_now(client, gateway)  # and every later list still answers
