"""Credentials and billing: provider keys, keys stored on the gateway (BYOK), Unified Billing."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

import anthropic
import httpx
import openai
import pytest

from pytest_aigw import ConfigError, LogsApiError, MockGateway
from pytest_aigw.client import log_filter

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = [{"role": "user", "content": "hi"}]
TOKEN = {"cf-aig-authorization": "Bearer cf-token"}
KEY = {"authorization": "Bearer sk-test"}
GEMINI = "/v1beta/models/gemini-2.5-flash:generateContent"
GEMINI_BODY = {"contents": [{"parts": [{"text": "hi"}]}]}
WORKERS = "/@cf/meta/llama-3.1-8b-instruct"


def chat(gw: MockGateway, headers: dict[str, str], provider: str = "openai") -> httpx.Response:
    return httpx.post(gw.url(provider) + "/chat/completions", json=CHAT, headers=headers)


def gateway_code(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["internalCode"]


def log_of(gw: MockGateway) -> dict[str, Any]:
    return dict(gw.logs.get(gw.log_ids[-1]).raw)


# --- the default: provider keys are checked ------------------------------------------------


def test_by_default_a_request_needs_its_provider_key_and_logs_say_nobody_else_paid() -> None:
    with MockGateway() as gw:
        assert gw.credentials == "provider"
        refused = chat(gw, {})
        assert chat(gw, KEY).status_code == 200
        log = log_of(gw)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == (
        "You didn't provide an API key. You need to provide your API key in an Authorization"
        " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). [pytest-aigw: the"
        " request to openai carried no provider key (authorization header): the gateway holds"
        " no stored key (credentials='provider', the default), so it forwarded the request"
        " without one. Fix: give the client the provider's API key as in production (any"
        " value will do in tests, e.g. api_key='sk-test'), or, if the app relies on a key"
        " stored on the gateway or on Unified Billing, mark the test"
        " @pytest.mark.aigw(credentials='byok') or credentials='unified' (then send"
        " cf-aig-authorization).]"
    )
    assert (log["wholesale"], log["byok"], log["authentication"]) == (False, False, False)


def test_credentials_none_checks_no_keys() -> None:
    with MockGateway(credentials=None) as gw:
        assert gw.credentials is None
        assert chat(gw, {}).status_code == 200
        log = log_of(gw)
    assert (log["wholesale"], log["byok"]) == (False, False)


def test_the_fixture_checks_keys_unless_marked_credentials_none(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx
            import pytest

            def post(aigw):
                return httpx.post(aigw.url("openai") + "/chat/completions", json={})

            def test_default(aigw):
                assert aigw.credentials == "provider"
                assert post(aigw).status_code == 401

            @pytest.mark.aigw(credentials=None)
            def test_opted_out(aigw):
                assert aigw.credentials is None
                assert post(aigw).status_code == 200
            """
        )
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


# --- credentials="provider": the app's own keys ---------------------------------------------


