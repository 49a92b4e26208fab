"""A deterministic, minimal, valid JSON value for a JSON Schema.

The fake answers structured-output requests (OpenAI `response_format` json_schema,
Anthropic forced tool use, Gemini `responseSchema`) with `value_for(schema)`, so that
`parse(response_format=Model)` and friends work in a test that scripts nothing.

Choices, where JSON Schema leaves room:
- Minimal: required properties only, `minItems` items, `minLength` characters, and the
  number nearest zero that the bounds allow (`0` when they allow it).
- The first fitting branch of `anyOf`, the first type of a `type` list, the first fitting
  member of `enum`; `oneOf` takes the first branch whose value matches no other branch.
- A schema that names no type and implies none (`{}`, `true`) gets `null`: the value that
  claims no type, valid for any such schema. Keywords imply their type when `type` is
  absent (`properties` an object, `minLength` a string), since a hand-written schema that
  says `properties` wants an object even though `null` would validate.
- `format` gets a real sample (a date, an e-mail address, a UUID of the version asked
  for...), because the SDKs' models parse them; unknown formats are ignored.
- `pattern` is best effort: a string is built from the pattern's shortest path (first
  alternative, fewest repetitions) and checked with `re.search`.
- Recursion (`$ref` back into itself) is cut by taking another branch: a `null`, an
  optional property, an empty array. Nesting deeper than `MAX_DEPTH` and more than
  `MAX_STEPS` sub-schemas visited are refused, so hostile schemas end quickly.
Gemini's OpenAPI subset (upper-case types, `nullable`, `propertyOrdering`) is understood.
Every value is checked against the schema before it is returned; what cannot be built
raises `UnsatisfiableSchema`, naming the JSON pointer of the sub-schema and why.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any
from urllib.parse import unquote

from .._errors import AigwError

__all__ = ["MAX_DEPTH", "MAX_STEPS", "UnsatisfiableSchema", "value_for"]

MAX_DEPTH = 64  # nested sub-schemas on one path
MAX_STEPS = 10_000  # sub-schemas visited for one value
MAX_TEXT = 1_000_000  # characters of one string: past any model's output limit
_SCAN = 64  # candidates tried for one number or string
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "deprecated", "readOnly"}
    | {"writeOnly", "$schema", "$id", "$defs", "definitions", "discriminator"}
)
_IMPLIED = (
    ("object", ("properties", "required", "additionalProperties", "minProperties")),
    ("object", ("maxProperties", "patternProperties", "propertyOrdering")),
    ("array", ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")),
    ("string", ("minLength", "maxLength", "pattern", "format")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)
_FORMATS = {
    "date-time": "2000-01-{:02d}T00:00:00Z",
    "date": "2000-01-{:02d}",
    "time": "00:00:{:02d}Z",
    "duration": "P{}D",
    "email": "user{}@example.com",
    "idn-email": "user{}@example.com",
    "hostname": "host{}.example.com",
    "idn-hostname": "host{}.example.com",
    "uri": "https://example.com/{}",
    "url": "https://example.com/{}",
    "iri": "https://example.com/{}",
    "uri-reference": "https://example.com/{}",
    "iri-reference": "https://example.com/{}",
    "ipv4": "192.0.2.{}",
    "ipv6": "2001:db8::{}",
    "ipvanyaddress": "192.0.2.{}",
    "ipv4network": "192.0.{}.0/24",
    "ipv6network": "2001:db8:{}::/48",
    "ipvanynetwork": "192.0.{}.0/24",
    "ipv4interface": "192.0.2.{}/24",
    "ipv6interface": "2001:db8::{}/64",
    "ipvanyinterface": "192.0.2.{}/24",
    "uuid": "00000000-0000-4000-8000-{:012d}",
    "json-pointer": "/{}",
    "relative-json-pointer": "{}",
}
_FIRSTS = {"date-time": 1, "date": 1, "duration": 1, "ipv4": 1, "ipvanyaddress": 1}
_FIRSTS |= {"ipv4interface": 1, "ipvanyinterface": 1, "ipv6": 1, "ipv6interface": 1}
_FIRSTS |= {"ipv4network": 2, "ipvanynetwork": 2, "ipv6network": 1}
_ESCAPES = {"d": "0", "w": "a", "s": " ", "D": "a", "W": " ", "S": "a", "n": "\n", "t": "\t"}
_CLASS_TRIES = "a0A_-. @/:+"


class UnsatisfiableSchema(AigwError, ValueError):
    """No value could be built for a schema; `pointer` names the sub-schema at fault."""

    def __init__(self, pointer: str, reason: str) -> None:
        self.pointer = pointer
        self.reason = reason
        super().__init__(f"no JSON value fits the schema at {pointer}: {reason}")


def value_for(schema: Mapping[str, Any] | bool) -> Any:
    """The minimal valid JSON value for a JSON Schema, the same every time.

    Raises `UnsatisfiableSchema` when no value can be built: a `false` schema,
    contradictory bounds, a `$ref` that leads nowhere, or nesting past `MAX_DEPTH`.
    """
    try:
        return _Builder(schema).value(schema, _At("#", 0, _root_refs(schema)))
    except UnsatisfiableSchema:
        raise
    except (TypeError, ValueError, AttributeError, ArithmeticError, re.error) as error:
        reason = f"the schema is malformed ({type(error).__name__}: {error})"
        raise UnsatisfiableSchema("#", reason) from error


def _root_refs(schema: object) -> frozenset[str]:
    """The refs that name the root: `#`, and a definition the root is a copy of.

    OpenAI's strict-mode schemas inline the root model and keep its definition too, so a
    recursive model would otherwise be expanded once more than needed.
    """
    if not isinstance(schema, Mapping):
        return frozenset({"#"})
    core = {k: v for k, v in schema.items() if k not in ("$defs", "definitions")}
    copies = {
        f"#/{where}/{name}"
        for where in ("$defs", "definitions")
        for name, definition in dict(schema.get(where, {})).items()
        if definition == core
    }
    return frozenset({"#"} | copies)


@dataclass(frozen=True)
class _At:
    """Where a sub-schema sits: its JSON pointer, depth, and the `$ref`s being expanded."""

    pointer: str
    depth: int
    refs: frozenset[str]

    def child(self, *parts: object) -> _At:
        tail = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
        return replace(self, pointer=self.pointer + tail, depth=self.depth + 1)


_Parts = Iterable[tuple[Mapping[str, Any], _At]]


class _Builder:
    def __init__(self, root: object) -> None:
        self.root = root
        self.steps = 0

    def value(self, schema: object, at: _At, variant: int = 0) -> Any:
        self._count(at)
        schema = _mapping(schema, at)
        if "$ref" in schema or "allOf" in schema:
            value = self._merged(self._parts(schema, at), at, variant)
            if not self.matches(value, schema):
                raise UnsatisfiableSchema(at.pointer, "the parts of allOf do not combine")
            return value
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._branches(schema, key, at, variant)
        return self._plain(schema, at, variant)

    def _count(self, at: _At) -> None:
        self.steps += 1
        if at.depth > MAX_DEPTH:
            raise UnsatisfiableSchema(at.pointer, f"nested deeper than {MAX_DEPTH} levels")
        if self.steps > MAX_STEPS:
            raise UnsatisfiableSchema(at.pointer, f"more than {MAX_STEPS} sub-schemas visited")

    # -- $ref and allOf: one schema merged from the parts -----------------------------

    def _parts(self, schema: object, at: _At) -> Iterator[tuple[Mapping[str, Any], _At]]:
        self._count(at)
        schema = _mapping(schema, at)
        yield {k: v for k, v in schema.items() if k not in ("$ref", "allOf")}, at
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in at.refs:
                raise UnsatisfiableSchema(at.pointer, f"$ref {ref!r} recurses with no way out")
            target = self.resolve(ref, at.pointer)
            yield from self._parts(target, _At(ref, at.depth + 1, at.refs | {ref}))
        for i, part in enumerate(schema.get("allOf", ())):
            yield from self._parts(part, at.child("allOf", i))

    def _merged(self, parts: _Parts, at: _At, variant: int) -> Any:
        parts = list(parts)
        real = [(part, where) for part, where in parts if set(part) - _ANNOTATIONS]
        if len(real) == 1:  # a plain `$ref`: errors name the target
            return self.value(real[0][0], real[0][1], variant)
        merged: Mapping[str, Any] = {}
        for part, _ in real:
            merged = _merge(merged, _normal(part))
        refs = frozenset[str]().union(*(where.refs for _, where in parts))
        return self.value(merged, replace(at, refs=refs), variant)

    def resolve(self, ref: object, pointer: str) -> object:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise UnsatisfiableSchema(pointer, f"$ref {ref!r} is not a local ref ('#/...')")
        node = self.root
        for raw in ref[1:].split("/")[1:]:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise UnsatisfiableSchema(pointer, f"$ref {ref!r} leads to nothing")
        return node

    # -- anyOf / oneOf ----------------------------------------------------------------

    def _branches(self, schema: Mapping[str, Any], key: str, at: _At, variant: int) -> Any:
        rest = {k: v for k, v in schema.items() if k != key}
        branches = schema[key]
        whys = []
        for i, branch in enumerate(branches):
            where = at.child(key, i)
            try:
                value = self._merged([(rest, at), *self._parts(branch, where)], where, variant)
            except UnsatisfiableSchema as error:
                whys.append(f"{error.pointer}: {error.reason}")
                continue
            fits = [self.matches(value, b) for b in branches]
            if not fits[i]:  # merging keeps the first of two clashing keywords, `rest`'s
                whys.append(f"{where.pointer}: the branch does not combine with its siblings")
            elif key == "anyOf" or sum(fits) == 1:
                return value
            else:
                whys.append(f"{where.pointer}: {value!r} fits more than one branch")
        raise UnsatisfiableSchema(at.pointer, "; ".join(whys) or f"{key} is empty")

    # -- one schema without combinators -----------------------------------------------

    def _plain(self, schema: Mapping[str, Any], at: _At, variant: int) -> Any:
        if "const" not in schema and "enum" not in schema:
            return self._typed(schema, at, variant)
        listed = [schema["const"]] if "const" in schema else schema["enum"]
        fits = (value for value in listed if self.matches(value, schema))
        return _nth(fits, variant, at, "no listed value (enum, const) fits")

    def _typed(self, schema: Mapping[str, Any], at: _At, variant: int) -> Any:
        names = _types(schema)
        if names is None:  # untyped: what the keywords imply first, then anything
            implied = [name for name, keys in _IMPLIED if set(keys) & set(schema)]
            names = list(dict.fromkeys(implied + list(_ALL_TYPES)))
        errors = []
        for name in names:
            try:
                return self._of_type(name, schema, at, variant)
            except UnsatisfiableSchema as error:
                errors.append(error)
        if len(errors) == 1:  # keep the pointer of the sub-schema at fault
            raise errors[0]
        whys = (e.reason if e.pointer == at.pointer else f"{e.pointer}: {e.reason}" for e in errors)
        raise UnsatisfiableSchema(at.pointer, "; ".join(whys) or "`type` allows no type")

    def _of_type(self, name: str, schema: Mapping[str, Any], at: _At, variant: int) -> Any:
        if name in ("object", "array"):
            value = (self._object if name == "object" else self._array)(schema, at, variant)
            if not self.matches(value, schema):  # built to fit: some keyword was not understood
                raise UnsatisfiableSchema(at.pointer, f"{value!r} was built but does not fit")
            return value
        found: Iterable[Any]
        if name == "string":
            found = _strings(schema, at.pointer)
        elif name in ("integer", "number"):
            found = _numbers(schema, at.pointer, integer=name == "integer")
        elif name in ("boolean", "null"):
            found = [False, True] if name == "boolean" else [None]
        else:
            raise UnsatisfiableSchema(at.pointer, f"unknown type {name!r}")
        fits = (value for value in found if self.matches(value, schema))
        return _nth(fits, variant, at, f"no {name} fits")

    def _object(self, schema: Mapping[str, Any], at: _At, variant: int) -> dict[str, Any]:
        required = schema.get("required", ())
        listed = [*schema.get("propertyOrdering", ()), *schema.get("properties", {}), *required]
        names = list(dict.fromkeys(listed))
        chosen = [name for name in names if name in required]
        spare = [name for name in names if name not in required]
        if schema.get("additionalProperties") is not False:  # names made up, for it
            spare += [f"key{i}" for i in range(_SCAN) if f"key{i}" not in names]
        shift = int(variant > 0 and not chosen)  # variants past the first add a property
        wanted = max(schema.get("minProperties", 0), len(chosen) + shift)
        chosen += spare[: wanted - len(chosen)]
        if len(chosen) < wanted or len(chosen) > schema.get("maxProperties", math.inf):
            raise UnsatisfiableSchema(at.pointer, "the property count bounds cannot be met")
        out = {}
        for i, name in enumerate(chosen):
            sub, where = self._property(schema, name, at)
            out[name] = self.value(sub, where, variant - shift if i == 0 else 0)
        return out

    def _property(self, schema: Mapping[str, Any], name: str, at: _At) -> tuple[object, _At]:
        """The schema a property's value must fit, and where it sits."""
        props = schema.get("properties", {})
        patterns = [p for p in schema.get("patternProperties", {}) if _search(p, name)]
        subs = [(props[name], at.child("properties", name))] if name in props else []
        subs += [
            (schema["patternProperties"][p], at.child("patternProperties", p)) for p in patterns
        ]
        if not subs:
            return schema.get("additionalProperties", True), at.child("additionalProperties")
        return subs[0] if len(subs) == 1 else ({"allOf": [s for s, _ in subs]}, subs[0][1])

    def _array(self, schema: Mapping[str, Any], at: _At, variant: int) -> list[Any]:
        prefix, prefix_key, rest, rest_key = _item_schemas(schema)
        contains = schema.get("contains")
        need = schema.get("minContains", 1) if contains is not None else 0
        least = max(schema.get("minItems", 0), need)
        shift = int(variant > 0 and not least)  # variants past the first add an item
        size = least + shift
        if size > schema.get("maxItems", math.inf):
            raise UnsatisfiableSchema(at.pointer, f"needs {size} items, more than maxItems")
        out: list[Any] = []
        for i in range(size):
            sub, where = (
                (prefix[i], at.child(prefix_key, i))
                if i < len(prefix)
                else (rest, at.child(rest_key))
            )
            if i < need:
                sub = {"allOf": [sub, contains]}
            nth = variant - shift if i == 0 else 0
            out.append(self._item(sub, where, out, bool(schema.get("uniqueItems")), nth))
        return out

    def _item(self, sub: object, at: _At, before: list[Any], unique: bool, variant: int) -> Any:
        if not unique:
            return self.value(sub, at, variant)
        seen = {_key(value) for value in before}
        for nth in range(variant, variant + len(before) + 1):
            value = self.value(sub, at, nth)
            if _key(value) not in seen:
                return value
        raise UnsatisfiableSchema(at.pointer, "cannot find enough distinct items")

    # -- checking a value -------------------------------------------------------------

    def matches(self, value: Any, schema: object, depth: int = 0) -> bool:
        """Whether `value` is valid under `schema`, for the keywords this module knows."""
        if depth > 2 * MAX_DEPTH:
            raise UnsatisfiableSchema("#", f"nested deeper than {2 * MAX_DEPTH} levels")
        if not isinstance(schema, Mapping):
            return schema is True
        deeper = functools.partial(self.matches, depth=depth + 1)
        if "$ref" in schema and not deeper(value, self.resolve(schema["$ref"], "#")):
            return False
        return (
            _type_ok(value, schema)
            and ("const" not in schema or _key(value) == _key(schema["const"]))
            and ("enum" not in schema or _key(value) in {_key(e) for e in schema["enum"]})
            and _number_ok(value, schema)
            and _string_ok(value, schema)
            and _array_ok(value, schema, deeper)
            and _object_ok(value, schema, deeper)
            and all(deeper(value, s) for s in schema.get("allOf", ()))
            and ("anyOf" not in schema or any(deeper(value, s) for s in schema["anyOf"]))
            and ("oneOf" not in schema or sum(deeper(value, s) for s in schema["oneOf"]) == 1)
            and ("not" not in schema or not deeper(value, schema["not"]))
        )


