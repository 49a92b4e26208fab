"""Error bodies in the gateway's own format (key `error`, singular)."""

from __future__ import annotations

import httpx

__all__ = ["gateway_error"]


def gateway_error(
    status_code: int, code: int, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Build the gateway's error answer, as observed from the real gateway."""
    body = {
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
    return httpx.Response(status_code, json=body, headers=headers)
