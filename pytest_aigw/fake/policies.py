"""Gateway policies: who may use which models, and with what budget (403 and 429).

A policy is written as a dict (the fake's form; the gateway's own conditions are
CEL expressions)::

    {"id": "search-team", "metadata": {"team": "search"}, "resources": ["openai/*"],
     "action": {"type": "limit", "amount": 10, "period": "monthly"}}

It applies to a request whose metadata has every listed key with the value given
(or one of a list of values) and whose ``provider/model`` matches a resource
(``*`` does not cross ``/``; no ``resources``: every model). Actions: ``no-limit``,
``block``, ``limit`` (a budget over a UTC calendar period). With no policies every
request passes; with any, a request no policy applies to is denied, and a block wins.
"""

from __future__ import annotations

import re
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
from .meters import CALENDAR

__all__ = ["Policy", "check_policies", "compile_policies"]

_KEYS = ("id", "metadata", "resources", "action")
_ACTIONS = ("no-limit", "block", "limit")


@dataclass(frozen=True)
class Policy:
    """One checked policy; *amount* and *period* are set for a ``limit`` action."""

    id: str
    metadata: tuple[tuple[str, tuple[str, ...]], ...]
    resources: tuple[re.Pattern[str], ...]
    action: str
    amount: float = 0.0
    period: str = ""

    def applies(self, provider: str, model: str | None, metadata: Mapping[str, Any]) -> bool:
        for key, allowed in self.metadata:
            found = metadata.get(key)
            if found is None or _text(found) not in allowed:
                return False
        resource = f"{provider}/{model or ''}"
        return not self.resources or any(p.fullmatch(resource) for p in self.resources)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_policies(value: object, name: str) -> tuple[dict[str, Any], ...]:
    """*value*, a list of policies, as a tuple of dicts."""
    items: list[Any] | tuple[Any, ...] = check_type(
        name, value, (list, tuple), "a list of policies (dicts)"
    )
    check_unique_ids(name, items, "policy", "policies", _compile)
    return tuple(dict(policy) for policy in items)


def compile_policies(policies: tuple[Mapping[str, Any], ...]) -> tuple[Policy, ...]:
    """The checked policies, ready to apply."""
    return tuple(_compile(policy, "policies") for policy in policies)


def _compile(policy: object, where: str) -> Policy:
    policy = check_mapping(where, policy, "a dict with 'id' and 'action'")
    unknown = sorted(set(policy) - set(_KEYS))
    if unknown:
        fail(f"{where}: key", unknown[0], "one of " + ", ".join(_KEYS))
    policy_id = check_string(f"{where}: 'id'", policy.get("id"), non_empty=True)
    conditions = check_mapping(
        f"{where}: 'metadata'",
        policy.get("metadata", {}),
        "a dict of metadata keys to a value or a list of values",
        keys=lambda key: isinstance(key, str) and bool(key),
        values=lambda v: all(_scalar(x) for x in (v if isinstance(v, list | tuple) else [v])),
    )
    metadata = tuple(
        (key, tuple(_text(x) for x in (v if isinstance(v, list | tuple) else [v])))
        for key, v in conditions.items()
    )
    resources: list[Any] | tuple[Any, ...] = check_type(
        f"{where}: 'resources'", policy.get("resources", []), (list, tuple), "a list of patterns"
    )
    patterns = tuple(_pattern(f"{where}: 'resources'", r) for r in resources)
    return _with_action(Policy(policy_id, metadata, patterns, ""), policy.get("action"), where)


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _pattern(where: str, resource: object) -> re.Pattern[str]:
    text = check_string(where, resource, non_empty=True, expected="'provider/model' patterns")
    return re.compile("[^/]*".join(re.escape(part) for part in text.split("*")))


def _with_action(policy: Policy, action: object, where: str) -> Policy:
    name = f"{where}: 'action'"
    action = check_mapping(name, action, "{'type': 'no-limit' | 'block' | 'limit', ...}")
    kind = check_choice(f"{name} type", action.get("type"), _ACTIONS)
    if kind != "limit":
        if set(action) != {"type"}:
            fail(name, action, f"{{'type': {kind!r}}} with no other keys")
        return Policy(policy.id, policy.metadata, policy.resources, kind)
    allowed = {"type", "amount", "period", "technique"}
    if not set(action) <= allowed:
        fail(name, action, "{'type': 'limit', 'amount': ..., 'period': ...}")
    amount = check_number(f"{name} amount", action.get("amount"), min=0, expected="a cost > 0")
    if amount <= 0:
        fail(f"{name} amount", amount, "a cost > 0")
    period = check_choice(f"{name} period", action.get("period"), CALENDAR)
    check_choice(
        f"{name} technique", action.get("technique", "named-interval"), ("named-interval",)
    )
    return Policy(policy.id, policy.metadata, policy.resources, kind, float(amount), period)
