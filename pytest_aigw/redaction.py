"""Which request parts are secrets, and how they are hidden wherever a request is kept.

One set, used by recorded calls (both modes), teardown findings, refusals and the
``serve`` request log:

- headers: ``authorization``, ``proxy-authorization``, ``cf-aig-authorization``,
  ``cookie``, ``set-cookie``, and any name ending in ``-key``, ``-token`` or ``-secret``
  (``x-api-key``, ``x-goog-api-key``, ``x-amz-security-token``,
  ``cf-access-client-secret``, ...), except ``cf-aig-cache-key``, a cache key, not a
  credential;
- query parameters: ``key``, ``token``, ``access_token``, ``api_key``, ``api-key``,
  ``sig``, and any name ending in ``_key``, ``_token``, ``_secret`` (or with a dash);
- the ``headers`` of each step of a universal request's body
  (``[{"provider": ..., "headers": {"authorization": "Bearer sk-..."}}]``), by the
  header rule.

More names come from the ini key ``aigw_redact`` (one per line), the option
``--aigw-redact`` or ``PYTEST_AIGW_REDACT`` (comma-separated; ``serve`` reads it too);
they are added to both the header and the query parameter set, and a name starting
with ``*`` adds a suffix (``*-session`` hides ``x-app-session``).

A redacted value keeps its auth scheme (``Bearer [redacted]``) so a test can still see
which kind of credential was sent; `Call.secret_matches` compares digests instead.

Text shown from a request or its answer (the calls a failed test made, the eval report's
exchanges) is `scrub`bed too: a word of 8 or more characters that was sent as a secret
header or query value (kept only as a digest, `secret_words`), and the value of every
environment variable named like a secret (``CLOUDFLARE_API_TOKEN``, ``OPENAI_API_KEY``:
the query parameter rule read on the lowercased name), are replaced by ``[redacted]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError

if TYPE_CHECKING:  # the plugin imports this module at start-up: nothing heavy
    import httpx

__all__ = [
    "ENV_REDACT",
    "REDACTED",
    "SECRET_HEADERS",
    "SECRET_QUERY_PARAMS",
    "WORD",
    "digest",
    "extra_names",
    "is_secret_header",
    "is_secret_param",
    "redact_body",
    "redact_headers",
    "redact_mapping",
    "redact_steps",
    "redact_url",
    "redact_value",
    "redaction_names",
    "request_secret_words",
    "restore_extra_names",
    "scrub",
    "secret_words",
    "split_names",
    "step_secret_words",
    "use_extra_names",
]

REDACTED = "[redacted]"
ENV_REDACT = "PYTEST_AIGW_REDACT"
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cf-aig-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-auth-key",
        "x-amz-security-token",
        "cf-access-client-secret",
    }
)
SECRET_SUFFIXES = ("-key", "-token", "-secret")
NOT_SECRET_HEADERS = frozenset({"cf-aig-cache-key"})
SECRET_QUERY_PARAMS = frozenset({"key", "token", "access_token", "api_key", "api-key", "sig"})
_QUERY_SUFFIXES = (*SECRET_SUFFIXES, "_key", "_token", "_secret")
_AUTH_SCHEMES = ("Bearer ", "Basic ", "Token ", "AWS4-HMAC-SHA256 ")
# An HTTP header token (RFC 9110), which also covers query parameter names in use; a
# leading * makes a suffix.
_NAME = re.compile(r"\*?[A-Za-z0-9!#$%&'+.^_`|~-]+")

_Extra = tuple[frozenset[str], tuple[str, ...]]  # names, suffixes
_extra: _Extra | None = None
_header_verdicts: dict[str, bool] = {}  # is_secret_header by name, for the names in use
_MAX_REMEMBERED = 4096  # hostile requests may send endless new names: forget then


def redaction_names(values: Iterable[object], where: str) -> tuple[str, ...]:
    """Check names to redact given at *where*; return them lowercased.

    Raises `ConfigError` naming *where* for anything but a header or parameter name.
    """
    names = []
    for value in values:
        name = value.strip().lower() if isinstance(value, str) else ""
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{where} must be header or query parameter names such as x-session-id, or"
                f" *-suffix for every name ending so, got {value!r}"
            )
        names.append(name)
    return tuple(names)


def split_names(text: str) -> list[str]:
    """The names in *text*, separated by commas or newlines (as the environment gives them)."""
    return [part for part in re.split(r"[,\n]", text) if part.strip()]


def _from_env() -> tuple[str, ...]:
    return redaction_names(split_names(os.environ.get(ENV_REDACT, "")), ENV_REDACT)


def use_extra_names(names: Iterable[str] | None) -> _Extra | None:
    """Redact *names* (checked by `redaction_names`) besides the built-in set.

    None goes back to the default: the names in ``PYTEST_AIGW_REDACT``. Returns what
    was in use before, for `restore_extra_names`.
    """
    global _extra
    before = _extra
    _header_verdicts.clear()
    if names is None:
        _extra = None
        return before
    listed = tuple(names)
    _extra = (
        frozenset(n for n in listed if not n.startswith("*")),
        tuple(n[1:] for n in listed if n.startswith("*")),
    )
    return before


def restore_extra_names(before: _Extra | None) -> None:
    """Put back what `use_extra_names` returned (a pytest run inside another ends)."""
    global _extra
    _extra = before
    _header_verdicts.clear()


def extra_names() -> _Extra:
    """The names and suffixes redacted besides the built-in set."""
    if _extra is None:
        use_extra_names(_from_env())
    assert _extra is not None
    return _extra


def is_secret_header(name: str) -> bool:
    """Whether the value of header *name* is a secret."""
    # Every header of every request asks this: remember the answer per name (the same
    # few dozen names recur), until the extra names change.
    try:
        return _header_verdicts[name]
    except KeyError:
        pass
    if len(_header_verdicts) >= _MAX_REMEMBERED:
        _header_verdicts.clear()
    verdict = _header_verdicts[name] = _secret_header(name)
    return verdict


def _secret_header(name: str) -> bool:
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return True
    if lowered in NOT_SECRET_HEADERS:
        return False
    names, suffixes = extra_names()
    return lowered.endswith(SECRET_SUFFIXES + suffixes) or lowered in names


def is_secret_param(name: str) -> bool:
    """Whether the value of query parameter *name* is a secret."""
    lowered = name.lower()
    if lowered in SECRET_QUERY_PARAMS:
        return True
    names, suffixes = extra_names()
    return lowered.endswith(_QUERY_SUFFIXES + suffixes) or lowered in names


def redact_value(value: str) -> str:
    """*value* hidden, its auth scheme kept (``Bearer [redacted]``)."""
    for scheme in _AUTH_SCHEMES:
        if value.startswith(scheme):
            return scheme + REDACTED
    return REDACTED


def digest(value: str) -> str:
    """What is kept of a secret: enough to compare, nothing to read."""
    return hashlib.sha256(value.encode()).hexdigest()


def redact_url(url: httpx.URL) -> httpx.URL:
    """Copy *url* with secret query values (``?key=``, ``?token=``) redacted."""
    if not url.query:
        return url
    secret = {k for k in url.params if is_secret_param(k)}
    if not secret:
        return url
    params = [(k, REDACTED if k in secret else v) for k, v in url.params.multi_items()]
    return url.copy_with(params=params)


def redact_headers(request: httpx.Request) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """Return the request's headers with secrets redacted, and digests of those secrets."""
    headers = []
    digests: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if is_secret_header(name):
            digests[name.lower()] = digest(value)
            value = redact_value(value)
        headers.append((name, value))
    if request.url.query:
        for name, value in request.url.params.multi_items():
            if is_secret_param(name):
                digests[f"?{name}"] = digest(value)
    return tuple(headers), digests


