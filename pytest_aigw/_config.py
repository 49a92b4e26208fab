"""Resolve a test's fake-gateway settings: the closest marker, then ini, then defaults.

    setting        marker @pytest.mark.aigw(...)   ini               default
    account_id     account_id="..."                aigw_account_id   0123456789abcdef...
    gateway_id     gateway_id="..."                aigw_gateway_id   test-gateway
    strict         strict=True|False               aigw_strict       true
    authenticated  authenticated=True|False        -                 false
    credentials    credentials="provider"|"byok"|"unified"|None   -  "provider"
    byok_aliases   byok_aliases=["default", ...]   -                 ["default"]
    cache_ttl      cache_ttl=seconds|None          -                 None (no caching)
    logs           logs=LogSettings(...)           -                 LogSettings()
    allow_direct   allow_direct=True|False         aigw_allow_direct false
    provider_hosts -                               aigw_provider_hosts (lines): extra hosts
    id_format      id_format="uuid7"|"ulid"        -                 uuid7

Markers on the module, class and function merge; the closest one wins per key.

The run-wide settings (`RunConfig`: mode and live target) resolve command line >
environment > ini > default; credentials come from the environment only.

    setting           option                   env (PYTEST_AIGW_...)   ini
    mode              --aigw-mode              MODE                    aigw_mode
    gateway id        --aigw-gateway           GATEWAY_ID              aigw_gateway_id
    gateway base URL  --aigw-gateway-base-url  GATEWAY_BASE_URL        aigw_gateway_base_url
    API base URL      --aigw-api-base-url      API_BASE_URL            aigw_api_base_url
    extra tags        --aigw-tag KEY=VALUE     TAGS (k=v,k=v)          aigw_tags (lines)
    run id            --aigw-run-id            RUN_ID                  aigw_run_id
    clean-up          --aigw-cleanup           CLEANUP=1               aigw_cleanup
    eval report       --aigw-eval-report=PATH  EVAL_REPORT             aigw_eval_report
    eval gate         --aigw-eval-min-pass-rate=R  EVAL_MIN_PASS_RATE  aigw_eval_min_pass_rate
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError

if TYPE_CHECKING:
    import pytest

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_GATEWAY_ID",
    "MARKER",
    "MARKER_OPTIONS",
    "GatewayOptions",
    "RunConfig",
    "resolve_options",
    "run_config",
]

DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
DEFAULT_GATEWAY_ID = "test-gateway"
MARKER = "aigw"
EVAL_MARKER = "aigw_eval"  # also the user_properties key that marks an eval case's reports
MARKER_OPTIONS = (
    "account_id",
    "allow_direct",
    "authenticated",
    "byok_aliases",
    "cache_ttl",
    "credentials",
    "gateway_id",
    "id_format",
    "logs",
    "strict",
)
INI_ACCOUNT_ID = "aigw_account_id"
INI_GATEWAY_ID = "aigw_gateway_id"
INI_STRICT = "aigw_strict"
INI_ALLOW_DIRECT = "aigw_allow_direct"
INI_PROVIDER_HOSTS = "aigw_provider_hosts"

MODES = ("mock", "live")
DEFAULT_GATEWAY_BASE_URL = "https://gateway.ai.cloudflare.com/v1"
DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
RUN_TAG = "aigw_run"  # the metadata key that carries the run id
ENV_ACCOUNT_ID = "CLOUDFLARE_ACCOUNT_ID"
ENV_API_TOKEN = "CLOUDFLARE_API_TOKEN"
ENV_GATEWAY_TOKEN = "PYTEST_AIGW_GATEWAY_TOKEN"


@dataclass(frozen=True)
class Setting:
    """One run-wide setting and where it can be given."""

    option: str
    ini: str
    env: str
    help: str

    @property
    def dest(self) -> str:
        return self.option.lstrip("-").replace("-", "_")


MODE = Setting("--aigw-mode", "aigw_mode", "PYTEST_AIGW_MODE", "mock (default) or live.")
GATEWAY = Setting(
    "--aigw-gateway",
    INI_GATEWAY_ID,
    "PYTEST_AIGW_GATEWAY_ID",
    "Gateway id, for the fake and for live mode.",
)
GATEWAY_BASE_URL = Setting(
    "--aigw-gateway-base-url",
    "aigw_gateway_base_url",
    "PYTEST_AIGW_GATEWAY_BASE_URL",
    f"Live gateway base URL (default {DEFAULT_GATEWAY_BASE_URL}).",
)
API_BASE_URL = Setting(
    "--aigw-api-base-url",
    "aigw_api_base_url",
    "PYTEST_AIGW_API_BASE_URL",
    f"Live Cloudflare API base URL (default {DEFAULT_API_BASE_URL}).",
)
TAGS = Setting(
    "--aigw-tag",
    "aigw_tags",
    "PYTEST_AIGW_TAGS",
    "KEY=VALUE metadata added to every live request, besides test: true (repeatable).",
)
RUN_ID = Setting(
    "--aigw-run-id",
    "aigw_run_id",
    "PYTEST_AIGW_RUN_ID",
    f"Tag every live request with {RUN_TAG}: ID (made up when --aigw-cleanup is set).",
)
CLEANUP = Setting(
    "--aigw-cleanup",
    "aigw_cleanup",
    "PYTEST_AIGW_CLEANUP",
    "In live mode, delete the run's logs through the Logs API at the end.",
)
EVAL_REPORT = Setting(
    "--aigw-eval-report",
    "aigw_eval_report",
    "PYTEST_AIGW_EVAL_REPORT",
    "Write the aigw_eval cases (outcome, log ids, feedback, score, verified) as JSON here.",
)
EVAL_MIN_PASS_RATE = Setting(
    "--aigw-eval-min-pass-rate",
    "aigw_eval_min_pass_rate",
    "PYTEST_AIGW_EVAL_MIN_PASS_RATE",
    "Gate: the run passes if the aigw_eval pass rate reaches R (0-1, or a percentage);"
    " failed eval tests then do not fail the run on their own.",
)
RUN_SETTINGS = (
    MODE,
    GATEWAY,
    GATEWAY_BASE_URL,
    API_BASE_URL,
    TAGS,
    RUN_ID,
    CLEANUP,
    EVAL_REPORT,
    EVAL_MIN_PASS_RATE,
)


@dataclass(frozen=True)
class RunConfig:
    """The run-wide mode and live target. Tokens never appear in its repr."""

    mode: str = "mock"
    gateway_id: str | None = None
    gateway_base_url: str = DEFAULT_GATEWAY_BASE_URL
    api_base_url: str = DEFAULT_API_BASE_URL
    account_id: str | None = None
    api_token: str | None = field(default=None, repr=False)
    gateway_token: str | None = field(default=None, repr=False)
    tags: Mapping[str, object] = field(default_factory=dict)
    run_id: str | None = None
    cleanup: bool = False
    eval_report: str | None = None
    eval_min_pass_rate: float | None = None

    @property
    def live(self) -> bool:
        return self.mode == "live"

    def live_tags(self) -> dict[str, object]:
        """The metadata every live request carries: test: true, the extra tags, the run id."""
        tags: dict[str, object] = {"test": True, **self.tags}
        if self.run_id is not None:
            tags[RUN_TAG] = self.run_id
        return tags

    def missing(self) -> list[str]:
        """What live mode needs and was not given, each named with where to give it."""
        wanted = [
            (self.account_id, f"{ENV_ACCOUNT_ID} (environment)"),
            (self.api_token, f"{ENV_API_TOKEN} (environment)"),
            (
                self.gateway_id,
                f"the gateway id ({GATEWAY.option}, {GATEWAY.env} or ini {GATEWAY.ini})",
            ),
        ]
        return [where for value, where in wanted if not value]

    def target(self) -> tuple[str, str, str]:
        """(account_id, gateway_id, api_token) for live mode; `ConfigError` if any is missing."""
        if not (self.account_id and self.gateway_id and self.api_token):
            raise ConfigError("live mode needs " + "; ".join(self.missing()))
        return self.account_id, self.gateway_id, self.api_token

    def header(self) -> str:
        """The report header line: mode and target, never a secret."""
        if not self.live:
            return "mode=mock"
        return (
            f"mode=live, account={self.account_id}, gateway={self.gateway_id},"
            f" gateway_base_url={self.gateway_base_url}, api_base_url={self.api_base_url},"
            f" tags={json.dumps(self.live_tags(), separators=(',', ':'))}"
        )


def run_config(getoption: Any, getini: Any, environ: Mapping[str, str] = os.environ) -> RunConfig:
    """Resolve the run-wide settings: command line > environment > ini > default.

    *getoption* and *getini* are `pytest.Config.getoption` / `getini`. Raises
    `ConfigError` naming the setting and where it was given.
    """

    def first(setting: Setting) -> tuple[Any, str]:
        given = getoption(setting.dest)
        if given not in (None, [], False):
            return given, setting.option
        if environ.get(setting.env):
            return environ[setting.env], setting.env
        ini = getini(setting.ini)
        if ini not in (None, "", []):
            return ini, f"ini {setting.ini}"
        return None, ""

    mode, where = first(MODE)
    mode = (mode or "mock").strip().lower()
    if mode not in MODES:
        raise ConfigError(f"{where} must be mock or live, got {mode!r}")
    gateway_id, _ = first(GATEWAY)
    run_id, _ = first(RUN_ID)
    cleanup, where_cleanup = first(CLEANUP)
    eval_report, _ = first(EVAL_REPORT)
    return RunConfig(
        mode=mode,
        gateway_id=gateway_id or None,
        gateway_base_url=_base_url(*first(GATEWAY_BASE_URL), DEFAULT_GATEWAY_BASE_URL),
        api_base_url=_base_url(*first(API_BASE_URL), DEFAULT_API_BASE_URL),
        account_id=environ.get(ENV_ACCOUNT_ID) or None,
        api_token=environ.get(ENV_API_TOKEN) or None,
        gateway_token=environ.get(ENV_GATEWAY_TOKEN) or None,
        tags=_tags(*first(TAGS)),
        run_id=run_id or None,
        cleanup=_flag(cleanup, where_cleanup),
        eval_report=eval_report or None,
        eval_min_pass_rate=_rate(*first(EVAL_MIN_PASS_RATE)),
    )


def _rate(value: str | None, where: str) -> float | None:
    """A pass rate from 0 to 1, written as such or as a percentage ("90%")."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        rate = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        raise ConfigError(f"{where} must be a pass rate from 0 to 1 (or 0% to 100%), got {value!r}")
    return rate


