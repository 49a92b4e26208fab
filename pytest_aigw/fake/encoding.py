"""Compact JSON, as providers send it, from one shared encoder.

`json.dumps(..., separators=...)` builds a new encoder on every call; on the fake's
hot path (every reply, every stream event) one shared encoder is measurably cheaper.
"""

from __future__ import annotations

import json

__all__ = ["COMPACT", "compact_bytes"]

COMPACT = json.JSONEncoder(separators=(",", ":"))


def compact_bytes(value: object) -> bytes:
    return COMPACT.encode(value).encode()
