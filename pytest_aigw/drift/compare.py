"""Field by field, where the fake's answer to a request differs from the gateway's.

Each comparison gives `Difference` items: a *kind* (status, header, body, stream,
log), *where* it was seen, and the *real* and *fake* shapes there. Values themselves
are never compared: two right answers differ in ids, texts and token counts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .. import _json
from .shapes import body_form, header_shape, key_paths, stream_events, value_shape

__all__ = [
    "KINDS",
    "MISSING",
    "Answer",
    "Difference",
    "compare_answers",
    "compare_bodies",
    "compare_headers",
    "compare_logs",
    "compare_streams",
]

KINDS = ("status", "header", "body", "stream", "log")  # the table's order
MISSING = "missing"
HEADER_PREFIX = "cf-aig-"
SEPARATOR = " | "


@dataclass(frozen=True, order=True)
class Difference:
    """One way the fake differs from the gateway; `key` names it in an allow-list."""

    kind: str
    where: str
    real: str
    fake: str

    @property
    def key(self) -> str:
        """``kind | where | real | fake``: the first four cells of its table row."""
        return SEPARATOR.join((self.kind, self.where, self.real, self.fake))


@dataclass(frozen=True)
class Answer:
    """An answer as the comparison sees it: status, headers and the whole body."""

    status: int
    headers: Sequence[tuple[str, str]]
    content: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def compare_answers(api_format: str, real: Answer, fake: Answer) -> list[Difference]:
    """Status and `cf-aig-*` headers; body (or stream) when both statuses agree.

    An answer of another status has another body (an error instead of a reply), so
    its body differences would only repeat the status difference.
    """
    found = compare_headers(real.headers, fake.headers)
    if real.status != fake.status:
        return [Difference("status", api_format, str(real.status), str(fake.status)), *found]
    where = api_format if real.status < 400 else f"{api_format} error"
    return found + compare_bodies(where, real, fake)


def compare_headers(
    real: Sequence[tuple[str, str]], fake: Sequence[tuple[str, str]]
) -> list[Difference]:
    """The `cf-aig-*` headers each side has, and the shape of each value."""
    real_shapes = _header_shapes(real)
    fake_shapes = _header_shapes(fake)
    return [
        Difference("header", name, real_shapes.get(name, MISSING), fake_shapes.get(name, MISSING))
        for name in sorted(real_shapes.keys() | fake_shapes.keys())
        if real_shapes.get(name) != fake_shapes.get(name)
    ]


def _header_shapes(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    shapes: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered.startswith(HEADER_PREFIX) and lowered not in shapes:
            shapes[lowered] = header_shape(lowered, value)
    return shapes


def compare_bodies(where: str, real: Answer, fake: Answer) -> list[Difference]:
    """A stream's events, or a JSON body's key paths; else only what kind of body it is."""
    real_form = body_form(real.header("content-type"), real.content)
    fake_form = body_form(fake.header("content-type"), fake.content)
    if real_form != fake_form:
        return [Difference("body", f"{where} (body)", real_form, fake_form)]
    if real_form == "sse":
        return compare_streams(where, real.content, fake.content)
    if real_form != "json":
        return []
    real_paths = key_paths(_json.loads(real.content.decode("utf-8")))
    fake_paths = key_paths(_json.loads(fake.content.decode("utf-8")))
    return _paths_differ("body", f"{where} ", real_paths, fake_paths)


def compare_streams(where: str, real: bytes, fake: bytes) -> list[Difference]:
    """The events of two streams in order; each stretch that differs is one difference.

    A stretch is placed after the last event both streams share before it
    (``start`` at the beginning), so the same drift in many exchanges has one name.
    """
    real_events = stream_events(real)
    fake_events = stream_events(fake)
    found = []
    matcher = difflib.SequenceMatcher(a=real_events, b=fake_events, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        after = real_events[i1 - 1] if i1 else "start"
        found.append(
            Difference(
                "stream",
                f"{where} after {after}",
                " ".join(real_events[i1:i2]) or MISSING,
                " ".join(fake_events[j1:j2]) or MISSING,
            )
        )
    return found


def compare_logs(real: Mapping[str, object], fake: Mapping[str, object]) -> list[Difference]:
    """A log's fields as each side's Logs API returned them: names, types and shapes."""
    real_shapes = {name: value_shape(value) for name, value in real.items()}
    fake_shapes = {name: value_shape(value) for name, value in fake.items()}
    return _paths_differ("log", "", real_shapes, fake_shapes)


def _paths_differ(
    kind: str, prefix: str, real: Mapping[str, str], fake: Mapping[str, str]
) -> list[Difference]:
    return [
        Difference(kind, prefix + path, real.get(path, MISSING), fake.get(path, MISSING))
        for path in sorted(real.keys() | fake.keys())
        if real.get(path) != fake.get(path)
    ]
