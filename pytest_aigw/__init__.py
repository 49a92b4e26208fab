"""pytest-aigw: test apps that call LLMs through Cloudflare AI Gateway.

Importing this package is cheap: the names below load on first use, so the pytest
plugin adds almost nothing to start-up when its fixtures are not used.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import AigwError, ConfigError, GatewayCheckError, MetadataError
    from .calls import Call, CallList
    from .client import AsyncLogsClient, LogsApiError, LogsApiTimeout, LogsClient
    from .fake.formats import Message, ToolCall, ToolResult
    from .fake.replies import reply, tool_call
    from .gateway_base import Gateway
    from .ids import new_log_id
    from .live import LiveGateway, LiveModeError
    from .logstore import LogSettings
    from .mock import MockGateway
    from .replay_gateway import ReplayGateway
    from .served import MockGatewayServer
    from .server import LoopbackServer, ServerError

__all__ = [
    "AigwError",
    "AsyncLogsClient",
    "Call",
    "CallList",
    "ConfigError",
    "Gateway",
    "GatewayCheckError",
    "LiveGateway",
    "LiveModeError",
    "LogSettings",
    "LogsApiError",
    "LogsApiTimeout",
    "LogsClient",
    "LoopbackServer",
    "Message",
    "MetadataError",
    "MockGateway",
    "MockGatewayServer",
    "ReplayGateway",
    "ServerError",
    "ToolCall",
    "ToolResult",
    "__version__",
    "new_log_id",
    "reply",
    "tool_call",
]

try:
    __version__ = version("pytest-aigw")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

_LAZY = {
    "AigwError": "._errors",
    "AsyncLogsClient": ".client",
    "Call": ".calls",
    "CallList": ".calls",
    "ConfigError": "._errors",
    "Gateway": ".gateway_base",
    "GatewayCheckError": "._errors",
    "LiveGateway": ".live",
    "LiveModeError": ".live",
    "LogSettings": ".logstore",
    "LogsApiError": ".client",
    "LogsApiTimeout": ".client",
    "LogsClient": ".client",
    "LoopbackServer": ".server",
    "Message": ".fake.formats",
    "MetadataError": "._errors",
    "MockGateway": ".mock",
    "MockGatewayServer": ".served",
    "ReplayGateway": ".replay_gateway",
    "ServerError": ".server",
    "ToolCall": ".fake.formats",
    "ToolResult": ".fake.formats",
    "new_log_id": ".ids",
    "reply": ".fake.replies",
    "tool_call": ".fake.replies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_aigw' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
