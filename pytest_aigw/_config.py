"""Resolve a test's fake-gateway settings: the closest marker, then ini, then defaults.

The settings themselves (names, values, defaults, ini keys) are defined once, in
`pytest_aigw.settings`. ``@pytest.mark.aigw(...)`` takes any of them, plus
``log_settings=`` (a `LogSettings`, the older way to give the log settings, spelt as
`MockGateway` takes it; ``logs=`` is its first spelling, still taken). Markers on the
module, class and function merge; the closest one wins per key. The ini keys are read once, at
start-up; ``--aigw-gateway`` (or its environment twin) wins over ``aigw_gateway``
(``aigw_gateway_id``, its old name, is still read).

The run-wide settings (`RunConfig`: mode and live target) resolve command line >
environment > ini > default; credentials come from the environment only.

    setting           option                   env (PYTEST_AIGW_...)   ini
    mode              --aigw-mode              MODE                    aigw_mode
    gateway id        --aigw-gateway           GATEWAY_ID              aigw_gateway
    gateway base URL  --aigw-gateway-base-url  GATEWAY_BASE_URL        aigw_gateway_base_url
    API base URL      --aigw-api-base-url      API_BASE_URL            aigw_api_base_url
    extra tags        --aigw-tag KEY=VALUE     TAGS (k=v,k=v)          aigw_tags (lines)
    run id            --aigw-run-id            RUN_ID                  aigw_run_id
    clean-up          --aigw-cleanup           CLEANUP=1               aigw_cleanup
    eval report       --aigw-eval-report=PATH  EVAL_REPORT             aigw_eval_report
    eval HTML report  --aigw-eval-html=PATH    EVAL_HTML               aigw_eval_html
    eval gate         --aigw-eval-min-pass-rate=R  EVAL_MIN_PASS_RATE  aigw_eval_min_pass_rate
    eval journal      --aigw-eval-journal=DIR  EVAL_JOURNAL            aigw_eval_journal
    submit deadline   --aigw-eval-submit-timeout=S  EVAL_SUBMIT_TIMEOUT  aigw_eval_submit_timeout
    Retry-After cap   --aigw-max-retry-after=S  MAX_RETRY_AFTER        aigw_max_retry_after
    redacted names    --aigw-redact NAME       REDACT (a,b)            aigw_redact (lines)
    recording         --aigw-record[=MODE]     RECORD                  aigw_record
    cassette dir      --aigw-cassette-dir=DIR  CASSETTE_DIR            aigw_cassette_dir
    hide account id   --aigw-record-redact-account
                                               RECORD_REDACT_ACCOUNT=1 aigw_record_redact_account
    spending cap      --aigw-max-cost=USD      MAX_COST                aigw_max_cost
    eval baseline     --aigw-eval-baseline=PATH  EVAL_BASELINE         aigw_eval_baseline
    regression gate   --aigw-eval-fail-on-regression  EVAL_FAIL_ON_REGRESSION=1
                                                                   aigw_eval_fail_on_regression
    calls shown       --aigw-show-calls=N      SHOW_CALLS              aigw_show_calls

Redacted names add up from all three places rather than one winning: a secret named
anywhere stays hidden.

``--aigw-eval-resubmit`` is an action rather than a setting (command line only): the run
collects no tests and sends what the journal holds.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from . import settings
from ._errors import ConfigError
from ._validation import check, check_number, fail
from .settings import DEFAULT_ACCOUNT_ID, DEFAULT_GATEWAY_ID

if TYPE_CHECKING:
    import pytest

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_GATEWAY_ID",
    "MARKER",
    "ClientArgs",
    "RunConfig",
    "ini_settings",
    "marker_options",
    "resolve_options",
    "run_config",
]

MARKER = "aigw"
EVAL_MARKER = "aigw_eval"  # also the user_properties key that marks an eval case's reports
LOG_SETTINGS = "log_settings"  # aigw(log_settings=LogSettings(...)): the four in one value
OLD_LOG_SETTINGS = "logs"  # its first spelling in the marker, kept for suites that use it
INI_GATEWAY = settings.setting("gateway_id").ini_key or ""
OLD_INI_KEYS = {INI_GATEWAY: "aigw_gateway_id"}  # ini keys' old names, still read

MODES = ("mock", "live", "replay")
DEFAULT_GATEWAY_BASE_URL = "https://gateway.ai.cloudflare.com/v1"
DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
RUN_TAG = "aigw_run"  # the metadata key that carries the run id
ENV_ACCOUNT_ID = "CLOUDFLARE_ACCOUNT_ID"
ENV_API_TOKEN = "CLOUDFLARE_API_TOKEN"
ENV_GATEWAY_TOKEN = "PYTEST_AIGW_GATEWAY_TOKEN"
JOURNAL_DIR = "aigw-eval-journal"  # under pytest's cache directory
DEFAULT_SUBMIT_TIMEOUT = 300.0  # 500 verdicts take about 510 calls, 2 minutes at the API limit
DEFAULT_MAX_RETRY_AFTER = 60.0
DEFAULT_SHOW_CALLS = 10  # a failed test's calls shown: the first and last few


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


MODE = Setting(
    "--aigw-mode",
    "aigw_mode",
    "PYTEST_AIGW_MODE",
    "mock (default), live, or replay (aigw_live tests answered from their cassettes).",
)
GATEWAY = Setting(
    "--aigw-gateway",
    INI_GATEWAY,
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
EVAL_HTML = Setting(
    "--aigw-eval-html",
    "aigw_eval_html",
    "PYTEST_AIGW_EVAL_HTML",
    "Write the eval run as one self-contained HTML page here (charts, cases, exchanges).",
)
EVAL_MIN_PASS_RATE = Setting(
    "--aigw-eval-min-pass-rate",
    "aigw_eval_min_pass_rate",
    "PYTEST_AIGW_EVAL_MIN_PASS_RATE",
    "Gate: the run passes if the aigw_eval pass rate reaches R (0-1, or a percentage);"
    " failed eval tests then do not fail the run on their own.",
)
REDACT = Setting(
    "--aigw-redact",
    "aigw_redact",
    "PYTEST_AIGW_REDACT",
    "More header or query parameter names whose values are redacted wherever a request is"
    " kept or shown (repeatable; *-suffix for every name ending so).",
)
EVAL_JOURNAL = Setting(
    "--aigw-eval-journal",
    "aigw_eval_journal",
    "PYTEST_AIGW_EVAL_JOURNAL",
    f"Directory of the live eval verdict journal (default: {JOURNAL_DIR} in pytest's"
    " cache directory): verdicts are written there before any network call.",
)
EVAL_SUBMIT_TIMEOUT = Setting(
    "--aigw-eval-submit-timeout",
    "aigw_eval_submit_timeout",
    "PYTEST_AIGW_EVAL_SUBMIT_TIMEOUT",
    f"Seconds the end of a live run may spend sending eval feedback (default"
    f" {DEFAULT_SUBMIT_TIMEOUT:g}); what is not sent by then stays in the journal.",
)
MAX_RETRY_AFTER = Setting(
    "--aigw-max-retry-after",
    "aigw_max_retry_after",
    "PYTEST_AIGW_MAX_RETRY_AFTER",
    f"The longest Retry-After (seconds) the Logs API client waits before a retry"
    f" (default {DEFAULT_MAX_RETRY_AFTER:g}).",
)
RECORD_MODES = ("once", "new_episodes", "all", "none")
RECORD = Setting(
    "--aigw-record",
    "aigw_record",
    "PYTEST_AIGW_RECORD",
    "In live mode, write what each aigw_live test exchanged with Cloudflare to its cassette:"
    " once (the default when given bare: tests with no cassette yet), new_episodes (add"
    " the requests a cassette lacks), all (write every cassette again) or none.",
)
CASSETTE_DIR = Setting(
    "--aigw-cassette-dir",
    "aigw_cassette_dir",
    "PYTEST_AIGW_CASSETTE_DIR",
    "Directory of the cassettes, relative to the rootdir (default: a 'cassettes' directory"
    " beside each test module).",
)
RECORD_REDACT_ACCOUNT = Setting(
    "--aigw-record-redact-account",
    "aigw_record_redact_account",
    "PYTEST_AIGW_RECORD_REDACT_ACCOUNT",
    "Write <account> for the Cloudflare account id in recorded cassettes.",
)
MAX_COST = Setting(
    "--aigw-max-cost",
    "aigw_max_cost",
    "PYTEST_AIGW_MAX_COST",
    "Spending cap (USD): once the run's spend, as the gateway logs it, reaches it, the"
    " remaining live and eval tests are skipped.",
)
EVAL_BASELINE = Setting(
    "--aigw-eval-baseline",
    "aigw_eval_baseline",
    "PYTEST_AIGW_EVAL_BASELINE",
    "A previous --aigw-eval-report to compare the eval cases with: regressions, fixes,"
    " new and removed cases, score and cost changes.",
)
EVAL_FAIL_ON_REGRESSION = Setting(
    "--aigw-eval-fail-on-regression",
    "aigw_eval_fail_on_regression",
    "PYTEST_AIGW_EVAL_FAIL_ON_REGRESSION",
    "Fail the run when an eval case that passed in the baseline fails now.",
)
SHOW_CALLS = Setting(
    "--aigw-show-calls",
    "aigw_show_calls",
    "PYTEST_AIGW_SHOW_CALLS",
    f"How many of its gateway calls a failed test's report shows (default"
    f" {DEFAULT_SHOW_CALLS}: the first and last few); 0 leaves the section out.",
)
EVAL_RESUBMIT = "--aigw-eval-resubmit"
EVAL_RESUBMIT_DEST = "aigw_eval_resubmit"
EVAL_RESUBMIT_HELP = (
    "Run no tests: send the eval verdicts an earlier live run left in the journal"
    " (needs CLOUDFLARE_API_TOKEN)."
)
DRIFT = Setting(
    "--aigw-drift",
    "aigw_drift",
    "PYTEST_AIGW_DRIFT",
    "At the end of a replay run, report where the fake's default answers differ from"
    " the run's cassettes; the run fails on a difference outside --aigw-drift-allow.",
)
DRIFT_ALLOW = Setting(
    "--aigw-drift-allow",
    "aigw_drift_allow",
    "PYTEST_AIGW_DRIFT_ALLOW",
    "Allow-list file of the drift report: one key 'kind | where | real | fake' a line, or JSON.",
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
    EVAL_JOURNAL,
    EVAL_SUBMIT_TIMEOUT,
    MAX_RETRY_AFTER,
    MAX_COST,
    EVAL_BASELINE,
    EVAL_FAIL_ON_REGRESSION,
    SHOW_CALLS,
    EVAL_HTML,
)


class ClientArgs(TypedDict):
    """The live run's target and Retry-After cap, as keyword arguments."""

    account_id: str
    gateway_id: str
    api_token: str
    max_retry_after: float


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
    eval_html: str | None = None
    eval_min_pass_rate: float | None = None
    eval_journal: str | None = None
    eval_submit_timeout: float = DEFAULT_SUBMIT_TIMEOUT
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    resubmit: bool = False
    max_cost: float | None = None
    eval_baseline: str | None = None
    eval_fail_on_regression: bool = False
    show_calls: int = DEFAULT_SHOW_CALLS

    @property
    def live(self) -> bool:
        return self.mode == "live"

    @property
    def replay(self) -> bool:
        return self.mode == "replay"

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

    def client_args(self) -> ClientArgs:
        """What every Cloudflare API client of the live run is built with (`target` checked)."""
        account_id, gateway_id, api_token = self.target()
        return {
            "account_id": account_id,
            "gateway_id": gateway_id,
            "api_token": api_token,
            "max_retry_after": self.max_retry_after,
        }

    def header(self) -> str:
        """The report header line: mode and target, never a secret."""
        if not self.live:
            return "mode=mock"
        return (
            f"mode=live, account={self.account_id}, gateway={self.gateway_id},"
            f" gateway_base_url={self.gateway_base_url}, api_base_url={self.api_base_url},"
            f" tags={json.dumps(self.live_tags(), separators=(',', ':'))}"
        )


