"""Values built for JSON Schemas: valid, minimal, deterministic, and refusals that say where."""

from __future__ import annotations

import datetime
import enum
import ipaddress
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.lib._pydantic import to_strict_json_schema
from pydantic import AnyUrl, BaseModel, Field, StringConstraints, conint

from pytest_aigw.fake.schema_values import (
    MAX_DEPTH,
    MAX_STEPS,
    UnsatisfiableSchema,
    _Builder,
    value_for,
)

Schema = dict[str, Any]


def assert_valid(schema: Schema | bool, validator: Any = jsonschema.Draft202012Validator) -> Any:
    value = value_for(schema)
    validator(schema).validate(value)
    assert value_for(schema) == value  # deterministic
    json.dumps(value)  # and JSON
    return value


# -- realistic models, as pydantic and OpenAI's strict mode write their schemas -----------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    street: str
    postcode: Annotated[str, StringConstraints(pattern=r"^\d{5}(-\d{4})?$")]
    country: Annotated[str, StringConstraints(min_length=2, max_length=2, to_upper=True)] = "FR"


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: Annotated[int, Field(ge=1, le=9)]


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Tree(BaseModel):
    value: int
    children: list[Tree]


class Chain(BaseModel):
    name: str
    next: Chain | None


class Person(BaseModel):
    name: Annotated[str, StringConstraints(min_length=3, max_length=10)]
    age: Annotated[int, Field(gt=17, lt=130)]
    score: Annotated[float, Field(gt=0, lt=1)]
    rating: Annotated[float, Field(ge=2.5, multiple_of=0.5)]
    balance: Decimal
    born: datetime.datetime
    day: datetime.date
    alarm: datetime.time
    wait: datetime.timedelta
    id: uuid.UUID
    color: Color
    level: Level
    mood: Literal["happy", "sad"]
    home: Address
    addresses: list[Address] = Field(min_length=2)
    counts: dict[str, int]
    pet: Cat | Dog = Field(discriminator="kind")
    either: int | str
    nickname: str | None
    tags: set[Annotated[str, StringConstraints(min_length=1)]] = Field(min_length=3)
    pair: tuple[int, str]
    site: AnyUrl
    ip: ipaddress.IPv4Address
    net: ipaddress.IPv6Network
    tree: Tree
    chain: Chain
    note: str = ""


class Strict(BaseModel):
    count: conint(ge=5)  # type: ignore[valid-type]
    words: list[str]
    maybe: Person | None


MODELS: list[type[BaseModel]] = [Person, Tree, Chain, Address, Strict]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_value_for_a_pydantic_schema_validates_as_the_model(model: type[BaseModel]) -> None:
    model.model_validate(assert_valid(model.model_json_schema()))


@pytest.mark.parametrize("model", [Tree, Chain, Address, Strict], ids=lambda m: m.__name__)
def test_value_for_an_openai_strict_schema_validates_as_the_model(model: type[BaseModel]) -> None:
    model.model_validate(assert_valid(to_strict_json_schema(model)))


def test_a_pydantic_value_is_minimal_and_ordered_as_declared() -> None:
    value = value_for(Person.model_json_schema())
    assert list(value) == [f for f, info in Person.model_fields.items() if info.is_required()]
    assert value["name"] == "aaa"
    assert (value["age"], value["score"], value["rating"]) == (18, 0.5, 2.5)
    assert value["born"] == "2000-01-01T00:00:00Z"
    assert value["pet"] == {"kind": "cat", "lives": 1}
    assert value["tags"] == ["a", "b", "c"]
    assert value["tree"] == {"value": 0, "children": []}
    assert value["chain"] == {"name": "", "next": None}
    assert value["home"]["postcode"] == "00000"


def test_a_recursive_root_copied_by_strict_mode_is_cut_at_once() -> None:
    assert value_for(to_strict_json_schema(Chain)) == {"name": "", "next": None}


def test_an_email_address_validates_as_pydantic_emailstr() -> None:
    pytest.importorskip("email_validator")
    from pydantic import EmailStr

    class Contact(BaseModel):
        email: EmailStr

    Contact.model_validate(assert_valid(Contact.model_json_schema()))


