"""Dynamic routes (`model: "dynamic/<name>"`): a route as the dashboard exports it, walked.

    start ─ conditional (metadata.*) ─┬─ percentage ("10%", ..., "else") ─ model ─ end
                                      └─ rate_limit (count | cost) ─────── model ─ end

A route is checked whole when it is declared, so a route the fake cannot walk is
refused at `aigw.route(...)` with a message naming the element; a walk then always
ends at one model element that answered, or at the gateway's error. Both spellings
Cloudflare publishes are read: the docs' `rate_limit` with `interval` and
`technique`, and the API reference's `rate` with `window`; `condition` or
`conditions`.

What the docs leave open is chosen here, and listed in the README: a route's
failure is 400, code 2005 (as observed); a rate limit with no fallback is 429,
code 2003; percentage draws come from a generator seeded with the route's seed
and name, so a test sees the same split every run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._validation import fail, is_number, is_whole, short_repr
from .errors import RATE_LIMITED, GatewayFault
from .routing import PROVIDER_SLUG

__all__ = [
    "CHAT_PATHS",
    "DYNAMIC_PREFIX",
    "NOT_CHAT",
    "ROUTE_FAILED",
    "UNKNOWN_ROUTE",
    "DynamicRoute",
    "ModelElement",
    "Walk",
    "parse_route",
    "route_name",
]

DYNAMIC_PREFIX = "dynamic/"
CHAT_PATHS = ("chat/completions", "ai/v1/chat/completions")  # compat, REST API
ROUTE_FAILED = GatewayFault(400, 2005, "Failed to get response from provider")  # observed
UNKNOWN_ROUTE = GatewayFault(404, 7003, "Model not found")  # chosen: status documented
NOT_CHAT = GatewayFault(400, 7003, "User Input Error")  # chosen: status documented
ROUTE_LIMITED = RATE_LIMITED  # chosen: a limit with no fallback; undocumented

MAX_SHARES = 5
MAX_RETRIES = 10  # chosen bound: the docs give none
_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists")
_TYPES = {
    "start": "start",
    "conditional": "conditional",
    "percentage": "percentage",
    "rate_limit": "rate_limit",
    "rate": "rate_limit",  # the API reference's spelling
    "model": "model",
    "end": "end",
}
_OUTPUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # (required, optional)
    "start": (("next",), ()),
    "conditional": (("true", "false"), ()),
    "rate_limit": (("success",), ("fallback",)),
    "model": (("success",), ("fallback",)),
    "end": ((), ()),
}

T = TypeVar("T")
Condition = Callable[[Mapping[str, Any]], bool]


def route_name(model: object) -> str | None:
    """The route a `model` value names (`dynamic/support` -> `support`), if it names one."""
    if isinstance(model, str) and model.startswith(DYNAMIC_PREFIX):
        return model[len(DYNAMIC_PREFIX) :]
    return None


@dataclass(frozen=True)
class ModelElement:
    """A model element: which provider and model it asks, with its timeout and retries."""

    id: str
    provider: str
    model: str
    timeout: int | None  # milliseconds
    retries: int


@dataclass(frozen=True)
class _Limit:
    kind: str  # "count" or "cost"
    key: str  # the metadata key, without "metadata."
    limit: float
    interval: float  # seconds
    technique: str  # "fixed" or "sliding"


@dataclass(frozen=True)
class _Element:
    id: str
    kind: str
    outputs: Mapping[str, str]
    condition: Condition | None = None
    shares: tuple[tuple[str, float], ...] = ()  # (output, cumulative upper bound in %)
    limit: _Limit | None = None
    model: ModelElement | None = None


@dataclass(frozen=True)
class Walk(Generic[T]):
    """Where a request went: the element ids in order, and the answer or the error."""

    path: tuple[str, ...]
    answered_by: ModelElement | None
    result: T | None
    fault: GatewayFault | None


@dataclass
class DynamicRoute:
    """One declared route, with its percentage draws and its rate-limit usage."""

    name: str
    elements: Mapping[str, _Element]
    start: str
    seed: int
    _draws: random.Random = field(init=False, repr=False)
    _used: dict[tuple[str, str], list[tuple[float, float]]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        self._draws = random.Random(f"{self.seed}:{self.name}")

    def walk(
        self,
        metadata: Mapping[str, Any],
        now: float,
        run: Callable[[ModelElement], T],
        succeeded: Callable[[T], bool],
        cost: Callable[[T], float],
    ) -> Walk[T]:
        """Walk the route for one request; *run* asks a model element's model."""
        path: list[str] = []
        answered: tuple[ModelElement, T] | None = None
        charged: list[tuple[str, str]] = []  # cost limits passed: paid once answered
        element = self.elements[self.start]
        while True:
            path.append(element.id)
            if element.kind == "end":
                break
            if element.kind == "model":
                assert element.model is not None
                result = run(element.model)
                if succeeded(result):
                    answered = (element.model, result)
                    output = "success"
                else:
                    output = "fallback"
            else:
                output = self._choose(element, metadata, now, charged)
            target = element.outputs.get(output)
            if target is None:  # a failed model or a limit with no fallback: the route stops
                fault = ROUTE_LIMITED if element.kind == "rate_limit" else ROUTE_FAILED
                return Walk(tuple(path), None, None, fault)
            element = self.elements[target]
        if answered is None:
            return Walk(tuple(path), None, None, ROUTE_FAILED)
        spent = cost(answered[1])
        for bucket in charged:
            self._used.setdefault(bucket, []).append((now, spent))
        return Walk(tuple(path), answered[0], answered[1], None)

    def _choose(
        self,
        element: _Element,
        metadata: Mapping[str, Any],
        now: float,
        charged: list[tuple[str, str]],
    ) -> str:
        if element.kind == "start":
            return "next"
        if element.kind == "conditional":
            assert element.condition is not None
            return "true" if element.condition(metadata) else "false"
        if element.kind == "percentage":
            draw = self._draws.random() * 100
            return next((out for out, upper in element.shares if draw < upper), "else")
        assert element.limit is not None
        return self._limited(element.id, element.limit, metadata, now, charged)

    def _limited(
        self,
        element_id: str,
        limit: _Limit,
        metadata: Mapping[str, Any],
        now: float,
        charged: list[tuple[str, str]],
    ) -> str:
        # Requests without the key share one bucket (chosen: the docs do not say).
        bucket = (element_id, short_repr(metadata.get(limit.key)))
        usage = self._used.get(bucket, [])
        if limit.technique == "fixed":  # windows aligned on multiples of the interval
            start = (now // limit.interval) * limit.interval
            kept = [(at, amount) for at, amount in usage if at >= start]
        else:
            kept = [(at, amount) for at, amount in usage if at > now - limit.interval]
        self._used[bucket] = kept
        used = sum(amount for _, amount in kept)
        if limit.kind == "count":
            if used + 1 > limit.limit:
                return "fallback"
            kept.append((now, 1.0))
            return "success"
        if used >= limit.limit:
            return "fallback"
        charged.append(bucket)
        return "success"


def parse_route(name: str, config: object, seed: int) -> DynamicRoute:
    """Read *config* (a route as the dashboard or API exports it); raise `ConfigError`."""
    where = f"aigw.route({name!r})"
    if not isinstance(config, Mapping):
        fail(f"{where}: config", config, 'a route object {"elements": [...]}')
    given = config.get("name")
    if given is not None and given != name:
        fail(f"{where}: config 'name'", given, f"the route's name {name!r}, or left out")
    raw = config.get("elements")
    if not isinstance(raw, list) or not raw:
        fail(f"{where}: 'elements'", raw, "a non-empty list of element objects")
    elements: dict[str, _Element] = {}
    for number, item in enumerate(raw):
        element = _element(where, number, item)
        if element.id in elements:
            fail(f"{where}: element #{number} 'id'", element.id, "unique among the elements")
        elements[element.id] = element
    starts = [e.id for e in elements.values() if e.kind == "start"]
    if len(starts) != 1:
        fail(f"{where}: 'elements'", starts, "a list with exactly one start element")
    for element in elements.values():
        for output, target in element.outputs.items():
            if target not in elements:
                fail(
                    f"{where}: element {element.id!r} output {output!r}",
                    target,
                    "the id of an element of this route",
                )
    _no_loops(where, elements, starts[0])
    return DynamicRoute(name, elements, starts[0], seed)


def _no_loops(where: str, elements: Mapping[str, _Element], start: str) -> None:
    """Refuse a route in which a request could come back to an element: it never ends."""
    done: set[str] = set()

    def visit(element_id: str, trail: tuple[str, ...]) -> None:
        if element_id in trail:
            fail(
                f"{where}: element {trail[-1]!r}",
                " -> ".join((*trail, element_id)),
                "free of loops (a request must reach an end)",
            )
        if element_id in done:
            return
        for target in elements[element_id].outputs.values():
            visit(target, (*trail, element_id))
        done.add(element_id)

    visit(start, ())


def _element(where: str, number: int, item: object) -> _Element:
    if not isinstance(item, Mapping):
        fail(f"{where}: element #{number}", item, "an object with 'id', 'type' and 'outputs'")
    element_id = item.get("id")
    if not isinstance(element_id, str) or not element_id:
        fail(f"{where}: element #{number} 'id'", element_id, "a non-empty string")
    named = f"{where}: element {element_id!r}"
    given = item.get("type")
    kind = _TYPES.get(given) if isinstance(given, str) else None
    if kind is None:
        fail(f"{named} 'type'", item.get("type"), " or ".join(repr(t) for t in _TYPES))
    properties = item.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, Mapping):
        fail(f"{named} 'properties'", properties, "an object")
    outputs = _outputs(named, kind, item.get("outputs", {}))
    if kind == "conditional":
        return _Element(element_id, kind, outputs, condition=_condition_of(named, properties))
    if kind == "percentage":
        return _Element(element_id, kind, outputs, shares=_shares(named, outputs))
    if kind == "rate_limit":
        return _Element(element_id, kind, outputs, limit=_limit(named, properties))
    if kind == "model":
        return _Element(element_id, kind, outputs, model=_model(named, element_id, properties))
    return _Element(element_id, kind, outputs)


