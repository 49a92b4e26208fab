"""The Logs REST API client: one real HTTP client for the real API and for the fake.

    logs = LogsClient(account_id="...", gateway_id="...", api_token="...")
    logs.patch(log_id, feedback=1, score=90)
    logs.wait_for(log_id, where=lambda log: log.feedback == 1, timeout=60)

It sends `filters` as URL-encoded JSON (the form the API reads), retries 429 and 5xx
with backoff honouring `Retry-After` (up to `max_retry_after` seconds), keeps under
Cloudflare's documented API limit (1200 requests per 5 minutes) by default, and raises
`LogsApiError` naming the call, the status, the API's code and message. Tokens never
appear in messages or reprs. `AsyncLogsClient` has the same methods, awaited; it is the
one source of both: scripts/unasync.py writes `LogsClient` from it.
"""

from __future__ import annotations

import json
import math
import random
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import anyio
import httpx

from ._config import DEFAULT_MAX_RETRY_AFTER  # seconds: the longest Retry-After wait
from ._errors import AigwError, ConfigError
from .fake.arguments import fail

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "AsyncLogsClient",
    "Filter",
    "Log",
    "LogPage",
    "LogsApiError",
    "LogsApiTimeout",
    "LogsClient",
    "RateLimit",
    "log_filter",
]

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BATCH = 50  # ids per filtered list call, the API's largest page


class Filter(TypedDict):
    """One Logs API filter: logs whose *key* relates to any of *value* by *operator*."""

    key: str
    operator: str
    value: list[str | int | float | bool | None]


def log_filter(key: str, operator: str, *values: str | int | float | bool | None) -> Filter:
    """Build a filter, e.g. ``log_filter("model", "eq", "gpt-4o")``."""
    return {"key": key, "operator": operator, "value": list(values)}


class LogsApiError(AigwError):
    """The Logs API refused a call; carries its status, code and message."""

    def __init__(
        self, action: str, status_code: int, code: int | None, api_message: str, hint: str = ""
    ) -> None:
        coded = f" (code {code})" if code is not None else ""
        text = f"Logs API {action} failed: {status_code}{coded} {api_message}"
        super().__init__(f"{text}. {hint}" if hint else text)
        self.status_code = status_code
        self.code = code
        self.api_message = api_message


class LogsApiTimeout(AigwError, AssertionError):
    """A log, or the values expected on it, did not show before the timeout.

    From `verify_feedback`, `found` holds the logs that did show the expected values.
    """

    def __init__(self, message: str, found: Mapping[str, Log] | None = None) -> None:
        super().__init__(message)
        self.found: dict[str, Log] = dict(found or {})


@dataclass(frozen=True)
class RateLimit:
    """At most *requests* calls start in any *per_seconds* window."""

    requests: int
    per_seconds: float


DEFAULT_RATE_LIMIT = RateLimit(1200, 300.0)  # Cloudflare's documented global API limit


