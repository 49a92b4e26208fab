"""Minimal valid values for JSON schemas (placeholder until the full generator lands)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["UnsatisfiableSchema", "value_for"]


class UnsatisfiableSchema(ValueError):
    """A schema no value satisfies."""


def value_for(schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = kind[0]
    kind = str(kind).lower()
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: value_for(props[k]) for k in schema.get("required", []) if k in props}
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "null": None}[
        kind
    ]
