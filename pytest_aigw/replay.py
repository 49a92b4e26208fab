"""Which recorded exchange answers a request: matching a cassette in replay mode.

A request matches a recorded gateway or REST API exchange when the method, the path
below the gateway (or below the REST API's account) and the body are the same, and so
is the app's own `cf-aig-metadata`:

- the path is taken below ``/{account}/{gateway}`` (or ``/accounts/{account}``), so the
  recording's account and gateway (``<account>`` where the recorder redacted it) map
  to the run's; the query string is not compared;
- JSON bodies compare as parsed JSON, other bodies byte for byte; ``<account>`` in a
  recorded body stands for the run's account, and a scrubbed secret
  (``<redacted:NAME>``) in a recorded string stands for whatever the app sends there;
- ignored fields (dotted paths, ``*`` for every item) are left out on both sides; a
  path starting ``cf-aig-metadata.`` names a metadata key;
- the metadata the live run added (``test``, the run id tag, the run's extra tags) is
  left out of the recorded header, as it varies from run to run.

Of several matching exchanges the first recorded one answers, and each answers once
(vcrpy's ``allow_playback_repeats=False``): an app that repeats a request gets the
answers in the recorded order. Logs API exchanges are never matched: the fake Logs API
answers from its own state.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from . import _json
from ._config import RUN_TAG
from ._validation import short_repr
from .cassette import Cassette, Exchange, GatewayPlace

__all__ = ["METADATA_FIELD", "Replay", "Sent", "recorded_target"]

METADATA_FIELD = "cf-aig-metadata"  # an ignored path starting so names a metadata key
ACCOUNT = "<account>"  # the recorder's stand-in for a redacted account id
REPLAYED = ("gateway", "rest")  # the APIs answered from the cassette
LIVE_TAGS = ("test", RUN_TAG)  # what every live request carries, whatever the app sent
_SECRET = re.compile(r"<redacted:[^>]*>")
_SECRET_BYTES = re.compile(rb"<redacted:[^>]*>")
_NOTHING = object()  # a key or item one side does not have


@dataclass(frozen=True)
class Sent:
    """A request as replay compares it: *path* is below the gateway or the account."""

    method: str
    api: str
    path: str
    body: bytes = b""
    metadata: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.method.upper(), self.api, self.path


def recorded_target(exchange: Exchange, place: GatewayPlace) -> tuple[str, str]:
    """The recorded request's API and its path below the gateway or the account.

    A URL outside both keeps its whole path (with its leading ``/``), so it never matches.
    """
    path = unquote(urlsplit(exchange.request.url).path)
    if exchange.api == "gateway":
        base = unquote(urlsplit(place.gateway_url).path).rstrip("/")
    else:
        base = unquote(urlsplit(place.api_url).path).rstrip("/") + f"/accounts/{place.account_id}"
    if path.startswith(base + "/") or path == base:
        return exchange.api, path[len(base) :].strip("/")
    return exchange.api, path


class _Entry:
    """One recorded exchange, with its request read once for matching."""

    def __init__(self, number: int, exchange: Exchange, sent: Sent, rules: _Rules) -> None:
        self.number = number  # 1-based, as the cassette lists it
        self.exchange = exchange
        self.key = sent.key
        self.body = rules.body(sent.body)
        self.metadata = rules.metadata(sent.metadata)
        self.used_by: int | None = None  # the request it answered

    @property
    def label(self) -> str:
        method, _, path = self.key
        return f"exchange #{self.number} ({method} {path or '/'})"


class _Rules:
    """How both sides of a comparison are read: ignored fields, the run's account, tags."""

    def __init__(self, account_id: str, ignore: Sequence[str], tags: Iterable[str]) -> None:
        prefix = METADATA_FIELD + "."
        self.account = account_id.encode()
        self.body_paths = [f.split(".") for f in ignore if not f.startswith(prefix)]
        self.metadata_keys = {f[len(prefix) :] for f in ignore if f.startswith(prefix)}
        self.tags = (*LIVE_TAGS, *tags)

    def recorded(self, body: bytes) -> bytes:
        return body.replace(ACCOUNT.encode(), self.account)

    def body(self, data: bytes) -> Any:
        try:
            value = _json.loads(data)
        except (_json.JsonError, UnicodeDecodeError):
            return data
        return _dropped(value, self.body_paths)

    def metadata(self, header: str | None) -> Any:
        if header is None:
            return {}
        try:
            value = _json.loads(header)
        except _json.JsonError:
            return header
        if not isinstance(value, dict):
            return header
        left_out = {*self.tags, *self.metadata_keys}  # metadata is flat: keys, no paths
        return {key: item for key, item in value.items() if key not in left_out}