@dataclass(frozen=True)
class Log:
    """A log as the Logs API returns it; `raw` holds every field."""

    id: str
    created_at: str
    provider: str
    model: str
    path: str
    success: bool
    status_code: int | None
    cached: bool
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    metadata: dict[str, Any] | None
    feedback: float | None
    score: float | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Log:
        metadata = raw.get("metadata")
        if isinstance(metadata, str):  # the schema's form: a JSON string
            try:
                metadata = json.loads(metadata)
            except ValueError:
                metadata = None
        return cls(
            id=str(raw["id"]),
            created_at=str(raw.get("created_at", "")),
            provider=str(raw.get("provider", "")),
            model=str(raw.get("model", "")),
            path=str(raw.get("path", "")),
            success=bool(raw.get("success", False)),
            status_code=raw.get("status_code"),
            cached=bool(raw.get("cached", False)),
            tokens_in=raw.get("tokens_in"),
            tokens_out=raw.get("tokens_out"),
            cost=raw.get("cost"),
            metadata=metadata if isinstance(metadata, dict) else None,
            feedback=raw.get("feedback"),
            score=raw.get("score"),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class LogPage:
    """One page of `list`."""

    logs: list[Log]
    page: int
    per_page: int
    count: int
    total_count: int


class _RateLimiter:
    """A sliding window: how long the next call must wait to stay under the limit."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = self._clock()
            window = self._limit.per_seconds
            while self._starts and self._starts[0] <= now - window:
                self._starts.popleft()
            if len(self._starts) < self._limit.requests:
                self._starts.append(now)
                return 0.0
            start = max(now, self._starts.popleft() + window)
            self._starts.append(start)
            return start - now


def _retry_after(response: httpx.Response, cap: float) -> float | None:
    """The wait the answer asks for, at most *cap* seconds; None when it asks none."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = response.headers.get(name)
        if value is not None:
            try:
                seconds = float(value) * scale
            except ValueError:  # e.g. an HTTP date: back off instead
                return None
            return None if math.isnan(seconds) else min(cap, max(0.0, seconds))
    return None


def _retry_cap(value: object) -> float:
    """*max_retry_after*, checked: a finite number of seconds, 0 or more."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= sys.float_info.max
    ):
        fail("max_retry_after", value, "a finite number of seconds, 0 or more")
    return float(value)


def _backoff(attempt: int) -> float:
    return min(8.0, 0.5 * 2.0**attempt) * (0.5 + random.random() / 2)


def _poll_delay(attempt: int) -> float:
    return min(5.0, 0.1 * 2.0**attempt)


class _Retrying:
    """When to retry a call: 429, 5xx and transport errors, with backoff or Retry-After."""

    def __init__(self, max_retries: int, max_retry_after: float) -> None:
        self._left = max_retries
        self._cap = max_retry_after
        self._attempt = 0

    def delay(self, response: httpx.Response | None, error: Exception | None) -> float | None:
        """Seconds to wait before retrying, or None when *response* is the answer."""
        if response is not None and response.status_code not in RETRY_STATUSES:
            return None
        if self._left <= 0:
            if error is not None:
                raise error
            return None
        self._left -= 1
        self._attempt += 1
        waited = _retry_after(response, self._cap) if response is not None else None
        return waited if waited is not None else _backoff(self._attempt - 1)


class _Waiting:
    """Polling for a log: what was last seen, and how long to wait next."""

    def __init__(
        self,
        log_id: str,
        where: Callable[[Log], bool] | None,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._log_id, self._where, self._timeout, self._clock = log_id, where, timeout, clock
        self._deadline = clock() + timeout
        self._attempt = 0
        self._seen = "nothing yet"

    def done(self, log: Log | None, error: LogsApiError | None) -> bool:
        if error is not None:
            if error.status_code != 404:
                raise error
            self._seen = f"404 (code {error.code}) {error.api_message}"
            return False
        if log is not None and (self._where is None or self._where(log)):
            return True
        self._seen = f"the log, not yet as expected: {_summary(log)}" if log else self._seen
        return False

    def delay(self) -> float:
        if self._clock() >= self._deadline:
            raise LogsApiTimeout(
                f"log {self._log_id} did not show as expected within {self._timeout:g} s;"
                f" the Logs API last returned {self._seen}"
            )
        self._attempt += 1
        return min(_poll_delay(self._attempt - 1), max(0.0, self._deadline - self._clock()))


class _Verifying:
    """Checking many logs' feedback through filtered list calls, 50 ids a call."""

    def __init__(
        self,
        expected: Mapping[str, tuple[float | None, float | None]],
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._pending = dict(expected)
        self._last: dict[str, Log] = {}
        self.found: dict[str, Log] = {}
        self._timeout, self._clock = timeout, clock
        self._deadline = clock() + timeout
        self._attempt = 0

    def batches(self) -> list[list[str]]:
        ids = list(self._pending)
        return [ids[start : start + MAX_BATCH] for start in range(0, len(ids), MAX_BATCH)]

    def saw(self, page: LogPage) -> None:
        for log in page.logs:
            self._last[log.id] = log
            wanted = self._pending.get(log.id)
            if wanted is not None and _shows(log, *wanted):
                self.found[log.id] = log
                del self._pending[log.id]

    def done(self) -> bool:
        return not self._pending

    def delay(self) -> float:
        if self._clock() >= self._deadline:
            raise LogsApiTimeout(_missing(self._pending, self._last, self._timeout), self.found)
        self._attempt += 1
        return min(_poll_delay(self._attempt - 1), max(0.0, self._deadline - self._clock()))


class _Wire:
    """What both clients share: URLs, credentials, query encoding and envelopes."""

    def __init__(
        self,
        account_id: str,
        gateway_id: str,
        api_token: str | None,
        api_email: str | None,
        api_key: str | None,
        base_url: str,
    ) -> None:
        if not account_id or not gateway_id:
            raise ConfigError("LogsClient needs a non-empty account_id and gateway_id")
        if api_token:
            self.auth = {"authorization": f"Bearer {api_token}"}
        elif api_email and api_key:
            self.auth = {"x-auth-email": api_email, "x-auth-key": api_key}
        else:
            raise ConfigError(
                "LogsClient needs api_token=..., or api_email=... and api_key=...;"
                " in live mode set CLOUDFLARE_API_TOKEN"
            )
        self.account_id, self.gateway_id = account_id, gateway_id
        self.base = (
            f"{base_url.rstrip('/')}/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs"
        )

    def request(
        self,
        method: str,
        suffix: str = "",
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Request:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if "filters" in query:
            query["filters"] = json.dumps(query["filters"], separators=(",", ":"))
        return httpx.Request(
            method,
            self.base + suffix,
            params=query,
            headers=self.auth,
            json=body if body is not None else None,
        )

    def check(self, response: httpx.Response, action: str, log_id: str | None) -> None:
        if response.is_success:
            return
        code, message = None, response.reason_phrase
        try:
            errors = response.json().get("errors") or []
            code, message = errors[0].get("code"), errors[0].get("message", message)
        except (ValueError, AttributeError, IndexError):
            pass
        hint = ""
        if log_id is not None and response.status_code == 404:
            hint = (
                f"Check that log {log_id} belongs to account {self.account_id},"
                f" gateway {self.gateway_id}, and that it is visible yet"
            )
        raise LogsApiError(action, response.status_code, code, str(message), hint)


def _list_params(
    filters: Sequence[Filter] | None,
    page: int,
    per_page: int,
    order_by: str,
    order_by_direction: str,
    search: str | None,
) -> dict[str, Any]:
    return {
        "page": page,
        "per_page": per_page,
        "order_by": order_by,
        "order_by_direction": order_by_direction,
        "search": search,
        "filters": list(filters) if filters else None,
    }


def _page(body: Mapping[str, Any]) -> LogPage:
    info = body.get("result_info") or {}
    logs = [Log.from_api(item) for item in body.get("result") or []]
    return LogPage(
        logs,
        int(info.get("page", 1)),
        int(info.get("per_page", len(logs))),
        int(info.get("count", len(logs))),
        int(info.get("total_count", len(logs))),
    )


def _patch_body(feedback: Any, score: Any, metadata: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value, low, high in (("feedback", feedback, -1, 1), ("score", score, 0, 100)):
        if value is _UNSET:
            continue
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(
                f"{name} must be a number from {low} to {high}, or None; got {value!r}"
            )
        body[name] = value
    if metadata is not _UNSET:
        body["metadata"] = None if metadata is None else dict(metadata)
    return body


def _raw_body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


def _shows(log: Log, feedback: float | None, score: float | None) -> bool:
    return log.feedback == feedback and log.score == score


_UNSET: Any = object()


def _summary(log: Log) -> str:
    return f"feedback={log.feedback!r}, score={log.score!r}"


def _missing(
    pending: Mapping[str, tuple[float | None, float | None]],
    last: Mapping[str, Log],
    timeout: float,
) -> str:
    lines = []
    for log_id, (feedback, score) in pending.items():
        seen = _summary(last[log_id]) if log_id in last else "not listed"
        lines.append(f"  {log_id}: expected feedback={feedback!r}, score={score!r}; saw {seen}")
    return f"{len(pending)} log(s) did not show their feedback within {timeout:g} s:\n" + "\n".join(
        lines
    )


class AsyncLogsClient:
    """The Logs REST API, asynchronously. Use it as an async context manager, or call `aclose()`.

    A 429 or 5xx is retried up to *max_retries* times, after the wait its `retry-after-ms`
    or `Retry-After` header asks for, at most *max_retry_after* seconds (60 by default, so
    one answer asking for a day cannot stall a run), or with backoff when it asks none.
    """

    def __init__(
        self,
        *,
        account_id: str,
        gateway_id: str,
        api_token: str | None = None,
        api_email: str | None = None,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        http_client: httpx.AsyncClient | None = None,
        max_retries: int = 4,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wire = _Wire(account_id, gateway_id, api_token, api_email, api_key, base_url)
        self.max_retry_after = _retry_cap(max_retry_after)  # the longest Retry-After honoured
        self._http = http_client or httpx.AsyncClient(timeout=30.0)
        self._max_retries = max_retries
        self._limiter = _RateLimiter(rate_limit, clock) if rate_limit else None
        self._sleep = sleep
        self._clock = clock
        self.calls = 0  # requests sent, retries included

    async def _send(
        self, request: httpx.Request, action: str, log_id: str | None = None
    ) -> httpx.Response:
        retrying = _Retrying(self._max_retries, self.max_retry_after)
        while True:
            if self._limiter is not None and (wait := self._limiter.reserve()):
                await self._sleep(wait)
            self.calls += 1
            response, error = None, None
            try:
                response = await self._http.send(request)
            except httpx.TransportError as failure:
                error = failure
            delay = retrying.delay(response, error)
            if delay is None and response is not None:
                await response.aread()
                self._wire.check(response, action, log_id)
                return response
            await self._sleep(delay or 0.0)

    async def get(self, log_id: str) -> Log:
        request = self._wire.request("GET", f"/{log_id}")
        response = await self._send(request, f"GET /logs/{log_id}", log_id)
        return Log.from_api(response.json()["result"])

    async def list(
        self,
        *,
        filters: Sequence[Filter] | None = None,
        page: int = 1,
        per_page: int = 50,
        order_by: str = "created_at",
        order_by_direction: str = "desc",
        search: str | None = None,
    ) -> LogPage:
        params = _list_params(filters, page, per_page, order_by, order_by_direction, search)
        response = await self._send(self._wire.request("GET", params=params), "GET /logs")
        return _page(response.json())

    async def iter(self, **options: Any) -> AsyncIterator[Log]:
        """Every matching log, page after page until an empty page (as the SDKs do)."""
        page = 1
        while logs := (await self.list(page=page, **options)).logs:
            for log in logs:
                yield log
            page += 1

    async def patch(
        self, log_id: str, *, feedback: Any = _UNSET, score: Any = _UNSET, metadata: Any = _UNSET
    ) -> None:
        body = _patch_body(feedback, score, metadata)
        request = self._wire.request("PATCH", f"/{log_id}", body=body)
        await self._send(request, f"PATCH /logs/{log_id}", log_id)

    async def delete(
        self, *, filters: Sequence[Filter] | None = None, limit: int | None = None
    ) -> None:
        params = {"filters": list(filters) if filters else None, "limit": limit}
        await self._send(self._wire.request("DELETE", params=params), "DELETE /logs")

    async def request_body(self, log_id: str) -> object:
        suffix = f"/{log_id}/request"
        response = await self._send(self._wire.request("GET", suffix), f"GET /logs{suffix}", log_id)
        return _raw_body(response)

    async def response_body(self, log_id: str) -> object:
        suffix = f"/{log_id}/response"
        response = await self._send(self._wire.request("GET", suffix), f"GET /logs{suffix}", log_id)
        return _raw_body(response)

    async def wait_for(
        self, log_id: str, *, where: Callable[[Log], bool] | None = None, timeout: float = 60.0
    ) -> Log:
        """Poll with backoff until the log is visible (and *where* holds); no fixed sleeps."""
        waiting = _Waiting(log_id, where, timeout, self._clock)
        while True:
            log, error = None, None
            try:
                log = await self.get(log_id)
            except LogsApiError as failure:
                error = failure
            if waiting.done(log, error) and log is not None:
                return log
            await self._sleep(waiting.delay())

    async def verify_feedback(
        self, expected: Mapping[str, tuple[float | None, float | None]], *, timeout: float = 60.0
    ) -> dict[str, Log]:
        """Check many logs carry (feedback, score), with one list call per 50 ids a round."""
        verifying = _Verifying(expected, timeout, self._clock)
        while True:
            for batch in verifying.batches():
                page = await self.list(filters=[log_filter("id", "eq", *batch)], per_page=MAX_BATCH)
                verifying.saw(page)
            if verifying.done():
                return verifying.found
            await self._sleep(verifying.delay())

    async def assert_feedback_roundtrip(
        self,
        log_id: str,
        *,
        feedback: float | None = 1,
        score: float | None = None,
        timeout: float = 60.0,
    ) -> Log:
        """Wait for the log, PATCH feedback (and score), then read them back until they show.

        Reads through GET where the log carries the fields, through a filtered list
        otherwise (the API's detail schema lists neither field).
        """
        await self.wait_for(log_id, timeout=timeout)  # a log not listed yet cannot be patched
        await self.patch(log_id, feedback=feedback, score=score)
        log = await self.wait_for(log_id, timeout=timeout)
        if _shows(log, feedback, score) or "feedback" in log.raw or "score" in log.raw:
            return await self.wait_for(
                log_id, where=lambda seen: _shows(seen, feedback, score), timeout=timeout
            )
        found = await self.verify_feedback({log_id: (feedback, score)}, timeout=timeout)
        return found[log_id]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncLogsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncLogsClient {self._wire.base}>"


# Everything below is generated from AsyncLogsClient by scripts/unasync.py: edit the
# async class above and run `python scripts/unasync.py` (the lint env checks it).


class LogsClient:
    """The Logs REST API, synchronously. Use it as a context manager, or call `close()`.

    A 429 or 5xx is retried up to *max_retries* times, after the wait its `retry-after-ms`
    or `Retry-After` header asks for, at most *max_retry_after* seconds (60 by default, so
    one answer asking for a day cannot stall a run), or with backoff when it asks none.
    """

    def __init__(
        self,
        *,
        account_id: str,
        gateway_id: str,
        api_token: str | None = None,
        api_email: str | None = None,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        http_client: httpx.Client | None = None,
        max_retries: int = 4,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wire = _Wire(account_id, gateway_id, api_token, api_email, api_key, base_url)
        self.max_retry_after = _retry_cap(max_retry_after)  # the longest Retry-After honoured
        self._http = http_client or httpx.Client(timeout=30.0)
        self._max_retries = max_retries
        self._limiter = _RateLimiter(rate_limit, clock) if rate_limit else None
        self._sleep = sleep
        self._clock = clock
        self.calls = 0  # requests sent, retries included

    def _send(
        self, request: httpx.Request, action: str, log_id: str | None = None
    ) -> httpx.Response:
        retrying = _Retrying(self._max_retries, self.max_retry_after)
        while True:
            if self._limiter is not None and (wait := self._limiter.reserve()):
                self._sleep(wait)
            self.calls += 1
            response, error = None, None
            try:
                response = self._http.send(request)
            except httpx.TransportError as failure:
                error = failure
            delay = retrying.delay(response, error)
            if delay is None and response is not None:
                response.read()
                self._wire.check(response, action, log_id)
                return response
            self._sleep(delay or 0.0)

    def get(self, log_id: str) -> Log:
        request = self._wire.request("GET", f"/{log_id}")
        response = self._send(request, f"GET /logs/{log_id}", log_id)
        return Log.from_api(response.json()["result"])

    def list(
        self,
        *,
        filters: Sequence[Filter] | None = None,
        page: int = 1,
        per_page: int = 50,
        order_by: str = "created_at",
        order_by_direction: str = "desc",
        search: str | None = None,
    ) -> LogPage:
        params = _list_params(filters, page, per_page, order_by, order_by_direction, search)
        response = self._send(self._wire.request("GET", params=params), "GET /logs")
        return _page(response.json())

    def iter(self, **options: Any) -> Iterator[Log]:
        """Every matching log, page after page until an empty page (as the SDKs do)."""
        page = 1
        while logs := self.list(page=page, **options).logs:
            yield from logs
            page += 1

    def patch(
        self, log_id: str, *, feedback: Any = _UNSET, score: Any = _UNSET, metadata: Any = _UNSET
    ) -> None:
        body = _patch_body(feedback, score, metadata)
        request = self._wire.request("PATCH", f"/{log_id}", body=body)
        self._send(request, f"PATCH /logs/{log_id}", log_id)

    def delete(self, *, filters: Sequence[Filter] | None = None, limit: int | None = None) -> None:
        params = {"filters": list(filters) if filters else None, "limit": limit}
        self._send(self._wire.request("DELETE", params=params), "DELETE /logs")

    def request_body(self, log_id: str) -> object:
        suffix = f"/{log_id}/request"
        response = self._send(self._wire.request("GET", suffix), f"GET /logs{suffix}", log_id)
        return _raw_body(response)

    def response_body(self, log_id: str) -> object:
        suffix = f"/{log_id}/response"
        response = self._send(self._wire.request("GET", suffix), f"GET /logs{suffix}", log_id)
        return _raw_body(response)

    def wait_for(
        self, log_id: str, *, where: Callable[[Log], bool] | None = None, timeout: float = 60.0
    ) -> Log:
        """Poll with backoff until the log is visible (and *where* holds); no fixed sleeps."""
        waiting = _Waiting(log_id, where, timeout, self._clock)
        while True:
            log, error = None, None
            try:
                log = self.get(log_id)
            except LogsApiError as failure:
                error = failure
            if waiting.done(log, error) and log is not None:
                return log
            self._sleep(waiting.delay())

    def verify_feedback(
        self, expected: Mapping[str, tuple[float | None, float | None]], *, timeout: float = 60.0
    ) -> dict[str, Log]:
        """Check many logs carry (feedback, score), with one list call per 50 ids a round."""
        verifying = _Verifying(expected, timeout, self._clock)
        while True:
            for batch in verifying.batches():
                page = self.list(filters=[log_filter("id", "eq", *batch)], per_page=MAX_BATCH)
                verifying.saw(page)
            if verifying.done():
                return verifying.found
            self._sleep(verifying.delay())

    def assert_feedback_roundtrip(
        self,
        log_id: str,
        *,
        feedback: float | None = 1,
        score: float | None = None,
        timeout: float = 60.0,
    ) -> Log:
        """Wait for the log, PATCH feedback (and score), then read them back until they show.

        Reads through GET where the log carries the fields, through a filtered list
        otherwise (the API's detail schema lists neither field).
        """
        self.wait_for(log_id, timeout=timeout)  # a log not listed yet cannot be patched
        self.patch(log_id, feedback=feedback, score=score)
        log = self.wait_for(log_id, timeout=timeout)
        if _shows(log, feedback, score) or "feedback" in log.raw or "score" in log.raw:
            return self.wait_for(
                log_id, where=lambda seen: _shows(seen, feedback, score), timeout=timeout
            )
        found = self.verify_feedback({log_id: (feedback, score)}, timeout=timeout)
        return found[log_id]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LogsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LogsClient {self._wire.base}>"
