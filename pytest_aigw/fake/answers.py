"""What the provider side of one request produced: a body in chunks, or a failure.

An `Answer` is built from a scripted reply or failure, or from the default reply,
before the gateway adds its own headers (log id, cache status, step). The default
reply follows the request: a forced tool gets a call with schema-valid arguments,
a requested schema gets a valid JSON value, anything else a fixed sentence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from .arguments import user_traceback
from .encoding import COMPACT, compact_bytes
from .errors import (
    GATEWAY_ERRORS,
    INVENTED_HEADER,
    GatewayFault,
    gateway_error_body,
    timeout_error_body,
)
from .formats import ApiFormat, Conversation, ReplyContext, ReplySpec, ToolCall
from .formats.base import Json, estimate_tokens, split_content
from .options import RequestOptions
from .replies import ReplyParts, content_parts
from .schema_values import UnsatisfiableSchema, value_for
from .scripts import Failure, Script, ScriptedReply
from .transport import TransportFault

if TYPE_CHECKING:
    from ..calls import Call

__all__ = [
    "DEFAULT_CONTENT",
    "Answer",
    "Job",
    "default_answer",
    "failure_answer",
    "gateway_answer",
    "reply_answer",
    "timed_out",
]

DEFAULT_CONTENT = "This is a mock reply from the AI Gateway fake."
JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"
SCRIPT_ERROR = GatewayFault(500, 0, "pytest-aigw")  # code 0: never a real gateway code


@dataclass(frozen=True)
class Job:
    """One request as the provider sees it, and how its answers are shaped."""

    provider: str  # recorded and matched against scripts
    path: str
    model: str | None
    body: Json | None
    raw: bytes  # the body as sent, for the cache key
    options: RequestOptions
    api: ApiFormat  # whose reply, stream and error formats apply
    reply_id: str
    now: int
    metadata: Mapping[str, Any] | None = None
    view: Callable[[], Call] | None = field(default=None, compare=False)
    tool_names: Mapping[str, str] = field(default_factory=dict, compare=False)
    buffered: bool = False  # the gateway answers one non-streamed payload (Guardrails)

    @cached_property
    def conversation(self) -> Conversation:
        return self.api.read(self.path, self.body or {}).named(self.tool_names)

    @property
    def wants_stream(self) -> bool:
        return not self.buffered and self.api.wants_stream(self.path, self.body)

    def call(self) -> Call:
        """The request as a `Call`, for `match=` functions and reply functions."""
        if self.view is None:
            raise LookupError("this request has no call view")
        return self.view()


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
    note: str | None = None  # something the test should hear about (a teardown finding)
    missed_tool_call: bool = False  # the request forced a tool call; this answer has none
    issued: tuple[tuple[str, str], ...] = ()  # (call id, tool name) of the tool calls

    @property
    def ok(self) -> bool:
        return self.fault is None and self.status < 400

    @property
    def streamed(self) -> bool:
        return self.content_type == SSE_TYPE


def default_answer(job: Job) -> Answer:
    if not job.api.constrains(job.body):
        return _spec_answer(job, ReplySpec(DEFAULT_CONTENT), ScriptedReply())
    try:
        spec = _default_spec(job.conversation)
    except UnsatisfiableSchema as error:
        return _script_error(job, f"the request's schema has no valid value: {error}")
    return _spec_answer(job, spec, ScriptedReply())


def _default_spec(conversation: Conversation) -> ReplySpec:
    forced = conversation.forced_tool
    if forced is not None and conversation.tools:
        tool = conversation.tool(forced) if forced else conversation.tools[0]
        if tool is not None:
            arguments = COMPACT.encode(value_for(tool.parameters or {"type": "object"}))
            return ReplySpec(tool_calls=(ToolCall(tool.name, arguments),))
    if conversation.schema is not None:
        return ReplySpec(COMPACT.encode(value_for(conversation.schema or {"type": "object"})))
    return ReplySpec(DEFAULT_CONTENT)


def reply_answer(job: Job, reply: ScriptedReply, script: Script | None = None) -> Answer:
    """The provider's answer to *job* as *reply* scripts it."""
    if reply.function is not None:
        try:
            reply = _computed(job, reply)
        except Exception as error:  # the test's function: report it, never raise into the app
            return _function_error(job, script, error)
    if reply.json is not None:
        note = None
        if reply.stream is None and job.wants_stream:
            note = (
                f"the request asked for a stream, but {_named(script)} sends json=, one plain"
                " JSON body, so the SDK reads no stream events. Script content= or"
                " tool_calls=, which stream in the provider's format."
            )
        return _scripted(job, reply, (compact_bytes(reply.json),), note=note)
    message = DEFAULT_CONTENT if reply.content is None else "".join(reply.content)
    if reply.status >= 400:
        body = compact_bytes(job.api.error(reply.status, message))
        return _scripted(job, reply, (body,), retryable=_retryable(reply.status))
    spec = ReplySpec(
        text="" if reply.content is None and (reply.tool_calls or reply.refusal) else message,
        pieces=reply.content if isinstance(reply.content, tuple) else None,
        tool_calls=reply.tool_calls,
        finish_reason=reply.finish_reason,
        refusal=reply.refusal,
        **({"usage": reply.usage} if reply.usage is not None else {}),
    )
    answer = _spec_answer(job, spec, reply)
    forced = job.conversation.forced_tool if job.api.constrains(job.body) else None
    if forced is not None and not spec.tool_calls and answer.note is None:
        answer = replace(answer, note=_forced_note(job, script, forced), missed_tool_call=True)
    return answer