# -- Gemini's OpenAPI subset --------------------------------------------------------------


def as_json_schema(schema: Any) -> Any:
    """Gemini's dialect in plain JSON Schema terms, for `jsonschema` to check."""
    if isinstance(schema, list):
        return [as_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: as_json_schema(v) for k, v in schema.items() if k not in ("nullable", "format")}
    if "type" in schema:
        out["type"] = [schema["type"].lower(), *(["null"] if schema.get("nullable") else [])]
    return out


GEMINI: Schema = {
    "type": "OBJECT",
    "properties": {
        "title": {"type": "STRING"},
        "genre": {"type": "STRING", "format": "enum", "enum": ["drama", "comedy"]},
        "year": {"type": "INTEGER", "minimum": 1900},
        "stars": {"type": "NUMBER", "nullable": True, "minimum": 1},
        "cast": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1},
        "sequel": {"type": "BOOLEAN"},
        "hidden": {"type": "STRING", "nullable": True},
    },
    "required": ["year", "title", "genre", "cast", "sequel", "stars"],
    "propertyOrdering": ["year", "title"],
}


def test_a_gemini_schema_gets_its_values_in_property_ordering() -> None:
    value = value_for(GEMINI)
    jsonschema.Draft202012Validator(as_json_schema(GEMINI)).validate(value)
    assert value == {
        "year": 1900,
        "title": "",
        "genre": "drama",
        "stars": 1.0,
        "cast": [""],
        "sequel": False,
    }


# -- keyword by keyword -------------------------------------------------------------------