_Check = Callable[[Any, object], bool]
_ALL_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


def _mapping(schema: object, at: _At) -> Mapping[str, Any]:
    if schema is True:
        return {}
    if not isinstance(schema, Mapping):
        raise UnsatisfiableSchema(at.pointer, "the schema is `false`, which no value fits")
    return schema


def _nth(values: Iterable[Any], nth: int, at: _At, why: str) -> Any:
    for value in itertools.islice(values, nth, None):
        return value
    raise UnsatisfiableSchema(at.pointer, f"cannot find {nth + 1} distinct values" if nth else why)


def _types(schema: Mapping[str, Any]) -> list[str] | None:
    raw = schema.get("type")
    if raw is None:
        return None
    names = [raw.lower()] if isinstance(raw, str) else [name.lower() for name in raw]
    if schema.get("nullable") is True and "null" not in names:
        names.append("null")
    return names


def _normal(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema in the terms `_merge` combines.

    `nullable` is folded into a `type` list, draft-4 exclusive flags into draft-6 bounds.
    """
    out = {k: v for k, v in schema.items() if k != "nullable"}
    names = _types(schema)
    if names is not None:
        out["type"] = names
    for inclusive, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if isinstance(out.get(exclusive), bool):
            flag = out.pop(exclusive)
            if flag and inclusive in out:
                out[exclusive] = out.pop(inclusive)
    return out


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Both schemas as one, as far as their keywords combine; the result is checked later."""
    out = dict(a)
    for key, new in b.items():
        old = out.setdefault(key, new)
        if old is new or key in _ANNOTATIONS:
            continue
        if key == "type":
            out[key] = [name for name in old if name in new]
        elif key == "enum":
            out[key] = [value for value in old if _key(value) in {_key(v) for v in new}]
        elif key == "required":
            out[key] = list(dict.fromkeys([*old, *new]))
        elif key == "properties":
            both = {k: {"allOf": [old[k], v]} if k in old else v for k, v in new.items()}
            out[key] = {**old, **both}
        elif key in ("items", "additionalProperties", "contains"):
            out[key] = {"allOf": [old, new]}
        elif key == "not":
            out[key] = {"anyOf": [old, new]}
        elif key == "anyOf":
            out[key] = [{"allOf": [x, y]} for x in old for y in new]
        elif key in _LOWER_BOUNDS:
            out[key] = max(old, new)
        elif key in _UPPER_BOUNDS:
            out[key] = min(old, new)
    return out


_LOWER_BOUNDS = frozenset(
    {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"}
)
_UPPER_BOUNDS = frozenset(
    {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"}
)


def _key(value: Any) -> Any:
    """A hashable stand-in for a JSON value, equal where JSON Schema calls values equal."""
    if isinstance(value, bool) or value is None:
        return ("constant", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _key(v)) for k, v in value.items()))
    return ("string", value)


# -- types and numbers ----------------------------------------------------------------


def _type_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    names = _types(schema)
    return names is None or any(_is_type(value, name) for name in names)


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return _is_number(value) and float(value).is_integer()
    if name == "number":
        return _is_number(value)
    kinds = {"null": type(None), "boolean": bool, "string": str, "array": list, "object": dict}
    return name in kinds and isinstance(value, kinds[name])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounds(schema: Mapping[str, Any]) -> tuple[tuple[Fraction, bool] | None, ...]:
    """(lower, upper) bounds as (value, exclusive), from draft-4 and draft-6+ keywords."""
    out = []
    for inclusive, exclusive, pick in (
        ("minimum", "exclusiveMinimum", max),
        ("maximum", "exclusiveMaximum", min),
    ):
        given, strict = schema.get(inclusive), schema.get(exclusive)
        options = [] if given is None else [(Fraction(given), strict is True)]
        if strict is not None and not isinstance(strict, bool):
            options.append((Fraction(strict), True))
        # The strictest bound wins; on a tie the exclusive one (True sorts above False).
        sign = 1 if pick is max else -1
        out.append(max(options, key=lambda o: (sign * o[0], o[1])) if options else None)
    return tuple(out)


def _number_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    if not _is_number(value):
        return True
    low, high = _bounds(schema)
    if low and (value < low[0] or (value == low[0] and low[1])):
        return False
    if high and (value > high[0] or (value == high[0] and high[1])):
        return False
    step = schema.get("multipleOf")
    if step is None:
        return True
    if isinstance(step, float):  # as `jsonschema` checks it
        quotient = value / step
        return math.isfinite(quotient) and quotient == int(quotient)
    return bool(value % step == 0)


def _numbers(schema: Mapping[str, Any], pointer: str, integer: bool) -> Iterable[int | float]:
    """Numbers to try, nearest zero first; for `number`, the middle of the bounds too."""
    low, high = _bounds(schema)
    if low and high and (low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))):
        at_least, at_most = (">" if low[1] else ">=", low[0]), ("<" if high[1] else "<=", high[0])
        raise UnsatisfiableSchema(pointer, f"no number is {_show(at_least)} and {_show(at_most)}")
    step = Fraction(schema.get("multipleOf") or 1)
    if integer:  # integer multiples of p/q are multiples of p
        step = Fraction(step.numerator)
    first = None if low is None else math.ceil(low[0] / step)
    last = None if high is None else math.floor(high[0] / step)
    steps = itertools.islice(_nearest_zero(first, last), _SCAN)
    found: Iterable[int | float] = (int(k * step) if integer else float(k * step) for k in steps)
    if not integer and low and high:  # between two bounds, maybe no whole multiple fits
        found = itertools.chain(found, [float((low[0] + high[0]) / 2)])
    return found  # the caller drops those out of bounds


