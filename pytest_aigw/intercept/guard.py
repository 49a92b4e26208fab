"""Refuse the app's calls that skip the gateway and go straight to a model provider.

While a fake gateway runs, a request to a provider's own API host (listed in
`pytest_aigw.provider_hosts`) never reaches the network: the doors hand it here, and
it is answered in process with a refusal the app's SDK shows as is, then reported
as a teardown finding.

The refusal is an HTTP 403 with ``x-should-retry: false``, in the provider's own
error format, whose message starts ``pytest-aigw: direct call to HOST refused``. Not
a connection error: SDKs retry those (the openai SDK twice, with back-off delays)
and show only "Connection error."; and not a 5xx or 429, which they retry too. A
403 is not retried by the openai, anthropic or google-genai SDKs, and the
``x-should-retry`` header makes sure for SDKs built like openai's. Each SDK's
exception then carries the message, so the failing test says what went wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ..calls import redact_url
from ..provider_hosts import ProviderHosts
from ._refusals import Refusals

__all__ = ["ALLOW_HINT", "DirectCall", "DirectCallGuard", "REFUSED_STATUS", "TRACES_PATH"]

REFUSED_STATUS = 403
TRACES_PATH = "/v1/traces/ingest"  # where openai-agents exports traces by default
ALLOW_HINT = "or mark the test @pytest.mark.aigw(allow_direct=True) to let direct calls through"


@dataclass(frozen=True)
class DirectCall:
    """A request that went to a provider's own host instead of the gateway (redacted)."""

    method: str
    url: str
    host: str
    path: str
    slug: str | None

    @property
    def fix(self) -> str:
        """How to make the app's call go through the gateway, or let it be."""
        if self.host == "api.openai.com" and self.path == TRACES_PATH:
            return (
                "Fix: openai-agents sends its traces here by default; turn tracing off in tests"
                " with agents.set_tracing_disabled(True) or OPENAI_AGENTS_DISABLE_TRACING=1,"
                f" {ALLOW_HINT}."
            )
        if self.slug is None:
            return (
                "Fix: route it through the gateway as a custom provider:"
                f" base_url=aigw.url('custom-<name>'), {ALLOW_HINT}."
            )
        return f"Fix: route it through the gateway: base_url=aigw.url('{self.slug}'), {ALLOW_HINT}."

    @property
    def message(self) -> str:
        """What the app's SDK shows: the refusal, then the fix."""
        return (
            f"pytest-aigw: direct call to {self.host} refused ({self.method} {self.path}):"
            f" while aigw is active, model provider calls must go through the AI Gateway."
            f" {self.fix}"
        )

    def describe(self) -> str:
        """The teardown finding."""
        return (
            f"direct call to a model provider: {self.method} {self.url} went to {self.host},"
            f" not through the AI Gateway (refused with {REFUSED_STATUS})\n     {self.fix}"
        )


class DirectCallGuard(Refusals[DirectCall]):
    """Decides which requests are direct provider calls, refuses them and keeps a record.

    *extra_hosts* are more provider host patterns (checked by
    `pytest_aigw.provider_hosts.host_patterns`); with *allow* the guard lets every
    request through.
    """

    def __init__(self, extra_hosts: Sequence[str] = (), *, allow: bool = False) -> None:
        super().__init__()
        self.allow = allow
        self._hosts = ProviderHosts(extra_hosts)

    def refuses(self, request: httpx.Request) -> bool:
        """Whether *request* goes to a provider's own host and direct calls are not allowed."""
        return not self.allow and self._hosts.match(request.url.host) is not None

    def refuse(self, request: httpx.Request) -> httpx.Response:
        """Record *request* as a direct call and answer the refusal."""
        rule = self._hosts.match(request.url.host)
        call = DirectCall(
            method=request.method,
            url=str(redact_url(request.url)),
            host=request.url.host,
            path=request.url.path,
            slug=rule.slug if rule is not None else None,
        )
        self._keep(call)
        headers = {"x-should-retry": "false"}
        if call.slug == "aws-bedrock":
            headers["x-amzn-errortype"] = "AccessDeniedException"
        return httpx.Response(
            REFUSED_STATUS, json=_error_body(call.slug, call.message), headers=headers
        )

    @property
    def calls(self) -> list[DirectCall]:
        """The direct calls refused so far, in order."""
        return self._kept()


def _error_body(slug: str | None, message: str) -> dict[str, Any]:
    """The provider's own 403 error body, so its SDK reads the message where it looks."""
    if slug == "anthropic":
        return {"type": "error", "error": {"type": "permission_error", "message": message}}
    if slug in ("google-ai-studio", "google-vertex-ai"):
        return {
            "error": {"code": REFUSED_STATUS, "message": message, "status": "PERMISSION_DENIED"}
        }
    if slug == "aws-bedrock":
        return {"message": message}
    # OpenAI's shape, which most other providers copy.
    return {
        "error": {
            "message": message,
            "type": "permission_denied",
            "param": None,
            "code": "direct_call_refused",
        }
    }
