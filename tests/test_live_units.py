"""Live mode's pieces on their own: tag merging and settings resolution."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw import ConfigError, LiveGateway, MetadataError
from pytest_aigw._config import RunConfig, run_config
from pytest_aigw.live import _tagged

KEYS = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)
VALUES = st.one_of(st.text(max_size=10), st.integers(-(10**6), 10**6), st.booleans())
APP_METADATA = st.dictionaries(KEYS, VALUES, max_size=7)


@given(APP_METADATA)
def test_tags_are_merged_when_they_fit_and_refused_when_not(app: dict[str, Any]) -> None:
    tags = {"test": True}
    if len({**app, **tags}) > 5:
        with pytest.raises(MetadataError, match="keeps at most 5"):
            _tagged(json.dumps(app), tags)
    else:
        assert json.loads(_tagged(json.dumps(app), tags)) == {**app, "test": True}


def test_untagged_app_metadata_gets_just_the_tags() -> None:
    assert json.loads(_tagged(None, {"test": True, "run": "r1"})) == {"test": True, "run": "r1"}


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ('{"nested": {"a": 1}}', "nested"),
    ],
)
def test_metadata_the_gateway_would_not_store_is_refused(header: str, reason: str) -> None:
    with pytest.raises(MetadataError, match="would not be stored as sent") as caught:
        _tagged(header, {"test": True})
    assert reason in str(caught.value)


def resolve(options: dict[str, Any], ini: dict[str, Any], env: dict[str, str]) -> RunConfig:
    return run_config(options.get, lambda name: ini.get(name, ""), env)


def test_settings_resolve_command_line_then_environment_then_ini() -> None:
    ini = {"aigw_mode": "live", "aigw_gateway": "ini-gw", "aigw_tags": ["a=1"]}
    env = {"PYTEST_AIGW_MODE": "mock", "PYTEST_AIGW_GATEWAY_ID": "env-gw"}
    assert (resolve({}, ini, {}).mode, resolve({}, ini, {}).gateway_id) == ("live", "ini-gw")
    assert (resolve({}, ini, env).mode, resolve({}, ini, env).gateway_id) == ("mock", "env-gw")
    chosen = resolve({"aigw_mode": "LIVE", "aigw_gateway": "cli-gw"}, ini, env)
    assert (chosen.mode, chosen.gateway_id) == ("live", "cli-gw")
    assert resolve({}, ini, {}).tags == {"a": 1}


def test_the_gateway_ini_key_is_aigw_gateway_and_its_old_name_still_reads() -> None:
    old = {"aigw_gateway_id": "old-gw"}
    assert resolve({}, old, {}).gateway_id == "old-gw"
    assert resolve({}, {**old, "aigw_gateway": "new-gw"}, {}).gateway_id == "new-gw"


def test_credentials_come_from_the_environment_and_never_show_in_the_repr() -> None:
    env = {
        "CLOUDFLARE_ACCOUNT_ID": "acct",
        "CLOUDFLARE_API_TOKEN": "token-secret",
        "PYTEST_AIGW_GATEWAY_TOKEN": "gateway-secret",
        "PYTEST_AIGW_CLEANUP": "yes",
    }
    run = resolve({"aigw_mode": "live", "aigw_gateway": "gw"}, {}, env)
    assert run.target() == ("acct", "gw", "token-secret")
    assert run.cleanup is True
    assert "secret" not in repr(run)
    assert "secret" not in run.header()


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        ({"aigw_gateway_base_url": "ftp://x"}, {}, "--aigw-gateway-base-url must be an http"),
        ({}, {"PYTEST_AIGW_CLEANUP": "maybe"}, "PYTEST_AIGW_CLEANUP must be 1/true/yes"),
        ({}, {"PYTEST_AIGW_TAGS": "a=1,=2"}, "PYTEST_AIGW_TAGS must be KEY=VALUE tags, got '=2'"),
    ],
)
def test_bad_settings_name_where_they_came_from(
    options: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        resolve(options, {}, env)


def test_live_gateway_urls_follow_the_configured_base() -> None:
    gateway = LiveGateway(
        account_id="acct",
        gateway_id="gw",
        api_token="t",
        gateway_base_url="http://127.0.0.1:9/v1/",
        api_base_url="http://127.0.0.1:9/client/v4/",
    )
    assert gateway.gateway_url == "http://127.0.0.1:9/v1/acct/gw"
    assert gateway.url == "http://127.0.0.1:9"
    assert gateway.url("openai") == "http://127.0.0.1:9/v1/acct/gw/openai"
    assert gateway.api_url == "http://127.0.0.1:9/client/v4"
    assert repr(gateway) == "<LiveGateway http://127.0.0.1:9/v1/acct/gw calls=0>"