class Replay:
    """A cassette's gateway and REST API exchanges, each answering one matching request."""

    def __init__(
        self,
        cassette: Cassette,
        account_id: str,
        *,
        ignore: Sequence[str] = (),
        tags: Iterable[str] = (),
    ) -> None:
        """*account_id* is the run's; *tags* are the keys of the run's extra live tags."""
        self._rules = _Rules(account_id, ignore, tags)
        self._entries: list[_Entry] = []
        for number, exchange in enumerate(cassette.exchanges, start=1):
            if exchange.api not in REPLAYED:
                continue
            api, path = recorded_target(exchange, cassette.gateway)
            request = exchange.request
            body = self._rules.recorded(request.body.data)
            header = next((v for k, v in request.headers if k.lower() == METADATA_FIELD), None)
            sent = Sent(request.method, api, path.replace(ACCOUNT, account_id), body, header)
            self._entries.append(_Entry(number, exchange, sent, self._rules))
        self._seen = 0
        self._lock = threading.Lock()

    def take(self, sent: Sent) -> Exchange | None:
        """The first unused exchange that matches *sent*, now used; None if there is none."""
        body = self._rules.body(sent.body)
        header = self._rules.metadata(sent.metadata)
        with self._lock:
            self._seen += 1
            for entry in self._entries:
                if entry.used_by is None and _matches(entry, sent.key, body, header):
                    entry.used_by = self._seen
                    return entry.exchange
        return None

    def closest(self, sent: Sent) -> str:
        """Why no exchange answered *sent*, naming the recorded one nearest to it."""
        body = self._rules.body(sent.body)
        header = self._rules.metadata(sent.metadata)
        alike = [entry for entry in self._entries if entry.key == sent.key]
        for entry in alike:
            if entry.used_by is None:
                return f"the closest, {entry.label}, differs in {_difference(entry, body, header)}"
        for entry in alike:
            if _matches(entry, sent.key, body, header):
                return (
                    f"{entry.label} matches it but already answered request #{entry.used_by}:"
                    " each recorded exchange answers once, and the app sent this request more"
                    " often than when it was recorded"
                )
        if alike:
            entry = alike[0]
            return (
                f"the closest, {entry.label}, already answered request #{entry.used_by} and"
                f" differs in {_difference(entry, body, header)}"
            )
        if not self._entries:
            return "the cassette holds no gateway or REST API exchange"
        method, _, path = sent.key
        entry = max(self._entries, key=lambda e: _likeness(e.key, sent.key))
        return f"no recorded exchange is {method} {path}; the nearest is {entry.label}"

    def unused(self) -> list[str]:
        """The exchanges no request used, as ``exchange #N (METHOD path)``, in recorded order."""
        return [entry.label for entry in self._entries if entry.used_by is None]


def _matches(entry: _Entry, key: tuple[str, str, str], body: Any, header: Any) -> bool:
    return (
        entry.key == key
        and _first_difference(entry.body, body) is None
        and _first_difference(entry.metadata, header) is None
    )


def _difference(entry: _Entry, body: Any, header: Any) -> str:
    """The first place where *entry*'s request and the one sent differ, said for people."""
    found = _first_difference(entry.body, body)
    if found is not None:
        where, text = found
        return f"body field {where}: {text}" if where else f"the body: {text}"
    found = _first_difference(entry.metadata, header)
    assert found is not None  # only called for an entry that does not match
    where, text = found
    return f"{METADATA_FIELD} key {where}: {text}" if where else f"{METADATA_FIELD}: {text}"


def _first_difference(recorded: Any, sent: Any, where: str = "") -> tuple[str, str] | None:
    """(dotted path, what differs) at the first difference, None when the two match."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        for key in [*recorded, *(k for k in sent if k not in recorded)]:
            found = _first_difference(
                recorded.get(key, _NOTHING), sent.get(key, _NOTHING), _join(where, key)
            )
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(sent, list):
        for index, (old, new) in enumerate(zip(recorded, sent, strict=False)):
            found = _first_difference(old, new, _join(where, str(index)))
            if found is not None:
                return found
        if len(recorded) != len(sent):
            return where, f"recorded {len(recorded)} item(s), sent {len(sent)}"
        return None
    if _same(recorded, sent):
        return None
    return where, f"recorded {_shown(recorded)}, sent {_shown(sent)}"


def _same(recorded: Any, sent: Any) -> bool:
    """Equal leaves; a scrubbed secret in a recorded string matches anything there."""
    if isinstance(recorded, str) and isinstance(sent, str):
        return _pattern(recorded, _SECRET).fullmatch(sent) is not None
    if isinstance(recorded, bytes) and isinstance(sent, bytes):
        return _pattern(recorded, _SECRET_BYTES).fullmatch(sent) is not None
    if isinstance(recorded, bool) or isinstance(sent, bool):
        return recorded is sent  # JSON's true is not 1
    return bool(recorded == sent)  # 1 and 1.0 are one JSON number


def _pattern(recorded: Any, secret: Any) -> Any:
    parts = secret.split(recorded)
    joined = (b".*" if isinstance(recorded, bytes) else ".*").join(map(re.escape, parts))
    return re.compile(joined, re.DOTALL)


def _shown(value: Any) -> str:
    if value is _NOTHING:
        return "nothing"
    if isinstance(value, bytes):
        return f"{len(value)} bytes (not JSON) {short_repr(value)}"
    return short_repr(value)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _dropped(value: Any, paths: Sequence[Sequence[str]]) -> Any:
    for path in paths:
        value = _drop(value, path)
    return value


def _drop(value: Any, path: Sequence[str]) -> Any:
    """*value* without what *path* names (``*``: every key or item at that level)."""
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        for key in list(value) if head == "*" else [head] if head in value else []:
            if rest:
                out[key] = _drop(out[key], rest)
            else:
                del out[key]
        return out
    if isinstance(value, list):
        items = list(value)
        count = len(items)
        for index in range(count) if head == "*" else [int(head)] if _index(head, count) else []:
            # null in its place, on both sides, so that later items keep their index
            items[index] = _drop(items[index], rest) if rest else None
        return items
    return value


def _index(text: str, count: int) -> bool:
    return text.isdigit() and int(text) < count


def _likeness(
    recorded: tuple[str, str, str], sent: tuple[str, str, str]
) -> tuple[bool, float, bool]:
    """How near two (method, api, path) keys are: the API, then the path, then the method."""
    path = difflib.SequenceMatcher(None, recorded[2], sent[2]).ratio()
    return recorded[1] == sent[1], path, recorded[0] == sent[0]
