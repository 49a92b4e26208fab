"""`MockGatewayServer`: a `MockGateway` reached over real HTTP on a loopback port."""

from __future__ import annotations

from typing import Any

import httpx

from ._server_limits import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_CONNECTIONS,
)
from .logs_api import is_logs_path
from .mock import MockGateway
from .server import LoopbackServer

__all__ = ["MockGatewayServer"]


class MockGatewayServer(MockGateway):
    """A fake AI Gateway and fake Logs API served on ``http://127.0.0.1:PORT``.

    For clients that are not httpx-based (requests, aiohttp, urllib, curl, another
    process): point them at `gateway_url` / ``url("openai")`` and `api_url`. The whole
    `MockGateway` interface (calls, logs, respond, fail, ...) works on the same state.
    Outside pytest::

        with MockGatewayServer() as aigw:  # a free port on 127.0.0.1
            requests.post(aigw.url("openai") + "/chat/completions", json={...})

    Takes `MockGateway`'s keyword arguments, plus *host* and *port* (0: a free one) and
    the `LoopbackServer` limits (*header_timeout*, *idle_timeout*, *max_connections*,
    *max_body_size*) for a server of its own, or *server* to be served by a running
    `LoopbackServer` (one shared by many tests).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        server: LoopbackServer | None = None,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        **options: Any,
    ) -> None:
        own = server is None
        # Built (so checked) before the gateway: a bad limit leaves nothing half made.
        server = server or LoopbackServer(
            host=host,
            port=port,
            header_timeout=header_timeout,
            idle_timeout=idle_timeout,
            max_connections=max_connections,
            max_body_size=max_body_size,
        )
        super().__init__(**options)
        self._owns_server = own
        self.server = server

    @property
    def _gateway_root(self) -> str:
        return self.server.url

    @property
    def _api_root(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self.server.port

    def _answer(self, request: httpx.Request) -> httpx.Response:
        # One origin serves all, so the path (not the host) says which API is asked.
        if is_logs_path(request.url.path):
            return self._logs_api.handle(request)
        return self._fake.handle(request)

    def _logs_http_client(self) -> httpx.Client | None:
        return None  # the Logs API client goes over real HTTP, like any other client

    def start(self) -> None:
        """Start serving this gateway (binding the port first if the server is its own)."""
        if self._owns_server:
            self.server.start()
        self.server.handler = self._answer

    def stop(self) -> None:
        """Stop serving; an own server closes its connections and frees its port."""
        super().stop()
        if self.server.handler == self._answer:
            self.server.handler = None
        if self._owns_server:
            self.server.stop()