def redact_mapping(headers: Mapping[str, str]) -> Mapping[str, str]:
    """*headers* (response headers: ``set-cookie``) with secret values redacted."""
    if not any(is_secret_header(name) for name in headers):
        return headers
    return {k: redact_value(v) if is_secret_header(k) else v for k, v in headers.items()}


def _hidden(value: object) -> object:
    return redact_value(value) if isinstance(value, str) else REDACTED


def _step_headers(step: dict[str, Any]) -> dict[str, Any]:
    headers = step["headers"]
    return {
        name: _hidden(value) if is_secret_header(str(name)) else value
        for name, value in headers.items()
    }


def _needs_redaction(step: object) -> bool:
    if not isinstance(step, dict) or not isinstance(step.get("headers"), dict):
        return False
    return any(is_secret_header(str(name)) for name in step["headers"])


def redact_steps(body: Any) -> Any:
    """A universal body (a step or a list of steps) with each step's secret headers hidden.

    Anything else comes back as it is (the same object).
    """
    steps = body if isinstance(body, list) else [body]
    if not any(_needs_redaction(step) for step in steps):
        return body
    hidden = [
        {**step, "headers": _step_headers(step)} if _needs_redaction(step) else step
        for step in steps
    ]
    return hidden if isinstance(body, list) else hidden[0]


