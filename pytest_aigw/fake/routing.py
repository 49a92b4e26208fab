"""Where a gateway URL points: the provider and the provider's own path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..settings import GATEWAY_ID_PATTERN
from .errors import GatewayFault

__all__ = [
    "GATEWAY_HOST",
    "GATEWAY_ID_PATTERN",
    "PROVIDER_SLUG",
    "Target",
    "Universal",
    "UnknownRoute",
    "resolve_target",
]

GATEWAY_HOST = "gateway.ai.cloudflare.com"
PROVIDER_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


INVALID_PROVIDER = GatewayFault(400, 2008, "Invalid provider")
GATEWAY_NOT_FOUND = GatewayFault(404, 2001, "Gateway not found")  # chosen: not observed
_FIX_URL = (
    "Fix: build the client's base URL from the fixture, e.g."
    " OpenAI(base_url=aigw.url('openai')); aigw.gateway_url is the gateway root."
)


@dataclass(frozen=True)
class Target:
    """A request the gateway routes to a provider."""

    provider: str
    path: str


@dataclass(frozen=True)
class Universal:
    """A request to the gateway root: the universal endpoint, a JSON array of steps."""


@dataclass(frozen=True)
class UnknownRoute:
    """A request on the gateway host that this gateway does not serve, and why.

    *api*: answered in the Cloudflare API's v4 envelope (a REST API route), not the
    gateway's.
    """

    reason: str
    hint: str = ""
    fault: GatewayFault = INVALID_PROVIDER
    api: bool = False


def resolve_target(
    method: str, path: str, account_id: str, gateway_id: str
) -> Target | Universal | UnknownRoute:
    """Split `/v1/{account}/{gateway}/{provider}/{provider path}` into its parts."""
    parts = path.lstrip("/").split("/", 4)
    if len(parts) < 3 or parts[0] != "v1":
        return UnknownRoute(
            "the URL path does not have the gateway's shape"
            " /v1/{account_id}/{gateway_id}/{provider}/...",
            _FIX_URL,
        )
    account, gateway = parts[1], parts[2]
    if (account, gateway) != (account_id, gateway_id):
        return UnknownRoute(
            f"it names account {account!r} and gateway {gateway!r}, but the fake serves"
            f" account {account_id!r} and gateway {gateway_id!r}",
            "Fix: build the URL from aigw.gateway_url, or mark the test"
            " @pytest.mark.aigw(account_id=..., gateway_id=...) to serve those ids.",
            GATEWAY_NOT_FOUND,
        )
    if len(parts) < 4 or not parts[3]:
        if method == "POST":
            return Universal()
        return UnknownRoute(
            f"it names no provider, and the universal endpoint (the gateway root) takes"
            f" POST, not {method}",
            _FIX_URL,
        )
    provider = parts[3]
    if not PROVIDER_SLUG.fullmatch(provider):
        return UnknownRoute(f"{provider!r} is not a provider slug", _FIX_URL)
    return Target(provider=provider, path=parts[4] if len(parts) > 4 else "")