NEXT: Schema = {"next": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "null"}]}}
CASES: list[tuple[Schema | bool, Any]] = [
    ({}, None),
    (True, None),
    ({"type": "null"}, None),
    ({"type": "boolean"}, False),
    ({"type": ["string", "null"]}, ""),
    ({"type": ["null", "string"]}, None),
    ({"const": {"a": [1]}}, {"a": [1]}),
    ({"enum": [3, "x"], "type": "string"}, "x"),
    ({"type": "integer"}, 0),
    ({"type": "number"}, 0.0),
    ({"type": "integer", "minimum": 3}, 3),
    ({"type": "integer", "maximum": -3}, -3),
    ({"type": "integer", "exclusiveMinimum": 3}, 4),
    ({"type": "integer", "exclusiveMaximum": -3}, -4),
    ({"type": "integer", "minimum": 3, "exclusiveMinimum": True}, 4),
    ({"type": "integer", "maximum": 3, "exclusiveMaximum": 3}, 0),
    ({"type": "integer", "minimum": 7, "exclusiveMaximum": 9}, 7),
    ({"type": "integer", "maximum": 7, "exclusiveMaximum": 7}, 0),
    ({"type": "integer", "minimum": 3, "exclusiveMinimum": 3}, 4),
    ({"type": "integer", "minimum": 4, "exclusiveMinimum": 3}, 4),
    ({"type": "integer", "minimum": 7, "multipleOf": 5}, 10),
    ({"type": "integer", "maximum": -7, "multipleOf": 5}, -10),
    ({"type": "integer", "minimum": 1, "multipleOf": 0.5}, 1),
    ({"type": "integer", "minimum": 2, "multipleOf": 1.5}, 3),
    ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}, 0.25),
    ({"type": "number", "minimum": 0.1, "maximum": 0.1}, 0.1),
    ({"type": "number", "minimum": 0.25, "multipleOf": 0.1}, 0.4),
    ({"type": "number", "minimum": 1, "maximum": 1.5}, 1.0),
    ({"type": "string", "minLength": 3}, "aaa"),
    ({"type": "string", "format": "date-time"}, "2000-01-01T00:00:00Z"),
    ({"type": "string", "format": "uuid7"}, "00000000-0000-7000-8000-000000000000"),
    ({"type": "string", "format": "email"}, "user0@example.com"),
    ({"type": "string", "format": "ipv6"}, "2001:db8::1"),
    ({"type": "string", "format": "no-such-format", "minLength": 1}, "a"),
    ({"type": "string", "pattern": "^[A-Z]{2}-\\d+$"}, "AA-0"),
    ({"type": "string", "pattern": "^(?:ab|c)+x?$"}, "ab"),
    ({"type": "string", "pattern": "(?i)^(?=.)[^a-z0-9]\\x41\\u0042[b-d]\\.$"}, "^ABb."),
    ({"type": "string", "pattern": "a{2,}b{,2}c{3}(?P<n>d)e*?(?!x)(?<=d)$"}, "aacccd"),
    ({"type": "string", "pattern": "[]x]\\w\\s\\n\\bz\\Bq", "minLength": 1}, "]a \nzq"),
    ({"type": "string", "pattern": "^(|x)$|^y"}, ""),
    ({"type": "string", "pattern": "b", "minLength": 3}, "baa"),
    ({"type": "string", "pattern": "^b", "minLength": 3}, "baa"),
    ({"type": "string", "pattern": "b$", "minLength": 3}, "aab"),
    ({"type": "string", "pattern": "^[a-z]+$", "minLength": 3}, "aaa"),
    ({"type": "string", "pattern": "^a{3}$", "maxLength": 5}, "aaa"),
    ({"type": "array"}, []),
    ({"type": "array", "minItems": 2, "items": {"type": "integer"}}, [0, 0]),
    ({"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "integer"}}, [0, 1]),
    ({"type": "array", "minItems": 2, "uniqueItems": True, "items": {"minimum": 5}}, [5.0, 6.0]),
    ({"type": "array", "minItems": 2, "uniqueItems": True, "items": {"maximum": -5}}, [-5.0, -6.0]),
    (
        {"type": "array", "minItems": 3, "uniqueItems": True, "items": {"enum": [1, 2, 3]}},
        [1, 2, 3],
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "array"}},
        [[], [None]],
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "object"}},
        [{}, {"key0": None}],
    ),
    (
        {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "object", "required": ["a"]},
        },
        [{"a": None}, {"a": True}],
    ),
    ({"prefixItems": [{"const": 1}], "minItems": 2, "items": {"type": "string"}}, [1, ""]),
    ({"items": [{"const": 1}], "minItems": 2, "additionalItems": {"type": "string"}}, [1, ""]),
    ({"type": "array", "contains": {"const": 7}}, [7]),
    ({"type": "array", "contains": {"type": "integer"}, "minContains": 2}, [0, 0]),
    ({"type": "object"}, {}),
    ({"required": ["b", "a"], "properties": {"a": {"const": 1}}}, {"a": 1, "b": None}),
    ({"type": "object", "minProperties": 1, "properties": {"a": {"const": 1}}}, {"a": 1}),
    ({"type": "object", "minProperties": 1, "additionalProperties": {"const": 2}}, {"key0": 2}),
    (
        {"type": "object", "minProperties": 1, "properties": {"key0": {"const": 1}}},
        {"key0": 1},
    ),
    ({"type": "object", "propertyOrdering": ["b"], "required": ["a", "b"]}, {"b": None, "a": None}),
    ({"$ref": "#/$defs/a", "$defs": {"a": {"const": 1}}}, 1),
    ({"$ref": "#/definitions/a~1b", "definitions": {"a/b": {"const": 1}}}, 1),
    ({"$ref": "#/definitions/a%25b", "definitions": {"a%b": {"const": 1}}}, 1),
    ({"$ref": "#/definitions/a~0b~01", "definitions": {"a~b~1": {"const": 1}}}, 1),
    ({"$ref": "#/x/1", "x": [{"const": 0}, {"const": 1}]}, 1),
    ({"$ref": "#/$defs/a", "title": "t", "$defs": {"a": {"type": "integer"}}}, 0),
    ({"$ref": "#/$defs/a", "minimum": 2, "$defs": {"a": {"type": "integer"}}}, 2),
    ({"anyOf": [{"type": "string", "minLength": 2}, {"type": "integer"}], "maxLength": 1}, 0),
    ({"anyOf": [{"type": "integer"}], "anyOf_": 1}, 0),
    ({"oneOf": [{"type": "number"}, {"type": "integer", "minimum": 1}]}, 0.0),
    ({"oneOf": [{"type": "integer"}, {"type": "number", "maximum": -1}]}, 0),
    ({"oneOf": [{"type": "number", "minimum": 1}, {"type": "number"}]}, 0.0),
    ({"allOf": [{"type": "integer"}, {"minimum": 2}, {"maximum": 5}, {"minimum": 3}]}, 3),
    ({"allOf": [{"type": ["integer", "null"]}, {"type": "null", "title": "t"}]}, None),
    ({"allOf": [{"maximum": 5}, {"maximum": 3}, {"minimum": 3}, {"type": "integer"}]}, 3),
    ({"allOf": [{"enum": [1, 2, 3]}, {"enum": [3, 2]}]}, 2),
    ({"allOf": [{"required": ["a"]}, {"required": ["b", "a"]}, {"type": "object"}]}, None),
    (
        {"allOf": [{"properties": {"a": {"minimum": 1}}}, {"properties": {"a": {"maximum": 4}}}]}
        | {"required": ["a"]},
        {"a": 1.0},
    ),
    ({"allOf": [{"items": {"minimum": 1}}, {"items": {"type": "integer"}}, {"minItems": 1}]}, [1]),
    (
        {
            "allOf": [
                {"anyOf": [{"type": "null"}, {"minimum": 2}]},
                {"anyOf": [{"type": "integer"}]},
            ]
        },
        2,
    ),
    ({"allOf": [{"minimum": 2, "exclusiveMinimum": True}, {"minimum": 3}, {"type": "integer"}]}, 3),
    ({"allOf": [{"minimum": 3}, {"minimum": 2, "exclusiveMinimum": True}, {"type": "integer"}]}, 3),
    ({"allOf": [{"not": {"const": 0}}, {"not": {"const": 1}}, {"type": "integer"}]}, -1),
    ({"allOf": [True, {"type": "integer"}]}, 0),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"$ref": "#/$defs/i"}}
        | {"$defs": {"i": {"type": "integer"}}},
        [0, 1],
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True}
        | {"items": {"allOf": [{"type": "integer"}, {"minimum": 0}]}},
        [0, 1],
    ),
    (
        {"allOf": [{"$ref": "#/$defs/n"}, {"minProperties": 1}]}
        | {"$defs": {"n": {"type": "object", "required": ["next"], "properties": NEXT}}},
        {"next": None},
    ),
    ({"type": "number", "minimum": 3.5, "exclusiveMinimum": 3, "maximum": 3.9}, 3.7),
    ({"type": "number", "maximum": -3.5, "exclusiveMaximum": -3, "minimum": -3.9}, -3.7),
    ({"type": "integer", "minimum": 700, "multipleOf": 5}, 700),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"enum": [1, True]}},
        [1, True],
    ),
    ({"type": "array", "items": [{"const": 1}], "minItems": 2}, [1, None]),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True}
        | {"items": {"type": "array", "minItems": 2}},
        [[None, None], [True, None]],
    ),
    (
        {"type": "array", "minItems": 3, "uniqueItems": True}
        | {"items": {"type": "array", "items": {"type": "integer"}}},
        [[], [0], [1]],
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True}
        | {
            "items": {
                "type": "array",
                "uniqueItems": True,
                "minItems": 1,
                "items": {"type": "integer"},
            }
        },
        [[0], [1]],
    ),
    ({"allOf": [{"maximum": 5, "exclusiveMaximum": True}, {"minimum": 3, "maximum": 3}]}, 3.0),
    ({"allOf": [{"maximum": -5}, {"maximum": -3}, {"type": "integer"}]}, -5),
    ({"type": "integer", "minimum": -100, "maximum": -90}, -90),
    ({"type": "integer", "minimum": 90, "maximum": 100}, 90),
    ({"type": "object", "required": ["a"], "maxProperties": 1}, {"a": None}),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True}
        | {"items": {"type": "object", "required": ["a", "b"]}},
        [{"a": None, "b": None}, {"a": True, "b": None}],
    ),
    ({"allOf": [{"minimum": 2, "exclusiveMinimum": True}, {"type": "integer"}]}, 3),
    ({"allOf": [{"maximum": -2, "exclusiveMaximum": True}, {"type": "integer"}]}, -3),
    (
        {
            "allOf": [
                {"properties": {"a": {"type": "integer"}}},
                {"properties": {"a": {"minimum": 3}}},
            ]
        }
        | {"required": ["a"]},
        {"a": 3},
    ),
    (
        {"allOf": [{"properties": {"a": {"const": 1}}}, {"properties": {"b": {"const": 2}}}]}
        | {"required": ["a", "b"]},
        {"a": 1, "b": 2},
    ),
    (
        {
            "allOf": [
                {"additionalProperties": {"type": "integer"}},
                {"additionalProperties": {"minimum": 2}},
            ]
        }
        | {"minProperties": 1},
        {"key0": 2},
    ),
    ({"allOf": [{"contains": {"type": "integer"}}, {"contains": {"minimum": 2}}]}, [2]),
    (
        {"allOf": [{"format": "uuid"}, {"format": "date"}], "type": "string"},
        "00000000-0000-4000-8000-000000000000",
    ),
    (
        {
            "type": "array",
            "minItems": 3,
            "uniqueItems": True,
            "items": {"type": "integer", "minimum": -1, "maximum": 1},
        },
        [0, 1, -1],
    ),
    ({"allOf": [{"minimum": 2, "exclusiveMinimum": False}, {"type": "integer"}]}, 2),
    ({"allOf": [{"exclusiveMaximum": True}, {"type": "integer"}]}, 0),
    ({"not": {"type": "null"}}, False),
    ({"not": {"type": ["null", "boolean", "integer"]}, "minimum": 2}, ""),
    ({"patternProperties": {"^a": {"type": "integer"}}, "required": ["ab"]}, {"ab": 0}),
    (
        {"patternProperties": {"^a": {"minimum": 1}, "b": {"maximum": 1}}, "required": ["ab"]},
        {"ab": 1.0},
    ),
    (
        {
            "patternProperties": {"^a": {"minimum": 1}},
            "properties": {"ab": {"type": "integer"}},
            "required": ["ab"],
        },
        {"ab": 1},
    ),
]


