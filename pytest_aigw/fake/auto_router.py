"""The Auto Router: `model: "cloudflare/auto"` answered by a model the gateway picks.

    candidates (default pool, or cf-aig-allowed-models / -providers) ─┬─ the turn's pin
                                                                      ├─ scripted route
                                                                      └─ the first candidate

The real router ranks the candidates by a classification of the conversation; the
fake cannot, so it picks deterministically: the model already pinned to the
session's turn, else a route the test scripted with `aigw.auto_route(...)` where one
matches, else the first candidate. The answer names the pick in
`cf-aig-routed-model`, says why in `cf-aig-routing-reason`, and carries a
`cf-aig-routing-decision-id` (UUIDv7).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .answers import Answer, Job, gateway_answer
from .arguments import check
from .errors import GatewayFault
from .matchers import Matchers, matchers

if TYPE_CHECKING:
    pass

__all__ = [
    "AUTO_MODEL",
    "CATALOG",
    "DEFAULT_POOL",
    "REASONS",
    "AutoRoute",
    "AutoRouter",
    "Routing",
    "auto_route_rule",
]

AUTO_MODEL = "cloudflare/auto"
DEFAULT_POOL = (
    "anthropic/claude-fable-5",
    "anthropic/claude-opus-5",
    "anthropic/claude-sonnet-5",
    "openai/gpt-5.6-luna",
    "openai/gpt-5.6-sol",
    "openai/gpt-5.6-terra",
    "xai/grok-4.5",
)
# Models a wildcard in cf-aig-allowed-models can reach beyond the default pool: the one
# the docs name in full (the others are named by prefix only). Exact entries of
# `provider/model` form are taken as they are written (the fake has no catalog).
CATALOG = (*DEFAULT_POOL, "minimax/m3")
REASONS = (
    "cost_optimal_within_pool",
    "forced_by_candidate_pool",
    "pinned_by_turn",
    "fallback_candidate_unavailable",
    "fallback_key_not_in_candidates",
    "fallback_router_error",
    "fallback_router_timeout",
    "fallback_unsupported_input",
)
MODELS_HEADER = "cf-aig-allowed-models"
PROVIDERS_HEADER = "cf-aig-allowed-providers"
SESSION_HEADER = "cf-aig-session-id"
TURN_HEADER = "cf-aig-turn-id"
NO_AFFINITY_HEADER = "cf-aig-no-session-affinity"
# The status is documented, the body is not: the gateway's input-validation code (chosen).
NOTHING_ALLOWED = GatewayFault(400, 7003, "Auto Router: no model is allowed")
MAX_PINS = 10_000  # one per session turn; a hostile stream of new sessions stays bounded
_MODEL_NAME = re.compile(r"(@cf/)?[A-Za-z0-9][\w.:-]*(/[\w.:@-]+)+")


@dataclass(frozen=True)
class Routing:
    """How the Auto Router answered one `cloudflare/auto` request (`call.routing`).

    `model` is the routed model (``openai/gpt-5.6-luna``), `reason` the
    `cf-aig-routing-reason`, `decision_id` the `cf-aig-routing-decision-id`;
    `candidates` the models it could pick from; `session_id`, `turn_id` and
    `session_affinity` what the request's session headers said (None where absent).
    """

    model: str
    reason: str
    decision_id: str
    candidates: tuple[str, ...]
    session_id: str | None = None
    turn_id: str | None = None
    session_affinity: bool = True
    allowed_models: tuple[str, ...] | None = None
    allowed_providers: tuple[str, ...] | None = None

    @property
    def provider(self) -> str:
        """The routed model's provider slug (``workers-ai`` for ``@cf/`` models)."""
        return provider_of(self.model)

    @property
    def bare_model(self) -> str:
        """The routed model without its provider prefix, as the provider is asked."""
        return self.model if self.model.startswith("@cf/") else self.model.split("/", 1)[1]

    def headers(self) -> dict[str, str]:
        """The answer's routing headers (and compat's `cf-aig-model`, `cf-aig-provider`)."""
        return {
            "cf-aig-routed-model": self.model,
            "cf-aig-routing-reason": self.reason,
            "cf-aig-routing-decision-id": self.decision_id,
            "cf-aig-model": self.bare_model,
            "cf-aig-provider": self.provider,
        }


@dataclass(frozen=True)
class AutoRoute:
    """One scripted decision: requests that match are routed to *model* for *reason*."""

    number: int
    model: str
    reason: str | None
    matchers: Matchers
    text: str


def provider_of(model: str) -> str:
    return "workers-ai" if model.startswith("@cf/") else model.split("/", 1)[0]


