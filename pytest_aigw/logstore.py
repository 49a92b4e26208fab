"""The gateway's logs in memory: one per call, filtered, ordered and paged like the Logs API.

A log is visible to the Logs API once `visible_at` has passed on the fake's clock, and
its detail fields (`request_head`, `response_head`, sizes) once `details_at` has: both
equal `created` unless a test asks for the eventual consistency the real API shows.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from operator import attrgetter
from typing import Any, Literal

from ._validation import fail
from .metadata import MetadataValue
from .settings import check

__all__ = [
    "FILTER_KEYS",
    "HEAD_LIMIT",
    "LIST_ORDER_KEYS",
    "OPERATORS",
    "LogCondition",
    "LogSettings",
    "LogStore",
    "StoredLog",
    "iso_time",
    "log_settings_fields",
]

HEAD_LIMIT = 1024  # characters of a body shown as `request_head` / `response_head`
FILTER_KEYS = (
    "id", "created_at", "request_content_type", "response_content_type", "request_type",
    "success", "cached", "provider", "model", "model_type", "cost", "tokens", "tokens_in",
    "tokens_out", "duration", "feedback", "event_id", "metadata.key", "metadata.value",
    "authentication", "wholesale", "compatibilityMode", "dlp_action", "user_agent",
    "prompts.prompt_id", "prompts.version_id",
)  # fmt: skip
OPERATORS = ("eq", "neq", "contains", "lt", "gt")
LIST_ORDER_KEYS = ("created_at", "provider", "model", "model_type", "success", "cached")
DELETE_ORDER_KEYS = (
    *LIST_ORDER_KEYS, "cost", "tokens_in", "tokens_out", "duration", "feedback",
)  # fmt: skip
FilterValue = str | int | float | bool | None


@dataclass(frozen=True)
class LogSettings:
    """How the fake Logs API shows logs, where the sources disagree or timing matters.

    *metadata_as*: ``"object"`` (as observed live, the default) or ``"string"`` (as the
    OpenAPI schema and the SDK type it). *feedback_in_get*: whether a log's detail
    carries `feedback` and `score` once set (no schema lists them). *visibility_lag*
    and *detail_lag*: seconds before a new log is listed, and before its detail fields
    fill in.
    """

    metadata_as: Literal["object", "string"] = "object"
    feedback_in_get: bool = True
    visibility_lag: float = 0.0
    detail_lag: float = 0.0

    def __post_init__(self) -> None:
        check(asdict(self))  # the settings table's checks and messages

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> LogSettings:
        """The log settings among a gateway's *settings* (a `GatewayArgs`)."""
        return cls(**{entry.name: settings[entry.name] for entry in fields(cls)})


def log_settings_fields(value: object, name: str = "log_settings") -> dict[str, Any]:
    """The fields of *value*, a `LogSettings`, by name; `ConfigError` if it is not one."""
    if not isinstance(value, LogSettings):
        fail(name, value, "a pytest_aigw.LogSettings(...)")
    return asdict(value)


@dataclass(slots=True)
class StoredLog:
    """One stored log; field names follow the Logs API."""

    id: str
    created: float  # epoch seconds on the fake's clock
    provider: str
    model: str
    path: str
    model_type: str = ""
    duration: int = 0
    success: bool = True
    status_code: int = 200
    cached: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float = 0.0
    custom_cost: bool = False
    metadata: dict[str, MetadataValue] | None = None
    step: int = 0
    event_id: str | None = None
    request_type: str = "universal"
    request_content_type: str = "application/json"
    response_content_type: str = "application/json"
    request_body: bytes | None = None
    response_body: bytes | None = None
    request_size: int = 0
    response_size: int = 0
    feedback: float | None = None
    score: float | None = None
    wholesale: bool = False  # Unified Billing paid
    byok: bool = False  # a key stored on the gateway paid
    authentication: bool = False  # the request carried cf-aig-authorization
    user_agent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # seeded fields we do not model
    visible_at: float = 0.0
    details_at: float = 0.0
    search_text: str = field(default="", repr=False)  # metadata, lowercased, for `search`

    @property
    def created_at(self) -> str:
        return iso_time(self.created)


