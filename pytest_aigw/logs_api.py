"""The fake Logs REST API over the log store, with Cloudflare's v4 envelopes and codes.

    GET    {base}/logs                 list: page, per_page, order_by, filters, search
    DELETE {base}/logs                 delete matching logs (filters, limit, order)
    GET    {base}/logs/{id}            one log, with detail fields
    PATCH  {base}/logs/{id}            feedback, score, metadata
    GET    {base}/logs/{id}/request    the stored request body, as sent
    GET    {base}/logs/{id}/response   the stored response body, as answered

`base` is `https://api.cloudflare.com/client/v4/accounts/{account}/ai-gateway/gateways/
{gateway}`. Invalid input is refused with 400, code 7001, naming the field, and never
changes state; an unknown log is 404, code 7002; no credentials is code 10000.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from . import _json
from .fake.bounds import MAX_REQUEST_BYTES
from .fake.errors import error_envelope
from .logstore import (
    DELETE_ORDER_KEYS,
    FILTER_KEYS,
    HEAD_LIMIT,
    LIST_ORDER_KEYS,
    OPERATORS,
    LogCondition,
    LogStore,
    StoredLog,
)

__all__ = ["API_HOST", "LogsApi", "is_logs_path"]

API_HOST = "api.cloudflare.com"
API_PREFIX = "/client/v4/accounts/"
MAX_PER_PAGE = 50
MAX_DELETE = 10_000
_MAX_DIGITS = 18  # a page or limit past this is out of range anyway; int() of 5,000 digits raises
Json = dict[str, Any]


class InvalidInput(ValueError):
    """Input the API refuses; the message names the field."""


# Deprecated flat list parameters, as filters: name -> (key, operator, value kind).
_FLAT_FILTERS: dict[str, tuple[str, str, str]] = {
    "start_date": ("created_at", "gt", "text"),
    "end_date": ("created_at", "lt", "text"),
    "min_cost": ("cost", "gt", "number"),
    "max_cost": ("cost", "lt", "number"),
    "min_tokens_in": ("tokens_in", "gt", "number"),
    "max_tokens_in": ("tokens_in", "lt", "number"),
    "min_tokens_out": ("tokens_out", "gt", "number"),
    "max_tokens_out": ("tokens_out", "lt", "number"),
    "min_total_tokens": ("tokens", "gt", "number"),
    "max_total_tokens": ("tokens", "lt", "number"),
    "min_duration": ("duration", "gt", "number"),
    "max_duration": ("duration", "lt", "number"),
    "feedback": ("feedback", "eq", "number"),
    "success": ("success", "eq", "bool"),
    "cached": ("cached", "eq", "bool"),
    "model": ("model", "eq", "text"),
    "model_type": ("model_type", "eq", "text"),
    "provider": ("provider", "eq", "text"),
    "request_content_type": ("request_content_type", "eq", "text"),
    "response_content_type": ("response_content_type", "eq", "text"),
}


def _envelope_error(status: int, code: int, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json=error_envelope(code, message, **extra))


def _invalid(message: str) -> httpx.Response:
    return _envelope_error(400, 7001, message, result={})


def _not_found() -> httpx.Response:
    return _envelope_error(404, 7002, "Not Found")


def outage_response(status: int, retry_after: float | None) -> httpx.Response:
    """A rate-limit (429) or server error (5xx) answer from the Cloudflare API."""
    if status == 429:
        # Code 971 is the Cloudflare API's rate-limit code ("Please wait ...").
        response = _envelope_error(
            429, 971, "Please wait and consider throttling your request speed"
        )
    else:
        # chosen: no 5xx body from this API was observed; code 0 is never a real code.
        response = _envelope_error(status, 0, httpx.codes.get_reason_phrase(status))
    if retry_after is not None:
        response.headers["retry-after"] = f"{retry_after:g}"
    return response


def is_logs_path(path: str) -> bool:
    """Tell whether *path* is a Logs API route (of any account and gateway)."""
    return path.startswith(API_PREFIX) and "/ai-gateway/gateways/" in path


class LogsApi:
    """Answers Logs API requests for one account and gateway from *store*."""

    def __init__(
        self, store: LogStore, account_id: str, gateway_id: str, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self._base = f"{API_PREFIX}{account_id}/ai-gateway/gateways/{gateway_id}/logs"
        self._clock = clock
        self._outages: list[tuple[int, float | None]] = []

    def fail_next(self, status: int, times: int, retry_after: float | None) -> None:
        """Answer the next *times* requests with *status* (429 or 5xx)."""
        self._outages.extend([(status, retry_after)] * times)

    def clear_outages(self) -> None:
        self._outages.clear()

    def is_logs_request(self, request: httpx.Request) -> bool:
        return request.url.host == API_HOST and is_logs_path(request.url.path)

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self._outages:
            return outage_response(*self._outages.pop(0))
        if not _has_credentials(request.headers):
            return _envelope_error(401, 10000, "Authentication error", messages=[], result=None)
        if len(request.content) > MAX_REQUEST_BYTES:  # chosen: Cloudflare's own 413
            return _envelope_error(413, 0, "Request body too large", result=None)
        path = request.url.path
        if path != self._base and not path.startswith(self._base + "/"):
            return _not_found()  # another account or gateway
        parts = path[len(self._base) :].strip("/").split("/") if path != self._base else []
        try:
            return self._route(request, parts)
        except InvalidInput as error:
            return _invalid(str(error))

    def _route(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        method, params = request.method, request.url.params
        now = self._clock()
        if not parts:
            if method == "GET":
                return self._list(params, now)
            if method == "DELETE":
                return self._delete(params, now)
            return _not_found()
        log = self.store.get(parts[0], now)
        if log is None or len(parts) > 2:
            return _not_found()
        if len(parts) == 2:
            return self._body(log, parts[1], now) if method == "GET" else _not_found()
        if method == "GET":
            return httpx.Response(200, json={"result": self._detail(log, now), "success": True})
        if method == "PATCH":
            self.store.patch(log.id, _patch_changes(request.content))
            return httpx.Response(200, json={"result": {}, "success": True})
        return _not_found()

    def _list(self, params: httpx.QueryParams, now: float) -> httpx.Response:
        page = _whole(params, "page", 1, None, default=1)
        per_page = _whole(params, "per_page", 1, MAX_PER_PAGE, default=20)
        order_by = _choice(params, "order_by", LIST_ORDER_KEYS, default="created_at")
        direction = _choice(
            params, "order_by_direction", ("asc", "desc"), default=params.get("direction", "desc")
        )
        filters = _filters(params) + _flat_filters(params)
        found = self.store.find(
            filters,
            now,
            search=params.get("search") or None,
            order_by=order_by,
            descending=direction == "desc",
        )
        start = (page - 1) * per_page
        shown = found[start : start + per_page]
        return httpx.Response(
            200,
            json={
                "result": [self._item(log) for log in shown],
                "result_info": {
                    "page": page,
                    "per_page": per_page,
                    "count": len(shown),
                    "total_count": len(found),
                },
                "success": True,
            },
        )

    def _delete(self, params: httpx.QueryParams, now: float) -> httpx.Response:
        limit = _whole(params, "limit", 1, MAX_DELETE, default=MAX_DELETE)
        order_by = _choice(params, "order_by", DELETE_ORDER_KEYS, default="created_at")
        direction = _choice(params, "order_by_direction", ("asc", "desc"), default="asc")
        found = self.store.find(
            _filters(params), now, order_by=order_by, descending=direction == "desc"
        )
        self.store.remove(found[:limit])
        return httpx.Response(200, json={"success": True})

    def _body(self, log: StoredLog, which: str, now: float) -> httpx.Response:
        if which not in ("request", "response") or log.details_at > now:
            return _not_found()
        body = log.request_body if which == "request" else log.response_body
        if body is None:
            return _not_found()  # not collected (cf-aig-collect-log-payload: false)
        kind = log.request_content_type if which == "request" else log.response_content_type
        return httpx.Response(200, content=body, headers={"content-type": kind})

    def _item(self, log: StoredLog) -> Json:
        item: Json = {
            "id": log.id,
            "created_at": log.created_at,
            "provider": log.provider,
            "model": log.model,
            "model_type": log.model_type,
            "path": log.path,
            "duration": log.duration,
            "success": log.success,
            "status_code": log.status_code,
            "cached": log.cached,
            "tokens_in": log.tokens_in,
            "tokens_out": log.tokens_out,
            "cost": log.cost,
            "custom_cost": log.custom_cost,
            "metadata": self._metadata(log),
            "step": log.step,
            "request_type": log.request_type,
            "request_content_type": log.request_content_type,
            "response_content_type": log.response_content_type,
            "wholesale": log.wholesale,
            "byok": log.byok,
            "authentication": log.authentication,
            "user_agent": log.user_agent,
            **log.extra,
        }
        if log.event_id is not None:
            item["event_id"] = log.event_id
        if log.feedback is not None:
            item["feedback"] = log.feedback
        if log.score is not None:
            item["score"] = log.score
        return item

    def _detail(self, log: StoredLog, now: float) -> Json:
        detail = self._item(log)
        if not self.store.settings.feedback_in_get:
            detail.pop("feedback", None)
            detail.pop("score", None)
        ready = log.details_at <= now
        for side, body in (("request", log.request_body), ("response", log.response_body)):
            text = body.decode("utf-8", "replace") if body is not None else ""
            detail[f"{side}_head"] = text[:HEAD_LIMIT] if ready else None
            detail[f"{side}_head_complete"] = len(text) <= HEAD_LIMIT
            detail[f"{side}_size"] = log.request_size if side == "request" else log.response_size
        return detail

    def _metadata(self, log: StoredLog) -> object:
        if log.metadata is None or self.store.settings.metadata_as == "object":
            return log.metadata
        return json.dumps(log.metadata, separators=(",", ":"))


def _has_credentials(headers: httpx.Headers) -> bool:
    bearer = headers.get("authorization", "")
    if bearer.startswith("Bearer ") and bearer[len("Bearer ") :].strip():
        return True
    return bool(headers.get("x-auth-email")) and bool(headers.get("x-auth-key"))


def _whole(
    params: httpx.QueryParams, name: str, low: int, high: int | None, *, default: int
) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if (
        not (text.isascii() and text.isdigit())
        or len(text) > _MAX_DIGITS
        or int(text) < low
        or (high and int(text) > high)
    ):
        rule = f"from {low} to {high}" if high else f">= {low}"
        raise InvalidInput(f"{name}: must be a whole number {rule}, got {raw!r}")
    return int(text)


def _choice(params: httpx.QueryParams, name: str, allowed: tuple[str, ...], *, default: str) -> str:
    value = str(params.get(name, default))
    if value not in allowed:
        expected = " | ".join(f"'{a}'" for a in allowed)
        raise InvalidInput(f"{name}: Invalid enum value. Expected {expected}, received {value!r}")
    return value


def _json_input(raw: str | bytes, where: str, expected: str) -> Any:
    """*raw* parsed as JSON; a 400 naming *where* says what was *expected*, or the limit hit."""
    try:
        return _json.loads(raw)
    except _json.JsonError as error:
        raise InvalidInput(f"{where}: {error if error.limit else expected}") from None


def _filters(params: httpx.QueryParams) -> list[LogCondition]:
    """Read `filters` (URL-encoded JSON); the SDKs' dotted form is ignored, as the API does."""
    raw = params.get("filters")
    if raw is None:
        return []
    data = _json_input(raw, "filters", "must be a JSON array of {key, operator, value}")
    if not isinstance(data, list):
        raise InvalidInput(f"filters: Expected array, received {_kind(data)}")
    return [_filter(number, entry) for number, entry in enumerate(data)]


