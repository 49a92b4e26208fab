"""Keep the app's other requests for Cloudflare's own hosts in process.

While a gateway runs, what the app sends to ``gateway.ai.cloudflare.com`` and
``api.cloudflare.com`` is answered by the fake (mock mode) or forwarded, tagged, to the
real gateway (live mode). Anything else for those hosts (``cf.ai_gateway.list()``, a
token check, a DNS call) would leave with the app's Cloudflare token and nobody would
see it. The doors hand such a request here instead: it is answered in process with a
404 in the Cloudflare API's v4 envelope (code 7000, as Cloudflare answers a path it has
no route for, and ``x-should-retry: false`` so SDKs do not retry), whose message says
what was not sent and what is served, and it is reported as a teardown finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ..fake.errors import error_envelope
from ..provider_hosts import CLOUDFLARE_HOSTS
from ..redaction import redact_url
from ._refusals import Refusals

__all__ = ["CloudflareGuard", "UnsentRequest"]

UNSENT_STATUS = 404
UNSENT_CODE = 7000
FIX = (
    "Fix: stub it in the test with an HTTP mocking library (pytest-httpx, respx), or make"
    " the call in a test that does not use aigw."
)


@dataclass(frozen=True)
class UnsentRequest:
    """A request for a Cloudflare host that was neither served nor forwarded (redacted)."""

    method: str
    url: str
    host: str
    path: str
    served: str  # what is served on Cloudflare's hosts instead

    @property
    def message(self) -> str:
        """What the app's SDK shows."""
        return (
            f"pytest-aigw: {self.method} {self.path} on {self.host} was not sent:"
            f" {self.served}, and nothing else leaves the test for Cloudflare's hosts. {FIX}"
        )

    def describe(self) -> str:
        """The teardown finding."""
        return (
            f"request to Cloudflare not sent: {self.method} {self.url} (refused with"
            f" {UNSENT_STATUS}): {self.served}\n     {FIX}"
        )


class CloudflareGuard(Refusals[UnsentRequest]):
    """Refuses the requests for Cloudflare's hosts it is given, and keeps a record.

    *served* says, for the messages, what the gateway serves on those hosts instead.
    """

    def __init__(self, served: str) -> None:
        super().__init__()
        self.served = served

    @staticmethod
    def covers(request: httpx.Request) -> bool:
        """Whether *request* is for one of Cloudflare's hosts."""
        return request.url.host.lower().rstrip(".") in CLOUDFLARE_HOSTS

    def refuse(self, request: httpx.Request) -> httpx.Response:
        """Record *request* as not sent and answer the refusal."""
        unsent = UnsentRequest(
            method=request.method,
            url=str(redact_url(request.url)),
            host=request.url.host,
            path=request.url.path,
            served=self.served,
        )
        self._keep(unsent)
        body = error_envelope(UNSENT_CODE, unsent.message, messages=[], result=None)
        return httpx.Response(UNSENT_STATUS, json=body, headers={"x-should-retry": "false"})

    @property
    def unsent(self) -> list[UnsentRequest]:
        """The requests refused so far, in order."""
        return self._kept()