def _show(bound: tuple[str, Fraction]) -> str:
    return f"{bound[0]} {float(bound[1]):g}"


def _nearest_zero(first: int | None, last: int | None) -> Iterator[int]:
    """Whole numbers from the one nearest zero in [first, last] outwards (unbounded)."""
    start = 0 if first is None else max(first, 0)
    start = start if last is None else min(start, last)
    if start > 0:
        return itertools.count(start)
    if start < 0:
        return itertools.count(start, -1)
    return itertools.chain([0], itertools.chain.from_iterable((k, -k) for k in itertools.count(1)))


# -- arrays and objects ---------------------------------------------------------------


def _item_schemas(schema: Mapping[str, Any]) -> tuple[Sequence[Any], str, object, str]:
    """(per-position schemas, their keyword, the schema of the rest, its keyword)."""
    items = schema.get("items", True)
    if "prefixItems" in schema:  # 2020-12
        return schema["prefixItems"], "prefixItems", items, "items"
    if isinstance(items, list):  # the tuple form of drafts 4 to 2019-09
        return items, "items", schema.get("additionalItems", True), "additionalItems"
    return (), "items", items, "items"


def _array_ok(value: Any, schema: Mapping[str, Any], check: _Check) -> bool:
    if not isinstance(value, list):
        return True
    prefix, _, rest, _ = _item_schemas(schema)
    positions = [prefix[i] if i < len(prefix) else rest for i in range(len(value))]
    keys = [_key(v) for v in value]
    unique = not schema.get("uniqueItems") or len(set(keys)) == len(keys)
    count = sum(check(v, schema["contains"]) for v in value) if "contains" in schema else 0
    least = schema.get("minContains", 1) if "contains" in schema else 0
    return (
        all(check(v, s) for v, s in zip(value, positions, strict=True))
        and schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", math.inf)
        and unique
        and least <= count <= schema.get("maxContains", math.inf)
    )


