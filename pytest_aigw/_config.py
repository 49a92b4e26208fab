"""Resolve a test's fake-gateway settings: the closest marker, then ini, then defaults.

    setting        marker @pytest.mark.aigw(...)   ini               default
    account_id     account_id="..."                aigw_account_id   0123456789abcdef...
    gateway_id     gateway_id="..."                aigw_gateway_id   test-gateway
    strict         strict=True|False               aigw_strict       true
    authenticated  authenticated=True|False        -                 false
    cache_ttl      cache_ttl=seconds|None          -                 None (no caching)
    logs           logs=LogSettings(...)           -                 LogSettings()

Markers on the module, class and function merge; the closest one wins per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError

if TYPE_CHECKING:
    import pytest

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_GATEWAY_ID",
    "MARKER",
    "MARKER_OPTIONS",
    "GatewayOptions",
    "resolve_options",
]

DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
DEFAULT_GATEWAY_ID = "test-gateway"
MARKER = "aigw"
MARKER_OPTIONS = ("account_id", "authenticated", "cache_ttl", "gateway_id", "logs", "strict")
INI_ACCOUNT_ID = "aigw_account_id"
INI_GATEWAY_ID = "aigw_gateway_id"
INI_STRICT = "aigw_strict"


@dataclass(frozen=True)
class GatewayOptions:
    """The settings a `MockGateway` is built with for one test."""

    account_id: str
    gateway_id: str
    strict: bool
    authenticated: bool = False
    cache_ttl: int | None = None
    logs: Any = None  # a LogSettings; typed loosely so this module imports nothing heavy


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """Merge every `aigw` marker on *node*, the closest winning; validate them."""
    merged: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers(MARKER))):
        if mark.args:
            raise ConfigError(
                f"@pytest.mark.{MARKER} takes keyword options only, got positional"
                f" argument(s) {mark.args!r}. Allowed options: {', '.join(MARKER_OPTIONS)}"
            )
        unknown = sorted(set(mark.kwargs) - set(MARKER_OPTIONS))
        if unknown:
            raise ConfigError(
                f"@pytest.mark.{MARKER} got unknown option(s) {', '.join(unknown)}."
                f" Allowed options: {', '.join(MARKER_OPTIONS)}"
            )
        merged.update(mark.kwargs)
    if "strict" in merged and not isinstance(merged["strict"], bool):
        raise ConfigError(
            f"@pytest.mark.{MARKER}(strict=...) must be True or False, got {merged['strict']!r}"
        )
    return merged


def resolve_options(node: pytest.Item, defaults: GatewayOptions) -> GatewayOptions:
    """Combine the test's markers with the run-wide *defaults* (ini or built in)."""
    marked = marker_options(node)
    return GatewayOptions(
        account_id=marked.get("account_id", defaults.account_id),
        gateway_id=marked.get("gateway_id", defaults.gateway_id),
        strict=marked.get("strict", defaults.strict),
        authenticated=marked.get("authenticated", defaults.authenticated),
        cache_ttl=marked.get("cache_ttl", defaults.cache_ttl),
        logs=marked.get("logs", defaults.logs),
    )


def ini_defaults(config: pytest.Config) -> GatewayOptions:
    """Read the run-wide defaults from the ini file, falling back to built-in ids."""
    return GatewayOptions(
        account_id=config.getini(INI_ACCOUNT_ID) or DEFAULT_ACCOUNT_ID,
        gateway_id=config.getini(INI_GATEWAY_ID) or DEFAULT_GATEWAY_ID,
        strict=bool(config.getini(INI_STRICT)),
    )
