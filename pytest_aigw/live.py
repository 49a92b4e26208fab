"""`LiveGateway`: the app's gateway requests, tagged ``test: true``, sent to the real gateway.

The interception layer that feeds the fake in mock mode catches the app's requests for
the configured gateway URL and for the REST API's inference routes (`rest_url`); each is
re-sent for real with the run's tags merged into its `cf-aig-metadata`, and recorded
with the gateway's response headers (log id, cache status, step). Streams pass through
chunk by chunk. A REST request without `cf-aig-gateway-id` is sent to the configured
gateway (not the account's `default`), so its logs are the ones the test reads and the
run's clean-up deletes.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from . import metadata, settings
from ._config import (
    DEFAULT_API_BASE_URL,
    DEFAULT_GATEWAY_BASE_URL,
    DEFAULT_MAX_RETRY_AFTER,
    RUN_TAG,
    RunConfig,
)
from ._errors import AigwError, MetadataError
from .calls import CallList, Received, redact_url, request_json
from .fake.rest import GATEWAY_HEADER, rest_model
from .gateway_base import Gateway
from .intercept.cloudflare_guard import CloudflareGuard
from .live_calls import live_call
from .logs_api import is_logs_path
from .mock_only import LiveModeError, MockOnly

if TYPE_CHECKING:
    from .client import LogsClient
    from .intercept import Interception
    from .tape import Tape

__all__ = [
    "LiveGateway",
    "LiveModeError",
    "UntaggableRequest",
    "delete_run_logs",
    "run_logs_client",
]

# Set while the gateway re-sends a request, so that its own request is let through.
_FORWARDING = contextvars.ContextVar("pytest_aigw_forwarding", default=False)
_TIMEOUT = httpx.Timeout(600.0, connect=15.0)  # LLM answers can take minutes


class UntaggableRequest(AigwError):
    """A request that cannot carry the live tags, so it was not sent."""


class LiveGateway(MockOnly, Gateway):
    """The real AI Gateway for a test marked `aigw_live`, with the `Gateway` interface.

    Every request the app sends to `gateway_url` through httpx or httpx2 carries
    *tags* (``test: true`` and any extras) merged into its `cf-aig-metadata`, and
    *gateway_token* as `cf-aig-authorization` when the app sends none.
    """

    mode = "live"
    where = (
        "this test runs against the real one (it is marked aigw_live and the run is"
        " --aigw-mode=live)"
    )
    hints: ClassVar[dict[str, str]] = {
        "auto_route": " The real Auto Router picks the model itself: read it from the"
        " answer's cf-aig-routed-model header, or narrow its choice with the"
        " cf-aig-allowed-models request header."
    }
    strict = True
    tape: Tape | None = None
    """Set by the recorder: takes down every exchange, the Logs API's too, for a cassette."""
    _roundtrip_timeout = 60.0  # the real Logs API lists a log a little after the call

    def __init__(
        self,
        *,
        account_id: str,
        gateway_id: str,
        api_token: str,
        gateway_token: str | None = None,
        gateway_base_url: str = DEFAULT_GATEWAY_BASE_URL,
        api_base_url: str = DEFAULT_API_BASE_URL,
        tags: Mapping[str, object] | None = None,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
    ) -> None:
        settings.check({"account_id": account_id, "gateway_id": gateway_id})
        self._max_retry_after = max_retry_after
        self._account_id = account_id
        self._gateway_id = gateway_id
        self._gateway_url = f"{gateway_base_url.rstrip('/')}/{account_id}/{gateway_id}"
        self._api_url = api_base_url.rstrip("/")
        self.tags = metadata.validate(dict(tags if tags is not None else {"test": True}))
        self._calls = CallList()
        self._api_token = api_token
        self._gateway_token = gateway_token
        self._target = httpx.URL(self.gateway_url)
        self._rest = httpx.URL(self.rest_url)
        self._refusals: list[str] = []
        self._unsent = CloudflareGuard(
            f"live mode sends on only the gateway's requests ({self.gateway_url}/...),"
            f" the REST inference API's ({self.rest_url}/...) and the Logs API's"
        )
        self._interception: Interception | None = None
        self._client: httpx.Client | None = None

    @property
    def account_id(self) -> str:
        """The Cloudflare account id."""
        return self._account_id

    @property
    def gateway_id(self) -> str:
        """The gateway id."""
        return self._gateway_id

    @property
    def gateway_url(self) -> str:
        """The real gateway's base URL: ``{gateway_base_url}/{account_id}/{gateway_id}``."""
        return self._gateway_url

    @property
    def api_url(self) -> str:
        """The Cloudflare API base URL."""
        return self._api_url

    @property
    def calls(self) -> CallList:
        """The gateway calls sent so far, in order, with the gateway's answer headers."""
        return self._calls

    def _logs_client_options(self) -> dict[str, Any]:
        # Rate-limited and retrying, as the API wants; Retry-After waits capped by the run.
        return {"api_token": self._api_token, "max_retry_after": self._max_retry_after}

    # --- lifecycle and checks ---------------------------------------------------------

    def start(self) -> None:
        """Catch the app's requests to `gateway_url` and send them on, tagged."""
        if self._interception is not None:
            return
        from .intercept import Interception

        self._interception = Interception(self._forward, self._wanted, self._forward_async)
        self._interception.start()

    def stop(self) -> None:
        """Stop catching requests and close the connections this gateway opened."""
        interception, self._interception = self._interception, None
        if interception is not None:
            interception.stop()
        self._close_logs_client()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def findings(self) -> list[str]:
        """Requests that were not sent: untaggable, or for Cloudflare but not forwarded."""
        return self._refusals + self._unsent.findings()

    def _check_message(self, count: int, lines: str) -> str:
        return f"pytest-aigw held back {count} live request(s):\n{lines}"

    # --- forwarding ---------------------------------------------------------------------

    def _wanted(self, request: httpx.Request) -> bool:
        if _FORWARDING.get():
            return False
        return self._forwards(request) or self._holds_back(request)

    def _forwards(self, request: httpx.Request) -> bool:
        target = _under(request.url, self._target) or _under(request.url, self._rest)
        return target or self._taped_logs(request)

    def _taped_logs(self, request: httpx.Request) -> bool:
        """A Logs API request while recording: sent on as it is, to be taken down."""
        return (
            self.tape is not None
            and _under(request.url, httpx.URL(self.api_url))
            and is_logs_path(request.url.path)
        )

    def _holds_back(self, request: httpx.Request) -> bool:
        """A request for Cloudflare that live mode does not forward (the Logs API goes as is)."""
        return self._unsent.covers(request) and not is_logs_path(request.url.path)

    def _forward(self, request: httpx.Request) -> httpx.Response:
        if not self._forwards(request):
            return self._unsent.refuse(request)
        outgoing = self._outgoing(request)
        if self._client is None:
            self._client = httpx.Client(timeout=_TIMEOUT)
        token = _FORWARDING.set(True)
        try:
            upstream = self._client.send(outgoing, stream=True)
        finally:
            _FORWARDING.reset(token)
        relay = _Relay(upstream, self._record(outgoing, upstream))
        tape = self.tape
        return _relayed(upstream, relay if tape is None else tape.sync(outgoing, upstream, relay))

    async def _forward_async(self, request: httpx.Request) -> httpx.Response:
        if not self._forwards(request):
            return self._unsent.refuse(request)
        outgoing = self._outgoing(request)
        # A client per request, closed with its response: an async client cannot be
        # closed from stop(), whose caller's event loop may be gone.
        client = httpx.AsyncClient(timeout=_TIMEOUT)
        token = _FORWARDING.set(True)
        try:
            upstream = await client.send(outgoing, stream=True)
        except BaseException:
            await client.aclose()
            raise
        finally:
            _FORWARDING.reset(token)
        relay = _AsyncRelay(upstream, client, self._record(outgoing, upstream))
        tape = self.tape
        return _relayed(upstream, relay if tape is None else tape.async_(outgoing, upstream, relay))

    def _outgoing(self, request: httpx.Request) -> httpx.Request:
        """The request as it goes out: tags merged, gateway token added (not the Logs API's)."""
        headers = httpx.Headers(request.headers)
        if not self._taped_logs(request):
            self._tag(request, headers)
        extensions = {k: v for k, v in request.extensions.items() if k == "timeout"}
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=request.content,
            extensions=extensions,
        )

    def _tag(self, request: httpx.Request, headers: httpx.Headers) -> None:
        try:
            headers[metadata.HEADER] = _tagged(headers.get(metadata.HEADER), self.tags)
        except MetadataError as error:
            message = (
                f"{request.method} {redact_url(request.url)} was not sent to the real gateway:"
                f" {error}. Every live request must carry {json.dumps(self.tags)}; free"
                " room in the app's cf-aig-metadata (at most 5 entries), or drop extra tags."
            )
            self._refusals.append(message)
            raise UntaggableRequest(message) from None
        if _under(request.url, self._rest):
            self._for_rest(request, headers)
        elif self._gateway_token and "cf-aig-authorization" not in headers:
            headers["cf-aig-authorization"] = f"Bearer {self._gateway_token}"

    def _for_rest(self, request: httpx.Request, headers: httpx.Headers) -> None:
        """A REST request: the run's API token when the app sends none; this gateway.

        `@cf/` models get no gateway header added: the API refuses them without one,
        and so does the fake, so a test that forgets it fails the same way in both.
        """
        if "authorization" not in headers and "x-api-key" not in headers:
            headers["authorization"] = f"Bearer {self._api_token}"
        model = rest_model(self._rest_path(request.url), request_json(request))
        if GATEWAY_HEADER not in headers and not (model or "").startswith("@cf/"):
            headers[GATEWAY_HEADER] = self.gateway_id

    def _rest_path(self, url: httpx.URL) -> str:
        """A REST URL's path from ``ai/`` on, as the fake records it (``ai/v1/...``)."""
        return url.path[len(self._rest.path) - len("ai") :]

    def _place(self, sent: httpx.Request) -> tuple[str, str]:
        """The API a forwarded request went to, and its path below it (as the fake's)."""
        if _under(sent.url, self._rest):
            return "rest", self._rest_path(sent.url)
        return "gateway", sent.url.path[len(self._target.path) :].strip("/")

    def _record(self, sent: httpx.Request, response: httpx.Response) -> Received:
        """Record the call; return where its answer's body goes as the app reads it."""
        if self._taped_logs(sent):
            return Received()  # a Logs API call, not a gateway call: kept nowhere
        received = Received()
        api, path = self._place(sent)
        header = sent.headers.get(metadata.HEADER)
        status, answer = response.status_code, response.headers
        call = live_call(sent, api, path, status, answer, metadata_header=header, received=received)
        self.calls.append(call)
        return received


