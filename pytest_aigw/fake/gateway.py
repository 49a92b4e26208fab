"""The fake gateway core: routes a request, answers like the gateway, records it.

    request ─ route ─┬─ provider  /{provider}/{path}         ─┐
                     ├─ compat    /compat/chat/completions     │
                     ├─ run       /run  {"model", "input"}     ├─ cache ─ retries ─ script
                     ├─ rest      api.cloudflare.com .../ai/*  │          or default reply
                     └─ universal /  (steps tried in order)   ─┘

Around the cache sit the gateway's own limits (`limits`): rate limiting before it,
policies and spend limits after a miss, the logged cost charged once answered.

One lock runs from issuing the log id to recording the call, so `calls` stays in
log-id order under concurrency; parsing and redaction happen before it is taken.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from .. import metadata
from ..calls import Call, CallList, Received, redact_headers, redact_url
from ..clock import Clock
from ..ids import new_id as new_any_id
from ..ids import new_log_id
from ..logstore import LogSettings, LogStore
from ..metadata import ParsedMetadata
from ..redaction import request_secret_words
from .answers import (
    Answer,
    Job,
    default_answer,
    failure_answer,
    gateway_answer,
    reply_answer,
)
from .answers import timed_out as timed_out_answer
from .auto_router import AUTO_MODEL, AutoRouter, Routing
from .bounds import MAX_LOG_BYTES, Refusal, body_json, custom_cost_problem, metadata_problem
from .cache import ResponseCache, cache_key, cache_ttl
from .credentials import (
    UNBILLED_BY_GATEWAY,
    Billing,
    CredentialPolicy,
    Shown,
    authorized,
    key_headers,
    refusal,
    settle,
)
from .dynamic_routes import (
    CHAT_PATHS,
    NOT_CHAT,
    UNKNOWN_ROUTE,
    DynamicRoute,
    ModelElement,
    route_name,
)
from .encoding import compact_bytes
from .errors import INPUT_ERROR, TOO_LARGE, UNAUTHORIZED, GatewayFault, gateway_error
from .formats import format_for, model_of
from .limits import NO_CHARGE, Charge, Limits
from .log_entry import answer_cost, call_cost, log_entry
from .options import NO_OPTIONS, InvalidOption, RequestOptions, cf_headers, parse_options
from .rest import (
    BAD_REST_INPUT,
    GATEWAY_HEADER,
    Plan,
    RestRoute,
    api_answer,
    api_error,
    is_rest_request,
    plan_rest,
    plan_run,
    resolve_rest,
    rest_model,
)
from .routing import GATEWAY_HOST, Target, Universal, UnknownRoute, resolve_target
from .screening import Screen, Screening
from .scripts import Failure, Script, ScriptBook
from .transport import ChunkStream
from .universal import InvalidSteps, parse_steps

__all__ = ["FakeGateway", "UnexpectedRequest"]

MODEL_NOT_FOUND = GatewayFault(400, 7003, "Model not found")
UNMATCHED = GatewayFault(404, 0, "pytest-aigw")  # code 0: never a real gateway code
FIX_UNMATCHED = (
    "Fix: add an aigw.respond(...) or aigw.fail(...) that matches this request, loosen a"
    " matcher, or allow more uses with times=N (times=None for any number)."
)


@dataclass(frozen=True)
class UnexpectedRequest:
    """A request the fake cannot answer as the test intends (secrets redacted)."""

    method: str
    url: str
    reason: str
    hint: str = ""

    def describe(self) -> str:
        text = f"unexpected request {self.method} {self.url}: {self.reason}"
        return f"{text}\n     {self.hint}" if self.hint else text


class _Unmatched(Exception):
    def __init__(self, job: Job, closest: list[str], causes: list[str]) -> None:
        self.reason = (
            f"no scripted reply matches it (provider {job.provider!r}, model {job.model!r},"
            f" path {job.path!r}). Closest scripted replies, unused first:\n       "
            + "\n       ".join(closest)
            + "".join(f"\n     Likely cause: {cause}" for cause in causes)
        )


_Routed = Target | Universal | RestRoute
RETRIED = (408, 409, 429)  # with 5xx and timeouts: what the openai and anthropic SDKs retry


@dataclass(frozen=True)
class _Answered:
    """What a script answered, kept to explain a later request that finds none left."""

    call_number: int
    script: str
    status: int | None
    note: str | None
    missed_tool_call: bool  # the request forced a tool call and the reply had none


@dataclass(frozen=True)
class _Outcome:
    """Which provider answered, what it answered, and the gateway's view of it."""

    provider: str
    path: str
    model: str | None
    json: Any
    answer: Answer
    options: RequestOptions
    step: int | None = None
    cache_status: str = "MISS"
    attempts: int = 1
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata_header: str | None = None  # a universal step's own cf-aig-metadata
    endpoint: str = "gateway"  # the surface: gateway, compat, universal, run, rest
    billing: Billing = UNBILLED_BY_GATEWAY
    screen: Screen | None = None  # the Guardrails and DLP checks, for the log
    routing: Routing | None = None  # the Auto Router's decision (`cloudflare/auto`)
    route: tuple[str, ...] | None = None  # a dynamic route's element ids, in order
    charge: Charge = NO_CHARGE  # the budgets the logged cost counts against


