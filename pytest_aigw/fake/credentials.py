"""Which credential pays for a request: the app's provider key, a stored key, or credits.

    credentials=          request has a provider key   request has none
    "provider" (default)  forwarded with it            the provider's own 401 (Google: 403)
    "byok"                forwarded with it            the key stored under cf-aig-byok-alias
                                                       (else "default"); log byok: true
    "unified"             forwarded with it            Unified Billing; log wholesale: true
    None                  forwarded                    forwarded: keys are not checked

A stored key or Unified Billing needs `cf-aig-authorization` (401, code 2009, without
it). `cf-aig-byok-alias` naming no stored key is refused (400, code 2040);
`cf-aig-no-wholesale: true` with no provider key and no stored key is refused (400,
code 2042, chosen). Workers AI requests are exempt from both and never billed as
wholesale. Providers not in `KEY_HEADERS` (custom ones) are forwarded unchecked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .answers import Answer, Job, gateway_answer
from .encoding import compact_bytes
from .errors import UNAUTHORIZED, GatewayFault

__all__ = [
    "DEFAULT_ALIASES",
    "KEY_HEADERS",
    "Billing",
    "CredentialPolicy",
    "MissingKey",
    "Settlement",
    "Shown",
    "authorized",
    "refusal",
    "settle",
]

Mode = Literal["provider", "byok", "unified"]
DEFAULT_ALIASES = ("default",)
QUERY_KEY = "?key"  # Google AI Studio also takes its key as `?key=`

_BEARER = ("authorization",)
# The headers each provider reads its key from (any one will do).
KEY_HEADERS: dict[str, tuple[str, ...]] = {
    "anthropic": ("x-api-key", "authorization"),  # authorization: OAuth tokens
    "azure-openai": ("api-key", "authorization"),  # authorization: Entra ID tokens
    "google-ai-studio": ("x-goog-api-key", QUERY_KEY),
    "compat": _BEARER,  # the OpenAI-compatible endpoint takes every provider's key there
    **dict.fromkeys(
        (
            "openai", "workers-ai", "google-vertex-ai", "aws-bedrock", "groq", "mistral",
            "huggingface", "replicate", "cohere", "perplexity-ai", "deepseek", "grok",
            "openrouter", "cerebras",
        ),
        _BEARER,
    ),
}  # fmt: skip
UNBILLED = frozenset({"workers-ai"})  # keeps its own billing; no-wholesale does not apply

UNKNOWN_ALIAS = GatewayFault(400, 2040, "Unknown BYOK alias")  # unverified 2025 code
NO_CREDENTIALS = GatewayFault(400, 2042, "Provider credentials required")  # chosen code

# What each provider says when a request brings no key: (status, message).
_MISSING: dict[str, tuple[int, str]] = {
    "openai": (
        401,
        "You didn't provide an API key. You need to provide your API key in an"
        " Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    ),
    "anthropic": (401, "x-api-key header is required"),
    "google-ai-studio": (
        403,
        "Method doesn't allow unregistered callers (callers without established identity)."
        " Please use API Key or other form of API consumer identity to call this API.",
    ),
    "azure-openai": (
        401,
        "Access denied due to missing subscription key. Make sure to include subscription"
        " key when making requests to an API.",
    ),
    "workers-ai": (401, "Authentication error"),
}


# Every header any provider reads its key from: the only ones worth decoding per request.
KEY_NAMES = frozenset(name for names in KEY_HEADERS.values() for name in names if name != QUERY_KEY)


_KEY_NAMES_RAW = frozenset(name.encode("latin-1") for name in KEY_NAMES)


def key_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The provider-key headers among *raw* header pairs, decoded (only those)."""
    return [
        (name.lower().decode("latin-1"), value.decode("latin-1"))
        for name, value in raw
        if name.lower() in _KEY_NAMES_RAW
    ]


@dataclass(frozen=True)
class CredentialPolicy:
    """The gateway's credential setting and the aliases its stored keys are under."""

    mode: Mode | None = "provider"  # None: provider keys are not checked
    aliases: tuple[str, ...] = DEFAULT_ALIASES


@dataclass(frozen=True)
class Shown:
    """What a request (or a universal step) shows about its credentials; no secrets."""

    keys: frozenset[str]  # the key headers sent with a value, lowercased; QUERY_KEY for ?key=
    cf: Mapping[str, str]  # its lowercased cf-* headers

    @classmethod
    def of(
        cls, headers: Iterable[tuple[str, str]], cf: Mapping[str, str], query_key: bool = False
    ) -> Shown:
        # A client that must send some key (the openai SDK) may send the gateway token
        # there too: that is no provider key.
        token = cf.get("cf-aig-authorization")
        keys = {name.lower() for name, value in headers if _has_value(value) and value != token}
        if query_key:
            keys.add(QUERY_KEY)
        return cls(frozenset(keys), cf)

    def merged(self, step: Shown) -> Shown:
        """A universal step's view: its own headers win over the request's."""
        return Shown(self.keys | step.keys, {**self.cf, **step.cf})