@pytest.mark.parametrize(("schema", "expected"), CASES, ids=lambda x: json.dumps(x)[:60])
def test_value_for_each_keyword(schema: Schema, expected: Any) -> None:
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    draft4 = "additionalItems" in json.dumps(schema) or "True}" in repr(schema).replace(" ", "")
    if draft4 or (isinstance(schema, dict) and isinstance(schema.get("items"), list)):
        validator = jsonschema.Draft4Validator
    value = assert_valid(schema, validator)
    if expected is not None:  # as JSON, where 1, 1.0 and true differ
        assert json.dumps(value) == json.dumps(expected)


def test_uppercase_types_and_nullable_are_understood_when_checking() -> None:
    schema = {"anyOf": [{"type": "INTEGER", "minimum": 1}, {"type": "STRING", "nullable": True}]}
    assert value_for(schema) == 1
    assert value_for({"oneOf": schema["anyOf"] + [{"type": "null"}]}) == 1
    assert value_for({"type": "string", "nullable": True, "enum": [None, "x"]}) is None


# -- refusals -------------------------------------------------------------------------------

REFUSALS: list[tuple[Schema | bool, str, str]] = [
    (False, "#", "the schema is `false`, which no value fits"),
    (
        {"type": "object", "properties": {"a": False}, "required": ["a"]},
        "#/properties/a",
        "the schema is `false`",
    ),
    ({"type": "integer", "minimum": 5, "maximum": 3}, "#", "no number is >= 5 and <= 3"),
    ({"type": "number", "exclusiveMinimum": 3, "maximum": 3}, "#", "no number is > 3 and <= 3"),
    (
        {"type": "number", "minimum": 0.1, "exclusiveMaximum": 0.1},
        "#",
        "no number is >= 0.1 and < 0.1",
    ),
    ({"type": "integer", "minimum": 0.2, "maximum": 0.8}, "#", "no integer fits"),
    ({"type": "string", "minLength": 3, "maxLength": 2}, "#", "no string fits"),
    ({"type": "string", "pattern": "["}, "#", "pattern '[' is not a regex"),
    ({"type": "string", "pattern": "^a$", "minLength": 2}, "#", "no string fits"),
    ({"type": "array", "minItems": 3, "maxItems": 2}, "#", "needs 3 items, more than maxItems"),
    (
        {"type": "array", "minItems": 2, "items": [{}], "additionalItems": False},
        "#/additionalItems",
        "the schema is `false`",
    ),
    (
        {"type": "array", "minItems": 3, "uniqueItems": True, "items": {"type": "boolean"}},
        "#/items",
        "cannot find 3 distinct values",
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "null"}},
        "#/items",
        "cannot find 2 distinct values",
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"const": {}}},
        "#/items",
        "cannot find 2 distinct values",
    ),
    (
        {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "object", "additionalProperties": False},
        },
        "#/items",
        "the property count bounds cannot be met",
    ),
    (
        {
            "type": "array",
            "minItems": 2,
            "uniqueItems": True,
            "items": {"type": "array", "maxItems": 0},
        },
        "#/items",
        "needs 1 items, more than maxItems",
    ),
    (
        {"type": "array", "minItems": 2, "uniqueItems": True}
        | {"items": {"anyOf": [{"const": 5}, {"enum": [1, 5]}]}},
        "#/items",
        "cannot find enough distinct items",
    ),
    (
        {"type": "object", "patternProperties": {"^a": False}, "required": ["ab"]},
        "#/patternProperties/^a",
        "the schema is `false`",
    ),
    (
        {"type": "object", "required": ["a", "b"], "maxProperties": 1},
        "#",
        "the property count bounds cannot be met",
    ),
    (
        {"type": "object", "minProperties": 2, "additionalProperties": False},
        "#",
        "the property count bounds cannot be met",
    ),
    (
        {"type": "object", "required": ["a"], "additionalProperties": False},
        "#/additionalProperties",
        "the schema is `false`",
    ),
    ({"type": "string", "enum": [1, 2]}, "#", "no listed value (enum, const) fits"),
    ({"enum": []}, "#", "no listed value"),
    ({"type": []}, "#", "`type` allows no type"),
    ({"type": "thing"}, "#", "unknown type 'thing'"),
    ({"$ref": "#/$defs/missing"}, "#", "$ref '#/$defs/missing' leads to nothing"),
    ({"$ref": "#/x/1", "x": [1]}, "#", "$ref '#/x/1' leads to nothing"),
    ({"$ref": "other.json#/a"}, "#", "$ref 'other.json#/a' is not a local ref"),
    ({"$ref": "#"}, "#", "$ref '#' recurses with no way out"),
    (
        {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}},
        "#",
        "$ref '#/$defs/a' recurses",
    ),
    (
        {
            "$ref": "#/$defs/a",
            "title": "t",
            "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        },
        "#/$defs/b",
        "$ref '#/$defs/a' recurses",
    ),
    ({"anyOf": []}, "#", "anyOf is empty"),
    (
        {"type": "object", "properties": {"a/b~c": False}, "required": ["a/b~c"]},
        "#/properties/a~1b~0c",
        "the schema is `false`",
    ),
    (
        {"anyOf": [False, {"const": 1, "type": "string"}]},
        "#",
        "#/anyOf/0: the schema is `false`, which no value fits; "
        "#/anyOf/1: no listed value (enum, const) fits",
    ),
    ({"allOf": [{"$ref": "#/nope"}]}, "#/allOf/0", "$ref '#/nope' leads to nothing"),
    ({"type": "array", "prefixItems": [False], "minItems": 1}, "#/prefixItems/0", "the schema is"),
    (
        {"type": "array", "prefixItems": [{}], "items": False, "minItems": 2},
        "#/items",
        "the schema",
    ),
    ({"type": "array", "items": [False], "minItems": 1}, "#/items/0", "the schema is `false`"),
    ({"type": "array", "items": False, "minItems": 1}, "#/items", "the schema is `false`"),
    (
        {"anyOf": [False, {"type": "string", "minLength": 2}], "maxLength": 1},
        "#",
        "#/anyOf/0: the schema is `false`",
    ),
    (
        {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        "#",
        "#/oneOf/0: 0 fits more than one branch",
    ),
    (
        {"anyOf": [{"minimum": 3}], "maximum": 1, "type": "integer"},
        "#",
        "#/anyOf/0: no number is >= 3 and <= 1",
    ),
    (
        {"allOf": [{"pattern": "a"}, {"pattern": "b"}], "type": "string"},
        "#",
        "the parts of allOf do not combine",
    ),
    (
        {
            "allOf": [
                {"type": "string", "nullable": True, "minLength": 1},
                {"type": "string", "maxLength": 0},
            ]
        },
        "#",
        "no string fits",
    ),
    (
        {"anyOf": [{"pattern": "b"}], "pattern": "a", "type": "string"},
        "#",
        "#/anyOf/0: the branch does not combine",
    ),
    (
        {
            "type": "object",
            "patternProperties": {"^a": {"type": "string"}},
            "required": ["a"],
            "properties": {"a": {"type": "integer"}},
        },
        "#/properties/a",
        "`type` allows no type",
    ),
    (
        {
            "type": "array",
            "minItems": 2,
            "contains": {"const": 0},
            "maxContains": 1,
            "items": {"const": 0},
        },
        "#",
        "[0, 0] was built but does not fit",
    ),
    ({"type": "integer", "minimum": "x"}, "#", "the schema is malformed (ValueError"),
]


@pytest.mark.parametrize(("schema", "pointer", "why"), REFUSALS, ids=lambda x: json.dumps(x)[:60])
def test_unsatisfiable_schemas_name_the_place_and_the_reason(
    schema: Schema | bool, pointer: str, why: str
) -> None:
    with pytest.raises(UnsatisfiableSchema) as caught:
        value_for(schema)
    assert caught.value.pointer == pointer
    assert caught.value.reason.startswith(why)
    assert str(caught.value) == f"no JSON value fits the schema at {pointer}: {caught.value.reason}"


def nested(depth: int, leaf: Schema) -> Schema:
    schema = leaf
    for _ in range(depth):
        schema = {"type": "array", "minItems": 1, "items": schema}
    return schema


def test_deep_nesting_is_refused_past_the_cap() -> None:
    assert value_for(nested(MAX_DEPTH, {"const": 1})) is not None
    with pytest.raises(UnsatisfiableSchema, match=f"nested deeper than {MAX_DEPTH} levels"):
        value_for(nested(5000, {"const": 1}))


def test_deeply_nested_refs_are_refused_past_the_cap() -> None:
    defs: Schema = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}", "minimum": 0} for i in range(5000)}
    defs["d5000"] = {"const": 1}
    with pytest.raises(UnsatisfiableSchema, match="nested deeper than"):
        value_for({"$ref": "#/$defs/d0", "$defs": defs})
    # A chain just within the cap: each ref followed is one level.
    defs[f"d{MAX_DEPTH - 1}"] = {"const": 1}
    assert value_for({"$ref": "#/$defs/d0", "$defs": defs}) == 1


