"""The universal endpoint's body: a JSON array of steps, tried in order.

    [{"provider": "openai", "endpoint": "chat/completions",
      "headers": {"authorization": "Bearer ...", "cf-aig-request-timeout": "2000"},
      "query": {...the provider's own body...},
      "config": {"requestTimeout": 2000, "maxAttempts": 2, "retryDelay": 100,
                 "backoff": "exponential"}}, ...]

A single object is taken as a one-step array, as the Workers binding sends it.
A step's headers and config win over the request's own `cf-aig-*` headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .encoding import compact_bytes
from .options import CONFIG_KEYS
from .routing import PROVIDER_SLUG

__all__ = ["InvalidSteps", "Step", "parse_steps"]


class InvalidSteps(ValueError):
    """A universal request body the gateway refuses."""


@dataclass(frozen=True)
class Step:
    """One step: where it goes, what it sends, and its own `cf-*` settings."""

    provider: str
    endpoint: str
    query: Any
    cf_headers: dict[str, str]
    other_headers: tuple[tuple[str, str], ...] = ()  # provider keys among them

    @property
    def body(self) -> bytes:
        return compact_bytes(self.query)


def _header_text(value: object) -> str:
    # The Workers binding stringifies non-string header values the same way.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _step(number: int, raw: object) -> Step:
    where = f"step {number}"
    if not isinstance(raw, dict):
        raise InvalidSteps(f"{where} must be an object, got {type(raw).__name__}")
    provider = raw.get("provider")
    if not isinstance(provider, str) or not PROVIDER_SLUG.fullmatch(provider):
        raise InvalidSteps(f"{where} needs a provider slug in 'provider', got {provider!r}")
    endpoint = raw.get("endpoint", "")
    if not isinstance(endpoint, str):
        raise InvalidSteps(f"{where} needs a string 'endpoint', got {endpoint!r}")
    headers = raw.get("headers", {})
    config = raw.get("config", {})
    if not isinstance(headers, dict) or not isinstance(config, dict):
        raise InvalidSteps(f"{where}: 'headers' and 'config' must be objects")
    cf = {
        str(name).lower(): _header_text(value)
        for name, value in headers.items()
        if str(name).lower().startswith("cf-")
    }
    for key, header in CONFIG_KEYS.items():
        if key in config:
            cf[header] = _header_text(config[key])
    other = tuple(
        (str(name).lower(), _header_text(value))
        for name, value in headers.items()
        if not str(name).lower().startswith("cf-")
    )
    return Step(provider, endpoint.strip("/"), raw.get("query"), cf, other)


def parse_steps(body: Any) -> list[Step]:
    """Read the steps of a universal request; raise `InvalidSteps` saying what is wrong."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        raise InvalidSteps(
            "the universal endpoint takes a JSON array of steps"
            ' [{"provider": ..., "endpoint": ..., "query": {...}}, ...]'
        )
    return [_step(number, raw) for number, raw in enumerate(body)]
