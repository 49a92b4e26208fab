"""Cassettes: what one live test exchanged with the real gateway, as a file to replay.

One JSON file per test, written to be read and diffed by people: two-space indent, keys
in a fixed order, one line per header, and text bodies of several lines kept as a list
of lines (so a changed reply shows as a changed line, not a changed kilobyte). Bodies
are kept byte for byte: UTF-8 text as text, anything else as base64, so that a replay
hands the app exactly the bytes the gateway sent. A streamed answer is kept as its
chunks, each with the seconds since the answer's headers arrived (`at`).

Nothing here knows about secrets: the recorder scrubs what it hands to `Cassette.dumps`
and scans the text before writing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _json
from ._errors import ConfigError

__all__ = [
    "FORMAT_KEY",
    "FORMAT_VERSION",
    "Body",
    "Cassette",
    "CassetteError",
    "Chunk",
    "Exchange",
    "GatewayPlace",
    "RecordedRequest",
    "RecordedResponse",
    "cassette_path",
]

FORMAT_KEY = "pytest_aigw_cassette"
FORMAT_VERSION = 1
APIS = ("gateway", "rest", "logs")  # the three surfaces a live test reaches
_NAME_LIMIT = 120  # characters of a cassette's file name before it is shortened
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]]")

Headers = list[tuple[str, str]]


class CassetteError(ConfigError):
    """A cassette file that cannot be read: names the file and the place in it."""


@dataclass(frozen=True)
class Body:
    """Bytes as a cassette keeps them: text when they are UTF-8, base64 otherwise."""

    data: bytes = b""

    def as_json(self) -> dict[str, Any]:
        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(self.data).decode("ascii")}
        if "\n" in text:
            return {"lines": text.split("\n")}
        return {"text": text}

    @classmethod
    def from_json(cls, value: object, where: str) -> Body:
        data = _mapping(value, where)
        kinds = [key for key in ("text", "lines", "base64") if key in data]
        if len(kinds) != 1:
            raise _problem(where, "must have exactly one of 'text', 'lines', 'base64'")
        kind = kinds[0]
        if kind == "lines":
            lines = _list(data["lines"], f"{where}.lines")
            return cls("\n".join(_str(line, f"{where}.lines") for line in lines).encode())
        text = _str(data[kind], f"{where}.{kind}")
        if kind == "text":
            return cls(text.encode())
        try:
            return cls(base64.b64decode(text, validate=True))
        except binascii.Error:
            raise _problem(where, "'base64' is not valid base64") from None


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed answer and when it came (seconds after the headers)."""

    at: float
    body: Body

    def as_json(self) -> dict[str, Any]:
        return {"at": round(self.at, 6), **self.body.as_json()}

    @classmethod
    def from_json(cls, value: object, where: str) -> Chunk:
        data = _mapping(value, where)
        at = data.get("at")
        if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < 86_400:
            raise _problem(where, f"'at' must be seconds from 0 to 86400, got {at!r}")
        rest = {key: item for key, item in data.items() if key != "at"}
        return cls(float(at), Body.from_json(rest, where))


@dataclass(frozen=True)
class RecordedRequest:
    """A request as it went to Cloudflare (after the recorder scrubbed it)."""

    method: str
    url: str
    headers: Headers = field(default_factory=list)
    body: Body = Body()

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "headers": [list(pair) for pair in self.headers],
            "body": self.body.as_json(),
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> RecordedRequest:
        data = _mapping(value, where)
        return cls(
            _str(data.get("method"), f"{where}.method"),
            _str(data.get("url"), f"{where}.url"),
            _headers(data.get("headers", []), f"{where}.headers"),
            Body.from_json(data.get("body", {"text": ""}), f"{where}.body"),
        )


