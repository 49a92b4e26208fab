"""Cassettes recorded by hand from a stand-in for Cloudflare (a `MockGatewayServer`).

`Recorder` sends requests with httpx to the stand-in and keeps each exchange as the
recorder of a live run keeps it: decoded body, no ``content-length``, credentials
replaced by ``<redacted:NAME>``; `cassette` adds the logs as the stand-in's Logs API
returns them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from conftest import API_TOKEN

from pytest_aigw import MockGatewayServer
from pytest_aigw.cassette import (
    Body,
    Cassette,
    Chunk,
    Exchange,
    GatewayPlace,
    RecordedRequest,
    RecordedResponse,
    cassette_path,
)

PROVIDER_KEY = "sk-SECRET-provider"
_DROPPED = {"content-length", "content-encoding", "transfer-encoding"}
Headers = list[tuple[str, str]]


class Recorder:
    """Records what is sent to *server* (a stand-in) into a `Cassette` named *test*."""

    def __init__(
        self,
        server: MockGatewayServer,
        test: str = "tests/test_app.py::test_x",
        answer: Callable[[Headers], Headers] = lambda headers: headers,
    ) -> None:
        self.server = server
        self.test = test
        self.answer = answer  # how the "real" answer's headers are changed before keeping
        self.exchanges: list[Exchange] = []
        self.client = httpx.Client()

    @property
    def logs_url(self) -> str:
        server = self.server
        account = f"{server.api_url}/accounts/{server.account_id}"
        return f"{account}/ai-gateway/gateways/{server.gateway_id}/logs"

    def gateway(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST *body* to ``{gateway_url}/{path}`` with the app's provider key."""
        sent = {"authorization": f"Bearer {PROVIDER_KEY}", **(headers or {})}
        return self._send("gateway", "POST", f"{self.server.gateway_url}/{path}", body, sent)

    def rest(self, path: str, body: Any) -> httpx.Response:
        """POST *body* to the REST API's ``{api_url}/accounts/{account}/{path}``."""
        url = f"{self.server.api_url}/accounts/{self.server.account_id}/{path}"
        sent = {"authorization": f"Bearer {API_TOKEN}", "cf-aig-gateway-id": self.server.gateway_id}
        return self._send("rest", "POST", url, body, sent)

    def feedback(self, log_id: str, **fields: Any) -> httpx.Response:
        """PATCH a log's feedback or score through the Logs API."""
        sent = {"authorization": f"Bearer {API_TOKEN}"}
        self._log(log_id)  # as assert_feedback_roundtrip does, once the log is listed
        return self._send("logs", "PATCH", f"{self.logs_url}/{log_id}", fields, sent)

    def _send(
        self, api: str, method: str, url: str, body: Any, headers: dict[str, str]
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = self.client.build_request(
            method, url, content=content, headers={"content-type": "application/json", **headers}
        )
        response = self.client.send(request, stream=True)
        chunks: list[Chunk] = []
        for piece in response.iter_raw():
            chunks.append(Chunk(0.0, Body(piece)))
        response.close()
        streamed = response.headers.get("content-type", "").startswith("text/event-stream")
        kept = [(k, v) for k, v in response.headers.items() if k.lower() not in _DROPPED]
        recorded = RecordedResponse(
            response.status_code,
            self.answer(kept),
            body=None if streamed else Body(b"".join(c.body.data for c in chunks)),
            chunks=tuple(chunks) if streamed else None,
        )
        request_headers = [(k, _scrub(k, v)) for k, v in request.headers.items()]
        self.exchanges.append(
            Exchange(api, RecordedRequest(method, url, request_headers, Body(content)), recorded)
        )
        return response

    def cassette(self, rename: dict[str, str] | None = None) -> Cassette:
        """The cassette so far, with each issued log as GET /logs/{id} returns it.

        *rename* renames log fields (old name -> new) in the kept logs.
        """
        logs = []
        for exchange in self.exchanges:
            log_id = exchange.response.header("cf-aig-log-id")
            if exchange.api == "logs" or log_id is None:
                continue
            log = self._log(log_id)
            if log is None:
                continue
            logs.append({(rename or {}).get(k, k): v for k, v in log.items()})
        server = self.server
        place = GatewayPlace(
            server.account_id, server.gateway_id, server.gateway_url, server.api_url
        )
        return Cassette(self.test, place, "2026-12-02T06:00:00Z", list(self.exchanges), logs)

    def _log(self, log_id: str) -> dict[str, Any] | None:
        """The log as GET /logs/{id} returns it once listed; None if it never shows."""
        deadline = time.monotonic() + 2  # the stand-ins list logs 0.3 s late at most
        while True:
            got = self.client.get(
                f"{self.logs_url}/{log_id}", headers={"authorization": f"Bearer {API_TOKEN}"}
            )
            if got.status_code == 200:
                result: dict[str, Any] = got.json()["result"]
                return result
            if time.monotonic() > deadline:
                return None  # not logged (cf-aig-collect-log: false)
            time.sleep(0.05)

    def save(self, directory: Path, **options: Any) -> Path:
        """Write the cassette where a run would: ``cassette_path(directory, test)``."""
        path = cassette_path(directory, self.test)
        self.cassette(**options).save(path)
        return path

    def close(self) -> None:
        self.client.close()


def _scrub(name: str, value: str) -> str:
    for secret, label in ((API_TOKEN, "CLOUDFLARE_API_TOKEN"), (PROVIDER_KEY, "authorization")):
        value = value.replace(secret, f"<redacted:{label}>")
    return value
