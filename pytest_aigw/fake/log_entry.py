"""The log the gateway writes for one call.

Cost is the request's `cf-aig-custom-cost` where it sends one, else a flat price the fake
charges (0.15 USD per million tokens in, 0.60 out): close to small models' prices, so
cost filters and sums behave like real numbers. A cache hit costs nothing and counts no
tokens in, as observed on the real gateway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .. import _json
from ..calls import Call
from ..logstore import StoredLog
from .answers import Answer
from .credentials import UNBILLED_BY_GATEWAY, Billing, authorized

__all__ = ["PRICE_IN", "PRICE_OUT", "answer_cost", "call_cost", "log_entry"]

PRICE_IN = 0.15e-6  # USD per token
PRICE_OUT = 0.60e-6


def _custom_cost(header: str | None, tokens_in: int, tokens_out: int) -> float | None:
    """The cost a `cf-aig-custom-cost` header sets, or None if absent or unreadable."""
    if header is None:
        return None
    try:
        spec = _json.loads(header)
    except _json.JsonError:  # beyond bounds: refused before this (fake/bounds.py)
        return None
    if not isinstance(spec, dict):
        return None
    if isinstance(spec.get("total_cost"), int | float):
        return float(spec["total_cost"])
    per_in, per_out = spec.get("per_token_in", 0), spec.get("per_token_out", 0)
    if not isinstance(per_in, int | float) or not isinstance(per_out, int | float):
        return None
    cost = float(per_in) * tokens_in + float(per_out) * tokens_out
    return cost if math.isfinite(cost) else None


def answer_cost(answer: Answer) -> float:
    """What a provider's answer costs at the fake's flat price (0 for a failure)."""
    if not answer.ok:
        return 0.0
    return (answer.tokens_in or 0) * PRICE_IN + (answer.tokens_out or 0) * PRICE_OUT


def call_cost(call: Call, answer: Answer, cf: Mapping[str, str]) -> float:
    """What the log of *call* says it cost: what spend limits and budgets count."""
    return _cost(call.cache_status == "HIT", answer, cf)[0]


def _cost(hit: bool, answer: Answer, cf: Mapping[str, str]) -> tuple[float, bool]:
    tokens_in = 0 if hit else answer.tokens_in if answer.ok else 0
    tokens_out = answer.tokens_out if answer.ok else 0
    custom = _custom_cost(cf.get("cf-aig-custom-cost"), tokens_in, tokens_out)
    price = tokens_in * PRICE_IN + tokens_out * PRICE_OUT
    cost = 0.0 if hit or not answer.ok else custom if custom is not None else price
    return cost, custom is not None


def _model_type(path: str) -> str:
    return "embeddings" if path.endswith("embeddings") else "chat"


def log_entry(
    call: Call,
    answer: Answer,
    *,
    created: float,
    request_body: bytes,
    request_type: str,
    cf: Mapping[str, str],
    billing: Billing = UNBILLED_BY_GATEWAY,
    user_agent: str | None = None,
) -> StoredLog:
    """The log for *call*, answered with *answer*, received at *created*.

    *billing* says whether a stored key (`byok`) or Unified Billing (`wholesale`) paid;
    `authentication` is whether the request carried `cf-aig-authorization`.
    """
    hit = call.cache_status == "HIT"
    tokens_in = 0 if hit else answer.tokens_in if answer.ok else None
    tokens_out = answer.tokens_out if answer.ok else None
    cost, custom = _cost(hit, answer, cf)
    response_body = b"".join(answer.chunks[: answer.cut_after])
    keep_bodies = call.options.collect_log_payload is not False
    return StoredLog(
        id=str(call.log_id),
        created=created,
        provider=call.provider,
        model=call.model or "",
        path=call.path,
        model_type=_model_type(call.path),
        duration=round(answer.delay * 1000),
        success=answer.ok,
        status_code=answer.status,
        cached=hit,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost,
        custom_cost=custom,
        metadata=call.metadata,
        step=call.step or 0,
        event_id=call.event_id,
        request_type=request_type,
        response_content_type=answer.content_type.split(";")[0],
        request_body=request_body if keep_bodies else None,
        response_body=response_body if keep_bodies else None,
        request_size=len(request_body),
        response_size=len(response_body),
        wholesale=billing.wholesale,
        byok=billing.byok,
        authentication=authorized(cf),
        user_agent=user_agent,
    )
