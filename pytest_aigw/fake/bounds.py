"""What the fake refuses, or keeps less of, before any work grows with the input.

    limit                  value          where it comes from
    request body           100 MB -> 413  Cloudflare's request body limit (Free and Pro plans)
    stored log             10 MB          protocol.md §3.0: "larger logs are not stored"
    JSON nesting, numbers  see _json      the one JSON loader
    cf-aig-custom-cost     <= 1e6 USD     chosen: any price per token or in total up to
                                          a million dollars; more is surely a mistake and
                                          would overflow a log's cost to infinity

`body_json`, `metadata_problem` and `custom_cost_problem` read a request's body and
JSON headers before the gateway's lock is taken, and say why the gateway refuses it.
MB here are MiB (the docs do not say which).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _json
from ..metadata import ParsedMetadata

__all__ = [
    "CUSTOM_COST_HEADER",
    "MAX_COST",
    "MAX_LOG_BYTES",
    "MAX_REQUEST_BYTES",
    "Refusal",
    "body_json",
    "custom_cost_problem",
    "metadata_problem",
]

MAX_REQUEST_BYTES = 100 * 1024 * 1024
MAX_LOG_BYTES = 10 * 1024 * 1024
MAX_COST = 1e6
CUSTOM_COST_HEADER = "cf-aig-custom-cost"
_COST_KEYS = ("total_cost", "per_token_in", "per_token_out", "per_cache_read_token",
              "per_cache_write_token")  # fmt: skip


class Refusal(ValueError):
    """Input the gateway refuses (400), or a body too large to take (413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def body_json(content: bytes) -> Any:
    """The body as JSON (None where it is empty or not JSON); `Refusal` beyond the bounds."""
    if len(content) > MAX_REQUEST_BYTES:
        raise Refusal(
            f"the request body has {len(content):,} bytes, more than the"
            f" {MAX_REQUEST_BYTES:,} Cloudflare accepts",
            413,
        )
    if not content:
        return None
    try:
        return _json.loads(content)
    except _json.JsonError as error:
        if error.limit:
            raise Refusal(f"request body: {error}") from None
        return None  # not JSON: the provider's to refuse, as through the real gateway


def metadata_problem(parsed: ParsedMetadata) -> str | None:
    """Why the gateway refuses this `cf-aig-metadata` outright, if it does."""
    for problem in parsed.problems:
        if problem.kind == "beyond_limits":
            return problem.message
    return None


def custom_cost_problem(headers: Mapping[str, str]) -> str | None:
    """Why `cf-aig-custom-cost` in *headers* is refused, if it is (unreadable is ignored)."""
    header = headers.get(CUSTOM_COST_HEADER)
    if header is None:
        return None
    try:
        spec = _json.loads(header)
    except _json.JsonError as error:
        return f"{CUSTOM_COST_HEADER}: {error}" if error.limit else None
    if not isinstance(spec, dict):
        return None
    for key in _COST_KEYS:
        value = spec.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_COST:
            return (
                f"{CUSTOM_COST_HEADER}: {key} is {value!r}; the fake takes costs up to"
                f" {MAX_COST:g} USD"
            )
    return None