class FakeGateway:
    """In-memory state of one fake gateway and the function that answers requests."""

    def __init__(
        self,
        account_id: str,
        gateway_id: str,
        *,
        clock: Clock | None = None,
        new_id: Callable[[], str] = new_log_id,
        authenticated: bool = False,
        cache_ttl: int | None = None,
        log_settings: LogSettings | None = None,
        credentials: CredentialPolicy | None = None,
        timeout_answer: tuple[int, int | None] = (504, None),
        guardrail_stream: str = "json",
        limits: Limits | None = None,
    ) -> None:
        self.account_id = account_id
        self.gateway_id = gateway_id
        self.authenticated = authenticated
        self.credentials = credentials or CredentialPolicy()
        self.cache_ttl = cache_ttl
        self.timeout_answer = timeout_answer  # (status, code): invented, see errors.py
        self.clock = clock or Clock()
        self.calls = CallList()
        self.unexpected: list[UnexpectedRequest] = []
        self.scripts = ScriptBook()
        self.routes: dict[str, DynamicRoute] = {}  # dynamic routes, by name
        self.screening = Screening(guardrail_stream)
        self.auto_router = AutoRouter(lambda: new_any_id("uuid7"))
        self.limits = limits or Limits()
        self.cache: ResponseCache[Answer] = ResponseCache(self.clock)
        self.logs = LogStore(log_settings)
        self._new_id = new_id
        self._lock = threading.Lock()
        self._notes: list[str] = []
        self._answered: dict[bytes, _Answered] = {}  # by body digest: bodies may be large
        self._tool_names: dict[str, str] = {}  # call id -> tool, of every tool call issued

    def is_gateway_request(self, request: httpx.Request) -> bool:
        """The gateway host, or the Cloudflare API's account routes (the REST API)."""
        return request.url.host == GATEWAY_HOST or is_rest_request(request)

    def _route(self, request: httpx.Request) -> Target | Universal | RestRoute | UnknownRoute:
        if request.url.host != GATEWAY_HOST and is_rest_request(request):
            return resolve_rest(request, self.account_id, self.gateway_id)
        return resolve_target(request.method, request.url.path, self.account_id, self.gateway_id)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* as the gateway would, and record it.

        Raises `TransportFault` where a scripted network failure replaces the answer.
        """
        request.read()
        route = self._route(request)
        if isinstance(route, UnknownRoute):
            with self._lock:
                return self._refuse(request, route.reason, route.hint, route.fault, route.api)
        draft = _Draft.of(request, route)
        if draft.refusal is None:
            _prepare(route, draft.json)
        received = self.clock.now()
        with self._lock:
            log_id = self._new_id()
            try:
                outcome = self._decide(draft, route, log_id)
            except _Unmatched as unmatched:
                return self._refuse(request, unmatched.reason, FIX_UNMATCHED, UNMATCHED)
            if not outcome.answer.logged:
                log_id = ""
            # A universal request answered after a fallback took several steps: its
            # request id is its own (see the README's documented choices).
            request_id = self._new_id() if log_id and outcome.step else log_id
            headers = _gateway_headers(outcome, log_id, request_id)
            call = draft.call(outcome, log_id or None, headers, self._tool_names)
            self.calls.append(call)
            outcome.charge(call_cost(call, outcome.answer, draft.cf), self.clock.now())
            self._tool_names.update(outcome.answer.issued)
            if outcome.answer.note is not None:
                self._notes.append(
                    f"call #{len(self.calls)} {call.method} {call.url}: {outcome.answer.note}"
                )
            if log_id and outcome.options.collect_log is not False:
                self._write_log(call, outcome, draft, received)
        answer = outcome.answer
        if answer.fault is not None:
            raise answer.fault
        stream = ChunkStream(answer.chunks, delay=answer.delay, cut_after=answer.cut_after)
        return httpx.Response(answer.status, headers=headers, stream=stream)

    def _write_log(self, call: Call, outcome: _Outcome, draft: _Draft, at: float) -> None:
        if outcome.endpoint == "universal":
            kind, body = "universal", compact_bytes(outcome.json)
        else:  # the REST API and the Run API log as provider requests (chosen)
            kind = "compat" if outcome.endpoint == "compat" else "provider"
            body = draft.content
        if len(body) + sum(map(len, outcome.answer.chunks)) > MAX_LOG_BYTES:
            return  # the gateway stores no log over 10 MB (README: the fake's choices)
        entry = log_entry(
            call, outcome.answer, created=at, request_body=body, request_type=kind, cf=draft.cf,
            billing=outcome.billing, user_agent=draft.user_agent,
        )  # fmt: skip
        evaluations = outcome.screen.annotate(entry, self._new_id) if outcome.screen else []
        self.logs.add(entry)
        for evaluation in evaluations:
            self.logs.add(evaluation)

    def _refuse(
        self, request: httpx.Request, reason: str, hint: str, fault: GatewayFault, api: bool = False
    ) -> httpx.Response:
        url = str(redact_url(request.url))
        refused = UnexpectedRequest(request.method, url, reason, hint)
        self.unexpected.append(refused)
        message = fault.message
        if fault is UNMATCHED:
            message = f"pytest-aigw: {refused.describe()}"
        if api:  # the SDK's error then says which path, and why, as the finding does
            where = f"{request.method} {request.url.path}"
            return api_error(fault, f"{message} (pytest-aigw: {where} refused: {reason})")
        return gateway_error(fault.status_code, fault.code, message)

    def _decide(
        self, draft: _Draft, route: Target | Universal | RestRoute, log_id: str
    ) -> _Outcome:
        if isinstance(route, RestRoute):
            return self._rest(draft, route, log_id)
        provider, path = (
            ("universal", "") if isinstance(route, Universal) else (route.provider, route.path)
        )
        if self.authenticated and not authorized(draft.cf):
            return draft.refused(provider, path, gateway_answer(UNAUTHORIZED, logged=False))
        if draft.refusal is not None:
            return draft.refused(provider, path, _refusal_answer(draft.refusal))
        limited = self.limits.admit(self.clock.now())
        if limited is not None:
            return draft.refused(provider, path, limited)
        try:
            options = parse_options(draft.cf)
            if isinstance(route, Universal):
                return self._universal(draft, options, log_id)
            if route.provider == "compat":
                return self._compat(draft, route, options, log_id)
            if route.provider == "run" and not route.path:
                return self._planned(draft, plan_run(draft.json), options, log_id)
            return self._direct(draft, route, options, log_id)
        except (InvalidOption, InvalidSteps) as error:
            answer = gateway_answer(INPUT_ERROR, str(error), logged=False)
            return draft.refused(provider, path, answer)

    def _rest(self, draft: _Draft, route: RestRoute, log_id: str) -> _Outcome:
        """A REST API request: the API's own checks, then a job like any other."""
        plan = plan_rest(route, draft.json, GATEWAY_HEADER in draft.cf)
        if draft.refusal is not None and route.authorized:
            plan = replace(plan, refusal=_refusal_answer(draft.refusal, api=True))
        try:
            options = parse_options(draft.cf)
        except InvalidOption as error:
            if plan.refusal is None:
                plan = replace(plan, refusal=gateway_answer(INPUT_ERROR, str(error), logged=False))
            options = NO_OPTIONS
        if plan.refusal is None and route_name(rest_model(route.path, draft.json)) is not None:
            return self._dynamic(draft, route.path, draft.json, options, log_id, "rest")
        return self._planned(draft, plan, options, log_id)

    def _planned(self, draft: _Draft, plan: Plan, options: RequestOptions, log_id: str) -> _Outcome:
        if plan.refusal is not None:
            return draft.refused(plan.provider, plan.path, plan.refusal, plan.endpoint)
        job = self._job(
            draft, plan.provider, plan.path, draft.json, draft.content, options, log_id,
            endpoint=plan.endpoint,
        )  # fmt: skip
        # The REST and Run APIs bill the Cloudflare account: no provider key is read there.
        return self._run(job, draft.json, draft.shown, via=plan.endpoint, endpoint=plan.endpoint)

    def _job(
        self,
        draft: _Draft,
        provider: str,
        path: str,
        body: Any,
        raw: bytes,
        options: RequestOptions,
        log_id: str,
        metadata_header: str | None = None,
        *,
        endpoint: str = "gateway",
    ) -> Job:
        dict_body = body if isinstance(body, dict) else None
        model = model_of(provider, path, dict_body)
        now = int(self.clock.now())
        parsed = draft.metadata if metadata_header is None else metadata.parse(metadata_header)

        def view() -> Call:
            return draft.preview(
                provider, path, model, body, parsed, log_id, options, endpoint, self._tool_names
            )

        api = format_for(provider, path)
        return Job(
            provider, path, model, dict_body, raw, options, api, log_id, now, parsed.stored, view,
            self._tool_names,
        )  # fmt: skip

    def _direct(
        self, draft: _Draft, target: Target, options: RequestOptions, log_id: str
    ) -> _Outcome:
        job = self._job(
            draft, target.provider, target.path, draft.json, draft.content, options, log_id
        )
        return self._run(job, draft.json, draft.shown)

    def _compat(
        self, draft: _Draft, target: Target, options: RequestOptions, log_id: str
    ) -> _Outcome:
        body = draft.json if isinstance(draft.json, dict) else {}
        model = body.get("model")
        if not isinstance(model, str) or "/" not in model.strip("/"):
            detail = (
                f"{model} (the compat endpoint takes 'provider/model',"
                " for example 'openai/gpt-4o-mini')"
            )
            answer = gateway_answer(MODEL_NOT_FOUND, detail, logged=False)
            return draft.refused("compat", target.path, answer)
        if route_name(model) is not None:
            return self._dynamic(draft, target.path, body, options, log_id, "compat")
        provider, bare = model.strip("/").split("/", 1)
        routing: Routing | None = None
        if model.strip("/") == AUTO_MODEL:
            asked = self._job(draft, provider, target.path, body, draft.content, options, log_id)
            decided = self.auto_router.decide(asked, draft.cf)
            if not isinstance(decided, Routing):
                return draft.refused("compat", target.path, decided, "compat")
            routing = decided
            provider, bare = routing.provider, routing.bare_model
        job = self._job(
            draft, provider, target.path, {**body, "model": bare}, draft.content, options, log_id,
            endpoint="compat",
        )  # fmt: skip
        job = replace(job, api=format_for("compat", target.path))  # OpenAI's, whoever answers
        routed = {"cf-aig-model": bare, "cf-aig-provider": provider}
        if routing is not None:
            routed = routing.headers()
        return self._run(
            job, draft.json, draft.shown, via="compat", headers=routed, endpoint="compat",
            routing=routing,
        )  # fmt: skip

    def _dynamic(
        self,
        draft: _Draft,
        path: str,
        body: Any,
        options: RequestOptions,
        log_id: str,
        endpoint: str,
        *,
        shown: Shown | None = None,
        **extra: Any,
    ) -> _Outcome:
        """A `dynamic/<name>` request: the route walked, each model element a job."""
        name = route_name(body.get("model")) or ""
        provider = endpoint if endpoint != "universal" else "compat"
        if path not in CHAT_PATHS:
            detail = f"dynamic routes take the OpenAI chat-completions format, not {path!r}"
            return draft.refused(provider, path, gateway_answer(NOT_CHAT, detail), endpoint)
        route = self.routes.get(name)
        if route is None:
            detail = f"dynamic/{name} (no route {name!r} on gateway {self.gateway_id!r})"
            return draft.refused(provider, path, gateway_answer(UNKNOWN_ROUTE, detail), endpoint)
        header = extra.get("metadata_header")
        parsed = draft.metadata if header is None else metadata.parse(header)
        seen = shown or draft.shown
        rest = endpoint == "rest"

        def run(element: ModelElement) -> _Outcome:
            asked = f"{element.provider}/{element.model}" if rest else element.model
            sent = {**body, "model": asked}
            tried = replace(
                options, request_timeout=element.timeout, max_attempts=element.retries + 1
            )
            job = self._job(
                draft, element.provider, path, sent, compact_bytes(sent), tried, log_id,
                header, endpoint=endpoint,
            )  # fmt: skip
            job = replace(job, api=format_for("compat", "chat/completions"))
            routed = {"cf-aig-model": element.model, "cf-aig-provider": element.provider}
            return self._run(
                job, body, seen, via=endpoint, headers=routed, endpoint=endpoint, **extra
            )

        walked = route.walk(parsed.stored or {}, self.clock.now(), run, _answered_ok, _routed_cost)
        if walked.result is not None:
            return replace(walked.result, route=walked.path)
        assert walked.fault is not None
        failed = draft.refused(provider, path, gateway_answer(walked.fault), endpoint)
        return replace(failed, route=walked.path, options=options, **extra)

    def _universal(self, draft: _Draft, options: RequestOptions, log_id: str) -> _Outcome:
        steps = parse_steps(draft.json)
        waited = 0.0  # the gateway waits out each failed step before trying the next
        for index, step in enumerate(steps):
            step_options = (
                parse_options({**draft.cf, **step.cf_headers}) if step.cf_headers else options
            )
            own_metadata = step.cf_headers.get(metadata.HEADER)
            job = self._job(
                draft,
                step.provider,
                step.endpoint,
                step.query,
                step.body,
                step_options,
                log_id,
                own_metadata,
                endpoint="universal",
            )
            shown = draft.shown.merged(Shown.of(step.other_headers, step.cf_headers))
            if step.provider == "compat" and route_name(_model_in(step.query)) is not None:
                outcome = self._dynamic(
                    draft, step.endpoint, step.query, step_options, log_id, "universal",
                    shown=shown, step=index, metadata_header=own_metadata,
                )  # fmt: skip
            else:
                outcome = self._run(
                    job, step.query, shown, step=index, metadata_header=own_metadata,
                    endpoint="universal",
                )  # fmt: skip
            answer = outcome.answer
            if answer.ok or answer.fault is not None or index == len(steps) - 1:
                if waited:
                    outcome = replace(outcome, answer=replace(answer, delay=answer.delay + waited))
                return outcome
            waited += answer.delay
        raise AssertionError("parse_steps never returns an empty list")

    def _run(
        self, job: Job, sent: Any, shown: Shown, via: str | None = None, **extra: Any
    ) -> _Outcome:
        """Answer *job* from the cache, or from the provider with the gateway's retries."""
        settled = settle(self.credentials, job.provider, shown, via)
        if settled.fault is not None:
            refused = refusal(job, settled)
            return _Outcome(job.provider, job.path, job.model, sent, refused, job.options, **extra)
        extra["billing"] = settled.billing
        screen = extra["screen"] = self.screening.screen(job, extra.get("endpoint", "gateway"))
        job = screen.job  # buffered where a response guardrail holds the stream
        stopped = screen.prompt()
        if stopped is not None:
            return _Outcome(
                job.provider, job.path, job.model, sent, stopped, job.options, attempts=0, **extra
            )
        ttl = cache_ttl(job.options, self.cache_ttl)
        key = cache_key(job.provider, job.path, job.raw, job.options.cache_key) if ttl else ""
        cached = self.cache.get(key) if ttl else None
        if cached is not None:
            return _Outcome(
                job.provider, job.path, job.model, sent, screen.response(cached, hit=True),
                job.options, cache_status="HIT", attempts=0, **extra,
            )  # fmt: skip
        stopped, extra["charge"] = self.limits.check(job, self.clock.now())
        stopped = stopped or screen.request()
        if stopped is not None:
            return _Outcome(
                job.provider, job.path, job.model, sent, stopped, job.options, attempts=0, **extra
            )
        if settled.missing is not None:  # the provider refuses what came without a key
            answer, attempts = refusal(job, settled), 1
        else:
            answer, attempts = self._with_retries(job)
        sent_on = screen.response(answer, hit=False)
        if ttl and sent_on.ok and answer.cut_after is None:  # the answer before the checks
            self.cache.put(key, replace(answer, delay=0.0), ttl)
        return _Outcome(
            job.provider, job.path, job.model, sent, sent_on, job.options,
            attempts=attempts, **extra,
        )  # fmt: skip

    def _with_retries(self, job: Job) -> tuple[Answer, int]:
        limit = job.options.max_attempts or self.limits.retry_attempts
        timeout = job.options.request_timeout
        waited = 0.0  # time the failed attempts took; retry delays are not waited
        attempt = 0
        while True:
            attempt += 1
            answer = self._attempt(job)
            if timeout is not None and answer.delay * 1000 > timeout:
                answer = timed_out_answer(timeout, *self.timeout_answer)
            if answer.ok or not answer.retryable or attempt >= limit:
                return (replace(answer, delay=answer.delay + waited) if waited else answer), attempt
            waited += answer.delay

    def _attempt(self, job: Job) -> Answer:
        if not self.scripts:
            return default_answer(job)
        script = self.scripts.take(job)
        if script is None:
            closest = self.scripts.closest(job)
            described = [s.describe_against(job) for s in closest]
            raise _Unmatched(job, described, self._causes(job, closest))
        if isinstance(script.action, Failure):
            answer = failure_answer(job, script.action)
        else:
            answer = reply_answer(job, script.action, script)
        self._answered[_body_key(job.raw)] = _Answered(
            len(self.calls) + 1,
            f"#{script.number} {script.text}",
            answer.status,
            answer.note,
            answer.missed_tool_call,
        )
        return answer

    def _causes(self, job: Job, closest: list[Script]) -> list[str]:
        """Explain an unmatched request that repeats one a script already answered."""
        if not any(s.used_up for s in closest):
            return []
        earlier = self._answered.get(_body_key(job.raw))
        if earlier is None:
            unmet = [a for a in self._answered.values() if a.missed_tool_call]
            return [
                f"call #{a.call_number} was answered by {a.script}, and {a.note}" for a in unmet
            ]
        if earlier.note is not None and earlier.status == 200:
            return [
                f"it repeats call #{earlier.call_number}, which scripted reply"
                f" {earlier.script} answered, and {earlier.note}"
            ]
        if earlier.status is not None and earlier.status not in RETRIED and earlier.status < 500:
            return []
        return [
            f"it repeats call #{earlier.call_number} (same body), which scripted reply"
            f" {earlier.script} answered with status {earlier.status}: the client retried"
            " (SDKs retry 408, 409, 429 and 5xx answers and timeouts) and used the script"
            " up. Allow more uses with times=N, or script the retry's answer too."
        ]

    def findings(self) -> list[str]:
        """Describe everything the real gateway would refuse or lose, and unused scripts."""
        found = [u.describe() for u in self.unexpected]
        for number, call in enumerate(self.calls, start=1):
            for problem in call.metadata_problems:
                found.append(
                    f"call #{number} {call.method} {call.url}"
                    f" (log id {call.log_id}): {problem.message}"
                )
        found.extend(self._notes)
        found.extend(self.scripts.unused())
        return found

    def reset(self) -> None:
        """Forget every call, log, unexpected request, scripted reply and cached answer."""
        with self._lock:
            self.calls.clear()
            self.unexpected.clear()
            self.scripts.clear()
            self.routes.clear()
            self.screening.clear()
            self.auto_router.clear()
            self.limits.clear()
            self.cache.clear()
            self.logs.clear()
            self._notes.clear()
            self._answered.clear()
            self._tool_names.clear()