def _filter(number: int, entry: object) -> LogCondition:
    where = f"filters[{number}]"
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where}: Expected object, received {_kind(entry)}")
    key, operator, value = entry.get("key"), entry.get("operator"), entry.get("value")
    if key not in FILTER_KEYS:
        expected = " | ".join(f"'{k}'" for k in FILTER_KEYS)
        raise InvalidInput(
            f"{where}.key: Invalid enum value. Expected {expected}, received {key!r}"
        )
    if operator not in OPERATORS:
        expected = " | ".join(f"'{o}'" for o in OPERATORS)
        raise InvalidInput(
            f"{where}.operator: Invalid enum value. Expected {expected}, received {operator!r}"
        )
    if not isinstance(value, list):
        raise InvalidInput(f"{where}.value: Expected array, received {_kind(value)}")
    for item in value:
        if not (item is None or isinstance(item, str | bool | int | float)) or (
            isinstance(item, float) and not math.isfinite(item)
        ):
            raise InvalidInput(
                f"{where}.value: items must be strings, numbers, booleans or null,"
                f" received {_kind(item)}"
            )
    return LogCondition(str(key), str(operator), tuple(value))


def _flat_filters(params: httpx.QueryParams) -> list[LogCondition]:
    found = []
    for name, (key, operator, kind) in _FLAT_FILTERS.items():
        raw = params.get(name)
        if raw is None:
            continue
        value: str | float | bool = raw
        if kind == "number":
            try:
                value = float(raw)
            except ValueError:
                raise InvalidInput(f"{name}: Expected number, received {raw!r}") from None
        elif kind == "bool":
            if raw not in ("true", "false"):
                raise InvalidInput(f"{name}: Expected boolean, received {raw!r}")
            value = raw == "true"
        found.append(LogCondition(key, operator, (value,)))
    return found


def _patch_changes(content: bytes) -> dict[str, Any]:
    """Validate a PATCH body completely before anything changes."""
    body = _json_input(
        content or b"{}", "body", "must be a JSON object (JSON without NaN or Infinity)"
    )
    if not isinstance(body, dict):
        raise InvalidInput(f"body: Expected object, received {_kind(body)}")
    changes: dict[str, Any] = {}
    for name, low, high in (("feedback", -1, 1), ("score", 0, 100)):
        if name in body:
            value = body[name]
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not low <= value <= high
            ):
                raise InvalidInput(
                    f"{name}: must be a number from {low} to {high}, or null; got {value!r}"
                )
            changes[name] = value
    if "metadata" in body:
        changes["metadata"] = _patch_metadata(body["metadata"])
    return changes


def _patch_metadata(value: object) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(v, str | bool | int | float) for v in value.values()
    ):
        raise InvalidInput(
            "metadata: must be a flat object of string, number and boolean values, or null"
        )
    return dict(value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
