"""The gateway's own limits: rate limiting, spend limits, policies and default retries."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from pytest_aigw import ConfigError, MockGateway
from pytest_aigw.cli import _parser, given_settings
from pytest_aigw.fake.meters import Meter, calendar_index

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
RATE_LIMITED = {
    "success": False,
    "result": [],
    "messages": [],
    "error": [{"code": 2003, "message": "Rate limited"}],
    "name": "AiGatewayError",
    "httpCode": 429,
    "internalCode": 2003,
    "message": "Rate limited",
    "description": "Rate limited",
}
DENIED = {"success": False, "error": {"message": "Access denied by policy"}}


def ask(
    gw: MockGateway,
    *,
    metadata: dict[str, Any] | None = None,
    cost: float = 1.0,
    model: str = "gpt-4o-mini",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    headers = {"authorization": "Bearer sk-test", **(headers or {})}
    headers["cf-aig-custom-cost"] = json.dumps({"total_cost": cost})
    if metadata is not None:
        headers["cf-aig-metadata"] = json.dumps(metadata)
    body = {**CHAT, "model": model}
    return httpx.post(gw.url("openai") + "/chat/completions", json=body, headers=headers)


def to_window_start(gw: MockGateway, length: float) -> None:
    """Move the clock to just after the next window boundary."""
    gw.clock.advance(length - gw.clock.now() % length + 0.01)


# --- rate limiting -------------------------------------------------------------------------


def test_a_fixed_rate_limit_answers_429_code_2003_until_the_window_clears() -> None:
    with MockGateway(rate_limit=2, rate_limit_interval=60) as gw:
        to_window_start(gw, 60)
        statuses = [ask(gw).status_code for _ in range(3)]
        refused = ask(gw)
        gw.clock.advance(60)
        again = ask(gw)
    assert statuses == [200, 200, 429]
    assert refused.json() == RATE_LIMITED
    assert "retry-after" not in refused.headers
    assert refused.headers["cf-aig-log-id"] == gw.calls[3].log_id  # refused, still logged
    assert again.status_code == 200


def test_a_sliding_rate_limit_weighs_the_previous_window_by_its_overlap() -> None:
    with MockGateway(rate_limit=4, rate_limit_interval=60, rate_limit_technique="sliding") as gw:
        to_window_start(gw, 60)
        full = [ask(gw).status_code for _ in range(4)]
        gw.clock.advance(60)  # the previous window still overlaps almost wholly: 3.99 used
        early = [ask(gw).status_code for _ in range(2)]
        gw.clock.advance(30)  # just under half overlaps: 1.99 + 1 used
        late = [ask(gw).status_code for _ in range(3)]
    assert full == [200] * 4
    assert early == [200, 429]
    assert late == [200, 200, 429]


def test_rate_limited_requests_reach_no_script() -> None:
    with MockGateway(rate_limit=1) as gw:
        to_window_start(gw, 60)
        gw.respond("once")
        first, second = ask(gw), ask(gw)
    assert first.status_code == 200
    assert second.status_code == 429


# --- spend limits --------------------------------------------------------------------------

PER_USER = {
    "id": "per-user",
    "limitType": "cost",
    "limit": 2,
    "window": 3600,
    "technique": "fixed",
    "metadata": {"user": {"mode": "partition"}},
}


def test_a_spend_limit_lets_one_request_through_after_the_budget_then_answers_2045() -> None:
    with MockGateway(spend_limits=[PER_USER]) as gw:
        to_window_start(gw, 3600)
        alice = [ask(gw, metadata={"user": "alice"}).status_code for _ in range(4)]
        refused = ask(gw, metadata={"user": "alice"})
        bob = ask(gw, metadata={"user": "bob"}).status_code  # a budget per user
        anonymous = ask(gw).status_code  # no user key: outside the rule
        gw.clock.advance(3600)
        next_hour = ask(gw, metadata={"user": "alice"}).status_code
    assert alice == [200, 200, 200, 429]  # 2 reached, 1 more passes (recorded late)
    error = refused.json()
    assert error["error"] == [
        {
            "code": 2045,
            "message": "Spend limit exceeded: rule 'per-user' (cost limit 2 per 3600s, fixed)"
            " for openai gpt-4o-mini",
        }
    ]
    assert (error["httpCode"], error["internalCode"], error["name"]) == (
        429,
        2045,
        "AiGatewayError",
    )
    assert "retry-after" not in refused.headers
    assert (bob, anonymous, next_hour) == (200, 200, 200)
    assert [gw.logs.get(str(c.log_id)).raw["cost"] for c in gw.calls[:3]] == [1.0] * 3


def test_budget_grace_zero_refuses_as_soon_as_the_budget_is_reached() -> None:
    with MockGateway(spend_limits=[PER_USER], budget_grace=0) as gw:
        to_window_start(gw, 3600)
        statuses = [ask(gw, metadata={"user": "a"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_spend_limit_filters_by_provider_and_model() -> None:
    rule = {
        "id": "gpt",
        "limit": 1,
        "window": 60,
        "provider": {"mode": "filter", "value": "openai"},
        "model": {"mode": "filter", "value": "gpt-4o"},
    }
    with MockGateway(spend_limits=[rule], budget_grace=0) as gw:
        to_window_start(gw, 60)
        other_model = [ask(gw).status_code for _ in range(2)]
        filtered = [ask(gw, model="gpt-4o").status_code for _ in range(2)]
    assert other_model == [200, 200]
    assert filtered == [200, 429]


def test_a_sliding_spend_limit_counts_part_of_the_previous_window() -> None:
    rule = {"id": "all", "limit": 2, "window": 100, "technique": "sliding"}
    with MockGateway(spend_limits=[rule], budget_grace=0) as gw:
        to_window_start(gw, 100)
        ask(gw, cost=3)
        gw.clock.advance(100)
        early = ask(gw, cost=0.5).status_code
        gw.clock.advance(60)  # under 40 % overlaps: 1.2 used
        late = ask(gw, cost=0.5).status_code
    assert (early, late) == (429, 200)


def test_failed_answers_cost_nothing() -> None:
    with MockGateway(spend_limits=[{"id": "all", "limit": 1, "window": 60}], budget_grace=0) as gw:
        to_window_start(gw, 60)
        gw.fail(500, times=3)
        gw.respond("ok")
        failed = [ask(gw).status_code for _ in range(3)]
        after = ask(gw).status_code
    assert failed == [500] * 3
    assert after == 200


# --- policies ------------------------------------------------------------------------------

SEARCH_TEAM = {"id": "search", "metadata": {"team": "search"}, "action": {"type": "no-limit"}}


def test_a_gateway_with_a_policy_denies_what_no_policy_allows() -> None:
    with MockGateway(policies=[SEARCH_TEAM]) as gw:
        allowed = ask(gw, metadata={"team": "search"})
        other_team = ask(gw, metadata={"team": "ads"})
        no_metadata = ask(gw)
    assert allowed.status_code == 200
    assert (other_team.status_code, other_team.json()) == (403, DENIED)
    assert no_metadata.status_code == 403
    assert "cf-aig-log-id" in other_team.headers


def test_a_block_wins_and_resources_match_provider_slash_model() -> None:
    policies = [
        {"id": "everyone", "action": {"type": "no-limit"}},
        {"id": "no-gpt-4o", "resources": ["openai/gpt-4o"], "action": {"type": "block"}},
        {"id": "interns", "metadata": {"role": ["intern", "guest"]}, "action": {"type": "block"}},
    ]
    with MockGateway(policies=policies) as gw:
        statuses = [
            ask(gw).status_code,
            ask(gw, model="gpt-4o").status_code,
            ask(gw, metadata={"role": "guest"}).status_code,
        ]
    assert statuses == [200, 403, 403]


def test_metadata_conditions_match_numbers_and_flags_as_sent() -> None:
    policies = [
        {"id": "paid", "metadata": {"paid": True, "tier": 2}, "action": {"type": "no-limit"}}
    ]
    with MockGateway(policies=policies) as gw:
        allowed = ask(gw, metadata={"paid": True, "tier": 2}).status_code
        denied = ask(gw, metadata={"paid": False, "tier": 2}).status_code
    assert (allowed, denied) == (200, 403)


def test_a_policy_budget_answers_429_with_bucket_spent_and_limit() -> None:
    policy = {
        "id": "monthly-cap",
        "resources": ["openai/*"],
        "action": {"type": "limit", "amount": 2, "period": "monthly"},
    }
    with MockGateway(policies=[policy]) as gw:
        statuses = [ask(gw).status_code for _ in range(3)]
        refused = ask(gw)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {
        "success": False,
        "error": {
            "message": "Spending limit exceeded",
            "bucket": "monthly-cap",
            "spent": 3.0,
            "limit": 2,
        },
    }


def test_cache_hits_skip_policies_and_budgets() -> None:
    policy = {"id": "cap", "action": {"type": "limit", "amount": 1, "period": "daily"}}
    with MockGateway(policies=[policy], cache_ttl=60, budget_grace=0) as gw:
        to_window_start(gw, 86400)
        first = ask(gw)
        hits = [ask(gw) for _ in range(3)]
        miss = ask(gw, headers={"cf-aig-skip-cache": "true"})
    assert first.status_code == 200
    assert [(r.status_code, r.headers["cf-aig-cache-status"]) for r in hits] == [(200, "HIT")] * 3
    assert miss.status_code == 429


def test_a_cached_answer_is_served_to_a_denied_request() -> None:
    with MockGateway(policies=[SEARCH_TEAM], cache_ttl=60) as gw:
        ask(gw, metadata={"team": "search"})
        hit = ask(gw, metadata={"team": "ads"})
    assert (hit.status_code, hit.headers["cf-aig-cache-status"]) == (200, "HIT")


def test_calendar_periods_are_utc_hours_days_weeks_from_monday_and_months() -> None:
    monday = 1796601600.0  # 2026-12-07 00:00 UTC, a Monday
    assert calendar_index("weekly")(monday) == calendar_index("weekly")(monday + 6.9 * 86400)
    assert calendar_index("weekly")(monday - 1) == calendar_index("weekly")(monday) - 1
    assert calendar_index("daily")(monday - 1) != calendar_index("daily")(monday)
    assert calendar_index("hourly")(monday + 3599) == calendar_index("hourly")(monday)
    assert calendar_index("monthly")(monday) == calendar_index("monthly")(monday + 24 * 86400)
    assert calendar_index("monthly")(monday) != calendar_index("monthly")(monday + 25 * 86400)


def test_a_meter_forgets_old_windows() -> None:
    meter = Meter(10)
    for now in range(0, 100, 10):
        meter.add(now, 1)
    assert meter.used(95) == 1
    meter.clear()
    assert meter.used(95) == 0


def test_months_are_numbered_in_utc_and_follow_on_across_a_year() -> None:
    december = 1796601600.0  # 2026-12-07 00:00 UTC
    january = 1798761600.0  # 2027-01-01 00:00 UTC
    monthly = calendar_index("monthly")
    assert monthly(january) - monthly(december) == 1
    assert monthly(january + 31 * 86400) - monthly(january) == 1


def test_months_do_not_follow_the_machines_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    new_year_in_tokyo = 1798729200.0  # 2026-12-31 15:00 UTC: 2027-01-01 00:00 in Tokyo
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert calendar_index("monthly")(new_year_in_tokyo) == calendar_index("monthly")(
            new_year_in_tokyo - 86400
        )
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_sliding_meter_without_a_previous_window_counts_the_current_one_only() -> None:
    meter = Meter(10, sliding=True)
    meter.add(15, 2)
    assert meter.used(15) == 2


def test_the_grace_lets_exactly_that_many_through_and_a_clear_gives_it_back() -> None:
    meter = Meter(60, grace=2)
    meter.add(0, 5)
    assert [meter.admits(1, limit=5) for _ in range(4)] == [True, True, False, False]
    meter.clear()
    meter.add(0, 5)
    assert [meter.admits(1, limit=5) for _ in range(3)] == [True, True, False]


def test_a_meter_keeps_only_the_windows_it_can_still_count() -> None:
    meter = Meter(10, sliding=True)
    for now in range(0, 1000, 10):
        meter.add(now, 1)
    assert meter.used(995) == 1.5  # this window and half of the one before
    assert len(meter._used) == 2  # a long test does not grow it


def test_reset_clears_every_window() -> None:
    with MockGateway(rate_limit=1) as gw:
        ask(gw)
        gw.reset()
        assert ask(gw).status_code == 200


# --- default retries -----------------------------------------------------------------------


def test_gateway_default_retries_apply_and_the_header_overrides_them() -> None:
    with MockGateway(retry_max_attempts=3, retry_delay=500, retry_backoff="exponential") as gw:
        gw.fail(500, times=2)
        gw.respond("third time lucky")
        retried = ask(gw)
        gw.fail(500)
        once = ask(gw, headers={"cf-aig-max-attempts": "1"})
    assert retried.json()["choices"][0]["message"]["content"] == "third time lucky"
    assert once.status_code == 500
    assert [c.attempts for c in gw.calls] == [3, 1]


# --- checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"rate_limit": 0},
            "rate_limit must be a whole number of requests >= 1, or None (no rate limiting), got 0",
        ),
        ({"rate_limit_interval": 0}, "rate_limit_interval must be seconds > 0, got 0"),
        ({"retry_max_attempts": 6}, "retry_max_attempts must be a whole number from 1 to 5, got 6"),
        (
            {"retry_delay": 5001},
            "retry_delay must be a whole number of ms from 0 to 5000, got 5001",
        ),
        (
            {"spend_limits": [{"id": "a", "limit": 0, "window": 60}]},
            "spend_limits rule #1: 'limit' must be a cost > 0, got 0",
        ),
        (
            {"spend_limits": [{"id": "a", "limit": 1, "window": 60, "user": {}}]},
            "spend_limits rule #1: key must be one of id, limitType, limit, window, technique,"
            " provider, model, metadata, got 'user'",
        ),
        (
            {"spend_limits": [{"id": "a", "limit": 1, "window": 60, "model": {"mode": "split"}}]},
            "spend_limits rule #1: 'model' must be {'mode': 'partition'} or {'mode': 'filter',"
            " 'value': '<value>'}, got {'mode': 'split'}",
        ),
        (
            {"spend_limits": [{"id": "a", "limit": 1, "window": 60}] * 2},
            "spend_limits rule #2: 'id' must be unique among the rules, got 'a'",
        ),
        (
            {"spend_limits": [{"id": str(n), "limit": 1, "window": 60} for n in range(21)]},
            "spend_limits must be at most 20 rules (the gateway's limit), got",
        ),
        (
            {"policies": [{"id": "p", "action": {"type": "allow"}}]},
            "policies policy #1: 'action' type must be 'no-limit' or 'block' or 'limit',"
            " got 'allow'",
        ),
        (
            {"policies": [{"id": "p", "action": {"type": "block", "amount": 1}}]},
            "policies policy #1: 'action' must be {'type': 'block'} with no other keys,"
            " got {'type': 'block', 'amount': 1}",
        ),
        (
            {
                "policies": [
                    {"id": "p", "action": {"type": "limit", "amount": 1, "period": "yearly"}}
                ]
            },
            "policies policy #1: 'action' period must be 'hourly' or 'daily' or 'weekly' or"
            " 'monthly', got 'yearly'",
        ),
        (
            {
                "policies": [
                    {"id": "p", "action": {"type": "limit", "amount": 0, "period": "daily"}}
                ]
            },
            "policies policy #1: 'action' amount must be a cost > 0, got 0",
        ),
        (
            {"policies": [{"id": "p", "action": {"type": "limit", "per": "user"}}]},
            "policies policy #1: 'action' must be {'type': 'limit', 'amount': ..., 'period': ...},"
            " got {'type': 'limit', 'per': 'user'}",
        ),
        (
            {"policies": [{"id": "p", "action": {"type": "limit", "amount": -1}}]},
            "policies policy #1: 'action' amount must be a cost > 0, got -1",
        ),
        (
            {
                "policies": [
                    {"id": "p", "metadata": {"k": {"nested": 1}}, "action": {"type": "block"}}
                ]
            },
            "policies policy #1: 'metadata' must be a dict of metadata keys to a value or a list"
            " of values, got {'k': {'nested': 1}}",
        ),
        (
            {"policies": [{"id": "p", "when": 1, "action": {"type": "block"}}]},
            "policies policy #1: key must be one of id, metadata, resources, action, got 'when'",
        ),
        (
            {"policies": [{"id": "p", "action": {"type": "block"}}] * 2},
            "policies policy #2: 'id' must be unique among the policies, got 'p'",
        ),
    ],
)
def test_bad_limits_are_refused_with_a_message_naming_the_part(
    given: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        MockGateway(**given)
    assert str(raised.value).startswith(message)


def test_serve_reads_the_limits_as_flags() -> None:
    args = _parser().parse_args(
        [
            "serve",
            "--rate-limit=5",
            "--rate-limit-technique=sliding",
            '--policies=[{"id": "all", "action": {"type": "no-limit"}}]',
            "--retry-max-attempts=2",
        ]
    )
    assert given_settings(args) == {
        "rate_limit": 5,
        "rate_limit_technique": "sliding",
        "policies": ({"id": "all", "action": {"type": "no-limit"}},),
        "retry_max_attempts": 2,
    }
