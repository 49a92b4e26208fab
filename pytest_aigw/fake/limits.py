"""What a gateway's own limits decide: rate limiting, policies and spend limits.

    request ─ rate limit (429, 2003) ─ ... ─ cache ─ (miss) policies (403 / 429)
                                                   ─ spend limits (429, 2045) ─ provider
                                                                                   │
                                                  the logged cost is charged ──────┘

Cache hits skip policies and budgets and cost nothing (as documented). Use is
recorded after the request completes, so a budget lets *grace* requests through
once it is reached (observed: one). Every refusal is logged, as the gateway does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .answers import Answer, Job, gateway_answer
from .encoding import compact_bytes
from .errors import RATE_LIMITED, GatewayFault
from .meters import Meter, calendar_index
from .policies import Policy, compile_policies
from .spend import SpendRule, compile_rules

__all__ = ["Charge", "Limits"]

SPEND_LIMITED = GatewayFault(429, 2045, "Spend limit exceeded")  # observed
POLICY_DENIED = "Access denied by policy"
POLICY_SPENT = "Spending limit exceeded"


@dataclass(frozen=True)
class Charge:
    """The budgets one admitted request spends from, charged with its logged cost."""

    meters: tuple[Meter, ...] = ()

    def __call__(self, cost: float, now: float) -> None:
        for meter in self.meters:
            meter.add(now, cost)


NO_CHARGE = Charge()


@dataclass
class Limits:
    """One gateway's limits; callers hold the gateway's lock."""

    rate_limit: int | None = None
    rate_interval: float = 60.0
    rate_technique: str = "fixed"
    spend_rules: tuple[SpendRule, ...] = ()
    policies: tuple[Policy, ...] = ()
    grace: int = 1
    retry_attempts: int = 1
    _rate: Meter = field(init=False)
    _buckets: dict[tuple[str, tuple[str, ...]], Meter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rate = Meter(self.rate_interval, sliding=self.rate_technique == "sliding")

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> Limits:
        """The limits the gateway settings (checked) declare."""
        return cls(
            settings["rate_limit"],
            settings["rate_limit_interval"],
            settings["rate_limit_technique"],
            compile_rules(settings["spend_limits"]),
            compile_policies(settings["policies"]),
            settings["budget_grace"],
            settings["retry_max_attempts"],
        )

    def admit(self, now: float) -> Answer | None:
        """The rate limit's refusal, or None (and the request counted)."""
        if self.rate_limit is None:
            return None
        if self._rate.used(now) >= self.rate_limit:
            return gateway_answer(RATE_LIMITED)
        self._rate.add(now, 1)
        return None

    def check(self, job: Job, now: float) -> tuple[Answer | None, Charge]:
        """The policies' and spend limits' refusal of *job*, or what to charge it."""
        metadata = job.metadata or {}
        meters: list[Meter] = []
        refused = self._policies(job, metadata, now, meters)
        if refused is not None:
            return refused, NO_CHARGE
        for rule in self.spend_rules:
            key = rule.bucket(job.provider, job.model, metadata)
            if key is None:
                continue
            meter = self._bucket(("spend:" + rule.id, key), rule.meter)
            if not meter.admits(now, rule.limit):
                return gateway_answer(
                    SPEND_LIMITED, rule.refusal(job.provider, job.model)
                ), NO_CHARGE
            meters.append(meter)
        return None, Charge(tuple(meters))

    def _policies(
        self, job: Job, metadata: Mapping[str, Any], now: float, meters: list[Meter]
    ) -> Answer | None:
        if not self.policies:
            return None
        applying = [p for p in self.policies if p.applies(job.provider, job.model, metadata)]
        if not applying or any(p.action == "block" for p in applying):
            return _policy_answer(403, {"message": POLICY_DENIED})
        for policy in applying:
            if policy.action != "limit":
                continue
            meter = self._bucket(("policy:" + policy.id, ()), _calendar(policy.period))
            if not meter.admits(now, policy.amount):
                spent = {"bucket": policy.id, "spent": meter.used(now), "limit": policy.amount}
                return _policy_answer(429, {"message": POLICY_SPENT, **spent})
            meters.append(meter)
        return None

    def _bucket(self, key: tuple[str, tuple[str, ...]], make: Callable[[int], Meter]) -> Meter:
        meter = self._buckets.get(key)
        if meter is None:
            meter = self._buckets[key] = make(self.grace)
        return meter

    def clear(self) -> None:
        """Forget all use: every window starts empty."""
        self._rate.clear()
        self._buckets.clear()


def _calendar(period: str) -> Callable[[int], Meter]:
    index = calendar_index(period)
    return lambda grace: Meter(index=index, grace=grace)


def _policy_answer(status: int, error: dict[str, Any]) -> Answer:
    # Policies answer with an `error` object and no code (documented), not the usual list.
    return Answer(status, (compact_bytes({"success": False, "error": error}),))
