"""`MockGateway`: the fake gateway, intercepting the app's HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx

from . import settings
from ._validation import check, check_number, check_string
from .calls import Call, CallList
from .clock import Clock
from .fake.auto_router import AutoRoute, auto_route_rule
from .fake.credentials import CredentialPolicy
from .fake.dlp import DlpPolicy, dlp_rule
from .fake.dynamic_routes import DynamicRoute, parse_route
from .fake.errors import GATEWAY_ERRORS
from .fake.formats import ToolCall
from .fake.gateway import FakeGateway, UnexpectedRequest
from .fake.guardrails import Guardrail, guardrail_rule
from .fake.limits import Limits
from .fake.matchers import MatcherArgs, RouteMatcherArgs, TextMatcher
from .fake.routing import GATEWAY_HOST
from .fake.scripts import Script, failure_script, reply_script
from .fake.transport import TransportFault
from .gateway_base import Gateway, RootURL
from .ids import IdFormat, id_factory
from .intercept.cloudflare_guard import CloudflareGuard
from .intercept.guard import DirectCall, DirectCallGuard
from .logs_api import API_HOST, LogsApi
from .logstore import LogSettings, LogStore, log_settings_fields
from .redaction import extra_names
from .seed import logs_from_api
from .settings import DEFAULT_ACCOUNT_ID, DEFAULT_GATEWAY_ID, GatewayArgs

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .intercept import Interception

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_GATEWAY_ID", "MockGateway", "RootURL"]

_Self = TypeVar("_Self", bound="MockGateway")

API_STATUS = "429 or a server error status from 500 to 599"
MAX_OUTAGES = 100_000  # each is kept until answered
MAX_RETRY_AFTER = 86_400  # a day: the longest wait a Retry-After header sensibly asks for
OPT_OUT_HINT = "To turn these checks off for one test, mark it @pytest.mark.aigw(strict=False)."


def _served(account_id: str, gateway_id: str) -> str:
    """What the fake answers on Cloudflare's hosts, for the message refusing the rest."""
    account = f"/client/v4/accounts/{account_id}"
    return (
        f"the fake serves the gateway on {GATEWAY_HOST}, and on {API_HOST} only the Logs API"
        f" ({account}/ai-gateway/gateways/{gateway_id}/logs...) and the REST inference API"
        f" ({account}/ai/...)"
    )


