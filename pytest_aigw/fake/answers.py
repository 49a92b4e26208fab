"""What the provider side of one request produced: a body in chunks, or a failure.

An `Answer` is built from a scripted reply or failure, or from the default reply,
before the gateway adds its own headers (log id, cache status, step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any

from .encoding import compact_bytes
from .errors import GATEWAY_ERRORS, TIMED_OUT, GatewayFault, gateway_error_body, provider_error_body
from .options import RequestOptions
from .providers import DEFAULT_CONTENT, reply_context, shape_reply
from .scripts import Failure, Reply
from .sse import CONTENT_TYPE as SSE_TYPE
from .sse import build_stream, split_content, wants_stream
from .transport import TransportFault

__all__ = [
    "Answer",
    "Job",
    "default_answer",
    "failure_answer",
    "gateway_answer",
    "reply_answer",
    "timed_out",
]

JSON_TYPE = "application/json"
Json = dict[str, Any]


@dataclass(frozen=True)
class Job:
    """One request as the provider sees it, and how its answers are shaped."""

    provider: str  # recorded and matched against scripts
    path: str
    model: str | None
    body: Json | None
    raw: bytes  # the body as sent, for the cache key
    options: RequestOptions
    shape: tuple[str, str]  # (provider, path) whose reply and error formats apply
    reply_id: str
    now: int


@dataclass(frozen=True)
class Answer:
    """A provider's (or the gateway's) answer, before the gateway's own headers."""

    status: int = 200
    chunks: tuple[bytes, ...] = ()
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    cut_after: int | None = None
    fault: TransportFault | None = None
    retryable: bool = False
    logged: bool = True
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0

    @property
    def ok(self) -> bool:
        return self.fault is None and self.status < 400

    @property
    def streamed(self) -> bool:
        return self.content_type == SSE_TYPE


def _encode(value: object) -> bytes:
    return compact_bytes(value)


def default_answer(job: Job) -> Answer:
    return reply_answer(job, Reply())


def reply_answer(job: Job, reply: Reply) -> Answer:
    """The provider's answer to *job* as *reply* scripts it."""
    provider, path = job.shape

    def scripted(chunks: tuple[bytes, ...], content_type: str = JSON_TYPE, **more: Any) -> Answer:
        return Answer(
            reply.status,
            chunks,
            content_type,
            headers=reply.headers,
            delay=reply.latency,
            cut_after=reply.cut_after,
            model=job.model,
            **more,
        )

    if reply.json is not None:
        return scripted((_encode(reply.json),))
    pieces = reply.content if isinstance(reply.content, tuple) else None
    content = DEFAULT_CONTENT if reply.content is None else "".join(reply.content)
    if reply.status >= 400:
        body = provider_error_body(provider, path, reply.status, content)
        return scripted((body,), retryable=_retryable(reply.status))
    context = reply_context(provider, path, job.body, job.reply_id, job.now, content)
    tokens_in = context.tokens_in
    if reply.stream if reply.stream is not None else wants_stream(path, job.body):
        events = tuple(build_stream(context, pieces or split_content(content)))
        return scripted(events, SSE_TYPE, tokens_in=tokens_in, tokens_out=context.tokens_out)
    built = shape_reply(context)
    return scripted((_encode(built.body),), tokens_in=tokens_in, tokens_out=built.tokens_out)


def failure_answer(job: Job, failure: Failure) -> Answer:
    """The error (or network fault) *failure* scripts for *job*."""
    if failure.fault == "timeout":
        return Answer(fault=TransportFault.timeout(), logged=False)
    if failure.fault == "disconnect":
        return Answer(fault=TransportFault.disconnect(), logged=False)
    status = failure.status or 500
    if failure.origin == "gateway":
        known = GATEWAY_ERRORS.get(status)
        fault = GatewayFault(
            status,
            failure.code if failure.code is not None else known.code if known else 0,
            failure.message or (known.message if known else HTTPStatus(status).phrase),
        )
        return replace(gateway_answer(fault), headers=failure.headers, model=job.model)
    message = failure.message or HTTPStatus(status).phrase
    body = provider_error_body(*job.shape, status, message)
    return Answer(
        status, (body,), headers=failure.headers, retryable=_retryable(status), model=job.model
    )


def gateway_answer(
    fault: GatewayFault, detail: str | None = None, *, logged: bool = True, delay: float = 0.0
) -> Answer:
    """The gateway's own error; *detail* follows the message (e.g. what input was wrong)."""
    message = f"{fault.message}: {detail}" if detail else fault.message
    body = _encode(gateway_error_body(fault.status_code, fault.code, message))
    return Answer(fault.status_code, (body,), logged=logged, delay=delay)


def timed_out(timeout_ms: int) -> Answer:
    """The gateway giving up on a provider slower than `cf-aig-request-timeout`."""
    answer = gateway_answer(TIMED_OUT, delay=timeout_ms / 1000)
    return replace(answer, retryable=True)


def _retryable(status: int) -> bool:
    # The gateway retries and falls back on provider errors that may pass: 429 and 5xx.
    return status == 429 or status >= 500