def _gateway_headers(outcome: _Outcome, log_id: str, request_id: str) -> dict[str, str]:
    """The gateway's own headers; *request_id* is *log_id* unless several steps ran."""
    answer = outcome.answer
    headers = {"content-type": answer.content_type}
    if not answer.streamed:
        headers["content-length"] = str(sum(map(len, answer.chunks)))
    if log_id:
        headers["cf-aig-log-id"] = log_id
        headers["cf-aig-request-id"] = request_id
    headers["cf-aig-cache-status"] = outcome.cache_status
    event_id = outcome.options.event_id  # the client's own is echoed
    if event_id is not None or request_id:
        headers["cf-aig-event-id"] = request_id if event_id is None else event_id
    if outcome.step is not None:
        headers["cf-aig-step"] = str(outcome.step)
    headers.update(outcome.headers)
    headers.update(answer.headers)
    return headers


@dataclass(frozen=True)
class _Draft:
    """What a call record takes from the request, prepared before the lock."""

    method: str
    url: httpx.URL
    content: bytes
    json: Any
    cf: dict[str, str]
    metadata: metadata.ParsedMetadata
    headers: tuple[tuple[str, str], ...]
    digests: dict[str, str]
    shown: Shown
    user_agent: str | None
    refusal: Refusal | None = None
    secret_words: frozenset[str] = frozenset()

    @classmethod
    def of(cls, request: httpx.Request, route: _Routed | None = None) -> _Draft:
        cf = cf_headers(request.headers.raw)
        headers, digests = redact_headers(request)
        parsed = metadata.parse(cf.get(metadata.HEADER))
        url = redact_url(request.url)
        body, refusal = _refusal(request, route, cf, parsed)
        return cls(
            request.method,
            url,
            request.content,
            body,
            cf,
            parsed,
            headers,
            digests,
            Shown.of(
                key_headers(request.headers.raw),
                cf,
                bool(request.url.query) and "key" in request.url.params,
            ),
            request.headers.get("user-agent"),
            refusal,
            request_secret_words(request),
        )

    @property
    def oversized(self) -> bool:
        """A body over the gateway's log size: its call keeps neither it nor its JSON."""
        return len(self.content) > MAX_LOG_BYTES

    def refused(
        self, provider: str, path: str, answer: Answer, endpoint: str = "gateway"
    ) -> _Outcome:
        options = RequestOptions(event_id=self.cf.get("cf-aig-event-id"))
        return _Outcome(provider, path, None, self.json, answer, options, endpoint=endpoint)

    def preview(
        self,
        provider: str,
        path: str,
        model: str | None,
        json: Any,
        parsed: ParsedMetadata,
        log_id: str,
        options: RequestOptions,
        endpoint: str,
        tool_names: Mapping[str, str],
    ) -> Call:
        """The request as a `Call` before it is answered (for match= and reply functions)."""
        return Call(
            provider=provider,
            path=path,
            model=model,
            endpoint=endpoint,
            json=json,
            status_code=None,
            log_id=log_id,
            cache_status="MISS",
            event_id=options.event_id,
            options=options,
            **self._sent(parsed, tool_names),
        )

    def call(
        self,
        outcome: _Outcome,
        log_id: str | None,
        headers: dict[str, str],
        tool_names: Mapping[str, str],
    ) -> Call:
        parsed = self.metadata
        if outcome.metadata_header is not None:
            parsed = metadata.parse(outcome.metadata_header)
        answer = outcome.answer
        return Call(
            provider=outcome.provider,
            path=outcome.path,
            model=outcome.model,
            endpoint=outcome.endpoint,
            json=None if self.oversized else outcome.json,
            status_code=None if answer.fault else answer.status,
            log_id=log_id,
            cache_status=outcome.cache_status,
            event_id=headers.get("cf-aig-event-id"),
            step=outcome.step,
            options=outcome.options,
            attempts=outcome.attempts,
            fault=_fault_name(answer),
            route=outcome.route,
            response_headers=headers,
            routing=outcome.routing,
            _received=_received(answer),
            **self._sent(parsed, tool_names),
        )

    def _sent(self, parsed: ParsedMetadata, tool_names: Mapping[str, str]) -> dict[str, Any]:
        """What every `Call` of this request records of what was sent, answered or not."""
        return {
            "metadata": parsed.stored,
            "metadata_header": parsed.header,
            "metadata_problems": parsed.problems,
            "method": self.method,
            "url": self.url,
            "_headers": self.headers,
            "_content": b"" if self.oversized else self.content,
            "_secret_digests": self.digests,
            "_tool_names": tool_names,
            "_secret_words": self.secret_words,
        }