def _has_value(value: str) -> bool:
    scheme, _, rest = value.strip().partition(" ")
    return bool(rest.strip()) if scheme.lower() in ("bearer", "token", "basic") else bool(scheme)


def authorized(cf: Mapping[str, str]) -> bool:
    """Whether the request carries a `cf-aig-authorization: Bearer <token>`."""
    token = cf.get("cf-aig-authorization", "")
    return token.startswith("Bearer ") and bool(token[len("Bearer ") :].strip())


@dataclass(frozen=True)
class Billing:
    """How the gateway paid for a request, as its log records it."""

    wholesale: bool = False
    byok: bool = False


@dataclass(frozen=True)
class MissingKey:
    """The provider's refusal of a request forwarded without a key."""

    status: int
    message: str  # the provider's words, then why and the fix


@dataclass(frozen=True)
class Settlement:
    """The outcome of the credential check: who pays, or the refusal."""

    billing: Billing = Billing()
    fault: GatewayFault | None = None
    detail: str | None = None
    missing: MissingKey | None = None


PAID = Settlement()
UNBILLED_BY_GATEWAY = Billing()  # the request's own key, or Workers AI's own billing


def settle(
    policy: CredentialPolicy, provider: str, shown: Shown, via: str | None = None
) -> Settlement:
    """Decide which credential pays for a request to *provider* showing *shown*.

    *via* names the endpoint the key is read at where it is not the provider's own
    (``"compat"``: the OpenAI-compatible endpoint reads every key from Authorization).
    """
    door = via or provider
    accepted = KEY_HEADERS.get(door)
    if policy.mode is None or accepted is None or not shown.keys.isdisjoint(accepted):
        return PAID  # the request's own key wins over stored keys and credits
    if policy.mode != "provider" and not authorized(shown.cf):
        return Settlement(fault=UNAUTHORIZED)
    if provider in UNBILLED:
        return PAID if policy.mode != "provider" else _missing(policy, provider, door)
    alias = shown.cf.get("cf-aig-byok-alias")
    stored = policy.aliases if policy.mode == "byok" else ()
    if alias is not None and alias not in stored:
        listed = ", ".join(map(repr, stored)) or "none (set credentials='byok')"
        return Settlement(fault=UNKNOWN_ALIAS, detail=f"{alias!r} (stored aliases: {listed})")
    if (alias or "default") in stored:
        return Settlement(Billing(byok=True))
    if shown.cf.get("cf-aig-no-wholesale", "").strip().lower() == "true":
        return Settlement(fault=NO_CREDENTIALS, detail=_no_wholesale(provider, accepted))
    if policy.mode == "unified":
        return Settlement(Billing(wholesale=True))
    return _missing(policy, provider, door)


def _no_wholesale(provider: str, accepted: tuple[str, ...]) -> str:
    return (
        f"cf-aig-no-wholesale: true forbids Unified Billing, and the request to {provider}"
        f" carries no provider key ({_named(accepted)}) and no stored key applies"
    )


def _named(accepted: tuple[str, ...]) -> str:
    names = ["?key=" if name == QUERY_KEY else f"{name} header" for name in accepted]
    return " or ".join(names)


def _missing(policy: CredentialPolicy, provider: str, door: str) -> Settlement:
    accepted = KEY_HEADERS[door]
    status, said = _MISSING.get(door, (401, f"Missing API key: send it in the {_named(accepted)}."))
    if policy.mode == "byok":
        why = (
            f"no key is stored under the alias 'default' (stored:"
            f" {', '.join(map(repr, policy.aliases))}), so the gateway forwarded it without one"
        )
        fix = "send cf-aig-byok-alias naming a stored alias, or add 'default' to byok_aliases"
    else:
        why = (
            "the gateway holds no stored key (credentials='provider', the default), so it"
            " forwarded the request without one"
        )
        fix = (
            "give the client the provider's API key as in production (any value will do in"
            " tests, e.g. api_key='sk-test'), or, if the app relies on a key stored on the"
            " gateway or on Unified Billing, mark the test @pytest.mark.aigw(credentials='byok')"
            " or credentials='unified' (then send cf-aig-authorization)"
        )
    explained = (
        f"{said} [pytest-aigw: the request to {provider} carried no provider key"
        f" ({_named(accepted)}): {why}. Fix: {fix}.]"
    )
    return Settlement(missing=MissingKey(status, explained))


def refusal(job: Job, settled: Settlement) -> Answer:
    """The answer to a request the credential check refused (gateway or provider)."""
    if settled.fault is not None:
        # As today's 401 for a missing cf-aig-authorization, that one is not logged.
        logged = settled.fault is not UNAUTHORIZED
        return gateway_answer(settled.fault, settled.detail, logged=logged)
    assert settled.missing is not None
    missing = settled.missing
    body = compact_bytes(job.api.error(missing.status, missing.message))
    return Answer(missing.status, (body,), model=job.model)