def test_checking_refs_that_never_end_is_refused() -> None:
    schema: Schema = {"oneOf": [{"type": "integer"}, {"$ref": "#/$defs/a"}]}
    schema["$defs"] = {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}
    with pytest.raises(UnsatisfiableSchema, match="nested deeper than 128 levels"):
        value_for(schema)


def test_a_schema_that_branches_exponentially_ends_quickly() -> None:
    schema: Schema = {"type": "string", "maxLength": 0, "minLength": 1}
    for _ in range(40):
        schema = {"anyOf": [schema, schema]}
    # 2**40 paths: the step cap, not the search, ends it (in well under a second).
    with pytest.raises(UnsatisfiableSchema, match=f"more than {MAX_STEPS} sub-schemas"):
        value_for(schema)


# -- properties ------------------------------------------------------------------------------

Leaf = st.SearchStrategy[Schema]


def leaves() -> Leaf:
    ints = st.integers(-20, 20)
    bounds = st.tuples(ints, st.integers(0, 10)).map(lambda lw: (lw[0], lw[0] + lw[1]))
    return st.one_of(
        st.just({}),
        st.sampled_from([{"type": t} for t in ("null", "boolean", "integer", "number", "string")]),
        bounds.map(lambda b: {"type": "integer", "minimum": b[0], "maximum": b[1]}),
        bounds.map(lambda b: {"type": "number", "exclusiveMinimum": b[0], "maximum": b[1] + 1}),
        st.builds(
            lambda m, lo: {"type": "integer", "multipleOf": m, "minimum": lo},
            st.integers(1, 7),
            ints,
        ),
        st.tuples(st.integers(0, 4), st.integers(0, 4)).map(
            lambda b: {"type": "string", "minLength": b[0], "maxLength": b[0] + b[1]}
        ),
        st.sampled_from(["^[a-z]{3}$", "^\\d+-\\d{2}$", "x|y", "^(ab)*c?$", "[A-F0-9]{4}"]).map(
            lambda p: {"type": "string", "pattern": p}
        ),
        st.sampled_from(["date", "date-time", "email", "uuid", "ipv4", "uri"]).map(
            lambda f: {"type": "string", "format": f}
        ),
        st.lists(st.one_of(st.none(), st.booleans(), ints, st.text(max_size=3)), min_size=1).map(
            lambda e: {"enum": e}
        ),
        ints.map(lambda c: {"const": c}),
    )