def _object_ok(value: Any, schema: Mapping[str, Any], check: _Check) -> bool:
    if not isinstance(value, dict):
        return True
    props = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        matched = [s for p, s in patterns.items() if _search(p, name)]
        if name in props:
            matched.append(props[name])
        elif not matched:
            matched.append(extra)
        if not all(check(item, s) for s in matched):
            return False
    return all(name in value for name in schema.get("required", ())) and (
        schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", math.inf)
    )


# -- strings ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _string_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    if not isinstance(value, str):
        return True
    fits = schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf)
    return fits and ("pattern" not in schema or _search(schema["pattern"], value))


def _strings(schema: Mapping[str, Any], pointer: str) -> Iterable[str]:
    """Strings to try, simplest first: a sample of the format, or a match of the pattern."""
    form = str(schema.get("format", "")).lower()
    least = schema.get("minLength", 0)
    if isinstance(least, int | float) and least > MAX_TEXT:
        raise UnsatisfiableSchema(
            pointer, f"minLength {least} is more than any model writes ({MAX_TEXT:,} characters)"
        )
    version = form[4:] if re.fullmatch(r"uuid[1-8]", form) else None
    template = f"00000000-0000-{version}000-8000-{{:012d}}" if version else _FORMATS.get(form)
    if template:
        first = _FIRSTS.get(form, 0)
        return [template.format(n) for n in range(first, first + 28)]
    if "pattern" in schema:
        return _pattern_samples(schema["pattern"], least, pointer)
    pad = "a" * max(least - 1, 0)
    return list(dict.fromkeys(["a" * least, *(pad + c for c in "abcdefghijklmnopqrstuvwxyz")]))


