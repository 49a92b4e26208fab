"""The public surface is exactly what is documented."""

from __future__ import annotations

from pathlib import Path

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
        "Gateway",
        "GatewayCheckError",
        "LiveGateway",
        "ReplayGateway",
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


def test_the_readme_names_every_public_name() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert [name for name in pytest_aigw.__all__ if f"`{name}`" not in readme] == []


def test_both_gateways_share_one_interface() -> None:
    assert issubclass(pytest_aigw.MockGateway, pytest_aigw.Gateway)
    assert issubclass(pytest_aigw.LiveGateway, pytest_aigw.Gateway)
    assert issubclass(pytest_aigw.ReplayGateway, pytest_aigw.Gateway)
    assert issubclass(pytest_aigw.MockGatewayServer, pytest_aigw.Gateway)
    with pytest.raises(TypeError, match="abstract"):
        pytest_aigw.Gateway()  # type: ignore[abstract]
