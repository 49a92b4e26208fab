"""The Auto Router (`cloudflare/auto`): the pick, its headers, allow-lists, sessions, scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import openai
import pytest
from conftest import run
from openai import OpenAI

from pytest_aigw import ConfigError, LiveGateway, LiveModeError, MockGateway
from pytest_aigw.fake import auto_router
from pytest_aigw.fake.auto_router import DEFAULT_POOL, REASONS, _matches
from pytest_aigw.ids import is_uuid7

AUTO = "cloudflare/auto"
KEYS = {"authorization": "Bearer sk-test"}


def ask(
    gw: MockGateway,
    prompt: str = "hello",
    headers: Mapping[str, str] | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> httpx.Response:
    body = {"model": AUTO, "messages": messages or [{"role": "user", "content": prompt}]}
    url = gw.url("compat") + "/chat/completions"
    return httpx.post(url, json=body, headers={**KEYS, **(headers or {})})


def routed(reply: httpx.Response) -> tuple[str, str]:
    return reply.headers["cf-aig-routed-model"], reply.headers["cf-aig-routing-reason"]


def test_the_default_pick_is_the_first_model_of_the_default_pool() -> None:
    with MockGateway() as gw:
        reply = ask(gw)
    assert reply.status_code == 200
    assert routed(reply) == ("anthropic/claude-fable-5", "cost_optimal_within_pool")
    assert is_uuid7(reply.headers["cf-aig-routing-decision-id"])
    assert reply.headers["cf-aig-routing-decision-id"] != reply.headers["cf-aig-log-id"]
    assert reply.headers["cf-aig-provider"] == "anthropic"
    assert reply.headers["cf-aig-model"] == "claude-fable-5"
    assert "choices" in reply.json()  # OpenAI-shaped, whoever answers
    call = gw.calls.last
    assert (call.provider, call.model, call.endpoint) == ("anthropic", "claude-fable-5", "compat")
    assert call.routing is not None
    assert call.routing.candidates == DEFAULT_POOL
    assert call.routing.decision_id == reply.headers["cf-aig-routing-decision-id"]


def test_the_log_names_the_routed_provider_and_model() -> None:
    with MockGateway() as gw:
        reply = ask(gw, headers={"cf-aig-allowed-providers": "xai"})
        log = gw.logs.get(reply.headers["cf-aig-log-id"])
    assert routed(reply) == ("xai/grok-4.5", "forced_by_candidate_pool")
    assert (log.provider, log.model) == ("xai", "grok-4.5")


def test_other_models_keep_their_provider() -> None:
    with MockGateway() as gw:
        body = {"model": "openai/gpt-5.6-sol", "messages": []}
        reply = httpx.post(gw.url("compat") + "/chat/completions", json=body, headers=KEYS)
    assert "cf-aig-routed-model" not in reply.headers
    assert gw.calls.last.routing is None


@pytest.mark.parametrize(
    ("headers", "pick"),
    [
        (
            {"cf-aig-allowed-models": "openai/*"},
            ("openai/gpt-5.6-luna", "cost_optimal_within_pool"),
        ),
        ({"cf-aig-allowed-models": "minimax/m3"}, ("minimax/m3", "forced_by_candidate_pool")),
        (
            {"cf-aig-allowed-models": "openai/gpt-5.6-terra, xai/*"},
            ("openai/gpt-5.6-terra", "cost_optimal_within_pool"),
        ),
        (
            {"cf-aig-allowed-models": "alibaba/qwen3.8-27b"},
            ("alibaba/qwen3.8-27b", "forced_by_candidate_pool"),
        ),
        (
            {"cf-aig-allowed-models": "@cf/openai/gpt-oss-120b"},
            ("@cf/openai/gpt-oss-120b", "forced_by_candidate_pool"),
        ),
        (
            {"cf-aig-allowed-models": "*/*", "cf-aig-allowed-providers": "openai,xai"},
            ("openai/gpt-5.6-luna", "cost_optimal_within_pool"),
        ),
        ({"cf-aig-allowed-providers": "xai"}, ("xai/grok-4.5", "forced_by_candidate_pool")),
    ],
)
def test_the_allow_lists_narrow_the_pool(headers: dict[str, str], pick: tuple[str, str]) -> None:
    with MockGateway() as gw:
        reply = ask(gw, headers=headers)
    assert reply.status_code == 200
    assert routed(reply) == pick


def test_a_workers_ai_pick_is_asked_of_workers_ai() -> None:
    with MockGateway() as gw:
        reply = ask(gw, headers={"cf-aig-allowed-models": "@cf/openai/gpt-oss-120b"})
    assert (gw.calls.last.provider, gw.calls.last.model) == (
        "workers-ai",
        "@cf/openai/gpt-oss-120b",
    )
    assert reply.headers["cf-aig-provider"] == "workers-ai"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        (
            {"cf-aig-allowed-models": "google/*"},
            "cf-aig-allowed-models entry 'google/*' matches no model",
        ),
        (
            {"cf-aig-allowed-models": "openai/*, gpt-5"},
            "cf-aig-allowed-models entry 'gpt-5' matches no model",
        ),
        ({"cf-aig-allowed-models": "*"}, "cf-aig-allowed-models entry '*' matches no model"),
        ({"cf-aig-allowed-models": " , "}, "cf-aig-allowed-models names no model"),
        (
            {"cf-aig-allowed-models": "openai/*", "cf-aig-allowed-providers": "anthropic"},
            "cf-aig-allowed-providers entry 'anthropic' matches no model of the pool",
        ),
        (
            {"cf-aig-allowed-providers": "minimax"},
            "cf-aig-allowed-providers entry 'minimax' matches no model of the pool",
        ),
    ],
)
def test_an_entry_that_matches_nothing_gets_the_400(headers: dict[str, str], detail: str) -> None:
    with MockGateway() as gw:
        reply = ask(gw, headers=headers)
    message = f"Auto Router: no model is allowed: {detail}"
    assert reply.status_code == 400
    assert reply.json()["error"] == [{"code": 7003, "message": message}]
    assert reply.json()["name"] == "AiGatewayError"
    assert "cf-aig-log-id" not in reply.headers
    assert gw.calls.last.status_code == 400
    assert gw.calls.last.routing is None
    assert gw.logs.list().total_count == 0


def test_a_session_keeps_its_turn_on_one_model() -> None:
    with MockGateway() as gw:
        gw.auto_route("openai/gpt-5.6-sol", prompt="first")
        session = {"cf-aig-session-id": "s-1"}
        first = ask(gw, "first", session)
        turn = [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "calling a tool"},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
        ]
        same_turn = ask(gw, headers=session, messages=turn)
        next_turn = ask(gw, headers=session, messages=[*turn, {"role": "user", "content": "more"}])
        other_session = ask(gw, headers={"cf-aig-session-id": "s-2"}, messages=turn)
        unpinned = ask(gw, headers={**session, "cf-aig-no-session-affinity": "true"}, messages=turn)
    assert routed(first) == ("openai/gpt-5.6-sol", "cost_optimal_within_pool")
    assert routed(same_turn) == ("openai/gpt-5.6-sol", "pinned_by_turn")
    assert routed(next_turn) == ("anthropic/claude-fable-5", "cost_optimal_within_pool")
    # The route matches these too (their last user message is "first"): decided, not pinned.
    assert routed(other_session) == ("openai/gpt-5.6-sol", "cost_optimal_within_pool")
    assert routed(unpinned) == ("openai/gpt-5.6-sol", "cost_optimal_within_pool")
    routing = gw.calls[-1].routing
    assert routing is not None
    assert (routing.session_id, routing.turn_id, routing.session_affinity) == ("s-1", None, False)


def test_the_turn_header_overrides_turn_detection() -> None:
    with MockGateway() as gw:
        gw.auto_route("xai/grok-4.5", prompt="start")
        headers = {"cf-aig-session-id": "s", "cf-aig-turn-id": "t-1"}
        ask(gw, "start", headers)
        again = ask(gw, "a new user message, same declared turn", headers)
        new_turn = ask(gw, "another", {**headers, "cf-aig-turn-id": "t-2"})
    assert routed(again) == ("xai/grok-4.5", "pinned_by_turn")
    assert routed(new_turn)[0] == "anthropic/claude-fable-5"
    routing = gw.calls[1].routing
    assert routing is not None
    assert (routing.session_id, routing.turn_id) == ("s", "t-1")


def test_a_pin_outside_the_allowed_models_is_not_kept() -> None:
    with MockGateway() as gw:
        session = {"cf-aig-session-id": "s"}
        ask(gw, headers=session)
        narrowed = ask(gw, headers={**session, "cf-aig-allowed-models": "openai/*"})
    assert routed(narrowed) == ("openai/gpt-5.6-luna", "cost_optimal_within_pool")


def test_scripted_routes_match_requests_and_skip_disallowed_models() -> None:
    with MockGateway() as gw:
        gw.auto_route(
            "anthropic/claude-opus-5", reason="fallback_router_timeout", metadata={"plan": "pro"}
        )
        gw.auto_route("openai/gpt-5.6-terra", prompt="cheap")
        pro = ask(gw, headers={"cf-aig-metadata": '{"plan": "pro"}'})
        cheap = ask(gw, "cheap please")
        narrowed = ask(gw, "cheap", headers={"cf-aig-allowed-providers": "xai"})
        other = ask(gw, "anything")
    assert routed(pro) == ("anthropic/claude-opus-5", "fallback_router_timeout")
    assert routed(cheap) == ("openai/gpt-5.6-terra", "cost_optimal_within_pool")
    assert routed(narrowed) == ("xai/grok-4.5", "forced_by_candidate_pool")
    assert routed(other)[0] == "anthropic/claude-fable-5"


def test_scripted_replies_see_the_routed_model() -> None:
    with MockGateway() as gw:
        gw.auto_route("openai/gpt-5.6-luna")
        gw.respond("from luna", model="openai/gpt-5.6-luna")
        reply = ask(gw)
    assert reply.json()["choices"][0]["message"]["content"] == "from luna"
    assert reply.json()["model"] == "gpt-5.6-luna"


def test_reset_forgets_routes_and_pins() -> None:
    with MockGateway() as gw:
        gw.auto_route("openai/gpt-5.6-luna")
        ask(gw, headers={"cf-aig-session-id": "s"})
        gw.reset()
        reply = ask(gw, headers={"cf-aig-session-id": "s"})
    assert routed(reply) == ("anthropic/claude-fable-5", "cost_optimal_within_pool")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"model": "gpt-5"},
            "model= must be the routed model as 'provider/model', such as 'openai/gpt-5.6-luna',"
            " got 'gpt-5'",
        ),
        (
            {"model": AUTO},
            "model= must be the routed model as 'provider/model', such as 'openai/gpt-5.6-luna',"
            " got 'cloudflare/auto'",
        ),
        (
            {"model": "openai/gpt-5.6-luna", "reason": "cheapest"},
            "reason= must be " + " or ".join(map(repr, REASONS)) + ", got 'cheapest'",
        ),
        (
            {"model": "openai/gpt-5.6-luna", "prompt": 3},
            "prompt= must be a string or a compiled regex (re.compile(...)), got 3",
        ),
    ],
)
def test_bad_arguments_are_refused_at_the_call(args: dict[str, Any], message: str) -> None:
    with MockGateway() as gw, pytest.raises(ConfigError) as refused:
        gw.auto_route(**args)
    assert str(refused.value) == message


def test_the_openai_sdk_reads_the_routing_headers() -> None:
    with MockGateway() as gw:
        gw.auto_route("openai/gpt-5.6-sol", reason="cost_optimal_within_pool")
        client = OpenAI(base_url=gw.url("compat"), api_key="sk-test", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model=AUTO,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"cf-aig-session-id": "chat-7"},
        )
        completion = raw.parse()
        responses = client.responses.with_raw_response.create(model=AUTO, input="hi")
    assert raw.headers["cf-aig-routed-model"] == "openai/gpt-5.6-sol"
    assert raw.headers["cf-aig-routing-reason"] == "cost_optimal_within_pool"
    assert is_uuid7(raw.headers["cf-aig-routing-decision-id"])
    assert completion.choices[0].message.content
    assert responses.headers["cf-aig-routed-model"] == "openai/gpt-5.6-sol"
    assert responses.parse().output_text


def test_the_openai_sdk_sees_the_400_for_a_pattern_that_matches_nothing() -> None:
    with MockGateway() as gw:
        client = OpenAI(base_url=gw.url("compat"), api_key="sk-test", max_retries=0)
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(
                model=AUTO,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"cf-aig-allowed-models": "google/*"},
            )
    assert refused.value.status_code == 400
    assert refused.value.body == [
        {
            "code": 7003,
            "message": "Auto Router: no model is allowed: cf-aig-allowed-models entry"
            " 'google/*' matches no model",
        }
    ]


def test_a_users_suite_scripts_the_router(pytester: pytest.Pytester) -> None:
    source = """
        from openai import OpenAI

        def test_routed(aigw):
            aigw.auto_route("openai/gpt-5.6-terra", prompt="summarise")
            client = OpenAI(base_url=aigw.url("compat"), api_key="sk-test")
            raw = client.chat.completions.with_raw_response.create(
                model="cloudflare/auto",
                messages=[{"role": "user", "content": "summarise this"}],
                extra_headers={"cf-aig-session-id": "s", "cf-aig-turn-id": "t"},
            )
            assert raw.headers["cf-aig-routed-model"] == "openai/gpt-5.6-terra"
            routing = aigw.calls.last.routing
            assert (routing.model, routing.session_id, routing.turn_id) == (
                "openai/gpt-5.6-terra", "s", "t"
            )

        def test_bad_route(aigw):
            aigw.auto_route("terra")
    """
    result = run(pytester, source)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError: model= must be the routed model as 'provider/model', such as"
            " 'openai/gpt-5.6-luna', got 'terra'"
        ]
    )


def test_auto_route_on_the_live_gateway_says_how_to_read_the_pick() -> None:
    gateway = LiveGateway.__new__(LiveGateway)  # no credentials needed to be refused
    with pytest.raises(LiveModeError) as refused:
        gateway.auto_route("openai/gpt-5.6-luna")
    assert str(refused.value) == (
        "aigw.auto_route works on the fake gateway only, and this test runs against the real"
        " one (it is marked aigw_live and the run is --aigw-mode=live). Guard mock-only"
        " setup with `if aigw.mode == 'mock':`, or keep it in a test not marked aigw_live."
        " The real Auto Router picks the model itself: read it from the answer's"
        " cf-aig-routed-model header, or narrow its choice with the cf-aig-allowed-models"
        " request header."
    )


def test_the_rest_api_takes_cloudflare_auto_as_any_author_model() -> None:
    with MockGateway() as gw:
        body = {"model": AUTO, "messages": [{"role": "user", "content": "hi"}]}
        url = gw.rest_url + "/v1/chat/completions"
        reply = httpx.post(url, json=body, headers={"authorization": "Bearer cf"})
    assert reply.status_code == 200
    assert "cf-aig-routed-model" not in reply.headers
    assert (gw.calls.last.provider, gw.calls.last.routing) == ("cloudflare", None)


@pytest.mark.parametrize(
    ("entry", "name", "matches"),
    [
        ("anthropic/*", "anthropic/claude-opus-5", True),
        ("*/claude-*-5", "anthropic/claude-opus-5", True),
        ("*", "anthropic/claude-opus-5", False),
        ("anthropic*", "anthropic/claude-opus-5", False),
        ("openai/gpt-5.6-*a", "openai/gpt-5.6-luna", True),
        ("openai/gpt-5.6-*a", "openai/gpt-5.6-sol", False),
        ("openai/*l*a*", "openai/gpt-5.6-luna", True),
        ("openai/gpt-5.6-luna*", "openai/gpt-5.6-luna", True),
        ("openai/gpt?5.6-luna", "openai/gpt-5.6-luna", False),  # only * is a wildcard
        ("openai/gpt-5.6-lun", "openai/gpt-5.6-luna", False),
    ],
)
def test_allow_list_wildcards(entry: str, name: str, matches: bool) -> None:
    assert _matches(entry, name) is matches


def test_a_hostile_wildcard_does_not_hang_the_fake() -> None:
    entry = "*a" * 5_000 + "/*"
    with MockGateway() as gw:
        reply = ask(gw, headers={"cf-aig-allowed-models": entry})
    assert reply.status_code == 400


def test_pins_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auto_router, "MAX_PINS", 1)
    with MockGateway() as gw:
        gw.auto_route("xai/grok-4.5", prompt="first")
        ask(gw, "first", {"cf-aig-session-id": "kept"})
        ask(gw, "first", {"cf-aig-session-id": "not kept"})
        kept = ask(gw, "second", {"cf-aig-session-id": "kept", "cf-aig-turn-id": "user-message-1"})
        dropped = ask(
            gw, "x", {"cf-aig-session-id": "not kept", "cf-aig-turn-id": "user-message-1"}
        )
    assert routed(kept) == ("xai/grok-4.5", "pinned_by_turn")
    assert routed(dropped) == ("anthropic/claude-fable-5", "cost_optimal_within_pool")
