"""`cf-aig-metadata`: parse, validate, encode and merge, by the gateway's rules.

The gateway stores custom metadata as a flat JSON object of string, number and
boolean values, at most five entries. What it does with anything else is silent:

- a sixth entry and beyond: dropped (the first five are kept);
- a `null`, object or array value: the whole metadata is stored as `null`;
- invalid JSON, or JSON that is not an object: nothing is stored;
- a key starting with ``cf.`` (reserved-looking): dropped.

`parse` reports what the gateway would store and every problem on the way, so tests
can fail where the app loses metadata. `encode` is for apps: it builds a header value
the gateway keeps exactly, or raises `MetadataError` saying why it cannot.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

from . import _json
from ._errors import MetadataError

__all__ = [
    "HEADER",
    "MAX_ENTRIES",
    "MetadataProblem",
    "MetadataValue",
    "ParsedMetadata",
    "encode",
    "merge",
    "parse",
    "validate",
]

HEADER = "cf-aig-metadata"
MAX_ENTRIES = 5
RESERVED_PREFIX = "cf."

MetadataValue: TypeAlias = "str | int | float | bool"
ProblemKind = Literal[
    "invalid_json",
    "not_an_object",
    "unsupported_value",
    "reserved_key",
    "too_many_entries",
    "beyond_limits",
]


@dataclass(frozen=True)
class MetadataProblem:
    """One way in which the gateway would not store the metadata as sent."""

    kind: ProblemKind
    keys: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class ParsedMetadata:
    """What the gateway stores for a `cf-aig-metadata` header, and why it differs."""

    header: str | None
    stored: dict[str, MetadataValue] | None
    problems: tuple[MetadataProblem, ...] = ()


def _is_scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))


def _keys(keys: Iterable[str]) -> str:
    return ", ".join(repr(k) for k in keys)


def parse(header: str | None) -> ParsedMetadata:
    """Return what the gateway would store for this header value, with the problems."""
    if header is None:
        return ParsedMetadata(header=None, stored=None)
    try:
        decoded = _json.loads(header)
    except _json.JsonError as exc:
        if exc.limit:  # the fake refuses the request (400): see fake/bounds.py
            problem = MetadataProblem("beyond_limits", (), f"{HEADER}: {exc}")
        else:
            problem = MetadataProblem(
                "invalid_json", (), f"{HEADER} is not valid JSON ({exc}); nothing is stored"
            )
        return ParsedMetadata(header, None, (problem,))
    if not isinstance(decoded, dict):
        problem = MetadataProblem(
            "not_an_object",
            (),
            f"{HEADER} must be a JSON object, got {type(decoded).__name__} {header!r};"
            " nothing is stored",
        )
        return ParsedMetadata(header, None, (problem,))
    return _parse_object(header, decoded)


def _parse_object(header: str, decoded: dict[str, object]) -> ParsedMetadata:
    unsupported = [k for k, v in decoded.items() if not _is_scalar(v)]
    if unsupported:
        problem = MetadataProblem(
            "unsupported_value",
            tuple(unsupported),
            f"{HEADER} values must be strings, numbers or booleans, not null, objects or"
            f" arrays (see {_keys(unsupported)}); the gateway then stores no metadata at all",
        )
        return ParsedMetadata(header, None, (problem,))
    problems: list[MetadataProblem] = []
    entries = list(decoded.items())
    if len(entries) > MAX_ENTRIES:
        dropped = tuple(k for k, _ in entries[MAX_ENTRIES:])
        problems.append(
            MetadataProblem(
                "too_many_entries",
                dropped,
                f"{HEADER} has {len(entries)} entries but the gateway keeps at most"
                f" {MAX_ENTRIES} (the first {MAX_ENTRIES}); dropped: {_keys(dropped)}",
            )
        )
        entries = entries[:MAX_ENTRIES]
    reserved = tuple(k for k, _ in entries if k.startswith(RESERVED_PREFIX))
    if reserved:
        problems.append(
            MetadataProblem(
                "reserved_key",
                reserved,
                f"{HEADER} keys starting with {RESERVED_PREFIX!r} are reserved and dropped:"
                f" {_keys(reserved)}",
            )
        )
    stored: dict[str, MetadataValue] = {
        k: v  # type: ignore[misc]
        for k, v in entries
        if k not in reserved
    }
    return ParsedMetadata(header, stored, tuple(problems))


def validate(entries: Mapping[str, object]) -> dict[str, MetadataValue]:
    """Return *entries* as a dict if the gateway would store them exactly, else raise."""
    if not isinstance(entries, Mapping):
        raise MetadataError(
            f"metadata must be a mapping of str to str, int, float or bool,"
            f" got {type(entries).__name__}"
        )
    for key, value in entries.items():
        if not isinstance(key, str):
            raise MetadataError(f"metadata keys must be strings, got {key!r}")
        if key.startswith(RESERVED_PREFIX):
            raise MetadataError(
                f"metadata key {key!r} starts with {RESERVED_PREFIX!r}, which the gateway"
                " reserves and drops; rename it"
            )
        if not _is_scalar(value):
            raise MetadataError(
                f"metadata value for {key!r} must be a str, int, float or bool, got {value!r};"
                " the gateway stores no metadata at all when one value is null, nested or"
                " not finite. Flatten it, or send it as a string (e.g. json.dumps(value))"
            )
    if len(entries) > MAX_ENTRIES:
        raise MetadataError(
            f"metadata has {len(entries)} entries but the gateway keeps at most {MAX_ENTRIES};"
            f" keys: {_keys(entries)}. Drop some, or combine them into one string value"
        )
    return dict(entries)  # type: ignore[arg-type]


def encode(entries: Mapping[str, object]) -> str:
    """Encode *entries* as a `cf-aig-metadata` value the gateway stores exactly.

    Raises `MetadataError` (a `ValueError`) with the reason when it would not. The value
    is ASCII-only JSON, so every HTTP client can send it as a header.
    """
    return json.dumps(validate(entries), separators=(",", ":"))


def merge(app: Mapping[str, object], extra: Mapping[str, object]) -> dict[str, MetadataValue]:
    """Merge *extra* tags into the app's metadata within the five-entry limit.

    The app's own entries come first and are kept; a key present in both takes the
    value from *extra*. Raises `MetadataError` when the result would not fit.
    """
    merged = {**app, **extra}
    if len(merged) > MAX_ENTRIES:
        room = MAX_ENTRIES - len(app)
        raise MetadataError(
            f"cannot add {_keys(k for k in extra if k not in app)} to the app's metadata"
            f" ({_keys(app)}): the gateway keeps at most {MAX_ENTRIES} entries and the"
            f" app uses {len(app)}, leaving room for {max(room, 0)}"
        )
    return validate(merged)