def redact_body(content: bytes) -> bytes:
    """A universal request's raw body with its steps' secret headers hidden.

    A body that is not JSON, or carries no secret, comes back as it is; one that does
    is written out again compactly.
    """
    if content.lstrip()[:1] not in (b"[", b"{"):
        return content
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):  # not JSON: nothing the gateway reads as steps
        return content
    hidden = redact_steps(body)
    if hidden is body:
        return content
    return json.dumps(hidden, separators=(",", ":"), ensure_ascii=False).encode()


# A word of a secret or of shown text: what a token, a key or a base64 value is made of.
WORD = re.compile(r"[A-Za-z0-9_\-+/=.~]+")
MIN_SECRET_WORD = 8  # shorter words are too common to hide wherever they appear


def _pieces(word: str) -> tuple[str, ...]:
    """*word*, without a trailing full stop (prose), and its value after ``name=``."""
    _, equals, value = word.partition("=")
    return (word, word.rstrip("."), value) if equals else (word, word.rstrip("."))


def secret_words(values: Iterable[str]) -> frozenset[str]:
    """Digests of the words of secret *values*, by which `scrub` finds them in text."""
    return frozenset(
        digest(piece)
        for value in values
        for word in WORD.findall(value)
        for piece in _pieces(word)
        if len(piece) >= MIN_SECRET_WORD
    )


def request_secret_words(request: httpx.Request) -> frozenset[str]:
    """`secret_words` of the request's secret headers and query parameters."""
    values = [
        raw_value.decode("latin-1")
        for raw_name, raw_value in request.headers.raw
        if is_secret_header(raw_name.decode("latin-1"))
    ]
    if request.url.query:
        values += [v for k, v in request.url.params.multi_items() if is_secret_param(k)]
    return secret_words(values) if values else frozenset()


def step_secret_words(body: Any) -> frozenset[str]:
    """`secret_words` of the secret headers of a universal body's steps."""
    steps = body if isinstance(body, list) else [body]
    return secret_words(
        str(value)
        for step in steps
        if _needs_redaction(step)
        for name, value in step["headers"].items()
        if is_secret_header(str(name))
    )


def _secret_env_values() -> list[str]:
    """The values of the environment's secrets (longest first, so none is left half shown)."""
    values = {
        value
        for name, value in os.environ.items()
        if len(value) >= MIN_SECRET_WORD and is_secret_param(name.lower())
    }
    return sorted(values, key=len, reverse=True)


def scrub(text: str, words: frozenset[str] = frozenset()) -> str:
    """*text* with secrets hidden: the words whose digest is in *words*, secret env values."""
    for value in _secret_env_values():
        text = text.replace(value, REDACTED)
    if not words:
        return text

    def hidden(match: re.Match[str]) -> str:
        word = match.group()
        for piece in _pieces(word):
            if len(piece) >= MIN_SECRET_WORD and digest(piece) in words:
                return word.replace(piece, REDACTED)
        return word

    return WORD.sub(hidden, text)
