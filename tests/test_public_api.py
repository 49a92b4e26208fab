"""The public surface is exactly what is documented."""

from __future__ import annotations

import pytest

import pytest_aigw


def test_all_is_sorted_and_exact() -> None:
    assert pytest_aigw.__all__ == sorted(pytest_aigw.__all__)
    assert set(pytest_aigw.__all__) == {
        "AigwError",
        "AsyncLogsClient",
        "Call",
        "CallList",
        "ConfigError",
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
        "ServerError",
        "ToolCall",
        "ToolResult",
        "__version__",
        "new_log_id",
        "reply",
        "tool_call",
    }


def test_every_public_name_resolves() -> None:
    for name in pytest_aigw.__all__:
        assert getattr(pytest_aigw, name) is not None
    assert pytest_aigw.__version__ != "0.0.0"


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        _ = pytest_aigw.NoSuchThing
    assert "MockGateway" in dir(pytest_aigw)
