"""The fake gateway core: routes a request, answers like the provider, records it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .. import metadata
from ..calls import Call, CallList, redact_headers, redact_url
from ..ids import new_log_id
from .errors import gateway_error
from .providers import build_reply
from .routing import GATEWAY_HOST, Target, UnknownRoute, resolve_target

__all__ = ["FakeGateway", "UnexpectedRequest"]


@dataclass(frozen=True)
class UnexpectedRequest:
    """A request on the gateway host that this fake does not serve (secrets redacted)."""

    method: str
    url: str
    reason: str

    def describe(self) -> str:
        return f"unexpected request {self.method} {self.url}: {self.reason}"


class FakeGateway:
    """In-memory state of one fake gateway and the function that answers requests."""

    def __init__(
        self,
        account_id: str,
        gateway_id: str,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_log_id,
    ) -> None:
        self.account_id = account_id
        self.gateway_id = gateway_id
        self.calls = CallList()
        self.unexpected: list[UnexpectedRequest] = []
        self._clock = clock
        self._new_id = new_id
        self._lock = threading.Lock()

    def is_gateway_request(self, request: httpx.Request) -> bool:
        return request.url.host == GATEWAY_HOST

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer *request* as the gateway would, and record it."""
        request.read()
        target = resolve_target(request.url.path, self.account_id, self.gateway_id)
        if isinstance(target, UnknownRoute):
            return self._refuse(request, target)
        return self._answer(request, target)

    def _refuse(self, request: httpx.Request, route: UnknownRoute) -> httpx.Response:
        url = str(redact_url(request.url))
        with self._lock:
            self.unexpected.append(UnexpectedRequest(request.method, url, route.reason))
        return gateway_error(route.status_code, route.code, route.message)

    def _answer(self, request: httpx.Request, target: Target) -> httpx.Response:
        sent = _decode_json(request)
        body = sent if isinstance(sent, dict) else None
        event_id = request.headers.get("cf-aig-event-id")
        record = _recorder(request, target, sent)
        # One lock from issuing the id to recording the call keeps `calls` in id order;
        # everything that does not need the id is done before it is taken.
        with self._lock:
            log_id = self._new_id()
            reply = build_reply(target.provider, target.path, body, log_id, int(self._clock()))
            data = json.dumps(reply.body, separators=(",", ":")).encode()
            headers = _gateway_headers(log_id, event_id, data)
            # Built from a stream so httpx does not re-read and re-scan what we just made.
            response = httpx.Response(200, headers=headers, stream=httpx.ByteStream(data))
            self.calls.append(record(model=reply.model, response_headers=headers))
        return response

    def findings(self) -> list[str]:
        """Describe everything the app sent that the real gateway would refuse or lose."""
        found = [u.describe() for u in self.unexpected]
        for number, call in enumerate(self.calls, start=1):
            for problem in call.metadata_problems:
                found.append(
                    f"call #{number} {call.method} {call.url}"
                    f" (log id {call.log_id}): {problem.message}"
                )
        return found

    def reset(self) -> None:
        """Forget every call and unexpected request."""
        self.calls.clear()
        with self._lock:
            self.unexpected.clear()


def _gateway_headers(log_id: str, event_id: str | None, body: bytes) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cf-aig-log-id": log_id,
        "cf-aig-request-id": log_id,
        "cf-aig-cache-status": "MISS",
    }
    if event_id is not None:
        headers["cf-aig-event-id"] = event_id
    return headers


def _recorder(request: httpx.Request, target: Target, sent: Any) -> Callable[..., Call]:
    """Prepare the call record from the request; the reply's parts are filled in later."""
    parsed = metadata.parse(request.headers.get(metadata.HEADER))
    redacted_headers, digests = redact_headers(request)

    def record(*, model: str | None, response_headers: dict[str, str]) -> Call:
        return Call(
            provider=target.provider,
            path=target.path,
            model=model,
            metadata=parsed.stored,
            metadata_header=parsed.header,
            method=request.method,
            url=redact_url(request.url),
            json=sent,
            status_code=200,
            log_id=response_headers["cf-aig-log-id"],
            cache_status=response_headers["cf-aig-cache-status"],
            event_id=response_headers.get("cf-aig-event-id"),
            metadata_problems=parsed.problems,
            response_headers=response_headers,
            _headers=redacted_headers,
            _content=request.content,
            _secret_digests=digests,
        )

    return record


def _decode_json(request: httpx.Request) -> Any:
    if not request.content:
        return None
    try:
        return json.loads(request.content)
    except ValueError:
        return None