@dataclass(frozen=True)
class RecordedResponse:
    """An answer: status, headers, and either a whole body or a stream's chunks."""

    status: int
    headers: Headers = field(default_factory=list)
    body: Body | None = None
    chunks: tuple[Chunk, ...] | None = None

    @property
    def content(self) -> bytes:
        """The whole body, a stream's chunks joined."""
        if self.chunks is not None:
            return b"".join(chunk.body.data for chunk in self.chunks)
        return self.body.data if self.body is not None else b""

    def header(self, name: str) -> str | None:
        """The first value of header *name* (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
        }
        if self.chunks is not None:
            out["chunks"] = [chunk.as_json() for chunk in self.chunks]
        else:
            out["body"] = (self.body or Body()).as_json()
        return out

    @classmethod
    def from_json(cls, value: object, where: str) -> RecordedResponse:
        data = _mapping(value, where)
        status = data.get("status")
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise _problem(where, f"'status' must be an HTTP status 100-599, got {status!r}")
        headers = _headers(data.get("headers", []), f"{where}.headers")
        if "chunks" in data and "body" in data:
            raise _problem(where, "has both 'body' and 'chunks'; keep one")
        if "chunks" in data:
            items = _list(data["chunks"], f"{where}.chunks")
            chunks = tuple(
                Chunk.from_json(item, f"{where}.chunks[{n}]") for n, item in enumerate(items)
            )
            return cls(status, headers, chunks=chunks)
        return cls(status, headers, Body.from_json(data.get("body", {"text": ""}), f"{where}.body"))


@dataclass(frozen=True)
class Exchange:
    """One request and its answer; *api* is ``gateway``, ``rest`` or ``logs``."""

    api: str
    request: RecordedRequest
    response: RecordedResponse

    def as_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "request": self.request.as_json(),
            "response": self.response.as_json(),
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> Exchange:
        data = _mapping(value, where)
        api = data.get("api")
        if api not in APIS:
            raise _problem(where, f"'api' must be one of {list(APIS)}, got {api!r}")
        return cls(
            str(api),
            RecordedRequest.from_json(data.get("request"), f"{where}.request"),
            RecordedResponse.from_json(data.get("response"), f"{where}.response"),
        )


@dataclass(frozen=True)
class GatewayPlace:
    """Where the recording was made: the account, gateway and the two base URLs."""

    account_id: str
    gateway_id: str
    gateway_url: str
    api_url: str

    def as_json(self) -> dict[str, str]:
        return {
            "account_id": self.account_id,
            "gateway_id": self.gateway_id,
            "gateway_url": self.gateway_url,
            "api_url": self.api_url,
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> GatewayPlace:
        data = _mapping(value, where)
        names = ("account_id", "gateway_id", "gateway_url", "api_url")
        return cls(*(_str(data.get(name), f"{where}.{name}") for name in names))


@dataclass
class Cassette:
    """What one test exchanged, and the logs as the Logs API returned them."""

    test: str
    gateway: GatewayPlace
    recorded_at: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    missing_logs: list[str] = field(default_factory=list)
    """Ids of logs the Logs API had not listed when the recording ended (written if any)."""

    def as_json(self) -> dict[str, Any]:
        out = {
            FORMAT_KEY: FORMAT_VERSION,
            "test": self.test,
            "recorded_at": self.recorded_at,
            "gateway": self.gateway.as_json(),
            "exchanges": [exchange.as_json() for exchange in self.exchanges],
            "logs": self.logs,
        }
        if self.missing_logs:
            out["missing_logs"] = self.missing_logs
        return out

    def dumps(self) -> str:
        """The file's text: stable, indented, one line per header, ending in a newline."""
        data = self.as_json()
        pairs: list[str] = []
        for exchange in data["exchanges"]:
            for part in (exchange["request"], exchange["response"]):
                part["headers"] = [_marker(pairs, pair) for pair in part["headers"]]
        text = json.dumps(data, indent=2, ensure_ascii=False)
        for n, pair in enumerate(pairs):
            text = text.replace(json.dumps(f"\0header-{n}\0"), pair, 1)
        return text + "\n"

    @classmethod
    def loads(cls, text: str | bytes, source: str = "<cassette>") -> Cassette:
        """Read a cassette; `CassetteError` names *source* and what is wrong."""
        try:
            data = _json.loads(text)
        except (_json.JsonError, UnicodeDecodeError) as error:
            raise CassetteError(f"{source}: not a readable cassette ({error})") from None
        try:
            return cls._from_json(data)
        except CassetteError as error:
            raise CassetteError(f"{source}: {error}") from None

    @classmethod
    def _from_json(cls, value: object) -> Cassette:
        data = _mapping(value, "the file")
        version = data.get(FORMAT_KEY)
        if version != FORMAT_VERSION:
            raise CassetteError(
                f"'{FORMAT_KEY}' must be {FORMAT_VERSION}, got {version!r}: not a"
                " pytest-aigw cassette, or one from another version; record it again"
            )
        exchanges = _list(data.get("exchanges", []), "exchanges")
        logs = _list(data.get("logs", []), "logs")
        missing = _list(data.get("missing_logs", []), "missing_logs")
        return cls(
            test=_str(data.get("test"), "test"),
            gateway=GatewayPlace.from_json(data.get("gateway"), "gateway"),
            recorded_at=_str(data.get("recorded_at", ""), "recorded_at"),
            exchanges=[
                Exchange.from_json(item, f"exchanges[{n}]") for n, item in enumerate(exchanges)
            ],
            logs=[_mapping(item, f"logs[{n}]") for n, item in enumerate(logs)],
            missing_logs=[_str(item, f"missing_logs[{n}]") for n, item in enumerate(missing)],
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.dumps(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Cassette:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CassetteError(f"{path}: cannot be read ({error.strerror})") from None
        return cls.loads(data, str(path))


def cassette_path(directory: Path, nodeid: str) -> Path:
    """The file for test *nodeid*: ``<directory>/<module stem>/<test name>.json``.

    Characters that are unsafe in file names become ``_``; a name that had to change,
    or is too long, ends with a short hash of the original so two tests never share one.
    """
    module, _, name = nodeid.partition("::")
    stem = Path(module).stem or "tests"
    name = name.replace("::", ".") or stem
    safe = _UNSAFE.sub("_", name)
    if safe != name or len(safe) > _NAME_LIMIT:
        suffix = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
        safe = f"{safe[:_NAME_LIMIT]}-{suffix}"
    return directory / stem / f"{safe}.json"


def _marker(pairs: list[str], pair: list[str]) -> str:
    """A stand-in string for a header pair, replaced by the pair on one line after dumping.

    JSON escapes the NUL characters, so no text in a cassette can look like a marker.
    """
    pairs.append(json.dumps(pair, ensure_ascii=False))
    return f"\0header-{len(pairs) - 1}\0"


def _problem(where: str, text: str) -> CassetteError:
    return CassetteError(f"{where} {text}")


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _problem(where, f"must be a JSON object, got {type(value).__name__}")
    return dict(value)


def _list(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise _problem(where, f"must be a JSON array, got {type(value).__name__}")
    return value


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _problem(where, f"must be a string, got {type(value).__name__}")
    return value


def _headers(value: object, where: str) -> Headers:
    pairs = []
    for n, pair in enumerate(_list(value, where)):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise _problem(
                f"{where}[{n}]", f"must be a [name, value] pair of strings, got {pair!r}"
            )
        pairs.append((pair[0], pair[1]))
    return pairs
