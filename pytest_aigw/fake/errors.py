"""Error answers: the gateway's own format, and each provider's format.

The gateway's errors use the key `error` (singular) and carry `internalCode`.
Codes as observed from the real gateway, except where marked "chosen": the real
code for those is not documented, so the fake picks one and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .encoding import compact_bytes

__all__ = [
    "GATEWAY_ERRORS",
    "GatewayFault",
    "gateway_error",
    "gateway_error_body",
    "provider_error_body",
]


@dataclass(frozen=True)
class GatewayFault:
    """One kind of error the gateway itself answers with."""

    status_code: int
    code: int
    message: str


UNAUTHORIZED = GatewayFault(401, 2009, "Unauthorized")
RATE_LIMITED = GatewayFault(429, 2003, "Rate limited")
NO_CREDITS = GatewayFault(402, 2021, "Insufficient credits")
INPUT_ERROR = GatewayFault(400, 7003, "User Input Error")
TIMED_OUT = GatewayFault(504, 2016, "Request timed out")  # chosen: not documented

# `aigw.fail(status)` answers these statuses as the gateway; others as the provider.
GATEWAY_ERRORS = {fault.status_code: fault for fault in (UNAUTHORIZED, RATE_LIMITED, NO_CREDITS)}


def gateway_error_body(status_code: int, code: int, message: str) -> dict[str, Any]:
    return {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": code, "message": message}],
        "name": "AiGatewayError",
        "httpCode": status_code,
        "internalCode": code,
        "message": message,
        "description": message,
    }


def gateway_error(
    status_code: int, code: int, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Build the gateway's error answer, as observed from the real gateway."""
    return httpx.Response(
        status_code, json=gateway_error_body(status_code, code, message), headers=headers
    )


_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_GOOGLE_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def provider_error_body(provider: str, path: str, status_code: int, message: str) -> bytes:
    """An error body in the format *provider* uses, which the gateway passes through."""
    body: dict[str, Any]
    if path.endswith("v1/messages"):
        kind = _ANTHROPIC_TYPES.get(status_code, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message}}
    elif provider == "workers-ai" and not path.endswith("chat/completions"):
        body = {
            "result": None,
            "success": False,
            "errors": [{"code": status_code, "message": message}],
            "messages": [],
        }
    elif provider.startswith("google"):
        status = _GOOGLE_STATUSES.get(status_code, "INTERNAL")
        body = {"error": {"code": status_code, "message": message, "status": status}}
    else:
        kind, code = _OPENAI_TYPES.get(status_code, ("server_error", None))
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return compact_bytes(body)
