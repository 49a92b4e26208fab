"""What a value looks like, with the value itself left out: the drift report compares these.

Two answers to the same request differ in their ids, texts and token counts, so the
report compares what stays put: a JSON value's type, a text's shape (an id format, a
timestamp, a number written as text, JSON written as text), a body's key paths with
the types found there, and a stream's event names in order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from .. import _json
from ..ids import is_ulid, is_uuid7

__all__ = [
    "body_form",
    "header_shape",
    "json_type",
    "key_paths",
    "stream_events",
    "text_shape",
    "value_shape",
]

CACHE_STATUS = "cf-aig-cache-status"  # a few fixed words (HIT, MISS): the word is the shape
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-([0-9a-fA-F])[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def json_type(value: object) -> str:
    """The JSON type of a loaded value: null, boolean, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type: 0 and 2.8e-06 are both costs
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def text_shape(text: str) -> str:
    """The shape of a text: an id format, a timestamp, a number or JSON as text, or text."""
    if not text:
        return "empty text"
    if is_uuid7(text):
        return "uuid7"
    if is_ulid(text):
        return "ulid"
    uuid = _UUID.fullmatch(text)
    if uuid is not None:
        return "uuid4" if uuid.group(1) == "4" else "uuid"
    if _TIMESTAMP.fullmatch(text):
        return "timestamp"
    if _INTEGER.fullmatch(text):
        return "integer text"
    if _NUMBER.fullmatch(text):
        return "number text"
    return _json_text_shape(text)


def _json_text_shape(text: str) -> str:
    if text[0] not in "[{":
        return "text"
    try:
        loaded = _json.loads(text)
    except _json.JsonError:
        return "text"
    return f"json {json_type(loaded)} text"


def value_shape(value: object) -> str:
    """A JSON value's shape: its type, or for a string the shape of its text."""
    return text_shape(value) if isinstance(value, str) else json_type(value)


def header_shape(name: str, value: str) -> str:
    """The shape of a response header's value; the cache status keeps its word."""
    if name.lower() == CACHE_STATUS:
        return value.strip().upper() or "empty text"
    return text_shape(value)


def key_paths(value: object) -> dict[str, str]:
    """Every key path of a JSON value with the types found there.

    An object's keys join with ``.``; an array's items all sit at ``[]``, so a reply
    with one choice and one with three have the same paths. Where the items of an
    array disagree, the types join with ``/`` (``number/string``).
    """
    found: dict[str, set[str]] = {}
    _walk(value, "(root)", found)
    return {path: "/".join(sorted(types)) for path, types in found.items()}


def _walk(value: object, path: str, found: dict[str, set[str]]) -> None:
    found.setdefault(path, set()).add(json_type(value))
    prefix = "" if path == "(root)" else path
    if isinstance(value, Mapping):
        for key, item in value.items():
            _walk(item, f"{prefix}.{key}" if prefix else str(key), found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{prefix}[]", found)


def body_form(content_type: str | None, content: bytes) -> str:
    """What a body is: ``sse`` (a stream), ``json``, ``text``, ``binary`` or ``empty``."""
    if "event-stream" in (content_type or "").lower():
        return "sse"
    if not content.strip():
        return "empty"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    try:
        _json.loads(text)
    except _json.JsonError:
        return "text"
    return "json"


def stream_events(content: bytes) -> list[str]:
    """A server-sent event stream's events by name, runs of one name collapsed to one.

    An event is named by its ``event:`` line, else by the ``type`` (or ``object``) of
    its JSON data; ``[DONE]`` is itself, and JSON data naming neither is ``data``.
    How many deltas came is the reply's length, not the gateway's shape: a run of
    ``content_block_delta`` is one ``content_block_delta``.
    """
    names: list[str] = []
    text = content.decode("utf-8", errors="replace").replace("\r\n", "\n")
    for block in text.split("\n\n"):
        name = _event_name(block)
        if name is not None and (not names or names[-1] != name):
            names.append(name)
    return names


def _event_name(block: str) -> str | None:
    event = None
    data: list[str] = []
    for line in block.split("\n"):
        field, _, rest = line.partition(":")
        rest = rest.removeprefix(" ")
        if field == "event":
            event = rest
        elif field == "data":
            data.append(rest)
    if event is not None:
        return event
    if not data:
        return None  # a comment or a blank: not an event
    return _data_name("\n".join(data))


def _data_name(data: str) -> str:
    if data.strip() == "[DONE]":
        return "[DONE]"
    try:
        loaded = json.loads(data)
    except ValueError:
        return "data"
    if isinstance(loaded, dict):
        for key in ("type", "object"):
            if isinstance(loaded.get(key), str):
                return str(loaded[key])
    return "data"
