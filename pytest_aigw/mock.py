"""`MockGateway`: the fake gateway, intercepting the app's HTTP clients."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from ._config import DEFAULT_ACCOUNT_ID, DEFAULT_GATEWAY_ID
from ._errors import ConfigError, GatewayCheckError
from .calls import CallList
from .fake.gateway import FakeGateway, UnexpectedRequest
from .fake.routing import GATEWAY_HOST, GATEWAY_ID_PATTERN

if TYPE_CHECKING:
    from .intercept import Interception

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_GATEWAY_ID", "MockGateway"]

OPT_OUT_HINT = "To turn these checks off for one test, mark it @pytest.mark.aigw(strict=False)."


def validate_ids(account_id: object, gateway_id: object) -> None:
    """Raise `ConfigError` unless the ids are ones the real gateway accepts."""
    if not isinstance(account_id, str) or not account_id or "/" in account_id:
        raise ConfigError(f"account_id must be a non-empty string without '/', got {account_id!r}")
    if (
        not isinstance(gateway_id, str)
        or len(gateway_id) > 64
        or not GATEWAY_ID_PATTERN.fullmatch(gateway_id)
    ):
        raise ConfigError(
            f"gateway_id must be 1-64 characters of a-z, 0-9, '_' and inner '-'"
            f" (the gateway's own rule), got {gateway_id!r}"
        )


class MockGateway:
    """A fake Cloudflare AI Gateway that the app's httpx and httpx2 clients reach.

    Use it as the `aigw` fixture, or as a context manager outside pytest::

        with MockGateway() as aigw:
            client = OpenAI(base_url=aigw.url("openai"), api_key="sk-test")
            client.chat.completions.create(model="gpt-4o-mini", messages=[...])
            assert aigw.calls.last.model == "gpt-4o-mini"

    On a clean exit the context manager runs `check()` (unless ``strict=False``).
    `handler` also plugs straight into `httpx.MockTransport`.
    """

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        gateway_id: str = DEFAULT_GATEWAY_ID,
        strict: bool = True,
    ) -> None:
        validate_ids(account_id, gateway_id)
        self.strict = strict
        self._fake = FakeGateway(account_id, gateway_id)
        self._interception: Interception | None = None

    @property
    def account_id(self) -> str:
        """The Cloudflare account id the fake serves."""
        return self._fake.account_id

    @property
    def gateway_id(self) -> str:
        """The gateway id the fake serves."""
        return self._fake.gateway_id

    @property
    def gateway_url(self) -> str:
        """The gateway's base URL: ``https://gateway.ai.cloudflare.com/v1/{account}/{gateway}``."""
        return f"https://{GATEWAY_HOST}/v1/{self.account_id}/{self.gateway_id}"

    def url(self, provider: str) -> str:
        """The base URL for *provider*, e.g. ``url("openai")`` for the OpenAI SDK's base_url."""
        if not provider or "/" in provider.strip("/"):
            raise ConfigError(f"provider must be a slug such as 'openai', got {provider!r}")
        return f"{self.gateway_url}/{provider.strip('/')}"

    @property
    def calls(self) -> CallList:
        """The gateway calls recorded so far, in order; `calls.last` is the latest."""
        return self._fake.calls

    @property
    def log_ids(self) -> list[str]:
        """The `cf-aig-log-id` values issued so far, in order."""
        return [call.log_id for call in self._fake.calls]

    @property
    def unexpected(self) -> list[UnexpectedRequest]:
        """Requests on the gateway host that the fake does not serve."""
        return list(self._fake.unexpected)

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; usable as ``httpx.MockTransport(aigw.handler)``."""
        response = self._fake.handle(request)
        response.read()  # callers may read .json() at once; interception skips this
        return response

    def findings(self) -> list[str]:
        """Everything `check()` would report, one line each."""
        return self._fake.findings()

    def check(self) -> None:
        """Raise `GatewayCheckError` if the app sent what the real gateway would refuse or lose."""
        found = self.findings()
        if found:
            lines = "\n".join(f"  {n}. {text}" for n, text in enumerate(found, start=1))
            raise GatewayCheckError(
                f"pytest-aigw found {len(found)} problem(s) in what the app sent to the"
                f" AI Gateway fake:\n{lines}\n{OPT_OUT_HINT}"
            )

    def reset(self) -> None:
        """Forget every call and pending finding (e.g. between Hypothesis examples)."""
        self._fake.reset()

    def start(self) -> None:
        """Start intercepting httpx and httpx2 requests for the gateway host."""
        if self._interception is not None:
            return
        from .intercept import Interception

        interception = Interception(self._fake.handle, self._fake.is_gateway_request)
        interception.start()
        self._interception = interception

    def stop(self) -> None:
        """Stop intercepting; requests reach the network again."""
        interception, self._interception = self._interception, None
        if interception is not None:
            interception.stop()

    def __enter__(self) -> MockGateway:
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
        return f"<MockGateway {self.gateway_url} calls={len(self.calls)}>"
