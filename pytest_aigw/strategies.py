"""Hypothesis strategies for apps that call Cloudflare AI Gateway.

    from hypothesis import given
    from pytest_aigw import strategies as aigw_st

    @given(aigw_st.metadata())
    def test_builder_keeps_every_tag(entries): ...

Every strategy takes keyword-only options, checked when it is called (a bad one raises
Hypothesis' `InvalidArgument` at once, not at the first draw). This is the only module
of pytest-aigw that imports Hypothesis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as error:  # pragma: no cover - exercised in a venv without Hypothesis
    raise ImportError(
        "pytest_aigw.strategies needs Hypothesis; install it with"
        " pip install 'pytest-aigw[hypothesis]' (or pip install hypothesis)"
    ) from error

from .ids import IdFormat
from .logstore import FILTER_KEYS, OPERATORS
from .metadata import MAX_ENTRIES, RESERVED_PREFIX, MetadataValue

__all__ = [
    "chat_requests",
    "feedback",
    "gateway_errors",
    "invalid_metadata",
    "log_filters",
    "log_ids",
    "metadata",
    "metadata_headers",
    "metadata_values",
    "scores",
]

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PROVIDERS = ("openai", "anthropic", "workers-ai", "google-ai-studio")
MAX_SAFE_INTEGER = 2**53 - 1  # beyond it the gateway's JavaScript rounds integers
# Statuses the gateway itself answers with its own error body (see `aigw.fail`).
GATEWAY_STATUSES = (401, 402, 429)
PROVIDER_STATUSES = (400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 504)


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(f"{name}={value!r} must be a whole number from {low} to {high}")
    return value


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True or False")
    return value


def _valid(value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgument(f"valid={value!r} must be True, False or None (both)")
    return value


# --- metadata ---------------------------------------------------------------------------


def metadata_keys() -> st.SearchStrategy[str]:
    """Keys the gateway keeps: non-empty text not starting with ``cf.``; shrinks to "0"."""
    return st.text(min_size=1, max_size=20).filter(lambda key: not key.startswith(RESERVED_PREFIX))


def metadata_values(*, allow_floats: bool = True) -> st.SearchStrategy[MetadataValue]:
    """Values the gateway stores exactly; shrinks toward ``""``.

    Text, booleans, integers within JavaScript's safe range and (with *allow_floats*)
    finite floats.
    """
    _flag("allow_floats", allow_floats)
    values: st.SearchStrategy[MetadataValue] = (
        st.text(max_size=40) | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    )
    if allow_floats:
        values = values | st.floats(allow_nan=False, allow_infinity=False)
    return values


def metadata(
    *,
    min_entries: int = 0,
    max_entries: int = MAX_ENTRIES,
    allow_floats: bool = True,
) -> st.SearchStrategy[dict[str, MetadataValue]]:
    """Metadata dicts the gateway keeps exactly as they are (at most 5 flat entries).

    Shrinks toward *min_entries* entries of the simplest keys and values.
    """
    _whole("max_entries", max_entries, 0, MAX_ENTRIES)
    _whole("min_entries", min_entries, 0, max_entries)
    return st.dictionaries(
        metadata_keys(),
        metadata_values(allow_floats=allow_floats),
        min_size=min_entries,
        max_size=max_entries,
    )


def _header(entries: dict[str, Any]) -> str:
    return json.dumps(entries, ensure_ascii=True)


def invalid_metadata() -> st.SearchStrategy[str]:
    """`cf-aig-metadata` values the gateway does not keep as sent.

    Too many entries, nested or null values, reserved ``cf.`` keys, invalid JSON and
    JSON that is not an object. Every value is a printable header value an HTTP client
    will send.
    """
    nested: st.SearchStrategy[Any] = (
        st.none()
        | st.lists(metadata_values(), max_size=2)
        | st.dictionaries(st.text(max_size=3), metadata_values(), max_size=2)
    )
    too_many = st.dictionaries(
        metadata_keys(), metadata_values(), min_size=MAX_ENTRIES + 1, max_size=MAX_ENTRIES + 4
    )
    with_bad_value = st.builds(
        lambda entries, key, value: {**entries, key: value},
        metadata(max_entries=MAX_ENTRIES - 1),
        metadata_keys(),
        nested,
    )
    reserved = st.builds(
        lambda entries, suffix: {**entries, RESERVED_PREFIX + suffix: "x"},
        metadata(max_entries=MAX_ENTRIES - 1),
        st.text(max_size=5),
    )
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
    not_json = printable.filter(lambda text: not _is_json(text))
    not_object = st.sampled_from(["[]", '"user"', "42", "true", "null", '[{"a": 1}]'])
    return st.one_of(
        too_many.map(_header),
        with_bad_value.map(_header),
        reserved.map(_header),
        not_json,
        not_object,
    )


def _odd_unicode() -> st.SearchStrategy[str]:
    """Objects whose text is odd unicode, as JSON escapes (header values are ASCII).

    Lone surrogates, byte-order marks, joiners, direction overrides, non-characters.
    """
    odd = st.integers(0xD800, 0xDFFF) | st.sampled_from(
        [0xFEFF, 0x200D, 0x200B, 0x202E, 0xFFFF, 0xFFFE, 0x0000, 0x001B]
    )
    return st.lists(odd, min_size=1, max_size=3).map(
        lambda points: '{"user": "' + "".join(f"\\u{n:04x}" for n in points) + '"}'
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def metadata_headers(*, valid: bool | None = None) -> st.SearchStrategy[str]:
    """Raw `cf-aig-metadata` header values; shrinks toward ``{}``.

    Kept as sent (*valid* True), not kept (False, see `invalid_metadata`), or either
    (None), which also draws odd unicode (lone surrogates, byte-order marks, direction
    overrides, ... as JSON escapes) whose fate is the gateway's to decide.
    """
    valid = _valid(valid)
    spacing = st.sampled_from([(",", ":"), (", ", ": ")])
    good = st.builds(
        lambda entries, separators: json.dumps(entries, separators=separators),
        metadata(),
        spacing,
    )
    if valid is None:
        return good | invalid_metadata() | _odd_unicode()
    return good if valid else invalid_metadata()


# --- logs -------------------------------------------------------------------------------


def _uuid7(ms: int, rand_a: int, rand_b: int) -> str:
    text = f"{(ms << 80) | (7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _uuid7s() -> st.SearchStrategy[str]:
    return st.builds(
        _uuid7,
        st.integers(0, (1 << 48) - 1),
        st.integers(0, (1 << 12) - 1),
        st.integers(0, (1 << 62) - 1),
    )


def _ulids() -> st.SearchStrategy[str]:
    return st.builds(
        lambda first, rest: first + rest,
        st.sampled_from("01234567"),
        st.text(CROCKFORD, min_size=25, max_size=25),
    )


def log_ids(*, format: IdFormat | None = None) -> st.SearchStrategy[str]:
    """Log ids as the gateway issues them; shrinks toward all zeros.

    *format* ``"uuid7"``: lowercase UUIDv7s (the gateway's since 2026-10-08);
    ``"ulid"``: ULIDs, 26 Crockford base32 characters (older accounts' logs);
    None (the default): either, as an account holding both has.
    """
    if format is None:
        return _uuid7s() | _ulids()
    if format == "uuid7":
        return _uuid7s()
    if format == "ulid":
        return _ulids()
    raise InvalidArgument(f"format={format!r} must be 'uuid7', 'ulid' or None (either)")


def feedback() -> st.SearchStrategy[int]:
    """Feedback values the Logs API takes: 0, 1 or -1 (shrinks toward 0)."""
    return st.sampled_from([0, 1, -1])


def scores(*, allow_fractions: bool = False) -> st.SearchStrategy[float]:
    """Scores from 0 to 100 (whole unless *allow_fractions*); shrinks toward 0."""
    if _flag("allow_fractions", allow_fractions):
        return st.floats(0, 100)
    return st.integers(0, 100)


_SCALARS: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | log_ids()
)


def _valid_filter() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "key": st.sampled_from(FILTER_KEYS),
            "operator": st.sampled_from(OPERATORS),
            "value": st.lists(_SCALARS, max_size=4),
        }
    )


def _invalid_filter() -> st.SearchStrategy[Any]:
    good = _valid_filter()
    return st.one_of(
        st.builds(lambda f, k: {**f, "key": k}, good, st.text(max_size=8).filter(_not_key)),
        st.builds(lambda f, o: {**f, "operator": o}, good, st.text(max_size=4).filter(_not_op)),
        st.builds(
            lambda f, v: {**f, "value": v},
            good,
            _SCALARS | st.dictionaries(st.text(max_size=3), _SCALARS, max_size=2),
        ),
        st.builds(
            lambda f, v: {**f, "value": [v]},
            good,
            st.sampled_from([math.inf, -math.inf]) | st.lists(_SCALARS, max_size=2),
        ),
        st.builds(
            lambda f, name: {k: v for k, v in f.items() if k != name},
            good,
            st.sampled_from(["key", "operator", "value"]),
        ),
        _SCALARS,
    )


def _not_key(text: str) -> bool:
    return text not in FILTER_KEYS


def _not_op(text: str) -> bool:
    return text not in OPERATORS


def log_filters(*, valid: bool | None = None, max_filters: int = 4) -> st.SearchStrategy[list[Any]]:
    """Logs API ``filters`` lists ({key, operator, value} objects).

    *valid* True gives lists the API accepts (any key and operator it knows, finite
    scalar values); False gives lists with at least one filter it refuses with code 7001
    (unknown key or operator, a value that is not a list of scalars, a missing field);
    None gives either. Shrinks toward ``[]`` (valid) or one broken filter.
    """
    valid = _valid(valid)
    _whole("max_filters", max_filters, 1, 20)
    good = st.lists(_valid_filter(), max_size=max_filters)
    bad = st.builds(
        lambda before, broken: [*before, broken],
        st.lists(_valid_filter(), max_size=max_filters - 1),
        _invalid_filter(),
    )
    if valid is None:
        return good | bad
    return good if valid else bad


# --- requests and errors ----------------------------------------------------------------


def _messages(roles: Sequence[str]) -> st.SearchStrategy[list[dict[str, str]]]:
    message = st.fixed_dictionaries(
        {"role": st.sampled_from(roles), "content": st.text(max_size=60)}
    )
    return st.lists(message, min_size=1, max_size=4)


def chat_requests(
    *, provider: str = "openai", stream: bool | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Chat request bodies as *provider*'s API takes them.

    *provider* is one of ``openai`` (chat completions), ``anthropic`` (messages),
    ``workers-ai`` (``/run`` of a chat model) or ``google-ai-studio``
    (``generateContent``). *stream* True or False fixes ``stream``; None draws it (Google
    streams by URL, not by body). Shrinks toward one short user message.

    These are bodies only: post them with the provider's key, as the app's client would
    (``Authorization: Bearer ...``; ``x-api-key`` for Anthropic, ``x-goog-api-key`` for
    Google AI Studio), since the fake refuses a keyless request as the provider does.
    """
    if provider not in PROVIDERS:
        raise InvalidArgument(f"provider={provider!r} must be one of {', '.join(PROVIDERS)}")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidArgument(f"stream={stream!r} must be True, False or None")
    streams = st.booleans() if stream is None else st.just(stream)
    temperature = st.floats(0, 2).map(lambda t: round(t, 2))
    if provider == "google-ai-studio":
        part = st.fixed_dictionaries({"text": st.text(max_size=60)})
        content = st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "model"]),
                "parts": st.lists(part, min_size=1, max_size=2),
            }
        )
        return st.fixed_dictionaries({"contents": st.lists(content, min_size=1, max_size=3)})
    if provider == "anthropic":
        return st.fixed_dictionaries(
            {
                "model": st.sampled_from(["claude-sonnet-5", "claude-haiku-4-5"]),
                "max_tokens": st.integers(1, 4096),
                "messages": _messages(["user", "assistant"]),
            },
            optional={
                "stream": streams,
                "temperature": temperature,
                "system": st.text(max_size=40),
            },
        )
    body: dict[str, st.SearchStrategy[Any]] = {
        "messages": _messages(["user", "system", "assistant"]),
        "stream": streams,
    }
    if provider == "openai":
        body["model"] = st.sampled_from(["gpt-4o-mini", "gpt-4o", "gpt-4.1"])
    return st.fixed_dictionaries(
        body, optional={"temperature": temperature, "max_tokens": st.integers(1, 4096)}
    )


def gateway_errors(*, network: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``aigw.fail(**kwargs)``; shrinks toward the gateway's 401.

    The gateway's own errors (401 code 2009, 402 code 2021, 429 code 2003), providers'
    errors (4xx and 5xx in their own format) and, with *network*, timeouts and dropped
    connections.
    """
    _flag("network", network)
    gateway = st.builds(lambda status: {"status": status}, st.sampled_from(GATEWAY_STATUSES))
    provider = st.builds(
        lambda status: {"status": status, "origin": "provider"},
        st.sampled_from(PROVIDER_STATUSES),
    )
    errors = gateway | provider
    if network:
        errors = errors | st.sampled_from([{"status": "timeout"}, {"status": "disconnect"}])
    return errors