def _received(answer: Answer) -> Received:
    """What the app receives of *answer*: nothing on a fault, the chunks up to a cut."""
    if answer.fault is not None:
        return Received()
    return Received(
        answer.chunks if answer.cut_after is None else answer.chunks[: answer.cut_after]
    )


def _prepare(route: _Routed, body: Any) -> None:
    """Do before the lock the work that grows with the input (embedding vectors).

    Of a universal request, the first step only: the others run only if it fails.
    """
    if isinstance(route, Target) and isinstance(body, dict):
        format_for(route.provider, route.path).prepare(route.path, body)
    elif isinstance(route, Universal):
        step = body[0] if isinstance(body, list) and body else body
        if not isinstance(step, dict):
            return
        provider, endpoint, query = (step.get(key) for key in ("provider", "endpoint", "query"))
        if isinstance(provider, str) and isinstance(endpoint, str) and isinstance(query, dict):
            path = endpoint.strip("/")
            format_for(provider, path).prepare(path, query)


def _model_in(query: Any) -> object:
    return query.get("model") if isinstance(query, dict) else None


def _routed_cost(outcome: _Outcome) -> float:
    return 0.0 if outcome.cache_status == "HIT" else answer_cost(outcome.answer)


def _answered_ok(outcome: _Outcome) -> bool:
    return outcome.answer.ok and outcome.answer.fault is None and outcome.answer.cut_after is None


