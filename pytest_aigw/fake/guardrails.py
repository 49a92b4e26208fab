"""Guardrails: what the gateway's hazard scanner decides about prompts and responses.

A test declares the scanner's verdicts with `aigw.guardrail(...)`: the phase (the
prompt or the response), the action the gateway is set to take for what it finds
(block or flag), the hazard categories found, and which requests they are found in
(the request matchers of `respond`). Declaring any rule for a phase turns that phase
on for the whole gateway, as the dashboard does: every request is then evaluated and
gets an evaluation log, passing ones too, and (on the gateway URL) a streamed request
is answered in one non-streamed payload while its response is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .arguments import check, fail
from .errors import GatewayFault
from .matchers import Asked, Matchers, matchers

__all__ = [
    "ACTIONS",
    "CATEGORIES",
    "PHASES",
    "Evaluation",
    "Guardrail",
    "evaluate",
    "guardrail_rule",
]

Phase = Literal["prompt", "response"]
Result = Literal["PASS", "FLAG", "BLOCK", "UNAVAILABLE"]
PHASES = ("prompt", "response")
ACTIONS = ("block", "flag")
# Llama Guard 3's hazard categories S1-S13 and Prompt Guard's P1 (prompt injection).
CATEGORIES = (*(f"S{n}" for n in range(1, 14)), "P1")
SCANNER_ERRORS = (402, 503)

PROMPT_BLOCKED = GatewayFault(424, 2016, "Prompt blocked due to security configurations")
RESPONSE_BLOCKED = GatewayFault(424, 2017, "Response blocked due to security configurations")
# "the /run API" answers both blocks with 422/2017 (the fake: the REST API's /ai/run).
RUN_PROMPT_BLOCKED = GatewayFault(422, 2017, PROMPT_BLOCKED.message)
RUN_RESPONSE_BLOCKED = GatewayFault(422, 2017, RESPONSE_BLOCKED.message)
NO_SCANNER_CREDITS = GatewayFault(402, 2021, "Insufficient AI Gateway credits")
SCANNER_UNAVAILABLE = GatewayFault(503, 7013, "Guardrails scanner unavailable")  # message chosen


@dataclass(frozen=True)
class Guardrail:
    """One declared verdict: in requests that match, the scanner finds *categories*."""

    number: int
    phase: Phase
    action: Literal["block", "flag"]
    categories: tuple[str, ...]
    matchers: Matchers
    scanner_error: int | None
    text: str


@dataclass(frozen=True)
class Evaluation:
    """The scanner's result for one phase of one request, as its evaluation log shows it."""

    phase: Phase
    result: Result
    categories: tuple[str, ...] = ()
    fault: GatewayFault | None = None  # the gateway's refusal, where it enforces one
    enforced: bool = True  # False: a REST stream, evaluated and logged but let through

    def fields(self) -> dict[str, Any]:
        """The evaluation as a log field."""
        return {
            "check": self.phase.upper(),
            "result": self.result,
            "categories": list(self.categories),
            "enforced": self.enforced,
        }


def evaluate(rules: Sequence[Guardrail], asked: Asked, phase: Phase, run_api: bool) -> Evaluation:
    """What the scanner decides for *asked* in *phase*, given every rule declared for it.

    A scanner without credits refuses whatever the actions (402/2021); an unavailable
    one refuses only where some rule of the phase blocks (503/7013), else the request
    goes on and the scan is recorded as unavailable.
    """
    found = [rule for rule in rules if not rule.matchers.mismatches(asked)]
    failures = {rule.scanner_error for rule in found if rule.scanner_error is not None}
    if 402 in failures:
        return Evaluation(phase, "UNAVAILABLE", fault=NO_SCANNER_CREDITS)
    if 503 in failures:
        blocking = any(rule.action == "block" for rule in rules)
        return Evaluation(phase, "UNAVAILABLE", fault=SCANNER_UNAVAILABLE if blocking else None)
    categories = _categories(rule.categories for rule in found)
    if any(rule.action == "block" for rule in found):
        return Evaluation(phase, "BLOCK", categories, _blocked(phase, run_api))
    return Evaluation(phase, "FLAG" if found else "PASS", categories)


def _categories(found: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    named = {category for categories in found for category in categories}
    return tuple(category for category in CATEGORIES if category in named)


def _blocked(phase: Phase, run_api: bool) -> GatewayFault:
    if run_api:
        return RUN_PROMPT_BLOCKED if phase == "prompt" else RUN_RESPONSE_BLOCKED
    return PROMPT_BLOCKED if phase == "prompt" else RESPONSE_BLOCKED


def guardrail_rule(
    phase: object,
    *,
    action: object,
    categories: object,
    scanner_error: object,
    **matcher_args: Any,
) -> Any:
    """Check `aigw.guardrail(...)` arguments; return a builder taking the rule's number."""
    chosen = matchers(**matcher_args)
    check("phase", phase, phase in PHASES, "'prompt' or 'response'")
    check("action", action, action in ACTIONS, "'block' or 'flag'")
    check(
        "scanner_error",
        scanner_error,
        scanner_error is None or scanner_error in SCANNER_ERRORS,
        "None, 402 (the scanner is out of credits) or 503 (the scanner is unavailable)",
    )
    found = _category_list(categories, allow_none=scanner_error is not None)
    shown = [f"{phase!r}", f"action={action!r}"]
    if found:
        shown.append(f"categories={list(found)!r}")
    if scanner_error is not None:
        shown.append(f"scanner_error={scanner_error}")
    shown += [f"{k}={v!r}" for k, v in chosen.described().items() if v is not None]
    text = f"aigw.guardrail({', '.join(shown)})"
    return lambda number: Guardrail(
        number,
        phase,  # type: ignore[arg-type]
        action,  # type: ignore[arg-type]
        found,
        chosen,
        scanner_error,  # type: ignore[arg-type]
        text,
    )


def _category_list(categories: object, *, allow_none: bool) -> tuple[str, ...]:
    expected = (
        "a list of the hazard categories found, such as ['S1'] or ['P1']"
        f" (one or more of {', '.join(CATEGORIES)})"
    )
    if categories is None and allow_none:
        return ()
    if isinstance(categories, str) or not isinstance(categories, list | tuple) or not categories:
        fail("categories", categories, expected)
    for category in categories:
        check("categories", categories, category in CATEGORIES, expected)
    return tuple(categories)