def _outputs(named: str, kind: str, raw: object) -> dict[str, str]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        fail(f"{named} 'outputs'", raw, 'an object {"<output>": {"elementId": "<id>"}}')
    outputs: dict[str, str] = {}
    for output, target in raw.items():
        ref = target.get("elementId") if isinstance(target, Mapping) else None
        if not isinstance(ref, str) or not ref:
            fail(f"{named} output {output!r}", target, '{"elementId": "<id>"}')
        outputs[str(output)] = ref
    if kind == "percentage":
        return outputs
    required, optional = _OUTPUTS[kind]
    for output in outputs:
        if output not in required + optional:
            allowed = " or ".join(repr(o) for o in required + optional) or "no output"
            fail(f"{named} 'outputs'", output, f"{allowed} for a {kind} element")
    for output in required:
        if output not in outputs:
            fail(f"{named} 'outputs'", sorted(outputs), f"an object with output {output!r}")
    return outputs


def _shares(named: str, outputs: Mapping[str, str]) -> tuple[tuple[str, float], ...]:
    shares: list[tuple[str, float]] = []
    total = 0.0
    for output in outputs:
        if output == "else":
            continue
        number = output[:-1] if output.endswith("%") else ""
        try:
            share = float(number)
        except ValueError:
            share = -1.0
        if not 0 < share <= 100:
            fail(f"{named} output", output, "'else' or a share from '0.1%' to '100%'")
        total += share
        shares.append((output, total))
    if not shares or len(shares) > MAX_SHARES:
        fail(f"{named} 'outputs'", sorted(outputs), f"1 to {MAX_SHARES} shares such as '50%'")
    if total > 100 + 1e-9 or (total < 100 - 1e-9 and "else" not in outputs):
        fail(f"{named} shares", f"{total:g}%", "at most 100%, and 100% unless 'else' is given")
    return tuple(shares)


