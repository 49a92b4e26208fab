"""The fake gateway's settings, defined once: `GatewayArgs` is the table.

Each key of `GatewayArgs` is a setting; its ``Annotated`` type says what values it
takes (the static type) and carries a `Setting`: how values are checked and read from
text, the default, a line of help, and where else it can be given. Every setting is a
`MockGateway` keyword argument and a ``@pytest.mark.aigw(...)`` option; unless told
otherwise it is also an ini key (``aigw_`` + name) and a ``pytest-aigw serve`` flag
(``--`` + name with dashes). A value is checked by the same function wherever it comes
from, so the message is the same (``metadata_as must be 'object' or 'string', got
'x'``); the marker, ini and serve wrappers prefix where it came from.

Adding a setting is one entry here plus its use. A choice and a list of strings read::

    credentials: Annotated[
        Literal["provider", "byok", "unified"],
        Setting(choice("provider", "byok", "unified"), "provider", "who holds provider keys"),
    ]
    byok_aliases: Annotated[
        Sequence[str],  # a list in the marker or constructor, kept as a tuple
        Setting(strings(), (), "stored provider keys by alias", ini=False),
    ]

and arrive as ``aigw(credentials="byok", byok_aliases=["prod"])``,
``MockGateway(credentials="byok", ...)``, ini ``aigw_credentials = byok`` and
``pytest-aigw serve --credentials byok --byok-aliases prod,staging`` (a list flag may
repeat; its text splits on commas and newlines).

This module imports nothing heavy: the plugin reads the ini keys at start-up.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Generic, Literal, TypedDict, TypeVar, get_type_hints

from ._errors import ConfigError
from ._validation import fail, is_number
from .fake.options import BACKOFFS, MAX_CACHE_TTL
from .fake.policies import check_policies
from .fake.spend import check_spend_limits
from .ids import ID_FORMATS, IdFormat, check_id_format

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_GATEWAY_ID",
    "GATEWAY_ID_PATTERN",
    "GatewayArgs",
    "Kind",
    "Setting",
    "check",
    "choice",
    "flag",
    "from_text",
    "names",
    "resolve",
    "seconds",
    "setting",
    "settings",
    "strings",
    "text",
]

T = TypeVar("T")

DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
DEFAULT_GATEWAY_ID = "test-gateway"
GATEWAY_ID_PATTERN = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")  # the gateway's own rule
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_NONE = ("none", "null")


@dataclass(frozen=True)
class Kind(Generic[T]):
    """What values a setting takes: *check* and *parse*, described for people.

    *check(value, name)* returns the value (normalised) or raises `ConfigError`
    ``"{name} must be ..., got {value!r}"``. *parse(text)* turns ini or command-line
    text into a value for *check*, giving back the text itself when it cannot, so the
    message shows what was written. *values* and *metavar* document it; *switch*
    makes a ``--x/--no-x`` flag, *many* a repeatable one.
    """

    check: Callable[[object, str], T]
    parse: Callable[[str], object]
    values: str
    metavar: str = "VALUE"
    switch: bool = False
    many: bool = False


def _rule(rule: str, accepts: Callable[[object], bool]) -> Callable[[object, str], Any]:
    def check(value: object, name: str) -> object:
        if not accepts(value):
            fail(name, value, rule)
        return value

    return check


def _as_is(raw: str) -> object:
    return raw


def text(rule: str, accepts: Callable[[str], bool]) -> Kind[str]:
    """A string that *accepts* approves; *rule* says which, after "must be"."""
    return Kind(_rule(rule, lambda v: isinstance(v, str) and accepts(v)), _as_is, rule, "TEXT")


def _parse_flag(raw: str) -> object:
    lowered = raw.lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else raw


def flag() -> Kind[bool]:
    """True or False (in text: true/false, 1/0, yes/no, on/off)."""
    check = _rule("True or False", lambda v: isinstance(v, bool))
    return Kind(check, _parse_flag, "True or False", switch=True)


def choice(*names: str, note: str = "") -> Kind[Any]:
    """One of *names*; *note* (in brackets after them) says what each is for."""
    rule = " or ".join(repr(name) for name in names) + (f" ({note})" if note else "")
    accepts = _rule(rule, lambda v: isinstance(v, str) and v in names)
    return Kind(accepts, _as_is, rule, "{" + ",".join(names) + "}")


def _number(raw: str) -> object:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def seconds() -> Kind[float]:
    """A duration in seconds, 0 or more."""
    check = _rule("seconds >= 0", lambda v: is_number(v) and v >= 0)  # type: ignore[operator]
    return Kind(check, _number, "seconds >= 0", "SECONDS")


def _parse_optional_whole(raw: str) -> object:
    return None if raw.lower() in _NONE else _number(raw)


def _cache_ttl() -> Kind[int | None]:
    rule = (
        f"whole seconds from 1 to {MAX_CACHE_TTL} (one month), or None for no gateway-wide caching"
    )

    def accepts(value: object) -> bool:
        whole = isinstance(value, int) and not isinstance(value, bool)
        return value is None or (whole and 1 <= value <= MAX_CACHE_TTL)  # type: ignore[operator]

    return Kind(_rule(rule, accepts), _parse_optional_whole, rule, "SECONDS")


def _error_status() -> Kind[int]:
    rule = "an HTTP error status from 400 to 599"
    accepts = _rule(rule, lambda v: _is_whole(v) and 400 <= v <= 599)  # type: ignore[operator]
    return Kind(accepts, _number, rule, "STATUS")


def _optional_code() -> Kind[int | None]:
    rule = "a whole-number error code >= 1, or None for no code"
    accepts = _rule(rule, lambda v: v is None or (_is_whole(v) and v >= 1))  # type: ignore[operator]
    return Kind(accepts, _parse_optional_whole, rule, "CODE")


def _whole(low: int, high: int | None, *, unit: str = "", none: str = "") -> Kind[Any]:
    """A whole number (of *unit*) from *low* to *high*; None too where *none* says what it is."""
    optional = bool(none)
    rule = f"a whole number{unit}" + (
        f" from {low} to {high}" if high is not None else f" >= {low}"
    )
    rule += f", or None ({none})" if optional else ""

    def accepts(value: object) -> bool:
        if value is None:
            return optional
        return _is_whole(value) and low <= value <= (high or value)  # type: ignore[operator]

    parse = _parse_optional_whole if optional else _number
    return Kind(_rule(rule, accepts), parse, rule, "N")


def _interval() -> Kind[float]:
    rule = "seconds > 0"
    return Kind(_rule(rule, lambda v: is_number(v) and v > 0), _number, rule, "SECONDS")  # type: ignore[operator]


def _parse_json(raw: str) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _json_list(check: Callable[[object, str], Any], what: str) -> Kind[Any]:
    return Kind(check, _parse_json, what, "JSON")


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_strings(raw: str) -> object:
    return [part.strip() for part in re.split(r"[,\n]", raw) if part.strip()]


def strings(rule: str = "a list of non-empty strings") -> Kind[tuple[str, ...]]:
    """A list of non-empty strings, kept as a tuple (in text: split on commas and newlines)."""

    def check(value: object, name: str) -> tuple[str, ...]:
        items = _rule(rule, _is_string_list)(value, name)
        return tuple(items)

    return Kind(check, _parse_strings, rule, "NAME[,NAME...]", many=True)


def _is_string_list(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v.strip() for v in value)


def _account_id(value: str) -> bool:
    return bool(value) and "/" not in value


def _gateway_id(value: str) -> bool:
    return len(value) <= 64 and GATEWAY_ID_PATTERN.fullmatch(value) is not None


def _id_format() -> Kind[IdFormat]:
    allowed = " or ".join(repr(name) for name in ID_FORMATS)
    note = " ('uuid7': the gateway's since 2026-10-08; 'ulid': older accounts' logs)"
    return Kind(check_id_format, _as_is, allowed + note, "{" + ",".join(ID_FORMATS) + "}")


_CREDENTIALS = ("provider", "byok", "unified")


def _credentials() -> Kind[str | None]:
    rule = (
        "'provider' (the app sends provider keys), 'byok' (keys stored on the gateway),"
        " 'unified' (Unified Billing) or None (keys not checked)"
    )
    accepts = _rule(rule, lambda v: v is None or (isinstance(v, str) and v in _CREDENTIALS))
    parse = lambda raw: None if raw.lower() in _NONE else raw  # noqa: E731
    return Kind(accepts, parse, rule, "{" + ",".join(_CREDENTIALS) + ",none}")


def _host_patterns() -> Kind[tuple[str, ...]]:
    def check(value: object, name: str) -> tuple[str, ...]:
        from .provider_hosts import host_patterns  # checked against the fake's own hosts

        if not isinstance(value, list | tuple):
            fail(name, value, "a list of host names")
        return host_patterns(value, name)

    return Kind(check, _parse_strings, "a list of host names (* allowed)", "HOST", many=True)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """How one setting is checked, its default, its help, and where it can be given.

    *ini* and *serve* say whether it is an ini key and a ``serve`` flag; *flag* names
    the flag when ``--`` + name does not fit, *ini_name* the ini key after ``aigw_``
    when the name does not. *name* is filled in from the table.
    """

    kind: Kind[T]
    default: T
    help: str
    ini: bool = True
    serve: bool = True
    flag: str = ""
    ini_name: str = ""
    name: str = ""

    @property
    def ini_key(self) -> str | None:
        return f"aigw_{self.ini_name or self.name}" if self.ini else None

    @property
    def option(self) -> str | None:
        """The ``serve`` flag, or None where the setting is not one."""
        if not self.serve:
            return None
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value: object) -> T:
        """*value*, checked (and normalised); `ConfigError` with the one message if bad."""
        return self.kind.check(value, self.name)

    def parse(self, raw: str) -> T:
        """A value from ini or command-line text, checked as any other."""
        return self.check(self.kind.parse(raw.strip()))


class GatewayArgs(TypedDict, total=False):
    """The settings of a fake gateway, as keyword arguments: the one table of them."""

    account_id: Annotated[
        str,
        Setting(
            text("a non-empty string without '/'", _account_id),
            DEFAULT_ACCOUNT_ID,
            "the Cloudflare account id the fake serves",
            flag="--account",
        ),
    ]
    gateway_id: Annotated[
        str,
        Setting(
            text(
                "1-64 characters of a-z, 0-9, '_' and inner '-' (the gateway's own rule)",
                _gateway_id,
            ),
            DEFAULT_GATEWAY_ID,
            "the gateway id the fake serves",
            flag="--gateway",
            ini_name="gateway",  # the twin of --aigw-gateway
        ),
    ]
    strict: Annotated[
        bool,
        Setting(
            flag(),
            True,
            "fail the test at teardown for what the real gateway would refuse or lose",
            serve=False,  # serve reports those findings when it stops
        ),
    ]
    authenticated: Annotated[
        bool,
        Setting(flag(), False, "requests need cf-aig-authorization (401, code 2009, without)"),
    ]
    credentials: Annotated[
        Literal["provider", "byok", "unified"] | None,
        Setting(
            _credentials(),
            "provider",
            "who holds provider keys: the app ('provider': a request without one gets the"
            " provider's 401), keys stored on the gateway ('byok'), or Unified Billing"
            " ('unified')",
        ),
    ]
    byok_aliases: Annotated[
        Sequence[str],
        Setting(
            strings("a list of alias names such as ['default', 'team-a']"),
            ("default",),
            "the aliases of the provider keys stored (BYOK)",
        ),
    ]
    allow_direct: Annotated[
        bool,
        Setting(
            flag(),
            False,
            "let requests to model providers' own hosts through instead of refusing them",
            serve=False,  # serve intercepts nothing: only what is sent to it reaches it
        ),
    ]
    provider_hosts: Annotated[
        Sequence[str],
        Setting(
            _host_patterns(),
            (),
            "more model provider hosts to refuse while the fake runs (* allowed)",
            serve=False,
        ),
    ]
    cache_ttl: Annotated[
        int | None,
        Setting(_cache_ttl(), None, "cache every request for this many seconds"),
    ]
    timeout_status: Annotated[
        int,
        Setting(
            _error_status(),
            504,
            "the status of the fake's (invented) answer to a cf-aig-request-timeout overrun",
        ),
    ]
    timeout_code: Annotated[
        int | None,
        Setting(
            _optional_code(),
            None,
            "the gateway code of that answer (default none: Cloudflare documents none)",
        ),
    ]
    guardrail_stream: Annotated[
        Literal["json", "sse"],
        Setting(
            choice("json", "sse"),
            "json",
            "what a streamed request gets under Guardrails response checks on the gateway URL:"
            " one JSON payload ('json') or the whole stream at once ('sse')",
        ),
    ]
    rate_limit: Annotated[
        int | None,
        Setting(
            _whole(1, None, unit=" of requests", none="no rate limiting"),
            None,
            "requests per rate_limit_interval before the gateway answers 429 (code 2003)",
        ),
    ]
    rate_limit_interval: Annotated[
        float,
        Setting(_interval(), 60.0, "the rate limit's window, in seconds"),
    ]
    rate_limit_technique: Annotated[
        Literal["fixed", "sliding"],
        Setting(choice("fixed", "sliding"), "fixed", "how the rate limit's window moves"),
    ]
    spend_limits: Annotated[
        Sequence[Mapping[str, Any]],
        Setting(
            _json_list(check_spend_limits, "a list of spend-limit rules"),
            (),
            "cost budgets by provider, model or metadata key (429, code 2045), as JSON",
        ),
    ]
    policies: Annotated[
        Sequence[Mapping[str, Any]],
        Setting(
            _json_list(check_policies, "a list of policies"),
            (),
            "who may use which models (403 'Access denied by policy'; 429 past a budget), as JSON",
        ),
    ]
    budget_grace: Annotated[
        int,
        Setting(
            _whole(0, None),
            1,
            "requests let through once a budget is reached (the gateway records cost late)",
        ),
    ]
    retry_max_attempts: Annotated[
        int,
        Setting(
            _whole(1, 5),
            1,
            "the gateway's default attempts at a failing provider (cf-aig-max-attempts wins)",
        ),
    ]
    retry_delay: Annotated[
        int,
        Setting(
            _whole(0, 5000, unit=" of ms"),
            0,
            "the gateway's default retry delay in ms (cf-aig-retry-delay wins)",
        ),
    ]
    retry_backoff: Annotated[
        Literal["constant", "linear", "exponential"],
        Setting(
            choice(*BACKOFFS),
            "constant",
            "the gateway's default retry backoff (cf-aig-backoff wins)",
        ),
    ]
    id_format: Annotated[
        IdFormat,
        Setting(_id_format(), "uuid7", "the format of the log ids issued"),
    ]
    metadata_as: Annotated[
        Literal["object", "string"],
        Setting(
            choice("object", "string"),
            "object",
            "how the Logs API shows log metadata: as an object (as observed live) or as a"
            " JSON string (as the OpenAPI schema and the SDKs type it)",
        ),
    ]
    feedback_in_get: Annotated[
        bool,
        Setting(flag(), True, "a log's detail carries feedback and score once set"),
    ]
    visibility_lag: Annotated[
        float,
        Setting(seconds(), 0.0, "seconds before a new log is listed by the Logs API"),
    ]
    detail_lag: Annotated[
        float,
        Setting(seconds(), 0.0, "seconds before a log's heads, sizes and bodies fill in"),
    ]


@cache
def settings() -> tuple[Setting[Any], ...]:
    """Every setting, in table order, named."""
    hints = get_type_hints(GatewayArgs, include_extras=True)
    table = []
    for name, hint in hints.items():
        (entry,) = (m for m in hint.__metadata__ if isinstance(m, Setting))
        table.append(dataclasses.replace(entry, name=name))
    return tuple(table)


def setting(name: str) -> Setting[Any]:
    """The setting called *name*."""
    return _by_name()[name]


@cache
def _by_name() -> dict[str, Setting[Any]]:
    return {entry.name: entry for entry in settings()}


def names() -> tuple[str, ...]:
    """The settings' names, sorted."""
    return tuple(sorted(_by_name()))


def check(given: Mapping[str, object], where: str = "", *, owner: str = "") -> dict[str, Any]:
    """Check every value in *given*; messages are prefixed with *where* (and ": ").

    A name that is no setting raises `ConfigError` naming *owner* (or *where*) and
    listing the settings.
    """
    unknown = sorted(set(given) - set(_by_name()))
    if unknown:
        raise ConfigError(
            f"{owner or where} got unknown setting(s) {', '.join(unknown)}."
            f" Settings: {', '.join(names())}"
        )
    checked: dict[str, Any] = {}
    for name, value in given.items():
        try:
            checked[name] = setting(name).check(value)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}" if where else str(error)) from None
    return checked


def resolve(given: Mapping[str, object], where: str = "", *, owner: str = "") -> GatewayArgs:
    """Every setting: the checked values of *given*, defaults for the rest."""
    values = {entry.name: entry.default for entry in settings()}
    values.update(check(given, where, owner=owner))
    return values  # type: ignore[return-value]


def from_text(entry: Setting[T], raw: str, where: str) -> T:
    """*entry*'s value from the text *raw*; the message names *where* it was written."""
    try:
        return entry.parse(raw)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