class MockGateway(Gateway):
    """A fake Cloudflare AI Gateway that the app's httpx and httpx2 clients reach.

    Use it as the `aigw` fixture, or as a context manager outside pytest::

        with MockGateway() as aigw:
            client = OpenAI(base_url=aigw.url("openai"), api_key="sk-test")
            client.chat.completions.create(model="gpt-4o-mini", messages=[...])
            assert aigw.calls.last.model == "gpt-4o-mini"

    On a clean exit the context manager runs `check()` (unless ``strict=False``).
    `handler` also plugs straight into `httpx.MockTransport`.
    """

    mode = "mock"
    _roundtrip_timeout = 10.0

    def __init__(
        self, *, log_settings: LogSettings | None = None, **options: Unpack[GatewayArgs]
    ) -> None:
        """Take any setting of `pytest_aigw.settings.GatewayArgs` as a keyword.

        *log_settings* (a `LogSettings`) is the older way to give the log settings;
        keywords given beside it win.
        """
        given: dict[str, object] = {}
        if log_settings is not None:
            given.update(log_settings_fields(log_settings))
        given.update(options)
        resolved = settings.resolve(given, owner=f"{type(self).__name__}()")
        extra_names()  # a bad PYTEST_AIGW_REDACT fails here, not inside a request
        self._settings = resolved
        self.strict: bool = resolved["strict"]
        self._id_format = resolved["id_format"]
        self._direct = DirectCallGuard(
            tuple(resolved["provider_hosts"]), allow=resolved["allow_direct"]
        )
        self._fake = FakeGateway(
            resolved["account_id"],
            resolved["gateway_id"],
            new_id=id_factory(self._id_format),
            authenticated=resolved["authenticated"],
            cache_ttl=resolved["cache_ttl"],
            log_settings=LogSettings.of(resolved),
            credentials=CredentialPolicy(resolved["credentials"], tuple(resolved["byok_aliases"])),
            timeout_answer=(resolved["timeout_status"], resolved["timeout_code"]),
            guardrail_stream=resolved["guardrail_stream"],
            limits=Limits.of(resolved),
        )
        self._logs_api = LogsApi(self._fake.logs, self.account_id, self.gateway_id, self.clock.now)
        self._unsent = CloudflareGuard(_served(self.account_id, self.gateway_id))
        self._interception: Interception | None = None

    @property
    def settings(self) -> GatewayArgs:
        """Every setting this gateway was built with, by name (a copy)."""
        current = {"authenticated": self.authenticated, "credentials": self.credentials}
        return {**self._settings, **current, "byok_aliases": self.byok_aliases}  # type: ignore[typeddict-item]

    @property
    def account_id(self) -> str:
        """The Cloudflare account id the fake serves."""
        return self._fake.account_id

    @property
    def gateway_id(self) -> str:
        """The gateway id the fake serves."""
        return self._fake.gateway_id

    @property
    def authenticated(self) -> bool:
        """Whether requests need `cf-aig-authorization` (401, code 2009, without it)."""
        return self._fake.authenticated

    @authenticated.setter
    def authenticated(self, value: bool) -> None:
        self._fake.authenticated = settings.setting("authenticated").check(value)

    @property
    def id_format(self) -> IdFormat:
        """The format of the log ids issued: "uuid7" (the gateway's since 2026-10-08) or "ulid"."""
        return self._id_format

    @property
    def credentials(self) -> str | None:
        """Who pays when a request brings no provider key.

        ``"provider"`` (the default): nobody, the provider answers 401 as the real
        gateway without stored keys does; ``"byok"``: a key stored on the gateway;
        ``"unified"``: Unified Billing; ``None``: keys are not checked (for apps that
        rightly send none). Stored keys and credits need `cf-aig-authorization`.
        """
        return self._fake.credentials.mode

    @credentials.setter
    def credentials(self, value: str | None) -> None:
        policy = self._fake.credentials
        self._fake.credentials = CredentialPolicy(
            settings.setting("credentials").check(value), policy.aliases
        )

    @property
    def byok_aliases(self) -> tuple[str, ...]:
        """The aliases of the keys stored on the gateway (with ``credentials="byok"``)."""
        return self._fake.credentials.aliases

    @byok_aliases.setter
    def byok_aliases(self, value: Iterable[str]) -> None:
        policy = self._fake.credentials
        self._fake.credentials = CredentialPolicy(
            policy.mode, settings.setting("byok_aliases").check(value)
        )

    @property
    def clock(self) -> Clock:
        """The fake's clock; ``aigw.clock.advance(61)`` steps past a 60 s cache TTL."""
        return self._fake.clock

    @property
    def _gateway_root(self) -> str:
        return f"https://{GATEWAY_HOST}"  # intercepted; a served gateway answers on its own

    @property
    def _api_root(self) -> str:
        return f"https://{API_HOST}"

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL: ``https://gateway.ai.cloudflare.com/v1/{account}/{gateway}``."""
        return f"{self._gateway_root}/v1/{self.account_id}/{self.gateway_id}"

    @property
    def calls(self) -> CallList:
        """The gateway calls recorded so far, in order; `calls.last` is the latest."""
        return self._fake.calls

    @property
    def unexpected(self) -> list[UnexpectedRequest]:
        """Requests on the gateway host that the fake does not serve."""
        return list(self._fake.unexpected)

    @property
    def direct_calls(self) -> list[DirectCall]:
        """Requests that went to a model provider's own host and were refused."""
        return self._direct.calls

    def respond(
        self,
        content: Any = None,
        *,
        tool_calls: Sequence[Mapping[str, Any] | ToolCall] | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, int] | None = None,
        refusal: str | None = None,
        provider: str | None = None,
        model: TextMatcher = None,
        path: TextMatcher = None,
        prompt: TextMatcher = None,
        system: TextMatcher = None,
        metadata: Mapping[str, Any] | None = None,
        tools: str | Sequence[str] | None = None,
        tool_result: bool | str | None = None,
        body: Mapping[str, Any] | None = None,
        match: Callable[[Call], bool] | None = None,
        status: int = 200,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool | None = None,
        times: int | None = 1,
        latency: float = 0.0,
        cut_after: int | None = None,
        optional: bool = False,
    ) -> Script:
        """Script the model's next answer to requests that match.

        What the model says, shaped like the provider's reply and stream:
        *content* is text (a list of strings gives the stream's pieces; a dict, a
        list of dicts or a pydantic model is sent as JSON text) or a function
        ``fn(call)`` returning any of those or a `pytest_aigw.reply(...)`;
        *tool_calls* lists tool calls (dicts with ``name``, ``arguments`` and an
        optional ``id``, or `pytest_aigw.tool_call`); *finish_reason* is
        ``stop``, ``length``, ``tool_calls`` or ``content_filter`` (mapped per
        provider); *usage* sets token counts (``input``, ``output``, ``cached``,
        ``reasoning``); *refusal* is a refusal's text; *json* is an exact body
        instead of all of these.

        Which requests it answers (each left out matches any): *provider*,
        *model* (``provider/model`` matches on the compat endpoint), *path*,
        *prompt* (the last user message) and *system* (a string is a substring,
        a compiled regex is searched), *metadata* and *body* (a dict that must be
        a subset), *tools* (names that must be offered), *tool_result* (True,
        False, or a tool name whose result the request carries), *match* (a
        function taking the request's `Call`). Scripts answer in the order
        registered, each *times* times (None: any number); one that never
        answers fails the test at teardown unless *optional*. *stream* forces or
        refuses SSE (None follows the request); *latency* delays the first byte
        (seconds); *cut_after* drops the connection after that many chunks.
        """
        make = reply_script(
            content,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            usage=usage,
            refusal=refusal,
            provider=provider,
            model=model,
            path=path,
            prompt=prompt,
            system=system,
            metadata=metadata,
            tools=tools,
            tool_result=tool_result,
            body=body,
            match=match,
            status=status,
            json=json,
            headers={} if headers is None else headers,
            stream=stream,
            times=times,
            latency=latency,
            cut_after=cut_after,
            optional=optional,
        )
        return self._fake.scripts.add(make)

    def fail(
        self,
        status: int | Literal["timeout", "disconnect"],
        *,
        code: int | None = None,
        message: str | None = None,
        origin: Literal["gateway", "provider"] | None = None,
        provider: str | None = None,
        model: TextMatcher = None,
        path: TextMatcher = None,
        prompt: TextMatcher = None,
        system: TextMatcher = None,
        metadata: Mapping[str, Any] | None = None,
        tools: str | Sequence[str] | None = None,
        tool_result: bool | str | None = None,
        body: Mapping[str, Any] | None = None,
        match: Callable[[Call], bool] | None = None,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        optional: bool = False,
    ) -> Script:
        """Script an error for requests that match (matchers and *times* as `respond`).

        A status the gateway itself answers (401 code 2009, 402 code 2021, 429 code
        2003) gives the gateway's error body; any other status, or
        ``origin="provider"``, gives the provider's own error format. ``"timeout"``
        and ``"disconnect"`` make the app's HTTP client raise its ReadTimeout or
        RemoteProtocolError, as a dropped network would.
        """
        make = failure_script(
            status,
            code=code,
            message=message,
            origin=origin,
            provider=provider,
            model=model,
            path=path,
            prompt=prompt,
            system=system,
            metadata=metadata,
            tools=tools,
            tool_result=tool_result,
            body=body,
            match=match,
            headers={} if headers is None else headers,
            times=times,
            optional=optional,
            gateway_codes=GATEWAY_ERRORS,
        )
        return self._fake.scripts.add(make)

    def guardrail(
        self,
        phase: Literal["prompt", "response"],
        *,
        action: Literal["block", "flag"] = "block",
        categories: Sequence[str] | None = None,
        scanner_error: Literal[402, 503] | None = None,
        **matchers: Unpack[MatcherArgs],
    ) -> Guardrail:
        """Declare what the gateway's Guardrails find, and do, for requests that match.

        In the *phase* (``"prompt"`` or ``"response"``) of requests matching
        *matchers* (those of `respond`), the scanner finds *categories* (``S1``-``S13``,
        ``P1``); ``action="block"`` refuses (424, code 2016 for a prompt, 2017 for a
        response), ``"flag"`` lets the request go on and marks its log. Any rule turns
        the phase on: every request is then evaluated and logged. *scanner_error* makes
        the scanner fail instead: 402 (code 2021, always refused) or 503 (code 7013,
        refused where a rule of the phase blocks).
        """
        make = guardrail_rule(
            phase, action=action, categories=categories, scanner_error=scanner_error, **matchers
        )
        return self._fake.screening.add_guardrail(make)

    def dlp(
        self,
        check: Literal["request", "response", "both"] = "request",
        *,
        action: Literal["block", "flag"] = "block",
        profiles: Sequence[str] | None = None,
        policy: str | None = None,
        **matchers: Unpack[MatcherArgs],
    ) -> DlpPolicy:
        """Declare a DLP policy that matches in what *check* covers of matching requests.

        *profiles* are the DLP profile ids that match, *policy* the policy id (both
        made up when left out). A match adds the ``cf-aig-dlp`` header; ``"block"``
        answers 400 (code 2029 for the request, 2030 for the response) and is not
        cached, ``"flag"`` returns the original answer. Cache hits skip DLP.
        """
        make = dlp_rule(check, action=action, profiles=profiles, policy=policy, **matchers)
        return self._fake.screening.add_dlp(make)

    def auto_route(
        self,
        model: str,
        *,
        reason: str | None = None,
        **matchers: Unpack[RouteMatcherArgs],
    ) -> AutoRoute:
        """Script the Auto Router's pick for ``cloudflare/auto`` requests that match.

        Requests matching *matchers* (those of `respond` but ``model``: every one asks
        for ``cloudflare/auto``) are routed to *model*
        (``"openai/gpt-5.6-sol"``) where it is among the request's candidates (the
        default pool, or what ``cf-aig-allowed-models`` and ``cf-aig-allowed-providers``
        allow). *reason* is the ``cf-aig-routing-reason`` sent back (one of the
        documented reasons; by default ``cost_optimal_within_pool``, or
        ``forced_by_candidate_pool`` where the pool holds one model). Routes hold for
        the whole test and the first declared that matches wins, except in a turn
        already routed: with ``cf-aig-session-id`` the turn keeps its model
        (``pinned_by_turn``). Otherwise the first candidate is picked.
        """
        make = auto_route_rule(model, reason=reason, **matchers)
        return self._fake.auto_router.add(make)

    def route(self, name: str, config: Mapping[str, Any], *, seed: int = 0) -> DynamicRoute:
        """Declare the dynamic route *name*, as the dashboard exports it (its JSON).

        Requests for ``model="dynamic/<name>"`` (compat, the REST API's chat
        completions, universal ``compat`` steps) then walk it: conditional elements
        on ``metadata.*``, percentage splits (drawn from *seed* and the name: the
        same split every run), rate and cost limits on `clock`, model elements with
        their timeout, retries and fallback (scripted failures make fallbacks
        happen), end. The answer names the model in ``cf-aig-model`` and
        ``cf-aig-provider``; `Call.route` lists the element ids it went through. A
        route the fake cannot walk raises `ConfigError` naming the element.
        """
        check_string("name", name, non_empty=True)
        check_number("seed=", seed, integer=True)
        route = parse_route(name, config, seed)
        self._fake.routes[name] = route
        return route

    def fail_logs_api(
        self, status: int = 429, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next *times* Logs API requests with *status*: 429 or a 5xx.

        A 429 carries the API's rate-limit error (code 971); *retry_after* adds a
        ``Retry-After`` header (seconds). Clients are expected to retry.
        """
        check_number("status=", status, min=429, max=599, integer=True, expected=API_STATUS)
        check("status=", status, status == 429 or status >= 500, API_STATUS)
        check_number("times=", times, min=1, max=MAX_OUTAGES, integer=True)
        expected = f"seconds from 0 to {MAX_RETRY_AFTER}, or None"
        check_number(
            "retry_after=",
            retry_after,
            min=0,
            max=MAX_RETRY_AFTER,
            optional=True,
            expected=expected,
        )
        self._logs_api.fail_next(status, times, retry_after)

    @property
    def scripts(self) -> list[Script]:
        """The scripted replies and failures, in the order registered, with use counts."""
        return list(self._fake.scripts)

    @property
    def api_url(self) -> str:
        """The Cloudflare API base the fake Logs API answers on (``.../client/v4``)."""
        return f"{self._api_root}/client/v4"

    def _logs_client_options(self) -> dict[str, Any]:
        # `logs` is the client live mode uses against Cloudflare; no rate limit here.
        return {
            "api_token": "aigw-mock-token",
            "http_client": self._logs_http_client(),
            "rate_limit": None,
        }

    def _logs_http_client(self) -> httpx.Client | None:
        """The HTTP client the Logs API client uses: straight to this fake, in process.

        (A default client would also reach it through the interception, but building
        its TLS context costs ~25 ms per gateway.)
        """
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    @property
    def log_store(self) -> LogStore:
        """The logs the gateway wrote, as the fake Logs API serves them."""
        return self._fake.logs

    def seed_logs(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Load logs as the Logs API returns them (see `pytest_aigw.seed`).

        Every item is checked first; a bad one raises `ConfigError` naming the item
        and the field, and nothing is loaded.
        """
        self._fake.logs.load(logs_from_api(items))

    def _serves(self, request: httpx.Request) -> bool:
        return (
            self._fake.is_gateway_request(request)
            or self._logs_api.is_logs_request(request)
            or self._direct.refuses(request)
            or self._unsent.covers(request)
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if self._logs_api.is_logs_request(request):
            return self._logs_api.handle(request)
        if self._fake.is_gateway_request(request):
            return self._fake.handle(request)
        if self._unsent.covers(request):
            return self._unsent.refuse(request)
        if self._direct.refuses(request):
            return self._direct.refuse(request)
        return self._fake.handle(request)  # MockTransport(aigw.handler): anything comes here

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; usable as ``httpx.MockTransport(aigw.handler)``."""
        try:
            response = self._answer(request)
            response.read()  # callers may read .json() at once; interception skips this
        except TransportFault as fault:
            raise fault.as_error(httpx) from None
        return response

    def findings(self) -> list[str]:
        """Everything `check()` would report, one line each."""
        return self._direct.findings() + self._unsent.findings() + self._fake.findings()

    def _check_message(self, count: int, lines: str) -> str:
        # What the app sent that the real gateway would refuse or lose.
        return (
            f"pytest-aigw found {count} problem(s) in what the app sent to the"
            f" AI Gateway fake:\n{lines}\n{OPT_OUT_HINT}"
        )

    def reset(self) -> None:
        """Forget calls, scripts, cached answers and pending findings (per Hypothesis example)."""
        self._fake.reset()
        self._logs_api.clear_outages()
        self._direct.clear()
        self._unsent.clear()

    def start(self) -> None:
        """Start intercepting httpx and httpx2 requests for the gateway host."""
        if self._interception is not None:
            return
        from .intercept import Interception

        interception = Interception(self._answer, self._serves)
        interception.start()
        self._interception = interception

    def stop(self) -> None:
        """Stop intercepting; requests reach the network again."""
        self._close_logs_client()
        interception, self._interception = self._interception, None
        if interception is not None:
            interception.stop()