def _under(url: httpx.URL, base: httpx.URL) -> bool:
    """Tell whether *url* is *base* or below it (same scheme, host and port)."""
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and (
        url.path == base.path or url.path.startswith(base.path + "/")
    )


def _tagged(header: str | None, tags: Mapping[str, metadata.MetadataValue]) -> str:
    """The app's metadata header with *tags* merged in; `MetadataError` if it cannot be."""
    parsed = metadata.parse(header)
    if parsed.problems:
        reasons = "; ".join(problem.message for problem in parsed.problems)
        raise MetadataError(f"the app's cf-aig-metadata would not be stored as sent ({reasons})")
    return metadata.encode(metadata.merge(parsed.stored or {}, tags))


def _relayed(
    upstream: httpx.Response, stream: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    return httpx.Response(
        upstream.status_code,
        headers=upstream.headers.raw,
        stream=stream,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": upstream.reason_phrase.encode()},
    )


class _Relay(httpx.SyncByteStream):
    """The real gateway's body, passed on chunk by chunk as it arrives (still encoded).

    Each chunk is also kept in *received*, the call's record of what the app read.
    """

    def __init__(self, upstream: httpx.Response, received: Received) -> None:
        self._upstream = upstream
        self._received = received

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._upstream.iter_raw():
            self._received.add(chunk)
            yield chunk

    def close(self) -> None:
        self._upstream.close()


class _AsyncRelay(httpx.AsyncByteStream):
    """`_Relay` for async clients."""

    def __init__(
        self, upstream: httpx.Response, client: httpx.AsyncClient, received: Received
    ) -> None:
        self._upstream = upstream
        self._client = client
        self._received = received

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._upstream.aiter_raw():
            self._received.add(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self._upstream.aclose()
        await self._client.aclose()


def run_logs_client(run: RunConfig) -> LogsClient:
    """A Logs API client for the live run's account and gateway."""
    from .client import LogsClient

    return LogsClient(**run.client_args(), base_url=run.api_base_url)


def delete_run_logs(run: RunConfig) -> int:
    """Delete the logs tagged with *run*'s run id through the Logs API; return how many.

    Logs that are not visible yet (the API lists a log a little after the call) are
    missed, as they would be by any query.
    """
    from .client import log_filter
    from .logs_api import MAX_DELETE

    if run.run_id is None:
        return 0  # untagged requests cannot be told apart from anyone else's
    # metadata.key and metadata.value filters are not paired; the run id alone is unique.
    filters = [
        log_filter("metadata.key", "eq", RUN_TAG),
        log_filter("metadata.value", "eq", run.run_id),
    ]
    with run_logs_client(run) as client:
        total = client.list(filters=filters, per_page=1).total_count
        for _ in range(-(-total // MAX_DELETE)):
            client.delete(filters=filters, limit=MAX_DELETE)
    return total