def _limit(named: str, properties: Mapping[str, Any]) -> _Limit:
    kind = properties.get("limitType", "count")
    if kind not in ("count", "cost"):
        fail(f"{named} properties.limitType", kind, "'count' or 'cost'")
    key = properties.get("key")
    if not isinstance(key, str) or not key.startswith("metadata.") or key == "metadata.":
        fail(f"{named} properties.key", key, "a metadata key such as 'metadata.user_id'")
    limit: Any = properties.get("limit")
    if not is_number(limit) or limit <= 0:
        fail(f"{named} properties.limit", limit, "a number > 0")
    interval: Any = properties.get("interval", properties.get("window"))
    if not is_number(interval) or interval <= 0:
        fail(f"{named} properties.interval (or window)", interval, "seconds > 0")
    technique = properties.get("technique", "fixed")
    if technique not in ("fixed", "sliding"):
        fail(f"{named} properties.technique", technique, "'fixed' or 'sliding'")
    return _Limit(kind, key[len("metadata.") :], float(limit), float(interval), technique)


def _model(named: str, element_id: str, properties: Mapping[str, Any]) -> ModelElement:
    provider = properties.get("provider")
    if not isinstance(provider, str) or not PROVIDER_SLUG.fullmatch(provider):
        fail(f"{named} properties.provider", provider, "a provider slug such as 'openai'")
    model = properties.get("model")
    if not isinstance(model, str) or not model:
        fail(f"{named} properties.model", model, "a non-empty model name")
    timeout = properties.get("timeout")
    if timeout is not None and not (is_whole(timeout) and timeout > 0):
        fail(f"{named} properties.timeout", timeout, "milliseconds > 0 (a whole number)")
    retries = properties.get("retries", 0)
    if retries is None:
        retries = 0
    if not is_whole(retries) or not 0 <= retries <= MAX_RETRIES:
        fail(f"{named} properties.retries", retries, f"a whole number from 0 to {MAX_RETRIES}")
    return ModelElement(element_id, provider, model, timeout, retries)


