"""Per-request `cf-aig-*` settings: parsed and checked as the gateway checks them.

    header                      value                            recorded as
    cf-aig-request-timeout      whole ms > 0 (to first byte)     request_timeout
    cf-aig-max-attempts         1-5                              max_attempts
    cf-aig-retry-delay          0-5000 ms                        retry_delay
    cf-aig-backoff              constant | linear | exponential  backoff
    cf-aig-cache-ttl            0 - 2592000 s (cf-cache-ttl)     cache_ttl
    cf-aig-cache-key            any string                       cache_key
    cf-aig-skip-cache           true | false (cf-skip-cache)     skip_cache
    cf-aig-collect-log          true | false                     collect_log
    cf-aig-collect-log-payload  true | false                     collect_log_payload
    cf-aig-event-id             any string                       event_id

A value out of range is refused with the gateway's input error (400, code 7003)
before anything reaches a provider. Universal steps add their own `headers` and
`config` (`requestTimeout`, `maxAttempts`, `retryDelay`, `backoff`) on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "CONFIG_KEYS",
    "NO_OPTIONS",
    "InvalidOption",
    "RequestOptions",
    "cf_headers",
    "parse_options",
]

MAX_CACHE_TTL = 30 * 24 * 3600  # one month, the documented maximum
BACKOFFS = ("constant", "linear", "exponential")
_MAX_DIGITS = 18  # more is out of every range; int() refuses past 4,300 digits with ValueError
# Universal step `config` keys and the headers they stand for.
CONFIG_KEYS = {
    "requestTimeout": "cf-aig-request-timeout",
    "maxAttempts": "cf-aig-max-attempts",
    "retryDelay": "cf-aig-retry-delay",
    "backoff": "cf-aig-backoff",
}


class InvalidOption(ValueError):
    """A `cf-aig-*` header value the gateway refuses."""

    def __init__(self, header: str, value: str, rule: str) -> None:
        super().__init__(f"{header} must be {rule}, got {value!r}")
        self.header = header


@dataclass(frozen=True)
class RequestOptions:
    """The request-handling, cache and logging settings one request asked for."""

    request_timeout: int | None = None
    max_attempts: int | None = None
    retry_delay: int | None = None
    backoff: str | None = None
    cache_ttl: int | None = None
    cache_key: str | None = None
    skip_cache: bool = False
    collect_log: bool | None = None
    collect_log_payload: bool | None = None
    event_id: str | None = None

    def __repr__(self) -> str:
        set_ = (f for f in fields(self) if getattr(self, f.name) != f.default)
        return f"RequestOptions({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in set_)})"


def cf_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Pick the `cf-*` headers out of raw header pairs, names lowercased."""
    return {
        name.decode("latin-1").lower(): value.decode("latin-1")
        for name, value in raw
        if name[:3].lower() == b"cf-"
    }


def _whole(low: int, high: int | None) -> Callable[[str, str], int]:
    rule = f"a whole number from {low} to {high}" if high else f"a whole number >= {low}"

    def parse(header: str, value: str) -> int:
        text = value.strip()
        digits = text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS
        if not digits or not low <= int(text) <= (high or int(text)):
            raise InvalidOption(header, value, rule)
        return int(text)

    return parse


def _flag(header: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidOption(header, value, "true or false")
    return lowered == "true"


def _backoff(header: str, value: str) -> str:
    if value not in BACKOFFS:
        raise InvalidOption(header, value, " or ".join(BACKOFFS))
    return value


def _text(header: str, value: str) -> str:
    return value


# field: (header, deprecated alias, parser)
_FIELDS: dict[str, tuple[str, str | None, Callable[[str, str], Any]]] = {
    "request_timeout": ("cf-aig-request-timeout", None, _whole(1, None)),
    "max_attempts": ("cf-aig-max-attempts", None, _whole(1, 5)),
    "retry_delay": ("cf-aig-retry-delay", None, _whole(0, 5000)),
    "backoff": ("cf-aig-backoff", None, _backoff),
    "cache_ttl": ("cf-aig-cache-ttl", "cf-cache-ttl", _whole(0, MAX_CACHE_TTL)),
    "cache_key": ("cf-aig-cache-key", None, _text),
    "skip_cache": ("cf-aig-skip-cache", "cf-skip-cache", _flag),
    "collect_log": ("cf-aig-collect-log", None, _flag),
    "collect_log_payload": ("cf-aig-collect-log-payload", None, _flag),
    "event_id": ("cf-aig-event-id", None, _text),
}


def parse_options(headers: Mapping[str, str]) -> RequestOptions:
    """Read the settings from lowercased *headers*; raise `InvalidOption` on a bad value."""
    if not headers:
        return NO_OPTIONS
    found: dict[str, Any] = {}
    for field, (header, alias, parse) in _FIELDS.items():
        name = header if header in headers else alias if alias in headers else None
        if name is not None:
            found[field] = parse(name, headers[name])
    return RequestOptions(**found) if found else NO_OPTIONS


NO_OPTIONS = RequestOptions()
