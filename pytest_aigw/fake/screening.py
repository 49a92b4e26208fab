"""The gateway's content checks around one request: Guardrails and DLP.

    prompt guardrail ─ cache ─ (miss) DLP request check ─ provider ─ response guardrail
                                                                   ─ DLP response check

Guardrails evaluate every request once a phase is on, cache hits included (only
Policies and DLP are documented to skip cache hits); DLP runs after a cache miss, and
the cache keeps the provider's answer as it was, so a hit carries no `cf-aig-dlp`
header and a blocked answer is never cached. The gateway's Run API has neither check
(its own page says so). On the REST API a streamed response is evaluated and logged,
not enforced; on the gateway URL it is buffered and answered as one JSON payload.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..logstore import StoredLog
from .answers import Answer, Job, gateway_answer
from .dlp import DLP_HEADER, DlpPolicy, DlpResult, header_value, log_fields, scan
from .encoding import compact_bytes
from .errors import GatewayFault
from .guardrails import Evaluation, Guardrail, evaluate

__all__ = ["Screen", "Screening"]

LLAMA_GUARD = "@cf/meta/llama-guard-3-8b"
PROMPT_GUARD = "@cf/meta/prompt-guard-2-86m"  # the P1 (prompt injection) scanner


@dataclass
class Screening:
    """The Guardrails rules and DLP policies declared on one gateway."""

    buffer_as: str = "json"  # a held stream's single payload: "json" or "sse" (chosen)
    guardrails: list[Guardrail] = field(default_factory=list)
    policies: list[DlpPolicy] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_guardrail(self, make: Callable[[int], Guardrail]) -> Guardrail:
        with self._lock:
            rule = make(len(self.guardrails) + 1)
            self.guardrails.append(rule)
        return rule

    def add_dlp(self, make: Callable[[int], DlpPolicy]) -> DlpPolicy:
        with self._lock:
            policy = make(len(self.policies) + 1)
            self.policies.append(policy)
        return policy

    def clear(self) -> None:
        with self._lock:
            self.guardrails.clear()
            self.policies.clear()

    def screen(self, job: Job, surface: str) -> Screen:
        """The checks of one request that came in on *surface* (a `Call.endpoint`)."""
        if surface == "run" or not (self.guardrails or self.policies):
            return Unscreened(job)  # most gateways declare nothing: every request pays this
        prompt = [rule for rule in self.guardrails if rule.phase == "prompt"]
        # Response checks apply to text generation: embeddings bypass them.
        texts = not job.path.endswith("embeddings")
        response = [r for r in self.guardrails if r.phase == "response"] if texts else []
        return Screen(job, surface, prompt, response, list(self.policies), self.buffer_as)


class Screen:
    """The checks of one request, and what they found (for its answer and its log)."""

    def __init__(
        self,
        job: Job,
        surface: str,
        prompt_rules: list[Guardrail],
        response_rules: list[Guardrail],
        policies: list[DlpPolicy],
        buffer_as: str,
    ) -> None:
        self._rest = surface == "rest"
        self._run_api = self._rest and job.path.startswith("ai/run")
        self._prompt_rules = prompt_rules
        self._response_rules = response_rules
        self._policies = policies
        self._rest_stream = self._rest and job.wants_stream
        held = bool(response_rules) and job.wants_stream and not self._rest
        if held and buffer_as == "json":
            job = replace(job, buffered=True)
        # Streams held whole for a scan, then released at once: by Guardrails (as SSE,
        # where so set) and by DLP response checks (cache misses only: hits skip DLP).
        self._guard_holds = held and buffer_as == "sse"
        self._dlp_holds = any(policy.covers("response") for policy in policies)
        self.job = job
        self.evaluations: list[Evaluation] = []
        self.dlp: list[DlpResult] = []
        self._scanned: dict[str, str] = {}  # phase -> the text the scanner read

    def prompt(self) -> Answer | None:
        """The prompt guardrail's refusal, or None to go on."""
        if not self._prompt_rules:
            return None
        evaluation = evaluate(self._prompt_rules, self.job, "prompt", self._run_api)
        self._record(evaluation, self.job.conversation.prompt or "")
        return _refusal(evaluation.fault)

    def request(self) -> Answer | None:
        """DLP's refusal of the request (after a cache miss), or None to go on."""
        result = scan(self._policies, self.job, "request")
        if result is None:
            return None
        self.dlp.append(result)
        return self.marked(_blocked(result.fault)) if result.blocked else None

    def response(self, answer: Answer, *, hit: bool) -> Answer:
        """*answer* as the gateway sends it on: checked, buffered, replaced or marked."""
        holds = self._guard_holds or (self._dlp_holds and not hit)
        if holds and answer.streamed and answer.cut_after is None:
            answer = replace(answer, chunks=(b"".join(answer.chunks),))
        if answer.ok and self._response_rules:
            evaluation = evaluate(self._response_rules, self.job, "response", self._run_api)
            if self._rest_stream and evaluation.fault is not None:
                evaluation = replace(evaluation, fault=None, enforced=False)
            self._record(evaluation, b"".join(answer.chunks).decode("utf-8", "replace"))
            if evaluation.fault is not None:
                return self.marked(replace(_blocked(evaluation.fault), delay=answer.delay))
        if answer.ok and not hit and self._policies:
            answer = self._dlp_response(answer)
        return self.marked(answer)

    def _dlp_response(self, answer: Answer) -> Answer:
        result = scan(self._policies, self.job, "response")
        if result is None:
            return answer
        self.dlp.append(result)
        return replace(_blocked(result.fault), delay=answer.delay) if result.fault else answer

    def marked(self, answer: Answer) -> Answer:
        """*answer* with the `cf-aig-dlp` header, where a DLP policy matched."""
        if not self.dlp:
            return answer
        return replace(answer, headers={**answer.headers, DLP_HEADER: header_value(self.dlp)})

    def _record(self, evaluation: Evaluation, text: str) -> None:
        self.evaluations.append(evaluation)
        self._scanned[evaluation.phase] = text

    def annotate(self, entry: StoredLog, new_id: Callable[[], str]) -> list[StoredLog]:
        """Add the checks' fields to the request's log; return its evaluation logs."""
        if self.dlp:
            entry.extra.update(log_fields(self.dlp))
        logs = [self._evaluation_log(e, entry, new_id()) for e in self.evaluations]
        if logs:
            pairs = zip(self.evaluations, logs, strict=True)
            entry.extra["guardrails"] = [{**e.fields(), "log_id": log.id} for e, log in pairs]
        return logs

    def _evaluation_log(self, evaluation: Evaluation, entry: StoredLog, log_id: str) -> StoredLog:
        """The separate log of one Guardrails evaluation, linked by the request's event id."""
        model = PROMPT_GUARD if evaluation.categories == ("P1",) else LLAMA_GUARD
        fault = evaluation.fault if evaluation.result == "UNAVAILABLE" else None
        sent = [{"role": "user", "content": self.job.conversation.prompt or ""}]
        if evaluation.phase == "response":
            sent.append({"role": "assistant", "content": self._scanned["response"]})
        request_body = compact_bytes({"messages": sent})
        response_body = compact_bytes(_verdict(evaluation))
        return StoredLog(
            id=log_id,
            created=entry.created,
            provider="workers-ai",
            model=model,
            path=model,
            model_type="chat",
            success=fault is None,
            status_code=fault.status_code if fault else 200,
            event_id=entry.event_id,
            request_type="guardrails",
            request_body=request_body,
            response_body=response_body,
            request_size=len(request_body),
            response_size=len(response_body),
            extra={"guardrail": evaluation.fields()},
        )


class Unscreened(Screen):
    """No Guardrails and no DLP apply: every check passes and nothing is recorded."""

    def __init__(self, job: Job) -> None:  # no rules to sort: nothing of Screen's set-up
        self.job = job
        self.evaluations = []
        self.dlp = []

    def prompt(self) -> Answer | None:
        return None

    def request(self) -> Answer | None:
        return None

    def response(self, answer: Answer, *, hit: bool) -> Answer:
        return answer

    def annotate(self, entry: StoredLog, new_id: Callable[[], str]) -> list[StoredLog]:
        return []


def _verdict(evaluation: Evaluation) -> dict[str, Any]:
    """The scanner's own answer: Llama Guard's `safe`, or `unsafe` and the categories."""
    if evaluation.result == "UNAVAILABLE":
        return {"response": None}
    if evaluation.result == "PASS":
        return {"response": "safe"}
    return {"response": "unsafe\n" + ",".join(evaluation.categories)}


def _blocked(fault: GatewayFault | None) -> Answer:
    assert fault is not None
    return gateway_answer(fault)


def _refusal(fault: GatewayFault | None) -> Answer | None:
    return None if fault is None else gateway_answer(fault)