@dataclass
class AutoRouter:
    """The routes scripted on one gateway, and the models pinned to session turns."""

    new_id: Callable[[], str]
    routes: list[AutoRoute] = field(default_factory=list)
    _pins: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, make: Callable[[int], AutoRoute]) -> AutoRoute:
        with self._lock:
            route = make(len(self.routes) + 1)
            self.routes.append(route)
        return route

    def clear(self) -> None:
        with self._lock:
            self.routes.clear()
            self._pins.clear()

    def decide(self, job: Job, cf: Mapping[str, str]) -> Routing | Answer:
        """Route *job* (asking for `cloudflare/auto`), or the gateway's 400 refusing it."""
        models = _entries(cf.get(MODELS_HEADER))
        providers = _entries(cf.get(PROVIDERS_HEADER))
        pool = _candidates(models, providers)
        if isinstance(pool, str):
            return gateway_answer(NOTHING_ALLOWED, pool, logged=False)
        session = cf.get(SESSION_HEADER)
        affinity = cf.get(NO_AFFINITY_HEADER, "").strip().lower() != "true"
        turn = cf.get(TURN_HEADER)
        pin = (session, turn or _turn_of(job)) if session is not None and affinity else None
        model, reason = self._pick(job, pool, pin)
        if pin is not None and (len(self._pins) < MAX_PINS or pin in self._pins):
            self._pins[pin] = model
        return Routing(
            model, reason, self.new_id(), pool, session, turn, affinity, models, providers
        )

    def _pick(
        self, job: Job, pool: tuple[str, ...], pin: tuple[str, str] | None
    ) -> tuple[str, str]:
        pinned = self._pins.get(pin) if pin is not None else None
        if pinned is not None and pinned in pool:  # a pinned turn is not decided again
            return pinned, "pinned_by_turn"
        for route in self.routes:
            if route.model in pool and not route.matchers.mismatches(job):
                return route.model, route.reason or _default_reason(pool)
        return pool[0], _default_reason(pool)


def _default_reason(pool: tuple[str, ...]) -> str:
    return "forced_by_candidate_pool" if len(pool) == 1 else "cost_optimal_within_pool"


def _turn_of(job: Job) -> str:
    """The turn without `cf-aig-turn-id`: each user message starts one (chosen)."""
    users = sum(1 for message in job.conversation.messages if message.role == "user")
    return f"user-message-{users}"


def _entries(header: str | None) -> tuple[str, ...] | None:
    if header is None:
        return None
    return tuple(entry.strip() for entry in header.split(",") if entry.strip())


def _matches(entry: str, name: str) -> bool:
    """Whether allow-list *entry* matches *name*: `*` matches anything but `/`."""
    parts, names = entry.split("/"), name.split("/")
    return len(parts) == len(names) and all(map(_segment_matches, parts, names))


def _segment_matches(pattern: str, text: str) -> bool:
    """A `*` glob without `/`, matched greedily, backtracking to the last star only.

    No regex: a hostile header of many stars would make one backtrack for ever; this
    takes at most len(pattern) * len(text) steps.
    """
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif p < len(pattern) and pattern[p] == text[t]:
            p += 1
            t += 1
        elif star >= 0:  # let the last star take one more character
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    return pattern[p:].strip("*") == ""


def _candidates(
    models: tuple[str, ...] | None, providers: tuple[str, ...] | None
) -> tuple[str, ...] | str:
    """The models the router may pick, or why none may be picked (the 400's detail)."""
    pool: tuple[str, ...] = DEFAULT_POOL
    if models is not None:
        known = CATALOG + tuple(m for m in models if "*" not in m and m not in CATALOG)
        pool = ()
        for entry in models:
            found = [m for m in known if _MODEL_NAME.fullmatch(m) and _matches(entry, m)]
            if not found:
                return f"{MODELS_HEADER} entry {entry!r} matches no model"
            pool += tuple(m for m in found if m not in pool)
    if providers is not None:
        for entry in providers:
            if not any(_matches(entry, provider_of(m)) for m in pool):
                return f"{PROVIDERS_HEADER} entry {entry!r} matches no model of the pool"
        pool = tuple(m for m in pool if any(_matches(e, provider_of(m)) for e in providers))
    if not pool:
        return f"{MODELS_HEADER if models is not None else PROVIDERS_HEADER} names no model"
    return pool


def auto_route_rule(model: object, *, reason: object, **matcher_args: Any) -> Any:
    """Check `aigw.auto_route(...)` arguments; return a builder taking the rule's number."""
    chosen = matchers(**matcher_args)
    check(
        "model",
        model,
        isinstance(model, str) and model != AUTO_MODEL and bool(_MODEL_NAME.fullmatch(model)),
        "the routed model as 'provider/model', such as 'openai/gpt-5.6-luna'",
    )
    check("reason", reason, reason is None or reason in REASONS, " or ".join(map(repr, REASONS)))
    shown = [f"model={model!r}"]
    if reason is not None:
        shown.append(f"reason={reason!r}")
    shown += [f"{k}={v!r}" for k, v in chosen.described().items() if v is not None]
    text = f"aigw.auto_route({', '.join(shown)})"
    return lambda number: AutoRoute(number, model, reason, chosen, text)  # type: ignore[arg-type]
