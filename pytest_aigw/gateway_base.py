"""`Gateway`: what every `aigw` gateway offers, the fake (`MockGateway`) and the real one.

A test written for both modes names this class in its type hints::

    def test_answer_is_logged(aigw: Gateway) -> None: ...

Mock-only calls (`respond`, `fail`, `seed_logs`, ...) live on `MockGateway`; narrow
with ``isinstance(aigw, MockGateway)`` before using them in such a test.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from ._errors import GatewayCheckError
from ._validation import fail
from .evals import Judging

if TYPE_CHECKING:
    from .calls import CallList
    from .client import Log, LogsClient

__all__ = ["Gateway", "RootURL"]

_Self = TypeVar("_Self", bound="Gateway")


class RootURL(str):
    """A root URL that, called with a provider slug, gives that provider's base URL.

    ``aigw.url`` is where the gateway answers; ``aigw.url("openai")`` is
    ``aigw.gateway_url + "/openai"``, the OpenAI SDK's base_url.
    """

    gateway_url: str

    def __new__(cls, root: str, gateway_url: str) -> RootURL:
        url = super().__new__(cls, root)
        url.gateway_url = gateway_url
        return url

    def __call__(self, provider: str) -> str:
        if not isinstance(provider, str) or not provider or "/" in provider.strip("/"):
            fail("provider", provider, "a slug such as 'openai'")
        return f"{self.gateway_url}/{provider.strip('/')}"


class Gateway(Judging, ABC):
    """The interface `MockGateway` and `LiveGateway` share: the `aigw` fixture's type.

    Where the gateway answers (`gateway_url`, `url`, `rest_url`, `api_url`), what the
    app sent (`calls`, `log_ids`), the Logs API (`logs`, `assert_feedback_roundtrip`),
    eval verdicts (`score`, `feedback`), and the teardown checks (`findings`, `check`).
    As a context manager it starts on enter, stops on exit, and runs `check()` after a
    clean exit when `strict`.
    """

    mode: ClassVar[Literal["mock", "live", "replay"]]
    """``"mock"``, ``"live"`` or ``"replay"`` (a live test answered from its cassette)."""

    strict: bool
    """Whether teardown (and a clean context-manager exit) runs `check()`."""

    _roundtrip_timeout: ClassVar[float]  # assert_feedback_roundtrip's default wait
    _logs_client: LogsClient | None = None

    @property
    @abstractmethod
    def account_id(self) -> str:
        """The Cloudflare account id."""

    @property
    @abstractmethod
    def gateway_id(self) -> str:
        """The gateway id."""

    @property
    @abstractmethod
    def gateway_url(self) -> str:
        """The gateway's base URL, ending in ``/{account_id}/{gateway_id}``."""

    @property
    @abstractmethod
    def api_url(self) -> str:
        """The Cloudflare API base (``.../client/v4``) the Logs API answers on."""

    @property
    @abstractmethod
    def calls(self) -> CallList:
        """The gateway calls recorded so far, in order; `calls.last` is the latest."""

    @property
    def rest_url(self) -> str:
        """The REST API's inference base: ``{api_url}/accounts/{account_id}/ai``.

        ``OpenAI(base_url=aigw.rest_url + "/v1")`` and ``Anthropic(base_url=aigw.rest_url)``
        reach its chat, Responses and Messages endpoints; ``rest_url + "/run"`` takes
        ``{"model": ..., "input": {...}}``.
        """
        return f"{self.api_url}/accounts/{self.account_id}/ai"

    @property
    def url(self) -> RootURL:
        """The gateway's origin; ``url("openai")`` is the OpenAI SDK's base_url."""
        parts = urlsplit(self.gateway_url)
        return RootURL(f"{parts.scheme}://{parts.netloc}", self.gateway_url)

    @property
    def log_ids(self) -> list[str]:
        """The `cf-aig-log-id` values the gateway returned, in order."""
        return [call.log_id for call in self.calls if call.log_id]

    @property
    def logs(self) -> LogsClient:
        """The Logs API client bound to this account and gateway."""
        if self._logs_client is None:
            from .client import LogsClient

            self._logs_client = LogsClient(
                account_id=self.account_id,
                gateway_id=self.gateway_id,
                base_url=self.api_url,
                **self._logs_client_options(),
            )
        return self._logs_client

    @abstractmethod
    def _logs_client_options(self) -> dict[str, Any]:
        """`LogsClient` keywords beside the account, gateway and base URL (the token...)."""

    def _close_logs_client(self) -> None:
        client, self._logs_client = self._logs_client, None
        if client is not None:
            client.close()

    def assert_feedback_roundtrip(
        self,
        log_id: str,
        *,
        feedback: float | None = 1,
        score: float | None = None,
        timeout: float | None = None,
    ) -> Log:
        """Submit feedback through the Logs API, then read it back until it shows.

        *timeout* (seconds) defaults to 10 against the fake and 60 against the real
        gateway, whose Logs API lists a log a little after the call.
        """
        wait = self._roundtrip_timeout if timeout is None else timeout
        return self.logs.assert_feedback_roundtrip(
            log_id, feedback=feedback, score=score, timeout=wait
        )

    @abstractmethod
    def start(self) -> None:
        """Start catching the app's requests (idempotent)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop catching requests and close the connections this gateway opened."""

    @abstractmethod
    def findings(self) -> list[str]:
        """Everything `check()` would report, one line each."""

    @abstractmethod
    def _check_message(self, count: int, lines: str) -> str:
        """The `GatewayCheckError` message for *count* findings (*lines*: numbered)."""

    def check(self) -> None:
        """Raise `GatewayCheckError` listing the `findings()`, if there are any."""
        found = self.findings()
        if found:
            lines = "\n".join(f"  {n}. {text}" for n, text in enumerate(found, start=1))
            raise GatewayCheckError(self._check_message(len(found), lines))

    def __enter__(self: _Self) -> _Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None and self.strict:
            self.check()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.gateway_url} calls={len(self.calls)}>"
