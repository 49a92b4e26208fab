"""The shipped Hypothesis strategies, and the properties of the fake they check."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from typing import Any
from uuid import RFC_4122, UUID

import httpx
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pytest_aigw import MockGateway, metadata
from pytest_aigw import strategies as aigw_st
from pytest_aigw.ids import is_log_id, is_ulid, is_uuid7

pytest_plugins = ["pytester"]

AUTH = {"authorization": "Bearer t"}
BAD: dict[Any, Any] = {"yes": "yes", 1: 1, None: None}  # wrongly typed options, as users pass them
PATHS = {
    "openai": "chat/completions",
    "anthropic": "v1/messages",
    "workers-ai": "@cf/meta/llama-3.1-8b-instruct",
    "google-ai-studio": "v1beta/models/gemini-2.5-flash:generateContent",
}
# Each provider's key as its client sends it; the gateway checks them (credentials="provider").
KEYS = {
    "openai": {"authorization": "Bearer sk-test"},
    "anthropic": {"x-api-key": "sk-ant-test"},
    "workers-ai": {"authorization": "Bearer cf-api-token"},
    "google-ai-studio": {"x-goog-api-key": "test-key"},
}


def chat(client: httpx.Client, gw: MockGateway, **headers: str) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": []}
    headers = {**KEYS["openai"], **headers}
    return client.post(gw.url("openai") + "/chat/completions", json=body, headers=headers)


def list_logs(client: httpx.Client, gw: MockGateway, **params: Any) -> httpx.Response:
    url = f"{gw.api_url}/accounts/{gw.account_id}/ai-gateway/gateways/{gw.gateway_id}/logs"
    return client.get(url, params=params, headers=AUTH)


# --- what the strategies promise --------------------------------------------------------


@given(aigw_st.metadata())
def test_metadata_is_what_the_gateway_keeps(entries: dict[str, Any]) -> None:
    assert len(entries) <= 5
    assert metadata.validate(entries) == entries
    assert metadata.parse(metadata.encode(entries)).stored == entries


@given(aigw_st.invalid_metadata())
def test_invalid_metadata_is_never_kept_as_sent(header: str) -> None:
    parsed = metadata.parse(header)
    assert parsed.problems
    assert all(ord(char) >= 0x20 for char in header)  # a header value clients will send


@given(aigw_st.log_ids(format="uuid7"))
def test_uuid7_log_ids_are_lowercase_uuidv7s(log_id: str) -> None:
    assert is_uuid7(log_id)
    assert UUID(log_id).version == 7
    assert UUID(log_id).variant == RFC_4122
    assert str(UUID(log_id)) == log_id


@given(aigw_st.log_ids(format="ulid"))
def test_ulid_log_ids_are_ulids(log_id: str) -> None:
    assert is_ulid(log_id)


@settings(max_examples=200)
@given(aigw_st.log_ids())
def test_log_ids_without_a_format_are_either(log_id: str) -> None:
    assert is_log_id(log_id)


def test_log_ids_without_a_format_give_both_formats() -> None:
    assert is_uuid7(find(aigw_st.log_ids(), is_uuid7))
    assert is_ulid(find(aigw_st.log_ids(), is_ulid))


def test_log_ids_shrink_toward_all_zeros() -> None:
    assert find(aigw_st.log_ids(format="uuid7"), lambda _: True) == (
        "00000000-0000-7000-8000-000000000000"
    )
    assert find(aigw_st.log_ids(format="ulid"), lambda _: True) == "0" * 26


@given(aigw_st.feedback(), aigw_st.scores(), aigw_st.scores(allow_fractions=True))
def test_feedback_and_scores_are_in_range(value: int, whole: float, fraction: float) -> None:
    assert value in (-1, 0, 1)
    assert isinstance(whole, int)
    assert 0 <= whole <= 100
    assert 0 <= fraction <= 100


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: aigw_st.metadata(max_entries=6),
            "max_entries=6 must be a whole number from 0 to 5",
        ),
        (lambda: aigw_st.metadata(min_entries=3, max_entries=2), "min_entries=3 must be"),
        (
            lambda: aigw_st.metadata_headers(valid=BAD["yes"]),
            "valid='yes' must be True, False or None",
        ),
        (lambda: aigw_st.chat_requests(provider="cohere"), "provider='cohere' must be one of"),
        (lambda: aigw_st.log_filters(max_filters=0), "max_filters=0 must be a whole number"),
        (
            lambda: aigw_st.log_ids(format=BAD["yes"]),
            "format='yes' must be 'uuid7', 'ulid' or None (either)",
        ),
        (lambda: aigw_st.scores(allow_fractions=BAD[1]), "allow_fractions=1 must be True or False"),
        (lambda: aigw_st.gateway_errors(network=BAD[None]), "network=None must be True or False"),
    ],
)
def test_bad_options_fail_when_the_strategy_is_built(make: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        make()


def test_a_missing_hypothesis_gets_an_install_hint() -> None:
    code = "import sys; sys.modules['hypothesis'] = None; import pytest_aigw.strategies"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 1
    assert (
        "ImportError: pytest_aigw.strategies needs Hypothesis; install it with"
        " pip install 'pytest-aigw[hypothesis]' (or pip install hypothesis)"
    ) in completed.stderr


# --- properties of the fake -------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(aigw_st.metadata_headers())
def test_any_metadata_header_gets_the_gateways_answer(
    gw: MockGateway, client: httpx.Client, header: str
) -> None:
    gw.reset()
    response = chat(client, gw, **{"cf-aig-metadata": header})
    assert response.status_code == 200
    assert gw.calls.last.metadata == metadata.parse(header).stored
    assert gw.calls.last.metadata_header == header


@settings(max_examples=100, deadline=None)
@given(aigw_st.metadata(min_entries=1))
def test_valid_metadata_round_trips_into_calls_and_logs(
    gw: MockGateway, client: httpx.Client, entries: dict[str, Any]
) -> None:
    gw.reset()
    log_id = chat(client, gw, **{"cf-aig-metadata": metadata.encode(entries)}).headers[
        "cf-aig-log-id"
    ]
    assert gw.calls.last.metadata == entries
    assert gw.logs.get(log_id).metadata == entries


@settings(max_examples=150, deadline=None)
@given(aigw_st.log_filters())
def test_any_filter_list_gets_a_200_or_a_7001(
    gw: MockGateway, client: httpx.Client, filters: list[Any]
) -> None:
    response = list_logs(client, gw, filters=json.dumps(filters))
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json()["errors"][0]["code"] == 7001


@settings(max_examples=60, deadline=None)
@given(aigw_st.log_filters(valid=True), aigw_st.log_filters(valid=False))
def test_valid_filters_are_accepted_and_invalid_ones_refused(
    gw: MockGateway, client: httpx.Client, good: list[Any], bad: list[Any]
) -> None:
    assert list_logs(client, gw, filters=json.dumps(good)).status_code == 200
    assert list_logs(client, gw, filters=json.dumps(bad)).status_code == 400


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 30), st.integers(1, 50), st.sampled_from(["asc", "desc"]))
def test_paging_returns_every_matching_log_exactly_once(
    gw: MockGateway, client: httpx.Client, count: int, per_page: int, direction: str
) -> None:
    gw.reset()
    gw.seed_logs(
        {
            "id": f"01JA{n:022d}",
            "created_at": f"2026-11-01T09:{n:02d}:00.000Z",
            "provider": "openai",
            "model": "gpt-4o" if n % 3 else "gpt-4o-mini",
        }
        for n in range(count)
    )
    wanted = {f"01JA{n:022d}" for n in range(count) if n % 3}
    seen: list[str] = []
    for page in range(1, count + 2):
        result = list_logs(
            client,
            gw,
            page=page,
            per_page=per_page,
            order_by_direction=direction,
            filters=json.dumps([{"key": "model", "operator": "eq", "value": ["gpt-4o"]}]),
        ).json()["result"]
        if not result:
            break
        seen += [log["id"] for log in result]
    assert sorted(seen) == sorted(wanted)
    assert len(seen) == len(set(seen))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_chat_requests_are_answered_by_each_provider(
    gw: MockGateway, client: httpx.Client, data: st.DataObject
) -> None:
    gw.reset()
    provider = data.draw(st.sampled_from(sorted(PATHS)))
    body = data.draw(aigw_st.chat_requests(provider=provider))
    response = client.post(
        f"{gw.url(provider)}/{PATHS[provider]}", json=body, headers=KEYS[provider]
    )
    assert response.status_code == 200
    assert gw.calls.last.provider == provider


@settings(max_examples=40, deadline=None)
@given(aigw_st.gateway_errors())
def test_gateway_errors_are_scripts_the_fake_plays(
    gw: MockGateway, client: httpx.Client, failure: dict[str, Any]
) -> None:
    gw.reset()
    gw.fail(**failure)
    try:
        status = chat(client, gw).status_code
    except httpx.TransportError:
        assert failure["status"] in ("timeout", "disconnect")
    else:
        assert status == failure["status"]


def test_reset_makes_the_function_fixture_safe_inside_given(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx
            from hypothesis import HealthCheck, given, settings
            from pytest_aigw import strategies as aigw_st

            @settings(
                suppress_health_check=[HealthCheck.function_scoped_fixture],
                max_examples=25,
                deadline=None,  # timing is not the point, and a busy worker is slow
            )
            @given(aigw_st.metadata())
            def test_tags(aigw, entries):
                aigw.reset()  # one fixture serves every example: start each from scratch
                httpx.post(aigw.url("openai") + "/chat/completions", json={},
                           headers={"authorization": "Bearer sk-test",
                                    "cf-aig-metadata": __import__("json").dumps(entries)})
                assert len(aigw.calls) == 1
                assert aigw.calls.last.metadata == entries
            """
        )
    )
    pytester.runpytest().assert_outcomes(passed=1)