def given_value(
    setting: Setting, getoption: Any, getini: Any, environ: Mapping[str, str] = os.environ
) -> tuple[Any, str]:
    """*setting*'s value, command line > environment > ini, and where it was given."""
    given = getoption(setting.dest)
    if given not in (None, [], False):
        return given, setting.option
    if environ.get(setting.env):
        return environ[setting.env], setting.env
    return read_ini(getini, setting.ini)


def flag_value(value: object, where: str) -> bool:
    """An on/off setting's value (1/true/yes/on or 0/false/no/off); `ConfigError` if neither."""
    return _flag(value, where)


def run_config(getoption: Any, getini: Any, environ: Mapping[str, str] = os.environ) -> RunConfig:
    """Resolve the run-wide settings: command line > environment > ini > default.

    *getoption* and *getini* are `pytest.Config.getoption` / `getini`. Raises
    `ConfigError` naming the setting and where it was given.
    """

    def first(setting: Setting) -> tuple[Any, str]:
        return given_value(setting, getoption, getini, environ)

    mode, where = first(MODE)
    mode = (mode or "mock").strip().lower()
    if mode not in MODES:
        fail(where, mode, "mock, live or replay")
    gateway_id, _ = first(GATEWAY)
    run_id, _ = first(RUN_ID)
    cleanup, where_cleanup = first(CLEANUP)
    eval_report, where_report = first(EVAL_REPORT)
    eval_journal, where_journal = first(EVAL_JOURNAL)
    baseline, where_baseline = first(EVAL_BASELINE)
    fail_on_regression, where_regression = first(EVAL_FAIL_ON_REGRESSION)
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
        eval_report=_report_path(eval_report, where_report),
        eval_html=_report_path(*first(EVAL_HTML), example="eval.html"),
        eval_min_pass_rate=_rate(*first(EVAL_MIN_PASS_RATE)),
        eval_journal=_directory(eval_journal, where_journal),
        eval_submit_timeout=_seconds(*first(EVAL_SUBMIT_TIMEOUT), DEFAULT_SUBMIT_TIMEOUT),
        max_retry_after=_seconds(*first(MAX_RETRY_AFTER), DEFAULT_MAX_RETRY_AFTER),
        resubmit=bool(getoption(EVAL_RESUBMIT_DEST, False)),
        max_cost=_usd(*first(MAX_COST)),
        eval_baseline=_baseline(baseline, where_baseline),
        eval_fail_on_regression=_regression_gate(
            _flag(fail_on_regression, where_regression), where_regression, baseline
        ),
        show_calls=_count(*first(SHOW_CALLS), DEFAULT_SHOW_CALLS),
    )


