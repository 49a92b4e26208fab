"""The gateway's own error answers (providers' error bodies are in `formats`).

The gateway's errors use the key `error` (singular) and carry `internalCode`.
Codes as observed from the real gateway, except where marked "chosen": the real
code for those is not documented, so the fake picks one and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "GATEWAY_ERRORS",
    "GatewayFault",
    "error_envelope",
    "gateway_error",
    "gateway_error_body",
    "timeout_error_body",
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
# A `cf-aig-request-timeout` overrun: Cloudflare documents no status or code, so the
# fake's answer is invented, says so, and both parts are settings (timeout_status, timeout_code).
TIMEOUT_STATUS = 504
TIMEOUT_MESSAGE = (
    "Request timed out (pytest-aigw: invented answer; Cloudflare documents no status or"
    " code for a cf-aig-request-timeout overrun)"
)
INVENTED_HEADER = "x-pytest-aigw-invented"  # names what the fake made up in an answer
TOO_LARGE = GatewayFault(413, 0, "Payload Too Large")  # chosen: Cloudflare answers 413 in HTML

# `aigw.fail(status)` answers these statuses as the gateway; others as the provider.
GATEWAY_ERRORS = {fault.status_code: fault for fault in (UNAUTHORIZED, RATE_LIMITED, NO_CREDITS)}


def error_envelope(code: int, message: str, **extra: Any) -> dict[str, Any]:
    """The Cloudflare API's v4 error envelope (*extra* adds keys such as ``result``)."""
    return {"success": False, "errors": [{"code": code, "message": message}], **extra}


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


def timeout_error_body(status_code: int, code: int | None) -> dict[str, Any]:
    """The fake's invented timeout answer: the gateway's shape, with no code unless one is set."""
    if code is not None:
        return gateway_error_body(status_code, code, TIMEOUT_MESSAGE)
    body = gateway_error_body(status_code, 0, TIMEOUT_MESSAGE)
    del body["internalCode"]
    body["error"] = [{"message": TIMEOUT_MESSAGE}]
    return body
