"""Where a gateway URL points: the provider and the provider's own path."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GATEWAY_HOST", "GATEWAY_ID_PATTERN", "Target", "UnknownRoute", "resolve_target"]

GATEWAY_HOST = "gateway.ai.cloudflare.com"
GATEWAY_ID_PATTERN = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")
_PROVIDER_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Target:
    """A request the gateway routes to a provider."""

    provider: str
    path: str


@dataclass(frozen=True)
class UnknownRoute:
    """A request on the gateway host that this gateway does not serve, and why."""

    reason: str
    status_code: int = 400
    code: int = 2008
    message: str = "Invalid provider"


def resolve_target(path: str, account_id: str, gateway_id: str) -> Target | UnknownRoute:
    """Split `/v1/{account}/{gateway}/{provider}/{provider path}` into its parts."""
    parts = path.lstrip("/").split("/", 4)
    if len(parts) < 3 or parts[0] != "v1":
        return UnknownRoute(
            "the URL does not have the gateway's shape"
            " https://gateway.ai.cloudflare.com/v1/{account_id}/{gateway_id}/{provider}/..."
        )
    account, gateway = parts[1], parts[2]
    if (account, gateway) != (account_id, gateway_id):
        return UnknownRoute(
            f"it names account {account!r} and gateway {gateway!r}, but the fake serves"
            f" account {account_id!r} and gateway {gateway_id!r}",
            status_code=404,
            code=2001,
            message="Gateway not found",
        )
    if len(parts) < 4 or not parts[3]:
        return UnknownRoute("it names no provider (the universal endpoint is not served yet)")
    provider = parts[3]
    if not _PROVIDER_SLUG.fullmatch(provider):
        return UnknownRoute(f"{provider!r} is not a provider slug")
    return Target(provider=provider, path=parts[4] if len(parts) > 4 else "")
