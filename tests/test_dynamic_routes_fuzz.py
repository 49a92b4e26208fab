"""Property tests: any route the docs' schema describes simulates, or is refused naming the element.

And a request through a route the fake took ends at exactly one model element, or at
one of the gateway's documented errors.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_aigw import ConfigError, MockGateway

IDS = ["a", "b", "c", "d", "e", "f"]
KEYS = ["plan", "user"]
KINDS = ["conditional", "percentage", "rate_limit", "rate", "model", "end"]
VALUES = st.one_of(st.sampled_from(["free", "pro", "u1"]), st.integers(-2, 2), st.booleans())
ROUTE_ERRORS = {(400, 2005), (429, 2003)}  # all models failed; a limit with no fallback


def ref(target: str) -> dict[str, str]:
    return {"elementId": target}


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from([*(f"metadata.{k}" for k in KEYS), "body.model", "headers.x"]))
    operator = draw(st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$lte", "$exists"]))
    operand: Any = draw(VALUES)
    if operator in ("$in", "$nin"):
        operand = draw(st.lists(VALUES, max_size=3))
    return {key: {operator: operand}}


@st.composite
def elements(draw: st.DrawFn, element_id: str, targets: list[str]) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(["conditional", "percentage", "rate_limit", "rate", "model", "end"])
    )
    target = st.sampled_from(targets)
    element: dict[str, Any] = {"id": element_id, "type": kind}
    if kind == "end":
        return element
    if kind == "conditional":
        spelling = draw(st.sampled_from(["condition", "conditions"]))
        element["properties"] = {spelling: draw(conditions())}
        element["outputs"] = {"true": ref(draw(target)), "false": ref(draw(target))}
    elif kind == "percentage":
        shares = draw(st.lists(st.sampled_from([10, 25, 50, 75, 100]), min_size=1, max_size=5))
        outputs = {f"{share}%": ref(draw(target)) for share in shares}
        if draw(st.booleans()):
            outputs["else"] = ref(draw(target))
        element["outputs"] = outputs
    elif kind in ("rate_limit", "rate"):
        window = "interval" if kind == "rate_limit" else "window"
        element["properties"] = {
            "limitType": draw(st.sampled_from(["count", "cost"])),
            "key": draw(st.sampled_from([f"metadata.{k}" for k in KEYS])),
            "limit": draw(st.sampled_from([1, 2, 0.00001])),
            window: draw(st.sampled_from([1, 60])),
            "technique": draw(st.sampled_from(["fixed", "sliding"])),
        }
        element["outputs"] = {"success": ref(draw(target))}
        if draw(st.booleans()):
            element["outputs"]["fallback"] = ref(draw(target))
    else:
        element["properties"] = {
            "provider": draw(st.sampled_from(["openai", "anthropic", "groq"])),
            "model": draw(st.sampled_from(["m1", "m2", "m3"])),
            "timeout": draw(st.sampled_from([500, 60000])),
            "retries": draw(st.integers(0, 3)),
        }
        element["outputs"] = {"success": ref(draw(target))}
        if draw(st.booleans()):
            element["outputs"]["fallback"] = ref(draw(target))
    return element


@st.composite
def routes(draw: st.DrawFn) -> dict[str, Any]:
    """Routes as the schema allows them; most point only forward (no loop), some anywhere."""
    ids = IDS[: draw(st.integers(1, len(IDS)))]
    forward = draw(st.booleans())
    body = [
        draw(elements(element_id, [*ids[index + 1 :], "z"] if forward else [*ids, "z"]))
        for index, element_id in enumerate(ids)
    ]
    start = {"id": "start", "type": "start", "outputs": {"next": ref(draw(st.sampled_from(ids)))}}
    return {"id": "r", "name": "route", "elements": [start, *body, {"id": "z", "type": "end"}]}


@st.composite
def requests(draw: st.DrawFn) -> list[tuple[dict[str, Any], float]]:
    metadata = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=2)
    return draw(st.lists(st.tuples(metadata, st.sampled_from([0.0, 0.5, 61.0])), max_size=6))


@settings(max_examples=300, deadline=None)
@given(config=routes())
def test_a_route_either_simulates_or_is_refused_naming_the_element(config: dict[str, Any]) -> None:
    message = ""
    try:
        MockGateway().route("route", config)
    except ConfigError as error:
        message = str(error)
    if message:
        named = re.search(r"element '([^']+)'", message)
        assert named is not None, message
        assert named.group(1) in {element["id"] for element in config["elements"]}


@settings(max_examples=150, deadline=None)
@given(
    config=routes(),
    failing=st.sets(st.sampled_from(["m1", "m2", "m3"])),
    sent=requests(),
)
def test_every_request_ends_at_one_model_or_a_documented_error(
    config: dict[str, Any], failing: set[str], sent: list[tuple[dict[str, Any], float]]
) -> None:
    with MockGateway(credentials=None, strict=False) as gateway:
        try:
            gateway.route("route", config)
        except ConfigError:
            return
        gateway.fail(500, match=lambda call: call.model in failing, times=None, optional=True)
        gateway.respond("ok", times=None, optional=True)
        models = {
            element["id"]: (element["properties"]["provider"], element["properties"]["model"])
            for element in config["elements"]
            if element["type"] == "model"
        }
        kinds = {element["id"]: element["type"] for element in config["elements"]}
        client = httpx.Client(transport=httpx.MockTransport(gateway.handler))
        url = gateway.url("compat") + "/chat/completions"
        body = {"model": "dynamic/route", "messages": [{"role": "user", "content": "hi"}]}
        for number, (metadata, wait) in enumerate(sent, start=1):
            gateway.clock.advance(wait)
            answer = client.post(url, json=body, headers={"cf-aig-metadata": json.dumps(metadata)})
            assert len(gateway.calls) == number  # one request, one call
            path = gateway.calls.last.route
            assert path is not None
            assert path[0] == "start"
            if answer.status_code == 200:
                assert kinds[path[-1]] == "end"
                answered = (answer.headers["cf-aig-provider"], answer.headers["cf-aig-model"])
                passed = [models[step] for step in path if step in models]
                assert answered in passed
                assert answered[1] not in failing
            else:
                error = answer.json()["error"][0]
                assert (answer.status_code, error["code"]) in ROUTE_ERRORS
                assert "cf-aig-model" not in answer.headers
        client.close()
