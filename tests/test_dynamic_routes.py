"""Dynamic routes: walking a route, its limits and fallbacks, and where `dynamic/` works."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from pytest_aigw import ConfigError, MockGateway

KEYS = {"authorization": "Bearer sk-test"}
MESSAGES = [{"role": "user", "content": "hello"}]


def to(element_id: str) -> dict[str, str]:
    return {"elementId": element_id}


def model(element_id: str, provider: str, name: str, **more: Any) -> dict[str, Any]:
    outputs = {"success": to("end")}
    if "fallback" in more:
        outputs["fallback"] = to(more.pop("fallback"))
    return {
        "id": element_id,
        "type": "model",
        "properties": {"provider": provider, "model": name, **more},
        "outputs": outputs,
    }


START = {"id": "start", "type": "start", "outputs": {"next": to("pick")}}
END = {"id": "end", "type": "end"}
CHEAP = model("cheap", "openai", "gpt-4o-mini")
SONNET = model("sonnet", "anthropic", "claude-sonnet-4-5")


def route(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"id": "r1", "name": "support", "elements": [START, *elements, END]}


SUPPORT = route(
    {
        "id": "pick",
        "type": "conditional",
        "properties": {"condition": {"metadata.plan": {"$eq": "free"}}},
        "outputs": {"true": to("free"), "false": to("sonnet")},
    },
    model("free", "openai", "gpt-4o-mini", timeout=1000, retries=1, fallback="sonnet"),
    SONNET,
)


def chat(
    gw: MockGateway,
    name: str = "support",
    metadata: dict[str, Any] | None = None,
    where: str = "compat",
) -> httpx.Response:
    headers = dict(KEYS)
    if metadata is not None:
        headers["cf-aig-metadata"] = json.dumps(metadata)
    body = {"model": f"dynamic/{name}", "messages": MESSAGES}
    if where == "rest":
        url = gw.rest_url + "/v1/chat/completions"
    else:
        url = gw.url("compat") + "/chat/completions"
    return httpx.post(url, json=body, headers=headers)


@pytest.fixture
def gw() -> Iterator[MockGateway]:
    with MockGateway(credentials=None) as gateway:
        yield gateway


def test_a_condition_on_metadata_picks_the_branch(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    free = chat(gw, metadata={"plan": "free"})
    assert free.status_code == 200
    assert (free.headers["cf-aig-model"], free.headers["cf-aig-provider"]) == (
        "gpt-4o-mini",
        "openai",
    )
    assert gw.calls.last.route == ("start", "pick", "free", "end")
    paid = chat(gw, metadata={"plan": "pro"})
    assert paid.headers["cf-aig-model"] == "claude-sonnet-4-5"
    assert gw.calls.last.route == ("start", "pick", "sonnet", "end")
    assert (gw.calls.last.provider, gw.calls.last.model) == ("anthropic", "claude-sonnet-4-5")
    assert paid.json()["choices"][0]["message"]["content"]  # OpenAI's shape, whoever answers


def test_a_scripted_failure_makes_the_route_fall_back(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    gw.fail(500, body={"model": "gpt-4o-mini"}, times=2)  # the first try and its one retry
    gw.respond("from sonnet", model="claude-sonnet-4-5")
    answer = chat(gw, metadata={"plan": "free"})
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "from sonnet"
    assert answer.headers["cf-aig-model"] == "claude-sonnet-4-5"
    assert gw.calls.last.route == ("start", "pick", "free", "sonnet", "end")
    assert len(gw.calls) == 1  # one request, one call


def test_a_retry_that_passes_stays_on_the_model(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    gw.fail(503, model="gpt-4o-mini")
    gw.respond("second try", model="gpt-4o-mini")
    answer = chat(gw, metadata={"plan": "free"})
    assert answer.json()["choices"][0]["message"]["content"] == "second try"
    assert gw.calls.last.route == ("start", "pick", "free", "end")
    assert gw.calls.last.attempts == 2


def test_a_model_slower_than_its_timeout_falls_back(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    gw.respond("slow", model="gpt-4o-mini", latency=2.0, times=2)
    gw.respond("fast", model="claude-sonnet-4-5")
    answer = chat(gw, metadata={"plan": "free"})
    assert answer.json()["choices"][0]["message"]["content"] == "fast"
    assert gw.calls.last.route == ("start", "pick", "free", "sonnet", "end")


def test_a_route_whose_models_all_fail_answers_2005(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    gw.fail(500, times=None)
    answer = chat(gw, metadata={"plan": "pro"})
    assert answer.status_code == 400
    assert answer.json()["error"] == [
        {"code": 2005, "message": "Failed to get response from provider"}
    ]
    assert "cf-aig-model" not in answer.headers
    assert gw.calls.last.route == ("start", "pick", "sonnet")
    assert gw.calls.last.log_id is not None  # logged, as the gateway logs refusals


@pytest.mark.parametrize("where", ["compat", "rest"])
def test_an_unknown_route_is_404(gw: MockGateway, where: str) -> None:
    answer = chat(gw, "nope", where=where)
    assert answer.status_code == 404
    assert answer.json()["error"][0]["code"] == 7003
    assert "no route 'nope' on gateway" in answer.json()["error"][0]["message"]


def test_the_rest_api_walks_the_route_and_names_models_whole(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    answer = chat(gw, metadata={"plan": "free"}, where="rest")
    assert answer.status_code == 200
    assert answer.headers["cf-aig-model"] == "gpt-4o-mini"
    assert (gw.calls.last.endpoint, gw.calls.last.model) == ("rest", "openai/gpt-4o-mini")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("v1/messages", {"model": "dynamic/support", "max_tokens": 5, "messages": MESSAGES}),
        ("v1/responses", {"model": "dynamic/support", "input": "hi"}),
        ("run", {"model": "dynamic/support", "input": {"messages": MESSAGES}}),
    ],
)
def test_other_formats_are_refused_with_400(
    gw: MockGateway, path: str, body: dict[str, Any]
) -> None:
    gw.route("support", SUPPORT)
    answer = httpx.post(f"{gw.rest_url}/{path}", json=body, headers=KEYS)
    assert answer.status_code == 400
    assert "dynamic routes take the OpenAI chat-completions format" in answer.text
    assert not gw.calls.last.route


def test_a_universal_compat_step_walks_the_route(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    gw.fail(500, times=None, model="claude-sonnet-4-5")
    gw.respond("from the next step", model="gpt-4.1")
    steps = [
        {
            "provider": "compat",
            "endpoint": "chat/completions",
            "headers": {"cf-aig-metadata": '{"plan": "pro"}', **KEYS},
            "query": {"model": "dynamic/support", "messages": MESSAGES},
        },
        {"provider": "openai", "endpoint": "chat/completions", "headers": KEYS,
         "query": {"model": "gpt-4.1", "messages": MESSAGES}},
    ]  # fmt: skip
    answer = httpx.post(gw.gateway_url, json=steps)
    assert answer.status_code == 200
    assert answer.headers["cf-aig-step"] == "1"  # the route failed: the next step answered
    first = httpx.post(gw.gateway_url, json=[{**steps[0], "headers": KEYS}])
    assert first.status_code == 400  # no metadata: "pro" is not "free" -> sonnet fails too
    assert gw.calls.last.route == ("start", "pick", "sonnet")


PERCENT = route(
    {
        "id": "pick",
        "type": "percentage",
        "outputs": {"10%": to("a"), "30%": to("b"), "else": to("c")},
    },
    model("a", "openai", "model-a"),
    model("b", "openai", "model-b"),
    model("c", "openai", "model-c"),
)


def test_a_percentage_split_lands_within_its_shares_for_a_fixed_seed(gw: MockGateway) -> None:
    client = OpenAI(base_url=gw.url("compat"), api_key="sk-test", max_retries=0)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]

    def routes(count: int) -> list[tuple[str, ...] | None]:
        for _ in range(count):
            client.chat.completions.create(model="dynamic/support", messages=messages)
        return [call.route for call in gw.calls[-count:]]

    gw.route("support", PERCENT, seed=7)
    counts = Counter(route and route[2] for route in routes(1000))
    assert 70 <= counts["a"] <= 130
    assert 260 <= counts["b"] <= 340
    assert 550 <= counts["c"] <= 650
    first = [call.route for call in gw.calls[:50]]
    gw.reset()
    gw.route("support", PERCENT, seed=7)
    assert routes(50) == first  # the same seed, the same draws
    gw.reset()
    gw.route("support", PERCENT, seed=8)
    assert routes(50) != first
    client.close()


def limited(technique: str, kind: str = "count", limit: float = 2, **more: Any) -> dict[str, Any]:
    outputs = {"success": to("cheap"), **({"fallback": to("sonnet")} if more else {})}
    return route(
        {
            "id": "pick",
            "type": "rate_limit",
            "properties": {
                "limitType": kind, "key": "metadata.user", "limit": limit, "interval": 60,
                "technique": technique,
            },
            "outputs": outputs,
        },
        CHEAP,
        SONNET,
    )  # fmt: skip


def models(gw: MockGateway, user: str, count: int) -> list[str | None]:
    return [chat(gw, metadata={"user": user}).headers.get("cf-aig-model") for _ in range(count)]


def test_a_fixed_count_limit_falls_back_per_key_until_the_window_turns(gw: MockGateway) -> None:
    gw.route("support", limited("fixed", fallback=True))
    gw.clock.advance(-gw.clock.now() % 60)  # at a window's start
    assert models(gw, "u1", 3) == ["gpt-4o-mini", "gpt-4o-mini", "claude-sonnet-4-5"]
    assert models(gw, "u2", 1) == ["gpt-4o-mini"]  # each key its own budget
    gw.clock.advance(60)
    assert models(gw, "u1", 1) == ["gpt-4o-mini"]


def test_a_sliding_limit_counts_the_last_interval(gw: MockGateway) -> None:
    gw.route("support", limited("sliding", fallback=True))
    assert models(gw, "u1", 1) == ["gpt-4o-mini"]
    gw.clock.advance(30)
    assert models(gw, "u1", 2) == ["gpt-4o-mini", "claude-sonnet-4-5"]
    gw.clock.advance(31)  # the first request left the window, the second not
    assert models(gw, "u1", 2) == ["gpt-4o-mini", "claude-sonnet-4-5"]


def test_a_limit_without_fallback_ends_the_route_with_429(gw: MockGateway) -> None:
    gw.route("support", limited("fixed", limit=1))
    gw.clock.advance(-gw.clock.now() % 60)
    assert chat(gw, metadata={"user": "u"}).status_code == 200
    refused = chat(gw, metadata={"user": "u"})
    assert refused.status_code == 429
    assert refused.json()["error"] == [{"code": 2003, "message": "Rate limited"}]
    assert gw.calls.last.route == ("start", "pick")


def test_a_cost_limit_counts_the_answers_cost(gw: MockGateway) -> None:
    gw.route("support", limited("fixed", kind="cost", limit=1e-6, fallback=True))
    gw.clock.advance(-gw.clock.now() % 60)
    gw.respond("big", model="gpt-4o-mini", usage={"input": 10, "output": 10})
    gw.respond("fallback", model="claude-sonnet-4-5")
    assert models(gw, "u", 2) == ["gpt-4o-mini", "claude-sonnet-4-5"]  # 7.5e-6 spent


def test_the_api_references_spelling_is_read_too(gw: MockGateway) -> None:
    config = route(
        {
            "id": "pick",
            "type": "conditional",
            "properties": {"conditions": {"metadata.tier": {"$in": ["a", "b"]}}},
            "outputs": {"true": to("limit"), "false": to("sonnet")},
        },
        {
            "id": "limit",
            "type": "rate",
            "properties": {"key": "metadata.tier", "limit": 1, "limitType": "count", "window": 60},
            "outputs": {"success": to("cheap"), "fallback": to("sonnet")},
        },
        CHEAP,
        SONNET,
    )
    gw.route("support", config)
    gw.clock.advance(-gw.clock.now() % 60)
    assert [chat(gw, metadata={"tier": "a"}).headers["cf-aig-model"] for _ in range(2)] == [
        "gpt-4o-mini",
        "claude-sonnet-4-5",
    ]
    assert gw.calls.last.route == ("start", "pick", "limit", "sonnet", "end")


@pytest.mark.parametrize(
    ("condition", "metadata", "taken"),
    [
        ({"metadata.n": {"$gt": 3}}, {"n": 4}, True),
        ({"metadata.n": {"$lte": 3}}, {"n": 4}, False),
        ({"metadata.n": {"$gte": 4, "$lt": 5}}, {"n": 4}, True),
        ({"metadata.n": 4}, {"n": 4}, True),
        ({"metadata.flag": True}, {"flag": 1}, False),
        ({"metadata.x": {"$exists": False}}, {}, True),
        ({"metadata.x": {"$ne": "a"}}, {"x": "a"}, False),
        ({"metadata.x": {"$nin": ["a"]}}, {"x": "b"}, True),
        ({"$or": [{"metadata.x": "a"}, {"metadata.y": "b"}]}, {"y": "b"}, True),
        ({"$and": [{"metadata.x": "a"}, {"metadata.y": "b"}]}, {"y": "b"}, False),
        ({"metadata.n": {"$gt": 3}}, {"n": "4"}, False),
    ],
)
def test_conditions_read_metadata_as_mongo_does(
    gw: MockGateway, condition: dict[str, Any], metadata: dict[str, Any], taken: bool
) -> None:
    config = route(
        {
            "id": "pick",
            "type": "conditional",
            "properties": {"condition": condition},
            "outputs": {"true": to("cheap"), "false": to("sonnet")},
        },
        CHEAP,
        SONNET,
    )
    gw.route("support", config)
    chat(gw, metadata=metadata)
    assert gw.calls.last.route[2] == ("cheap" if taken else "sonnet")  # type: ignore[index]


def test_reset_forgets_routes(gw: MockGateway) -> None:
    gw.route("support", SUPPORT)
    gw.reset()
    assert chat(gw).status_code == 404


def broken(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"elements": [START, *elements, END]}


PICK_CHEAP = {"id": "pick", "type": "start", "outputs": {"next": to("cheap")}}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], "aigw.route('support'): config must be a route object {\"elements\": [...]}, got []"),
        ({"elements": []}, "'elements' must be a non-empty list of element objects, got []"),
        ({"name": "other", "elements": [START]}, "config 'name' must be the route's name"),
        (
            broken({"id": "pick", "type": "switch"}),
            "element 'pick' 'type' must be 'start' or 'conditional'",
        ),
        (
            broken(
                {
                    "id": "pick",
                    "type": "conditional",
                    "properties": {"condition": {"body.x": 1}},
                    "outputs": {"true": to("end"), "false": to("end")},
                }
            ),
            "element 'pick' properties.condition key must be 'metadata.<key>', '$and' or '$or'",
        ),
        (
            broken({"id": "pick", "type": "percentage", "outputs": {"10%": to("end")}}),
            "element 'pick' shares must be at most 100%, and 100% unless 'else' is given,"
            " got '10%'",
        ),
        (
            broken({"id": "pick", "type": "percentage", "outputs": {"x%": to("end")}}),
            "element 'pick' output must be 'else' or a share from '0.1%' to '100%', got 'x%'",
        ),
        (
            broken(model("pick", "openai", "m", retries=11)),
            "element 'pick' properties.retries must be a whole number from 0 to 10, got 11",
        ),
        (
            broken(model("pick", "Open AI", "m")),
            "element 'pick' properties.provider must be a provider slug such as 'openai'",
        ),
        (
            broken(model("pick", "openai", "m", timeout=0)),
            "element 'pick' properties.timeout must be milliseconds > 0",
        ),
        (
            broken(model("pick", "openai", "m", fallback="pick")),
            "element 'pick' must be free of loops (a request must reach an end),"
            " got 'start -> pick -> pick'",
        ),
        (
            broken(
                {
                    "id": "pick",
                    "type": "model",
                    "properties": {"provider": "openai", "model": "m"},
                    "outputs": {"next": to("end")},
                }
            ),
            "element 'pick' 'outputs' must be 'success' or 'fallback' for a model element",
        ),
        (
            broken(model("pick", "openai", "m", fallback="gone")),
            "element 'pick' output 'fallback' must be the id of an element of this route",
        ),
        (
            broken(PICK_CHEAP, CHEAP),
            "'elements' must be a list with exactly one start element, got ['start', 'pick']",
        ),
        (
            broken(
                {
                    "id": "pick",
                    "type": "rate_limit",
                    "properties": {"key": "user"},
                    "outputs": {"success": to("end")},
                }
            ),
            "element 'pick' properties.key must be a metadata key such as 'metadata.user_id'",
        ),
    ],
)
def test_a_route_the_fake_cannot_walk_is_refused_naming_the_element(
    gw: MockGateway, config: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        gw.route("support", config)


def test_the_name_and_seed_are_checked(gw: MockGateway) -> None:
    with pytest.raises(ConfigError, match=r"^name must be a non-empty string, got ''$"):
        gw.route("", SUPPORT)
    with pytest.raises(ConfigError, match=r"^seed= must be a whole number, got 1.5$"):
        gw.route("support", SUPPORT, seed=1.5)  # type: ignore[arg-type]


def test_live_gateways_refuse_routes() -> None:
    from pytest_aigw.live import LiveGateway, LiveModeError

    live = LiveGateway.__new__(LiveGateway)
    with pytest.raises(LiveModeError, match=r"^aigw.route works on the fake gateway only"):
        live.route("support", SUPPORT)


def test_a_users_suite_tests_its_fallback_handling(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import openai
        import pytest
        from openai import OpenAI

        ROUTE = {SUPPORT!r}


        def ask(aigw, plan):
            client = OpenAI(base_url=aigw.url("compat"), api_key="sk-test", max_retries=0)
            raw = client.chat.completions.with_raw_response.create(
                model="dynamic/support",
                messages=[{{"role": "user", "content": "hi"}}],
                extra_headers={{"cf-aig-metadata": '{{"plan": "%s"}}' % plan}},
            )
            return raw.headers["cf-aig-model"]


        def test_fallback(aigw):
            aigw.route("support", ROUTE)
            aigw.fail(503, model="gpt-4o-mini", times=2)
            aigw.respond("from sonnet", model="claude-sonnet-4-5")
            assert ask(aigw, "free") == "claude-sonnet-4-5"
            assert aigw.calls.last.route == ("start", "pick", "free", "sonnet", "end")


        def test_everything_down(aigw):
            aigw.route("support", ROUTE)
            aigw.fail(500, times=None)
            with pytest.raises(openai.BadRequestError) as failed:
                ask(aigw, "pro")
            assert failed.value.body[0]["code"] == 2005


        def test_a_broken_route(aigw):
            aigw.route("support", {{"elements": [{{"id": "s", "type": "start"}}]}})
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError: aigw.route('support'): element 's' 'outputs' must be an object"
            " with output 'next', got []"
        ]
    )


def rate(**properties: Any) -> dict[str, Any]:
    given = {"key": "metadata.user", "limit": 1, "interval": 60, **properties}
    return {
        "id": "pick",
        "type": "rate_limit",
        "properties": given,
        "outputs": {"success": to("end")},
    }


def when(condition: Any) -> dict[str, Any]:
    return {
        "id": "pick",
        "type": "conditional",
        "properties": {"condition": condition},
        "outputs": {"true": to("end"), "false": to("end")},
    }


@pytest.mark.parametrize(
    ("elements", "message"),
    [
        ([START, START], "element #1 'id' must be unique among the elements, got 'start'"),
        ([START, "end"], "element #1 must be an object with 'id', 'type' and 'outputs'"),
        ([START, {"id": "", "type": "end"}], "element #1 'id' must be a non-empty string"),
        ([START, {**END, "properties": []}], "element 'end' 'properties' must be an object"),
        ([START, {**END, "outputs": []}], "element 'end' 'outputs' must be an object"),
        ([{**START, "outputs": {"next": "end"}}, END], "output 'next' must be {\"elementId\""),
        (
            [START, {"id": "pick", "type": "percentage", "outputs": {"else": to("end")}}, END],
            "element 'pick' 'outputs' must be 1 to 5 shares such as '50%', got ['else']",
        ),
        ([START, rate(limitType="tokens"), END], "properties.limitType must be 'count' or 'cost'"),
        ([START, rate(limit=0), END], "element 'pick' properties.limit must be a number > 0"),
        ([START, rate(interval=None), END], "properties.interval (or window) must be seconds > 0"),
        ([START, rate(technique="leaky"), END], "properties.technique must be 'fixed' or"),
        ([START, model("pick", "openai", ""), END], "properties.model must be a non-empty model"),
        ([START, when([]), END], "properties.condition must be an object such as"),
        ([START, when({"$or": []}), END], "properties.condition $or must be a non-empty list"),
        ([START, when({"metadata.a": {"$regex": "x"}}), END], "'metadata.a' operator must be"),
        ([START, when({"metadata.a": {"$in": "x"}}), END], "'metadata.a' $in must be a list"),
        ([START, when({"metadata.a": {"$exists": 1}}), END], "$exists must be true or false"),
    ],
)
def test_each_element_property_is_checked(
    gw: MockGateway, elements: list[Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        gw.route("support", {"elements": elements})


def test_empty_properties_and_outputs_read_as_none_given(gw: MockGateway) -> None:
    plain = model("pick", "openai", "gpt-4o-mini", retries=None)
    gw.route("support", {"elements": [START, plain, {**END, "properties": None, "outputs": None}]})
    assert chat(gw).headers["cf-aig-model"] == "gpt-4o-mini"