def _body_key(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def _refusal_answer(refusal: Refusal, *, api: bool = False) -> Answer:
    """The gateway's (or, on the REST API, the Cloudflare API's) 4xx for hostile input."""
    fault = TOO_LARGE if refusal.status == 413 else BAD_REST_INPUT if api else INPUT_ERROR
    if api:
        return api_answer(fault, str(refusal))
    return gateway_answer(fault, str(refusal), logged=False)


def _refusal(
    request: httpx.Request, route: _Routed | None, cf: Mapping[str, str], parsed: ParsedMetadata
) -> tuple[Any, Refusal | None]:
    """The body as JSON, and why the gateway refuses the request outright, if it does."""
    try:
        body = body_json(request.content)
    except Refusal as refusal:
        return None, refusal
    problem = metadata_problem(parsed) or custom_cost_problem(cf)
    if problem is None and isinstance(route, Universal):
        problem = _step_problem(body)
    return body, None if problem is None else Refusal(problem)


def _step_problem(body: Any) -> str | None:
    """Why a universal step's own `cf-aig-metadata` or custom cost is refused, if it is."""
    for step in body if isinstance(body, list) else [body]:
        headers = step.get("headers") if isinstance(step, dict) else None
        if not isinstance(headers, dict):
            continue
        cf = {str(k).lower(): v for k, v in headers.items() if isinstance(v, str)}
        problem = custom_cost_problem(cf)
        if problem is None and metadata.HEADER in cf:
            problem = metadata_problem(metadata.parse(cf[metadata.HEADER]))
        if problem is not None:
            return problem
    return None


def _fault_name(answer: Answer) -> str | None:
    if answer.fault is not None:
        return "timeout" if answer.fault.error_name == "ReadTimeout" else "disconnect"
    return "cut" if answer.cut_after is not None else None