def _forced_note(job: Job, script: Script | None, forced: str) -> str:
    wanted = repr(forced) if forced else "any tool"
    return (
        f"the request forced a tool call ({job.conversation.forced_by}: {wanted}), but"
        f" {_named(script)} answers without one; a model always calls the tool here, and"
        " clients such as instructor retry. Script"
        f" tool_calls=[pytest_aigw.tool_call({forced or 'name'!r}, {{...}})] instead."
    )


def _named(script: Script | None) -> str:
    return f"scripted reply #{script.number} {script.text}" if script else "the reply"


def _computed(job: Job, reply: ScriptedReply) -> ScriptedReply:
    assert reply.function is not None
    result = reply.function(job.call())
    if isinstance(result, ReplyParts):
        return replace(
            reply,
            content=result.content,
            tool_calls=result.tool_calls,
            finish_reason=result.finish_reason,
            usage=result.usage,
            refusal=result.refusal,
            function=None,
        )
    return replace(reply, content=content_parts(result), function=None)


def _function_error(job: Job, script: Script | None, error: Exception) -> Answer:
    name = getattr(script.action, "function", None) if script else None
    label = getattr(name, "__name__", "the reply function")
    if isinstance(error, ConfigError):
        what = f"{label} returned something that is not a reply: {error}"
    else:
        trace = user_traceback(error)
        what = f"{label} of {_named(script)} raised {type(error).__name__}: {error}\n{trace}"
    return _script_error(job, what)


def _script_error(job: Job, what: str) -> Answer:
    """A gateway-shaped 500 the SDKs do not retry, and a finding that fails the test."""
    body = gateway_error_body(500, SCRIPT_ERROR.code, f"pytest-aigw: {what}")
    return Answer(
        500,
        (compact_bytes(body),),
        headers={"x-should-retry": "false"},
        model=job.model,
        note=what,
    )


def _scripted(job: Job, reply: ScriptedReply, chunks: tuple[bytes, ...], **more: Any) -> Answer:
    return Answer(
        reply.status,
        chunks,
        headers=reply.headers,
        delay=reply.latency,
        cut_after=reply.cut_after,
        model=job.model,
        **more,
    )


def _spec_answer(job: Job, spec: ReplySpec, reply: ScriptedReply) -> Answer:
    refused = job.api.refusal(job.path, job.body)
    if refused is not None:  # beyond the provider's own limits (embedding dimensions)
        return _scripted(
            job, replace(reply, status=400), (compact_bytes(job.api.error(400, refused)),)
        )
    context = _context(job, spec)
    counts: dict[str, Any] = {"tokens_in": context.tokens_in, "tokens_out": context.tokens_out}
    if spec.tool_calls:
        counts["issued"] = job.api.issued_calls(context)
    streamed = not job.buffered and (reply.stream if reply.stream is not None else job.wants_stream)
    if streamed and type(job.api).stream is not ApiFormat.stream:
        pieces = spec.pieces or (split_content(spec.text) if spec.text else [""])
        events = tuple(job.api.stream(context, pieces))
        return _scripted(job, reply, events, content_type=SSE_TYPE, **counts)
    return _scripted(job, reply, (job.api.reply_bytes(context),), **counts)


def _context(job: Job, spec: ReplySpec) -> ReplyContext:
    said: object = spec.refusal or spec.text
    if spec.tool_calls:
        said = [spec.text, *((call.name, call.arguments) for call in spec.tool_calls)]
    usage = spec.usage
    tokens_in = usage.input if usage.input is not None else estimate_tokens(_prompt(job.body))
    tokens_out = usage.output if usage.output is not None else estimate_tokens(said)
    return ReplyContext(
        provider=job.provider,
        path=job.path,
        body=job.body or {},
        model=job.model,
        reply_id=job.reply_id.lower(),
        now=job.now,
        spec=spec,
        tokens_in=tokens_in,
        tokens_out=tokens_out if job.api.counts_output else 0,
        seed=hashlib.sha256(job.raw).hexdigest()[:16] if spec.tool_calls else "",
    )


def _prompt(body: Json | None) -> object:
    if not body:
        return ""
    for key in ("messages", "input", "prompt", "contents", "text"):
        if key in body:
            return body[key]
    return body


def _phrase(status: int) -> str:
    """The reason phrase of *status*; a generic one where HTTP names none (430, 599)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Error" if status < 500 else "Server Error"


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
            failure.message or (known.message if known else _phrase(status)),
        )
        return replace(gateway_answer(fault), headers=failure.headers, model=job.model)
    message = failure.message or _phrase(status)
    body = compact_bytes(job.api.error(status, message))
    return Answer(
        status, (body,), headers=failure.headers, retryable=_retryable(status), model=job.model
    )


def gateway_answer(
    fault: GatewayFault, detail: str | None = None, *, logged: bool = True, delay: float = 0.0
) -> Answer:
    """The gateway's own error; *detail* follows the message (e.g. what input was wrong)."""
    message = f"{fault.message}: {detail}" if detail else fault.message
    body = compact_bytes(gateway_error_body(fault.status_code, fault.code, message))
    return Answer(fault.status_code, (body,), logged=logged, delay=delay)


def timed_out(timeout_ms: int, status: int = 504, code: int | None = None) -> Answer:
    """The gateway giving up on a provider slower than `cf-aig-request-timeout`.

    Its status and code are the fake's invention (settings `timeout_status`,
    `timeout_code`), marked in the message and the `x-pytest-aigw-invented` header.
    """
    body = compact_bytes(timeout_error_body(status, code))
    return Answer(
        status,
        (body,),
        headers={INVENTED_HEADER: "cf-aig-request-timeout"},
        delay=timeout_ms / 1000,
        retryable=True,
    )


def _retryable(status: int) -> bool:
    # The gateway retries and falls back on provider errors that may pass: 429 and 5xx.
    return status == 429 or status >= 500