def _base_url(value: str | None, where: str, default: str) -> str:
    if value is None:
        return default
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where} must be an http:// or https:// URL, got {value!r}")
    return url


def _tags(value: str | Sequence[str] | None, where: str) -> dict[str, object]:
    """KEY=VALUE pairs (a list, or one comma-separated string); JSON values stay typed."""
    if value is None:
        return {}
    items = value.split(",") if isinstance(value, str) else value
    tags: dict[str, object] = {}
    for item in (part.strip() for part in items):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{where} takes KEY=VALUE tags, got {item!r}")
        tags[key.strip()] = _tag_value(raw.strip())
    return tags


def _tag_value(raw: str) -> object:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, bool | int | float) else raw


def _flag(value: object, where: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{where} must be 1/true/yes or 0/false/no, got {value!r}")


@dataclass(frozen=True)
class GatewayOptions:
    """The settings a `MockGateway` is built with for one test."""

    account_id: str
    gateway_id: str
    strict: bool
    authenticated: bool = False
    credentials: str | None = "provider"  # None: keys not checked
    byok_aliases: Sequence[str] = ("default",)
    cache_ttl: int | None = None
    logs: Any = None  # a LogSettings; typed loosely so this module imports nothing heavy
    id_format: Any = "uuid7"  # checked by the gateway, like every other setting
    allow_direct: bool = False
    provider_hosts: tuple[str, ...] = ()


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """Merge every `aigw` marker on *node*, the closest winning; validate them."""
    merged: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers(MARKER))):
        if mark.args:
            raise ConfigError(
                f"@pytest.mark.{MARKER} takes keyword options only, got positional"
                f" argument(s) {mark.args!r}. Allowed options: {', '.join(MARKER_OPTIONS)}"
            )
        unknown = sorted(set(mark.kwargs) - set(MARKER_OPTIONS))
        if unknown:
            raise ConfigError(
                f"@pytest.mark.{MARKER} got unknown option(s) {', '.join(unknown)}."
                f" Allowed options: {', '.join(MARKER_OPTIONS)}"
            )
        merged.update(mark.kwargs)
    for flag in ("strict", "allow_direct"):
        if flag in merged and not isinstance(merged[flag], bool):
            raise ConfigError(
                f"@pytest.mark.{MARKER}({flag}=...) must be True or False, got {merged[flag]!r}"
            )
    return merged