def composites(inner: Leaf) -> Leaf:
    names = st.lists(st.sampled_from("abcde"), unique=True, max_size=4)
    return st.one_of(
        st.builds(
            lambda s, n, u: {"type": "array", "items": s, "minItems": n, "uniqueItems": u},
            inner,
            st.integers(0, 3),
            st.just(False),
        ),
        st.builds(
            lambda props, required: {
                "type": "object",
                "properties": props,
                "required": [r for r in required if r in props],
                "additionalProperties": False,
            },
            st.dictionaries(st.sampled_from("abcde"), inner, max_size=4),
            names,
        ),
        st.lists(inner, min_size=1, max_size=3).map(lambda b: {"anyOf": b}),
        st.tuples(inner).map(lambda b: {"anyOf": [*b, {"type": "null"}]}),
        inner.map(lambda s: {"allOf": [s, {}]}),
        inner.map(lambda s: {"type": "array", "prefixItems": [s], "minItems": 1}),
    )


def with_definitions(schema: Schema) -> st.SearchStrategy[Schema]:
    """The schema behind a root `$ref`, as a property, and as a node of a recursive tree."""
    node: Schema = {"properties": {"v": schema, "kids": {"items": {"$ref": "#/$defs/node"}}}}
    node |= {"type": "object", "required": ["v", "kids"]}
    return st.sampled_from(
        [
            schema,
            {"$ref": "#/$defs/x", "$defs": {"x": schema}},
            {"properties": {"p": {"$ref": "#/definitions/x"}}, "required": ["p"]}
            | {"definitions": {"x": schema}},
            {"$ref": "#/$defs/node", "$defs": {"node": node}},
        ]
    )


