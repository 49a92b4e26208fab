"""The httpx and httpx2 door: the app's requests reach the fake at the connection pool.

Interception happens at the connection-pool seam through respx's mockers:
`httpcore` (under httpx) and `httpcore2` (under httpx2, when it is installed).
Requests for other hosts behave as if the fake were not there: they go to the
user's own respx routers when some are active, and to the network otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import ClassVar, NoReturn

import httpx
import respx
from respx.mocks import HTTPCoreMocker, Mocker
from respx.models import AllMockedAssertionError, PassThrough

from ..fake.transport import ChunkStream, TranslatedStream, TransportFault
from ._types import AsyncHandler, Handler, Handlers, Predicate

__all__ = ["HttpxPoolDoor"]


def _httpcore2_mocker() -> type[Mocker] | None:
    if importlib.util.find_spec("httpcore2") is None:
        return None
    registered = Mocker.registry.get("httpcore2")
    if registered is not None:
        return registered
    import httpcore2

    class HTTPCore2Mocker(HTTPCoreMocker):
        """respx's httpcore mocker, pointed at httpcore2 (the pool under httpx2)."""

        name = "httpcore2"
        targets: ClassVar[list[str]] = [
            "httpcore2._sync.connection.HTTPConnection",
            "httpcore2._sync.connection_pool.ConnectionPool",
            "httpcore2._sync.http_proxy.HTTPProxy",
            "httpcore2._async.connection.AsyncHTTPConnection",
            "httpcore2._async.connection_pool.AsyncConnectionPool",
            "httpcore2._async.http_proxy.AsyncHTTPProxy",
        ]

        @classmethod
        def from_sync_httpx_response(
            cls, httpx_response: httpx.Response, target: object, **kwargs: object
        ) -> httpcore2.Response:
            return httpcore2.Response(
                status=httpx_response.status_code,
                headers=httpx_response.headers.raw,
                content=httpx_response.stream,
                extensions=httpx_response.extensions,
            )

    return HTTPCore2Mocker


def _mockers() -> list[type[Mocker]]:
    extra = _httpcore2_mocker()
    return [HTTPCoreMocker] if extra is None else [HTTPCoreMocker, extra]


class _GatewayRouter(respx.Router):
    """A respx router that hands gateway requests straight to the fake.

    It skips respx's route matching and call recording: the fake records its own
    calls with secrets redacted, so nothing unredacted piles up here. Network
    faults are raised as the connection pool's own errors (from *library*), which
    the client maps to its public ones, as it does for a real network.
    """

    def __init__(
        self,
        mocker: type[Mocker],
        handler: Handler,
        wanted: Predicate,
        async_handler: AsyncHandler | None,
    ) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self._mocker = mocker
        self._library = importlib.import_module(mocker.name)
        self._handle = handler
        self._async_handle = async_handler
        self._wanted = wanted
        self._pass_through = respx.Route().pass_through()

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self._wanted(request):
            self._decline(request)
        return self._answer(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        if self._async_handle is None or not self._wanted(request):
            return self.handler(request)
        return await self._async_handle(request)

    def _decline(self, request: httpx.Request) -> NoReturn:
        if any(other is not self for other in self._mocker.routers):
            # Not ours: let the user's own respx routers decide.
            raise AllMockedAssertionError(f"RESPX: {request!r} not mocked!")
        raise PassThrough(
            f"not a gateway request: {request!r}", request=request, origin=self._pass_through
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._handle(request)
        except TransportFault as fault:
            raise fault.as_error(self._library) from None
        if isinstance(response.stream, ChunkStream) and response.stream.cut_after is not None:
            response.stream = TranslatedStream(response.stream, self._library)
        return response


def _register_before_other_gateways(mocker: type[Mocker], router: _GatewayRouter) -> None:
    """Register *router* so that it answers before gateways started earlier.

    A gateway started inside another one (a test's own ``with MockGateway()`` under
    a module-wide one) serves the requests while it runs; the user's own respx routers
    keep their place.
    """
    mocker.register(router)
    routers = mocker.routers
    routers.remove(router)
    first_gateway = next(
        (n for n, other in enumerate(routers) if isinstance(other, _GatewayRouter)), len(routers)
    )
    routers.insert(first_gateway, router)


class HttpxPoolDoor(Handlers):
    """While started, respx's pool mockers send wanted requests to *handler*."""

    def __init__(
        self, handler: Handler, wanted: Predicate, async_handler: AsyncHandler | None = None
    ) -> None:
        super().__init__(handler, wanted, async_handler)
        self._routers: list[tuple[type[Mocker], respx.Router]] = []

    def start(self) -> None:
        for mocker in _mockers():
            router = _GatewayRouter(mocker, self._handler, self._wanted, self._async_handler)
            _register_before_other_gateways(mocker, router)
            mocker.start()
            self._routers.append((mocker, router))

    def stop(self) -> None:
        while self._routers:
            mocker, router = self._routers.pop()
            mocker.unregister(router)
            mocker.stop()