def _pattern_samples(pattern: str, least: int, pointer: str) -> list[str]:
    try:
        _compiled(pattern)
    except re.error as error:
        raise UnsatisfiableSchema(pointer, f"pattern {pattern!r} is not a regex: {error}") from None
    out = []
    for reps in range(_SCAN // 2):
        sample = _Sampler(pattern, reps).sample()
        pad = "a" * max(least - len(sample), 0)
        out += [sample, sample + pad, pad + sample]
    return list(dict.fromkeys(out))


class _Sampler:
    """A string on the simplest path through a regex: first alternatives, `reps` repeats."""

    def __init__(self, pattern: str, reps: int) -> None:
        self.text = pattern
        self.at = 0
        self.reps = reps

    def sample(self) -> str:
        return self._alternatives()

    def _peek(self, ahead: str) -> bool:
        return self.text.startswith(ahead, self.at)

    def _alternatives(self) -> str:
        first = self._sequence()
        while self._peek("|"):
            self.at += 1
            self._sequence()
        return first

    def _sequence(self) -> str:
        out = []
        while self.at < len(self.text) and not (self._peek("|") or self._peek(")")):
            atom = self._atom()
            low, high = self._quantifier()
            out.append(atom * int(min(max(self.reps, low), high)))
        return "".join(out)

    def _quantifier(self) -> tuple[int, float]:
        bound = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.text, self.at)
        simple = {"*": (0, math.inf), "+": (1, math.inf), "?": (0, 1)}
        if bound:
            self.at = bound.end()
            low = int(bound[1] or 0)
            high = float(bound[3]) if bound[3] else (math.inf if bound[2] else low)
        elif self.text[self.at : self.at + 1] in simple:
            low, high = simple[self.text[self.at]]
            self.at += 1
        else:
            return 1, 1
        if self.text[self.at : self.at + 1] in ("?", "+"):  # lazy or possessive
            self.at += 1
        return low, high

    def _atom(self) -> str:
        char = self.text[self.at]
        self.at += 1
        if char == "(":
            return self._group()
        if char == "[":
            return self._class()
        if char == "\\":
            return self._escape()
        return {"^": "", "$": "", ".": "a"}.get(char, char)

    def _group(self) -> str:
        look = re.compile(r"\?(<?[=!]|P<\w+>|[a-zA-Z]*:?)").match(self.text, self.at)
        kind = look[1] if look else ""
        self.at = look.end() if look else self.at
        inner = self._alternatives() if not self._peek(")") else ""
        self.at += 1  # the closing parenthesis
        return "" if "=" in kind or "!" in kind else inner  # lookarounds match no text

    def _class(self) -> str:
        end = self.at + 1 + self._peek("^") + self._peek("^]")
        while self.text[end] != "]":
            end += 2 if self.text[end] == "\\" else 1
        spec = self.text[self.at - 1 : end + 1]
        self.at = end + 1
        own = self.text[self.at - len(spec) + 1 : self.at - len(spec) + 2]
        return next((c for c in own + _CLASS_TRIES if re.fullmatch(spec, c)), "a")

    def _escape(self) -> str:
        char = self.text[self.at]
        self.at += 1
        if char in "xu":
            width = 2 if char == "x" else 4
            self.at += width
            return chr(int(self.text[self.at - width : self.at], 16))
        if char.isdigit() or char in "bBAZz":
            return ""  # back-references and zero-width assertions
        return _ESCAPES.get(char, char)