def test_provider_mode_the_openai_sdk_with_a_key_is_answered() -> None:
    with MockGateway(credentials="provider") as gw:
        client = openai.OpenAI(base_url=gw.url("openai"), api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        assert reply.choices[0].message.content
        log = log_of(gw)
    assert (log["wholesale"], log["byok"]) == (False, False)
    assert log["user_agent"].startswith("OpenAI/Python")


def test_provider_mode_the_openai_sdk_without_a_key_gets_openais_401() -> None:
    with MockGateway(credentials="provider") as gw:
        # openai 3.x refuses an empty api_key itself; a blank one is what an unset
        # environment variable often gives.
        client = openai.OpenAI(base_url=gw.url("openai"), api_key=" ", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as refused:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        assert gw.calls.last.status_code == 401
        assert log_of(gw)["success"] is False  # the provider's refusal is logged
    body: Any = refused.value.body
    assert body["type"] == "invalid_request_error"
    assert body["message"].startswith("You didn't provide an API key.")
    assert "no provider key (authorization header)" in body["message"]
    assert "@pytest.mark.aigw(credentials='byok')" in body["message"]


def test_provider_mode_the_anthropic_sdk_with_and_without_a_key() -> None:
    with MockGateway(credentials="provider") as gw:
        keyed = anthropic.Anthropic(base_url=gw.url("anthropic"), api_key="k", max_retries=0)
        assert keyed.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=MESSAGES,  # type: ignore[arg-type]
        ).content
        keyless = anthropic.Anthropic(base_url=gw.url("anthropic"), api_key="", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as refused:
            keyless.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
    body: Any = refused.value.body
    assert body["error"]["type"] == "authentication_error"
    assert body["error"]["message"].startswith(
        "x-api-key header is required [pytest-aigw: the request to anthropic carried no"
        " provider key (x-api-key header or authorization header)"
    )


@pytest.mark.parametrize(
    ("keyed", "status"),
    [
        ({"headers": {"x-goog-api-key": "g"}}, 200),
        ({"params": {"key": "g"}}, 200),
        ({}, 403),
        ({"headers": {"authorization": "Bearer g"}}, 403),  # AI Studio reads no Authorization
    ],
)
def test_provider_mode_google_ai_studio_takes_its_header_or_the_key_parameter(
    keyed: dict[str, Any], status: int
) -> None:
    with MockGateway(credentials="provider") as gw:
        url = gw.url("google-ai-studio") + GEMINI
        response = httpx.post(url, json=GEMINI_BODY, **keyed)
    assert response.status_code == status
    if status == 403:
        error = response.json()["error"]
        assert (error["code"], error["status"]) == (403, "PERMISSION_DENIED")
        assert "(x-goog-api-key header or ?key=)" in error["message"]


@pytest.mark.parametrize(
    ("provider", "path", "headers", "status"),
    [
        ("azure-openai", "/res/dep/chat/completions?api-version=1", {"api-key": "a"}, 200),
        ("azure-openai", "/res/dep/chat/completions?api-version=1", {}, 401),
        ("workers-ai", WORKERS, {"authorization": "Bearer cf"}, 200),
        ("workers-ai", WORKERS, {}, 401),
        ("groq", "/chat/completions", {"authorization": "Bearer "}, 401),  # an empty key
        ("custom-mine", "/v1/chat", {}, 200),  # a custom provider's key is its own business
    ],
)
def test_provider_mode_reads_each_providers_own_key_header(
    provider: str, path: str, headers: dict[str, str], status: int
) -> None:
    with MockGateway(credentials="provider") as gw:
        response = httpx.post(gw.url(provider) + path, json=CHAT, headers=headers)
    assert response.status_code == status


def test_provider_mode_compat_reads_every_providers_key_from_authorization() -> None:
    body = {**CHAT, "model": "anthropic/claude-haiku-4-5"}
    with MockGateway(credentials="provider") as gw:
        url = gw.url("compat") + "/chat/completions"
        assert httpx.post(url, json=body, headers=KEY).status_code == 200
        refused = httpx.post(url, json=body, headers={"x-api-key": "k"})
    assert refused.status_code == 401
    assert refused.json()["error"]["message"].startswith("Missing API key: send it in the")


def test_provider_mode_a_universal_step_without_a_key_falls_back_to_one_with_it() -> None:
    steps = [
        {"provider": "openai", "endpoint": "chat/completions", "query": CHAT},
        {"provider": "openai", "endpoint": "chat/completions", "query": CHAT, "headers": KEY},
    ]
    with MockGateway(credentials="provider") as gw:
        response = httpx.post(gw.gateway_url, json=steps)
    assert response.status_code == 200
    assert response.headers["cf-aig-step"] == "1"


def test_provider_mode_a_cache_hit_needs_no_key_but_gateway_refusals_come_first() -> None:
    cached = {"cf-aig-cache-ttl": "60"}
    with MockGateway(credentials="provider") as gw:
        assert chat(gw, {**KEY, **cached}).status_code == 200
        hit = chat(gw, cached)  # the provider is never asked
        refused = chat(gw, {**cached, "cf-aig-no-wholesale": "true"})
    assert (hit.status_code, hit.headers["cf-aig-cache-status"]) == (200, "HIT")
    assert gateway_code(refused) == (400, 2042)


# --- credentials="byok": keys stored on the gateway -----------------------------------------


def test_byok_the_openai_sdk_needs_no_key_but_the_gateway_token() -> None:
    with MockGateway(credentials="byok") as gw:
        # The openai SDK insists on some api_key: the gateway token there is no provider key.
        client = openai.OpenAI(
            base_url=gw.url("openai"), api_key="cf-token", default_headers=TOKEN, max_retries=0
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        log = log_of(gw)
        anonymous = openai.OpenAI(base_url=gw.url("openai"), api_key=" ", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as refused:
            anonymous.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        assert gw.calls.last.log_id is None  # as any unauthenticated request: not logged
    assert (log["byok"], log["wholesale"], log["authentication"]) == (True, False, True)
    assert refused.value.response.json()["internalCode"] == 2009


def test_byok_a_key_in_the_request_wins_over_the_stored_one() -> None:
    with MockGateway(credentials="byok") as gw:
        assert chat(gw, KEY).status_code == 200  # no cf-aig-authorization needed either
        assert log_of(gw)["byok"] is False


def test_byok_the_alias_header_picks_a_stored_key_and_an_unknown_one_is_refused() -> None:
    with MockGateway(credentials="byok", byok_aliases=["default", "team-a"]) as gw:
        assert chat(gw, {**TOKEN, "cf-aig-byok-alias": "team-a"}).status_code == 200
        assert log_of(gw)["byok"] is True
        refused = chat(gw, {**TOKEN, "cf-aig-byok-alias": "team-b"})
        assert log_of(gw)["status_code"] == 400  # refused, and logged
    assert gateway_code(refused) == (400, 2040)
    assert refused.json()["message"] == (
        "Unknown BYOK alias: 'team-b' (stored aliases: 'default', 'team-a')"
    )


def test_byok_without_a_default_alias_a_request_naming_none_reaches_the_provider_keyless() -> None:
    with MockGateway(credentials="byok", byok_aliases=["team-a"]) as gw:
        refused = chat(gw, TOKEN)
    assert refused.status_code == 401
    assert (
        "no key is stored under the alias 'default' (stored: 'team-a')"
        in refused.json()["error"]["message"]
    )


def test_an_alias_names_no_stored_key_outside_byok_mode() -> None:
    with MockGateway(credentials="unified") as gw:
        refused = chat(gw, {**TOKEN, "cf-aig-byok-alias": "default"})
    assert gateway_code(refused) == (400, 2040)
    assert "stored aliases: none (set credentials='byok')" in refused.json()["message"]


# --- credentials="unified": Unified Billing --------------------------------------------------


def test_unified_billing_pays_for_keyless_requests_and_logs_wholesale() -> None:
    with MockGateway(credentials="unified") as gw:
        client = anthropic.Anthropic(
            base_url=gw.url("anthropic"), api_key="", default_headers=TOKEN, max_retries=0
        )
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)  # type: ignore[arg-type]
        paid = log_of(gw)
        assert chat(gw, KEY).status_code == 200
        own_key = log_of(gw)
        assert gateway_code(chat(gw, {})) == (401, 2009)
    assert (paid["wholesale"], paid["byok"]) == (True, False)
    assert own_key["wholesale"] is False


def test_unified_compat_bills_the_provider_in_the_model_name() -> None:
    body = {**CHAT, "model": "anthropic/claude-haiku-4-5"}
    with MockGateway(credentials="unified") as gw:
        httpx.post(gw.url("compat") + "/chat/completions", json=body, headers=TOKEN)
        log = log_of(gw)
    assert (log["provider"], log["wholesale"]) == ("anthropic", True)


# --- cf-aig-no-wholesale: true ---------------------------------------------------------------


@pytest.mark.parametrize("credentials", ["provider", "unified"])
def test_no_wholesale_refuses_a_request_no_key_pays_for(credentials: str) -> None:
    with MockGateway(credentials=credentials) as gw:  # type: ignore[arg-type]
        refused = chat(gw, {**TOKEN, "cf-aig-no-wholesale": "true"})
        assert log_of(gw)["status_code"] == 400
    assert gateway_code(refused) == (400, 2042)
    assert refused.json()["message"] == (
        "Provider credentials required: cf-aig-no-wholesale: true forbids Unified Billing,"
        " and the request to openai carries no provider key (authorization header) and no"
        " stored key applies"
    )


@pytest.mark.parametrize(
    ("credentials", "headers", "paid_by"),
    [
        ("unified", {**KEY, "cf-aig-no-wholesale": "true"}, "key"),
        ("byok", {**TOKEN, "cf-aig-no-wholesale": "true"}, "byok"),
        ("unified", {**TOKEN, "cf-aig-no-wholesale": "false"}, "wholesale"),
    ],
)
def test_no_wholesale_passes_a_provider_key_or_a_stored_one(
    credentials: str, headers: dict[str, str], paid_by: str
) -> None:
    with MockGateway(credentials=credentials) as gw:  # type: ignore[arg-type]
        assert chat(gw, headers).status_code == 200
        log = log_of(gw)
    assert (log["byok"], log["wholesale"]) == (paid_by == "byok", paid_by == "wholesale")


def test_workers_ai_is_exempt_from_no_wholesale_and_never_billed_wholesale() -> None:
    with MockGateway(credentials="unified") as gw:
        url = gw.url("workers-ai") + WORKERS
        response = httpx.post(url, json=CHAT, headers={**TOKEN, "cf-aig-no-wholesale": "true"})
        assert response.status_code == 200
        assert log_of(gw)["wholesale"] is False


def test_universal_steps_carry_their_own_no_wholesale_and_keys() -> None:
    steps = [
        {"provider": "openai", "endpoint": "chat/completions", "query": CHAT,
         "headers": {"cf-aig-no-wholesale": "true"}},
        {"provider": "anthropic", "endpoint": "v1/messages",
         "query": {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": MESSAGES}},
    ]  # fmt: skip
    with MockGateway(credentials="unified") as gw:
        response = httpx.post(gw.gateway_url, json=steps, headers=TOKEN)
        log = log_of(gw)
    assert response.headers["cf-aig-step"] == "1"
    assert (log["provider"], log["wholesale"]) == ("anthropic", True)


# --- logs: fields and filters ----------------------------------------------------------------


def test_log_fields_are_filterable_through_the_logs_api() -> None:
    with MockGateway(credentials="unified") as gw:
        chat(gw, {**TOKEN, "user-agent": "billing-app/1.0"})
        chat(gw, {**KEY, "user-agent": "keyed-app/2.0"})
        logs = gw.logs

        def ids(*filters: Any) -> list[str]:
            return [log.id for log in logs.list(filters=list(filters)).logs]

        billed, keyed = gw.log_ids
        assert ids(log_filter("wholesale", "eq", True)) == [billed]
        assert ids(log_filter("authentication", "eq", False)) == [keyed]
        assert ids(log_filter("user_agent", "contains", "keyed-app")) == [keyed]
        assert ids(log_filter("user_agent", "eq", "billing-app/1.0")) == [billed]
        with pytest.raises(LogsApiError) as unknown:
            ids(log_filter("byok", "eq", True))  # a log field, not a filter key
        assert unknown.value.code == 7001
        logs.delete(filters=[log_filter("wholesale", "eq", False)])
        assert [log.id for log in logs.list().logs] == [billed]


def test_seeded_logs_carry_the_fields_and_bad_ones_are_refused() -> None:
    seeded: dict[str, Any] = {
        "id": "019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e07",
        "created_at": "2026-11-01T09:00:00.000Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "wholesale": True,
        "byok": False,
        "authentication": True,
        "user_agent": "old-app/0.1",
    }
    with MockGateway() as gw:
        gw.seed_logs([seeded])
        log = gw.logs.get(seeded["id"]).raw
        assert {k: log[k] for k in ("wholesale", "byok", "authentication", "user_agent")} == {
            "wholesale": True,
            "byok": False,
            "authentication": True,
            "user_agent": "old-app/0.1",
        }
        listed = gw.logs.list(filters=[log_filter("wholesale", "eq", True)]).logs
        assert [entry.id for entry in listed] == [seeded["id"]]
        with pytest.raises(ConfigError, match="field 'wholesale' must be true or false, got 'y'"):
            gw.seed_logs([{**seeded, "wholesale": "y"}])


# --- settings --------------------------------------------------------------------------------


def test_settings_are_attributes_a_test_can_change() -> None:
    with MockGateway() as gw:
        gw.credentials = "byok"
        gw.byok_aliases = ["team-a"]
        assert gateway_code(chat(gw, {**TOKEN, "cf-aig-byok-alias": "default"})) == (400, 2040)
        assert (gw.credentials, gw.byok_aliases) == ("byok", ("team-a",))
        gw.credentials = None
        assert chat(gw, {}).status_code == 200
        gw.credentials = "provider"
        assert chat(gw, {}).status_code == 401


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"credentials": "stored"},
            "credentials must be 'provider' (the app sends provider keys), 'byok' (keys stored"
            " on the gateway), 'unified' (Unified Billing) or None (keys not checked),"
            " got 'stored'",
        ),
        (
            {"byok_aliases": "default"},
            "byok_aliases must be a list of alias names such as ['default', 'team-a'],"
            " got 'default'",
        ),
        ({"byok_aliases": ["ok", ""]}, "byok_aliases must be a list of alias names"),
        ({"byok_aliases": ["ok", " "]}, "byok_aliases must be a list of alias names"),
    ],
)
def test_bad_settings_are_refused_with_the_choices(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        MockGateway(**kwargs)
    gw = MockGateway()
    name, value = next(iter(kwargs.items()))
    with pytest.raises(ConfigError, match=re.escape(message)):  # the setter checks alike
        setattr(gw, name, value)


def test_the_marker_sets_credentials_and_aliases(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx
            import pytest

            pytestmark = pytest.mark.aigw(credentials="byok", byok_aliases=["team-a"])
            TOKEN = {"cf-aig-authorization": "Bearer t"}

            def post(aigw, **headers):
                url = aigw.url("openai") + "/chat/completions"
                return httpx.post(url, json={}, headers={**TOKEN, **headers})

            def test_stored_alias(aigw):
                assert (aigw.credentials, aigw.byok_aliases) == ("byok", ("team-a",))
                assert post(aigw, **{"cf-aig-byok-alias": "team-a"}).status_code == 200
                assert aigw.logs.get(aigw.log_ids[0]).raw["byok"] is True

            def test_unknown_alias(aigw):
                response = post(aigw, **{"cf-aig-byok-alias": "default"})
                assert response.json()["internalCode"] == 2040

            @pytest.mark.aigw(credentials="unified")
            def test_closest_marker_wins(aigw):
                assert post(aigw).status_code == 200
                assert aigw.logs.get(aigw.log_ids[0]).raw["wholesale"] is True

            @pytest.mark.aigw(credentials="own")
            def test_bad_value(aigw):
                pass
            """
        )
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*credentials must be 'provider' *got 'own'*"])


def test_the_provider_error_body_keeps_the_providers_shape() -> None:
    with MockGateway(credentials="provider") as gw:
        body = chat(gw, {}).json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    json.dumps(body)