def iso_time(epoch: float) -> str:
    """RFC 3339 with milliseconds and `Z`, as the Logs API writes `created_at`."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class LogCondition:
    """One `filters` entry: logs whose *key* relates to any of *values* by *operator*."""

    key: str
    operator: str
    values: tuple[FilterValue, ...]

    def predicate(self) -> Callable[[StoredLog], bool]:
        """A fast test for this filter: the common text `eq` cases skip the general path."""
        texts = frozenset(v for v in self.values if isinstance(v, str))
        if self.operator == "eq" and len(texts) == len(self.values):
            if self.key in _TEXT_FIELDS:
                read = _FIELD[self.key]
                return lambda log: read(log) in texts
            if self.key == "metadata.value":
                return _metadata_value_in(texts)
        return self.matches

    def matches(self, log: StoredLog) -> bool:
        if self.key == "metadata.key":
            return any(_compare(self.operator, k, self.values) for k in (log.metadata or {}))
        if self.key == "metadata.value":
            entries = (log.metadata or {}).values()
            return any(_compare(self.operator, v, self.values) for v in entries)
        return _compare(self.operator, _FIELD[self.key](log), self.values)


_TEXT_FIELDS = frozenset(
    {"id", "provider", "model", "model_type", "request_type", "request_content_type",
     "response_content_type", "event_id", "user_agent"}
)  # fmt: skip


def _metadata_value_in(texts: frozenset[str]) -> Callable[[StoredLog], bool]:
    """Logs with a metadata value equal to one of *texts* (booleans and numbers too)."""
    flags = {t.lower() for t in texts} & {"true", "false"}
    numbers = {n for n in map(_number, texts) if n is not None}

    def test(log: StoredLog) -> bool:
        entries = log.metadata
        if not entries:
            return False
        if not texts.isdisjoint(entries.values()):
            return True
        if not flags and not numbers:
            return False  # "true" or "5" could still equal a boolean or a number; these cannot
        for value in entries.values():
            if isinstance(value, bool):
                if str(value).lower() in flags:
                    return True
            elif isinstance(value, int | float) and _number(value) in numbers:
                return True
        return False

    return test


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range (seeded from Python)
            return math.inf if value > 0 else -math.inf
    try:
        return float(str(value))
    except ValueError:
        return None


def _equal(actual: object, wanted: FilterValue) -> bool:
    if actual is None or wanted is None:
        return actual is wanted
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return str(actual).lower() == str(wanted).lower()
    if isinstance(actual, int | float):
        return _number(wanted) == _number(actual)
    return str(actual) == str(wanted)


def _ordered(actual: object, wanted: FilterValue, less: bool) -> bool:
    a, w = _number(actual), _number(wanted)
    if a is None or w is None:
        if not isinstance(actual, str) or not isinstance(wanted, str):
            return False
        return actual < wanted if less else actual > wanted  # ISO times compare as text
    return a < w if less else a > w


def _compare(operator: str, actual: object, values: tuple[FilterValue, ...]) -> bool:
    if operator == "eq":
        return any(_equal(actual, v) for v in values)
    if operator == "neq":
        return not any(_equal(actual, v) for v in values)
    if operator == "contains":
        return actual is not None and any(str(v) in str(actual) for v in values)
    return any(_ordered(actual, v, less=operator == "lt") for v in values)


def _total_tokens(log: StoredLog) -> int | None:
    if log.tokens_in is None and log.tokens_out is None:
        return None
    return (log.tokens_in or 0) + (log.tokens_out or 0)


_FIELD: dict[str, Callable[[StoredLog], object]] = {
    "id": lambda log: log.id,
    "created_at": lambda log: log.created_at,
    "request_content_type": lambda log: log.request_content_type,
    "response_content_type": lambda log: log.response_content_type,
    "request_type": lambda log: log.request_type,
    "success": lambda log: log.success,
    "cached": lambda log: log.cached,
    "provider": lambda log: log.provider,
    "model": lambda log: log.model,
    "model_type": lambda log: log.model_type,
    "cost": lambda log: log.cost,
    "tokens": _total_tokens,
    "tokens_in": lambda log: log.tokens_in,
    "tokens_out": lambda log: log.tokens_out,
    "duration": lambda log: log.duration,
    "feedback": lambda log: log.feedback,
    "event_id": lambda log: log.event_id,
    "wholesale": lambda log: log.wholesale,
    "authentication": lambda log: log.authentication,
    "user_agent": lambda log: log.user_agent,
}


def _seeded(key: str) -> Callable[[StoredLog], object]:
    return lambda log: log.extra.get(key)


for _key in FILTER_KEYS:
    _FIELD.setdefault(_key, _seeded(_key))


_NEVER_NULL = frozenset({"created_at", "provider", "model", "model_type", "success", "cached"})


def _sort(logs: list[StoredLog], order_by: str, descending: bool) -> None:
    """Order *logs* by *order_by*, ties by id (time), nulls first."""
    if order_by in _NEVER_NULL:
        # Two stable sorts on plain attributes are several times faster than a tuple key.
        field = "created" if order_by == "created_at" else order_by
        logs.sort(key=attrgetter("id"), reverse=descending)
        logs.sort(key=attrgetter(field), reverse=descending)
    else:
        logs.sort(key=_sort_key(order_by), reverse=descending)


def _sort_key(order_by: str) -> Callable[[StoredLog], Any]:
    read = (lambda log: log.created) if order_by == "created_at" else _FIELD[order_by]
    # None sorts first; ties keep id (time) order.
    return lambda log: (read(log) is not None, read(log) or 0, log.id)


class LogStore:
    """The logs of one gateway, safe to use from many threads."""

    def __init__(self, settings: LogSettings | None = None) -> None:
        self.settings = settings or LogSettings()
        self._logs: dict[str, StoredLog] = {}
        self._lock = threading.Lock()
        # While logs arrive in (created, id) order, the dict's order is that order and
        # listing by created_at needs no sort (the common case: the gateway's own logs).
        self._in_time_order = True
        self._last: tuple[float, str] = (float("-inf"), "")

    def __len__(self) -> int:
        return len(self._logs)

    def add(self, log: StoredLog) -> None:
        log.visible_at = log.created + self.settings.visibility_lag
        log.details_at = log.created + self.settings.detail_lag
        with self._lock:
            self._store(log)

    def load(self, logs: Iterable[StoredLog]) -> None:
        """Add logs as they are (seeded: visible at once, details filled in)."""
        with self._lock:
            for log in logs:
                self._store(log)

    def _store(self, log: StoredLog) -> None:
        place = (log.created, log.id)
        if log.id in self._logs or place < self._last:
            self._in_time_order = False
        self._last = max(self._last, place)
        log.search_text = _search_text(log.metadata)
        self._logs[log.id] = log

    def get(self, log_id: str, now: float) -> StoredLog | None:
        log = self._logs.get(log_id)
        return log if log is not None and log.visible_at <= now else None

    def find(
        self,
        filters: Iterable[LogCondition],
        now: float,
        *,
        search: str | None = None,
        order_by: str = "created_at",
        descending: bool = True,
    ) -> list[StoredLog]:
        """Visible logs matching every filter (and *search*), in the order asked for."""
        tests = [f.predicate() for f in filters]
        if search:
            needle = search.lower()
            tests.append(lambda log: _mentions(log, needle))
        with self._lock:
            logs = list(self._logs.values())
            presorted = order_by == "created_at" and self._in_time_order
        if presorted and descending:
            logs.reverse()
        found = [log for log in logs if log.visible_at <= now and _passes(log, tests)]
        if not presorted:
            _sort(found, order_by, descending)
        return found

    def patch(self, log_id: str, changes: Mapping[str, Any]) -> None:
        with self._lock:
            log = self._logs[log_id]
            for name, value in changes.items():
                setattr(log, name, value)
            log.search_text = _search_text(log.metadata)

    def remove(self, logs: Iterable[StoredLog]) -> int:
        with self._lock:
            removed = [self._logs.pop(log.id, None) for log in logs]
        return sum(log is not None for log in removed)

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()
            self._in_time_order, self._last = True, (float("-inf"), "")


def _passes(log: StoredLog, tests: list[Callable[[StoredLog], bool]]) -> bool:
    # A plain loop: `all()` over a generator costs a third more on 100k logs.
    for test in tests:  # noqa: SIM110
        if not test(log):
            return False
    return True


def _search_text(metadata: Mapping[str, object] | None) -> str:
    # "Free-text search over log metadata": keys and values, case-insensitive.
    return "\n".join(f"{k}\n{v}" for k, v in (metadata or {}).items()).lower()


def _mentions(log: StoredLog, needle: str) -> bool:
    return needle in log.search_text
