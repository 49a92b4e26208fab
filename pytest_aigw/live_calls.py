"""The `Call` live mode records for a request it sent and the answer's headers.

Replay mode records the same call for a request answered from its cassette, so a test
sees one shape of `aigw.calls` whether it runs live or replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from . import metadata
from .calls import Call, Received, redact_headers, redact_url, request_json
from .fake.formats import model_of
from .fake.rest import provider_of, rest_model
from .redaction import request_secret_words

__all__ = ["call_place", "live_call"]


def call_place(api: str, path: str, body: Any) -> tuple[str, str, str, str | None]:
    """The call's endpoint, provider, path and model, as the fake records them.

    *api* is ``rest`` (then *path* starts at ``ai/``) or ``gateway`` (*path* is below
    the gateway: ``openai/chat/completions``, ``run``, or empty for a universal request).
    """
    if api == "rest":
        model = rest_model(path, body)
        return "rest", provider_of(model or "") or "", path, model
    provider, _, rest = path.partition("/")
    if provider == "run" and not rest:
        model = rest_model("ai/run", body)
        return "run", provider_of(model or "") or "", "run", model
    endpoint = "universal" if not provider else "compat" if provider == "compat" else "gateway"
    return (
        endpoint,
        provider,
        rest,
        model_of(provider, rest, body if isinstance(body, dict) else None),
    )


def live_call(
    request: httpx.Request,
    api: str,
    path: str,
    status: int,
    answer: Mapping[str, str],
    *,
    metadata_header: str | None,
    received: Received,
    **extra: Any,
) -> Call:
    """The call of *request* answered with *status* and headers *answer* (lower-case names).

    *metadata_header* is the `cf-aig-metadata` as the gateway got it (the live tags
    merged); *received* keeps the answer's body as the app reads it; *extra* sets
    further `Call` fields.
    """
    body = request_json(request)
    endpoint, provider, call_path, model = call_place(api, path, body)
    redacted, digests = redact_headers(request)
    step = answer.get("cf-aig-step", "")
    return Call(
        provider=provider,
        path=call_path,
        model=model,
        endpoint=endpoint,
        metadata=metadata.parse(metadata_header).stored,
        metadata_header=metadata_header,
        method=request.method,
        url=redact_url(request.url),
        json=body,
        status_code=status,
        log_id=answer.get("cf-aig-log-id"),
        cache_status=answer.get("cf-aig-cache-status", ""),
        event_id=answer.get("cf-aig-event-id"),
        step=int(step) if step.isdigit() else None,
        response_headers=dict(answer),
        _headers=redacted,
        _content=request.content,
        _secret_digests=digests,
        _received=received,
        _secret_words=request_secret_words(request),
        **extra,
    )
