"""Exceptions raised by pytest-aigw.

- `AigwError`: base of everything below.
- `MetadataError` (also a `ValueError`): metadata the gateway would not store as given.
- `ConfigError` (also a `ValueError`): a bad option, marker or constructor argument.
- `GatewayCheckError` (also an `AssertionError`): teardown checks found problems
  (unexpected requests, metadata the gateway would drop).
"""

from __future__ import annotations

__all__ = ["AigwError", "ConfigError", "GatewayCheckError", "MetadataError"]


class AigwError(Exception):
    """Base class of every error pytest-aigw raises."""


class MetadataError(AigwError, ValueError):
    """Metadata that the gateway would not store as given."""


class ConfigError(AigwError, ValueError):
    """A bad option, marker argument or constructor argument."""


class GatewayCheckError(AigwError, AssertionError):
    """The fake gateway's checks found problems in what the app sent."""
