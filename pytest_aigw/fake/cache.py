"""The gateway's response cache: identical requests answered again within a TTL.

Caching is asked for per request (`cf-aig-cache-ttl`, `cf-aig-cache-key`) or for the
whole gateway (`aigw(cache_ttl=...)`). The key is the provider, path and request
body, or the custom key; metadata is not part of it, so hits are shared across
metadata values, as observed on the real gateway. Entries expire on the fake's
clock, which a test moves with `aigw.clock.advance(seconds)`.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Generic, TypeVar

from ..clock import Clock
from .options import RequestOptions

__all__ = ["CUSTOM_KEY_TTL", "ResponseCache", "cache_key", "cache_ttl"]

CUSTOM_KEY_TTL = 300  # a custom key caches for 5 minutes when no TTL is set (documented)

T = TypeVar("T")


def cache_ttl(options: RequestOptions, gateway_ttl: int | None) -> int | None:
    """Seconds to cache this request's answer for, or None when caching is not asked for."""
    if options.skip_cache:
        return None
    if options.cache_ttl:
        return options.cache_ttl
    if gateway_ttl:
        return gateway_ttl
    return CUSTOM_KEY_TTL if options.cache_key is not None else None


def cache_key(provider: str, path: str, body: bytes, custom: str | None) -> str:
    if custom is not None:
        return "key:" + custom
    digest = hashlib.sha256(body).hexdigest()
    return f"{provider}/{path}:{digest}"


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T
    expires_at: float


class ResponseCache(Generic[T]):
    """Answers stored by key until their TTL passes on *clock*."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry[T]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= self._clock.now():
                del self._entries[key]
                return None
            return entry.value

    def put(self, key: str, value: T, ttl: int) -> None:
        with self._lock:
            self._entries[key] = _Entry(value, self._clock.now() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
