"""Any header value or universal body gets a gateway answer, never a crash."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aigw import MockGateway
from pytest_aigw.fake.options import parse_options

KEY = {"authorization": "Bearer sk-test"}  # the app's provider key
HEADERS = [
    "cf-aig-request-timeout",
    "cf-aig-max-attempts",
    "cf-aig-retry-delay",
    "cf-aig-backoff",
    "cf-aig-cache-ttl",
    "cf-cache-ttl",
    "cf-aig-cache-key",
    "cf-aig-skip-cache",
    "cf-skip-cache",
    "cf-aig-collect-log",
]
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12) | (
    st.integers(-10, 10_000_000).map(str)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
steps = st.fixed_dictionaries(
    {},
    optional={
        "provider": st.sampled_from(["openai", "workers-ai", "Bad Slug", ""]) | json_values,
        "endpoint": st.sampled_from(["chat/completions", "@cf/meta/llama"]) | json_values,
        "query": json_values,
        "headers": st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=2)
        | json_values,
        "config": st.dictionaries(
            st.sampled_from(["requestTimeout", "maxAttempts", "retryDelay", "backoff"]),
            json_values,
            max_size=2,
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=4))
def test_any_cf_header_values_are_accepted_or_refused_with_the_input_error(
    gw: MockGateway, client: httpx.Client, headers: dict[str, str]
) -> None:
    gw.reset()
    url = gw.url("openai") + "/chat/completions"
    reply = client.post(url, json={}, headers={**KEY, **headers})
    assert reply.status_code in (200, 400)
    if reply.status_code == 400:
        assert reply.json()["internalCode"] == 7003
        assert gw.calls.last.log_id is None
    else:
        assert gw.calls.last.options == parse_options(headers)


@settings(max_examples=150, deadline=None)
@given(json_values | st.lists(steps, max_size=3) | steps)
def test_any_universal_body_is_answered_or_refused_with_the_input_error(
    gw: MockGateway, client: httpx.Client, body: Any
) -> None:
    gw.reset()
    reply = client.post(gw.gateway_url, json=body, headers=KEY)
    assert reply.status_code in (200, 400)
    if reply.status_code == 400:
        assert reply.json()["internalCode"] == 7003
    else:
        assert reply.headers["cf-aig-step"] == str(gw.calls.last.step)
