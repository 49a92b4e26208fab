"""Gateway spend limits: cost budgets per provider, model or metadata key (429, code 2045).

A rule reads as the gateway's configuration does (observed shape)::

    {"id": "per-user", "limit": 0.002, "window": 3600, "technique": "fixed",
     "metadata": {"user": {"mode": "partition"}}}

Each dimension (``provider``, ``model``, each ``metadata`` key) is split by value
(``{"mode": "partition"}``: a budget per value) or filtered (``{"mode": "filter",
"value": "openai"}``: the rule applies to that value only). A request missing a
partitioned or filtered metadata key is outside the rule. Spend is the logged cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._validation import (
    check_choice,
    check_mapping,
    check_number,
    check_string,
    check_type,
    check_unique_ids,
    fail,
)
from .meters import Meter

__all__ = ["MAX_RULES", "SpendRule", "check_spend_limits", "compile_rules"]

MAX_RULES = 20  # the documented maximum per gateway
_RULE_KEYS = ("id", "limitType", "limit", "window", "technique", "provider", "model", "metadata")


@dataclass(frozen=True)
class SpendRule:
    """One budget: *scopes* are (dimension, value or None for split by value)."""

    id: str
    limit: float
    window: float
    technique: str
    scopes: tuple[tuple[str, str | None], ...]

    def bucket(
        self, provider: str, model: str | None, metadata: Mapping[str, Any]
    ) -> tuple[str, ...] | None:
        """The budget this request spends from, or None where the rule does not apply."""
        values = {"provider": provider, "model": model or ""}
        key: list[str] = []
        for dimension, wanted in self.scopes:
            if dimension.startswith("metadata."):
                found = metadata.get(dimension[9:])
                actual = None if found is None else str(found)
            else:
                actual = values[dimension]
            if actual is None or (wanted is not None and actual != wanted):
                return None
            key.append(actual)
        return tuple(key)

    def meter(self, grace: int) -> Meter:
        return Meter(self.window, sliding=self.technique == "sliding", grace=grace)

    def refusal(self, provider: str, model: str | None) -> str:
        """The detail after "Spend limit exceeded: ", as the gateway words it (observed)."""
        return (
            f"rule '{self.id}' (cost limit {self.limit:g} per {self.window:g}s,"
            f" {self.technique}) for {provider} {model or ''}".rstrip()
        )


def check_spend_limits(value: object, name: str) -> tuple[dict[str, Any], ...]:
    """*value*, a list of spend-limit rules as the gateway takes them, as a tuple of dicts."""
    items: list[Any] | tuple[Any, ...] = check_type(
        name, value, (list, tuple), "a list of spend-limit rules (dicts)"
    )
    if len(items) > MAX_RULES:
        fail(name, value, f"at most {MAX_RULES} rules (the gateway's limit)")
    check_unique_ids(name, items, "rule", "rules", _compile)
    return tuple(dict(rule) for rule in items)


def compile_rules(rules: tuple[Mapping[str, Any], ...]) -> tuple[SpendRule, ...]:
    """The checked rules, ready to apply."""
    return tuple(_compile(rule, "spend_limits") for rule in rules)


def _compile(rule: object, where: str) -> SpendRule:
    rule = check_mapping(where, rule, "a dict with 'id', 'limit' and 'window'")
    unknown = sorted(set(rule) - set(_RULE_KEYS))
    if unknown:
        fail(f"{where}: key", unknown[0], "one of " + ", ".join(_RULE_KEYS))
    rule_id = check_string(f"{where}: 'id'", rule.get("id"), non_empty=True)
    check_choice(f"{where}: 'limitType'", rule.get("limitType", "cost"), ("cost",))
    limit = check_number(f"{where}: 'limit'", rule.get("limit"), min=0, expected="a cost > 0")
    if limit <= 0:
        fail(f"{where}: 'limit'", limit, "a cost > 0")
    window = check_number(f"{where}: 'window'", rule.get("window"), min=1, expected="seconds >= 1")
    technique = check_choice(
        f"{where}: 'technique'", rule.get("technique", "fixed"), ("fixed", "sliding")
    )
    scopes = [_scope(f"{where}: '{d}'", d, rule[d]) for d in ("provider", "model") if d in rule]
    metadata = check_mapping(
        f"{where}: 'metadata'",
        rule.get("metadata", {}),
        "a dict of metadata keys to {'mode': 'partition'} or {'mode': 'filter', 'value': ...}",
        keys=lambda key: isinstance(key, str) and bool(key),
    )
    for key, scope in metadata.items():
        scopes.append(_scope(f"{where}: metadata {key!r}", f"metadata.{key}", scope))
    return SpendRule(rule_id, float(limit), float(window), technique, tuple(scopes))


def _scope(where: str, dimension: str, scope: object) -> tuple[str, str | None]:
    expected = "{'mode': 'partition'} or {'mode': 'filter', 'value': '<value>'}"
    scope = check_mapping(where, scope, expected)
    mode = scope.get("mode")
    if mode == "partition" and set(scope) == {"mode"}:
        return dimension, None
    value = scope.get("value")
    scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
    if not (mode == "filter" and set(scope) == {"mode", "value"} and scalar):
        fail(where, scope, expected)
    return dimension, str(value)
