"""Model providers' own API hosts, and the gateway provider slug that replaces each.

While a fake gateway runs, a request to one of these hosts is a call that skipped
the gateway (see `pytest_aigw.intercept.guard`). In a pattern, ``*`` stands for one
or more characters other than a dot, so it never spans two labels:
``*.openai.azure.com`` matches ``my-resource.openai.azure.com``.

The slug is the one that goes after the gateway URL (``aigw.url("openai")``); a host
without one is reached through a custom provider (``custom-{name}``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._errors import ConfigError
from ._validation import fail

__all__ = ["CLOUDFLARE_HOSTS", "PROVIDER_HOSTS", "HostRule", "ProviderHosts", "host_patterns"]

PROVIDER_HOSTS: tuple[tuple[str, str | None], ...] = (
    ("api.openai.com", "openai"),
    ("*.openai.azure.com", "azure-openai"),
    ("api.anthropic.com", "anthropic"),
    ("generativelanguage.googleapis.com", "google-ai-studio"),
    ("aiplatform.googleapis.com", "google-vertex-ai"),
    ("*-aiplatform.googleapis.com", "google-vertex-ai"),
    ("bedrock-runtime.*.amazonaws.com", "aws-bedrock"),
    ("api.groq.com", "groq"),
    ("api.mistral.ai", "mistral"),
    ("api.cohere.com", "cohere"),
    ("api.cohere.ai", "cohere"),
    ("api.deepseek.com", "deepseek"),
    ("api.x.ai", "grok"),
    ("api.perplexity.ai", "perplexity-ai"),
    ("openrouter.ai", "openrouter"),
    ("api.cerebras.ai", "cerebras"),
    ("api-inference.huggingface.co", "huggingface"),
    ("router.huggingface.co", "huggingface"),
    ("api.replicate.com", "replicate"),
    ("api.elevenlabs.io", "elevenlabs"),
    ("api.cartesia.ai", "cartesia"),
    ("firefly-api.adobe.io", "adobe-firefly"),
    # The gateway documents these providers; their slugs follow the page names.
    ("api.deepgram.com", "deepgram"),
    ("inference.baseten.co", "baseten"),
    ("fal.run", "fal"),
    ("queue.fal.run", "fal"),
    ("api.ideogram.ai", "ideogram"),
    ("api.parallel.ai", "parallel"),
    # Providers the gateway has no slug for: a custom provider reaches them.
    ("api.together.xyz", None),
    ("api.together.ai", None),
    ("api.fireworks.ai", None),
)

# The hosts the fake itself answers on (fake.routing.GATEWAY_HOST, logs_api.API_HOST),
# named here so that checking the ini at start-up imports nothing heavy.
CLOUDFLARE_HOSTS = ("gateway.ai.cloudflare.com", "api.cloudflare.com")

_LABEL = r"[a-z0-9*](?:[a-z0-9*-]*[a-z0-9*])?"
_HOST_PATTERN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class HostRule:
    """One provider host pattern and the gateway slug for it (None: none)."""

    pattern: str
    slug: str | None

    def matches(self, host: str) -> bool:
        return _compiled(self.pattern).fullmatch(host) is not None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile("[^.]+".join(re.escape(part) for part in pattern.split("*")))


def host_patterns(value: Iterable[object], where: str) -> tuple[str, ...]:
    """Check provider host patterns given at *where*; return them trimmed and lowercased.

    Raises `ConfigError` naming *where* for anything but a bare host name (``*`` allowed).
    """
    if isinstance(value, str | bytes):
        fail(where, value, "a list of host names")
    patterns = []
    for item in value:
        pattern = item.strip().lower() if isinstance(item, str) else ""
        if not _HOST_PATTERN.fullmatch(pattern):
            fail(
                where,
                item,
                "host names such as api.example.com, one per line"
                " (* stands for any characters but a dot)",
            )
        taken = next((h for h in CLOUDFLARE_HOSTS if HostRule(pattern, None).matches(h)), None)
        if taken is not None:
            raise ConfigError(
                f"{where}: {pattern!r} matches {taken}, which the fake gateway answers on;"
                " list only model providers' own hosts"
            )
        patterns.append(pattern)
    return tuple(patterns)


class ProviderHosts:
    """The built-in provider hosts plus *extra* patterns (already checked)."""

    def __init__(self, extra: Sequence[str] = ()) -> None:
        self.rules = tuple(HostRule(pattern, slug) for pattern, slug in PROVIDER_HOSTS) + tuple(
            HostRule(pattern, None) for pattern in extra
        )
        self._seen: dict[str, HostRule | None] = {}

    def match(self, host: str) -> HostRule | None:
        """The first rule *host* matches, or None for a host that is not a provider's."""
        if host in self._seen:  # an app calls few hosts, many times: ~30 rules a lookup
            return self._seen[host]
        name = host.lower().rstrip(".")
        rule = next((rule for rule in self.rules if rule.matches(name)), None)
        self._seen[host] = rule
        return rule