def redact_names(
    getoption: Any, getini: Any, environ: Mapping[str, str] = os.environ
) -> tuple[str, ...]:
    """The names to redact besides the built-in set: option, environment and ini together.

    Raises `ConfigError` naming where a bad name was given.
    """
    from .redaction import redaction_names, split_names

    given = [
        (getoption(REDACT.dest) or [], REDACT.option),
        (split_names(environ.get(REDACT.env, "")), REDACT.env),
        (getini(REDACT.ini) or [], f"ini {REDACT.ini}"),
    ]
    return tuple(name for values, where in given for name in redaction_names(values, where))


def _seconds(value: str | None, where: str, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(str(value).strip())
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigError(f"{where} must be seconds >= 0, got {value!r}")
    return seconds


def _usd(value: str | None, where: str) -> float | None:
    """An amount in US dollars above 0 ("0.5" or "$0.50")."""
    if value is None or not str(value).strip():
        return None
    try:
        amount = float(str(value).strip().removeprefix("$"))
    except ValueError:
        amount = math.nan
    check(where, value, math.isfinite(amount) and amount > 0, "an amount in USD above 0, e.g. 0.50")
    return amount


def _baseline(value: str | None, where: str) -> str | None:
    """The baseline report's path, refused now if it cannot be read as an eval report."""
    if not value:
        return None
    from .eval_baseline import read_baseline

    read_baseline(value, where)
    return value


def _regression_gate(on: bool, where: str, baseline: str | None) -> bool:
    if on and not baseline:
        raise ConfigError(
            f"{where} compares with a baseline: give {EVAL_BASELINE.option}=PATH (a previous"
            f" {EVAL_REPORT.option}), or leave {where} out"
        )
    return on


def _count(value: str | None, where: str, default: int) -> int:
    if value is None:
        return default
    text = str(value).strip()
    check(where, value, text.isdigit() and text.isascii(), "a whole number >= 0")
    return int(text)


def _blocking_file(path: Path) -> Path | None:
    """The first existing parent of *path* that is a file (so *path* cannot be made)."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _report_path(value: str | None, where: str, example: str = "eval.json") -> str | None:
    """An eval report's path, refused now if the file could never be written there."""
    if not value:
        return None
    path = Path(value)
    if path.is_dir():
        raise ConfigError(
            f"{where} must name a file, got {value!r}, which is a directory;"
            f" give a file in it, such as {str(path / example)!r}"
        )
    blocking = _blocking_file(path)
    if blocking is not None:
        raise ConfigError(
            f"{where} cannot be written at {value!r}: {str(blocking)!r} is a file, not a"
            " directory; give a path under a directory"
        )
    return value


def _directory(value: str | None, where: str) -> str | None:
    """The journal directory, refused now if it is a file or lies under one."""
    if not value:
        return None
    path = Path(value)
    blocking = path if path.exists() and not path.is_dir() else _blocking_file(path)
    if blocking is not None:
        raise ConfigError(
            f"{where} must be a directory, got {value!r}, but {str(blocking)!r} is a file;"
            " give a directory path"
        )
    return value


def _rate(value: str | None, where: str) -> float | None:
    """A pass rate from 0 to 1, written as such or as a percentage ("90%")."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        rate = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        rate = -1.0
    check(where, value, 0 <= rate <= 1, "a pass rate from 0 to 1 (or 0% to 100%)")
    return rate


def _base_url(value: str | None, where: str, default: str) -> str:
    if value is None:
        return default
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        fail(where, value, "an http:// or https:// URL")
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
            fail(where, item, "KEY=VALUE tags")
        tags[key.strip()] = _tag_value(raw.strip(), f"{where} tag {key.strip()!r}")
    return tags


def _tag_value(raw: str, where: str) -> object:
    """A JSON number or boolean stays one; anything else (NaN and Infinity too) is text."""
    try:
        value = json.loads(raw, parse_constant=lambda constant: raw)
    except (ValueError, RecursionError):
        return raw
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return check_number(where, value, expected="a number a float can hold, or text")
    return raw


def _flag(value: object, where: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    return fail(where, value, "1/true/yes or 0/false/no")


def marker_options() -> tuple[str, ...]:
    """The keywords ``@pytest.mark.aigw`` takes: every setting, and ``log_settings``."""
    return tuple(sorted((*settings.names(), LOG_SETTINGS)))


def _marked(node: pytest.Item) -> dict[str, Any]:
    """Merge every `aigw` marker on *node*, the closest winning per key."""
    where = f"@pytest.mark.{MARKER}"
    allowed = ", ".join(marker_options())
    merged: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers(MARKER))):
        if mark.args:
            raise ConfigError(
                f"{where} takes keyword options only, got positional"
                f" argument(s) {mark.args!r}. Allowed options: {allowed}"
            )
        unknown = sorted(set(mark.kwargs) - {*marker_options(), OLD_LOG_SETTINGS})
        if unknown:
            raise ConfigError(
                f"{where} got unknown option(s) {', '.join(unknown)}. Allowed options: {allowed}"
            )
        given = dict(mark.kwargs)
        named = [name for name in (LOG_SETTINGS, OLD_LOG_SETTINGS) if name in given]
        if len(named) > 1:
            raise ConfigError(f"{where} takes log_settings= or logs= (its old name), not both")
        if named:
            from .logstore import log_settings_fields

            value = given.pop(named[0])
            try:
                given = {**log_settings_fields(value, named[0]), **given}
            except ConfigError as error:
                raise ConfigError(f"{where}: {error}") from None
        merged.update(given)
    return settings.check(merged, where)


def read_ini(getini: Any, key: str) -> tuple[Any, str]:
    """The value of the ini *key* (or of its old name) and where it was given; (None, "")."""
    for name in (key, OLD_INI_KEYS.get(key)):
        value = getini(name) if name else None
        if value not in (None, "", []):
            return value, f"ini {name}"
    return None, ""


def ini_settings(getini: Any, gateway_id: str | None = None) -> dict[str, Any]:
    """The settings given in the ini file (checked), and *gateway_id* over its own key.

    *getini* is `pytest.Config.getini`; *gateway_id* is the one `run_config` resolved
    (option, environment or ini). Raises `ConfigError` naming the ini key.
    """
    given: dict[str, Any] = {}
    for entry in settings.settings():
        raw, where = read_ini(getini, entry.ini_key) if entry.ini_key else (None, "")
        if raw is not None and raw.strip():
            given[entry.name] = settings.from_text(entry, raw, where)
    if gateway_id:
        where = f"{GATEWAY.option} or {GATEWAY.env}"
        given.update(settings.check({"gateway_id": gateway_id}, where))
    return given


def resolve_options(node: pytest.Item, ini: dict[str, Any]) -> dict[str, Any]:
    """The test's settings as `MockGateway` keywords: its markers over *ini* (checked)."""
    return {**ini, **_marked(node)}