def resolve_options(node: pytest.Item, defaults: GatewayOptions) -> GatewayOptions:
    """Combine the test's markers with the run-wide *defaults* (ini or built in)."""
    marked = marker_options(node)
    return GatewayOptions(
        account_id=marked.get("account_id", defaults.account_id),
        gateway_id=marked.get("gateway_id", defaults.gateway_id),
        strict=marked.get("strict", defaults.strict),
        authenticated=marked.get("authenticated", defaults.authenticated),
        credentials=marked.get("credentials", defaults.credentials),
        byok_aliases=marked.get("byok_aliases", defaults.byok_aliases),
        cache_ttl=marked.get("cache_ttl", defaults.cache_ttl),
        logs=marked.get("logs", defaults.logs),
        id_format=marked.get("id_format", defaults.id_format),
        allow_direct=marked.get("allow_direct", defaults.allow_direct),
        provider_hosts=defaults.provider_hosts,
    )


def ini_defaults(config: pytest.Config, gateway_id: str | None = None) -> GatewayOptions:
    """The fake's run-wide defaults: *gateway_id*, then the ini file, then built-in ids.

    *gateway_id* is the one `run_config` resolved (option, environment or ini).
    """
    return GatewayOptions(
        account_id=config.getini(INI_ACCOUNT_ID) or DEFAULT_ACCOUNT_ID,
        gateway_id=gateway_id or config.getini(INI_GATEWAY_ID) or DEFAULT_GATEWAY_ID,
        strict=bool(config.getini(INI_STRICT)),
        allow_direct=bool(config.getini(INI_ALLOW_DIRECT)),
        provider_hosts=provider_hosts(config.getini),
    )


def provider_hosts(getini: Any) -> tuple[str, ...]:
    """The ini's extra provider hosts, checked; `ConfigError` names the ini key."""
    from .provider_hosts import host_patterns

    return host_patterns(getini(INI_PROVIDER_HOSTS), f"ini {INI_PROVIDER_HOSTS}")