plain_schemas = st.recursive(leaves(), composites, max_leaves=8)
schemas = plain_schemas.flatmap(with_definitions)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas)
def test_every_generated_schema_gets_a_valid_deterministic_value(schema: Schema) -> None:
    assert_valid(schema)


# hypothesis-jsonschema 0.23.1 fails on any object schema with Hypothesis 6.170
# ("'many' object has no attribute 'more'"), so its data is drawn for the other schemas.
objectless = plain_schemas.filter(lambda s: '"object"' not in json.dumps(s))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.data())
def test_the_internal_check_agrees_with_jsonschema(data: st.DataObject) -> None:
    from hypothesis_jsonschema import from_schema

    schema = data.draw(objectless)
    instance = data.draw(from_schema(schema))
    # The check that vets every built value agrees with `jsonschema`. (hypothesis-jsonschema
    # knows drafts 4 to 7, so `prefixItems` instances may be invalid: the check must say so.)
    valid = jsonschema.Draft202012Validator(schema).is_valid(instance)
    assert _Builder(schema).matches(instance, schema) == valid
    assert value_for({"const": instance}) == instance


def test_the_draft_4_tuple_and_exclusive_forms_validate_under_draft_4() -> None:
    schema: Schema = {
        "type": "array",
        "items": [{"type": "number", "minimum": 1, "exclusiveMinimum": True}],
    }
    schema |= {"minItems": 1, "additionalItems": False}
    assert assert_valid(schema, jsonschema.Draft4Validator) == [2.0]