def _condition_of(named: str, properties: Mapping[str, Any]) -> Condition:
    raw = properties.get("condition", properties.get("conditions"))
    return _condition(f"{named} properties.condition", raw)


def _condition(name: str, raw: object) -> Condition:
    """A Mongo-like condition on `metadata.*` as a test on the request's metadata."""
    if not isinstance(raw, Mapping) or not raw:
        fail(name, raw, 'an object such as {"metadata.plan": {"$eq": "free"}}')
    tests: list[Condition] = []
    for key, value in raw.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                fail(f"{name} {key}", value, "a non-empty list of conditions")
            parts = [_condition(f"{name} {key}[{i}]", part) for i, part in enumerate(value)]
            tests.append(_combined(key, parts))
            continue
        if not isinstance(key, str) or not key.startswith("metadata.") or key == "metadata.":
            fail(f"{name} key", key, "'metadata.<key>', '$and' or '$or' (conditions on metadata)")
        tests.append(_field_test(f"{name} {key!r}", key[len("metadata.") :], value))
    return _combined("$and", tests)


def _combined(how: str, parts: list[Condition]) -> Condition:
    if how == "$or":
        return lambda metadata: any(part(metadata) for part in parts)
    return lambda metadata: all(part(metadata) for part in parts)


_MISSING = object()


def _field_test(name: str, key: str, spec: object) -> Condition:
    if not (isinstance(spec, Mapping) and spec and all(str(k).startswith("$") for k in spec)):
        spec = {"$eq": spec}
    tests: list[Callable[[object], bool]] = []
    for operator, operand in spec.items():
        if operator not in _OPERATORS:
            fail(f"{name} operator", operator, " or ".join(_OPERATORS))
        if operator in ("$in", "$nin") and not isinstance(operand, list):
            fail(f"{name} {operator}", operand, "a list of values")
        if operator == "$exists" and not isinstance(operand, bool):
            fail(f"{name} $exists", operand, "true or false")
        if operator in ("$gt", "$gte", "$lt", "$lte") and not is_number(operand):
            fail(f"{name} {operator}", operand, "a number")
        tests.append(_operator(operator, operand))
    return lambda metadata: all(test(metadata.get(key, _MISSING)) for test in tests)


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _operator(operator: str, operand: Any) -> Callable[[object], bool]:
    if operator == "$exists":
        return lambda value: (value is not _MISSING) is operand
    if operator == "$eq":
        return lambda value: _same(value, operand)
    if operator == "$ne":
        return lambda value: not _same(value, operand)
    if operator == "$in":
        return lambda value: any(_same(value, item) for item in operand)
    if operator == "$nin":
        return lambda value: not any(_same(value, item) for item in operand)
    compare: dict[str, Callable[[float, float], bool]] = {
        "$gt": lambda a, b: a > b,
        "$gte": lambda a, b: a >= b,
        "$lt": lambda a, b: a < b,
        "$lte": lambda a, b: a <= b,
    }
    test = compare[operator]
    return lambda value: is_number(value) and test(value, operand)  # type: ignore[arg-type]
