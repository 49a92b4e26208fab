"""Keeping secrets out of cassettes: the scrubber, and the scan that has the last word.

The secrets are the credentials the run knows (`CLOUDFLARE_API_TOKEN`,
`PYTEST_AIGW_GATEWAY_TOKEN`) and every value the recorded requests carried in a secret
header, query parameter or universal step header (`pytest_aigw.redaction` decides which
are secret): ``Authorization: Bearer sk-...`` makes ``sk-...`` one, named
``authorization``. `Scrubber` replaces each, as is, JSON-escaped or URL-encoded, with
``<redacted:NAME>`` in every header, URL, body, chunk and log, and hides the whole value
of every secret header. `scan` then reads what is about to be written, including the
base64 forms and the joined chunks of each stream, which the scrubber does not see, and
`leak_message` says where a secret is left, never what it is.

Values shorter than `MIN_SECRET` characters are hidden in their own header but not
searched for elsewhere: replacing ``test`` in every body would wreck the bodies.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus, urlsplit

from .cassette import Body, Cassette, Chunk, Exchange, GatewayPlace, Headers
from .redaction import is_secret_header, is_secret_param

__all__ = [
    "ACCOUNT",
    "MIN_SECRET",
    "Leak",
    "Scrubber",
    "Secret",
    "leak_message",
    "request_secrets",
    "scan",
]

MIN_SECRET = 8  # characters; real API tokens and provider keys have 20 or more
ACCOUNT = "<account>"
_SCHEMES = ("Bearer ", "Basic ", "Token ", "AWS4-HMAC-SHA256 ")
_ROUNDS = 8  # scrubbing passes before giving up (the scan then refuses what is left)


@dataclass(frozen=True)
class Secret:
    """A value that must not reach a file, and the name its placeholder shows."""

    name: str
    value: str

    @property
    def marker(self) -> str:
        return f"<redacted:{self.name}>"


@dataclass(frozen=True)
class Leak:
    """A secret found in the text to be written: where, which (by name) and in what form."""

    place: str
    name: str
    form: str


def _json_forms(value: str) -> list[str]:
    return [json.dumps(value, ensure_ascii=ascii)[1:-1] for ascii in (False, True)]


def _url_forms(value: str) -> list[str]:
    return [quote(value, safe=""), quote_plus(value, safe="")]


def text_forms(value: str) -> dict[str, list[str]]:
    """The forms the scrubber replaces: as is, JSON-escaped, URL-encoded."""
    return {"as is": [value], "JSON-escaped": _json_forms(value), "URL-encoded": _url_forms(value)}


def base64_forms(value: str) -> list[str]:
    """What base64 of *value* shows at any offset in longer base64, standard and URL-safe.

    Base64 turns 3 bytes into 4 characters, so the same bytes read differently after 0,
    1 or 2 bytes before them; the characters that hold only bytes of *value* are the same
    whatever surrounds it.
    """
    data = value.encode()
    found = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        start, end = (8 * offset + 5) // 6, (8 * (offset + len(data))) // 6
        middle = encoded[start:end]
        found += [middle, middle.replace("+", "-").replace("/", "_")]
    return found


def all_forms(value: str) -> dict[str, list[str]]:
    """Every form `scan` looks for."""
    return {**text_forms(value), "base64-encoded": base64_forms(value)}


class Scrubber:
    """Replaces known secrets (and, when asked, the account id) wherever a cassette has text."""

    def __init__(self, secrets: Iterable[Secret], account_id: str | None = None) -> None:
        unique: dict[str, Secret] = {}
        for secret in secrets:
            if len(secret.value) >= MIN_SECRET:
                unique.setdefault(secret.value, secret)
        # A value that a placeholder holds could never be cleared: the scan refuses it.
        markers = [s.marker for s in unique.values()] + [ACCOUNT]
        unique = {v: s for v, s in unique.items() if not any(v in m for m in markers)}
        # The longest first, so that a secret holding another is replaced whole.
        self.secrets = sorted(unique.values(), key=lambda s: -len(s.value))
        pairs = [(form, s.marker) for s in self.secrets for form in _forms_of(s.value)]
        if account_id:
            pairs.append((account_id, ACCOUNT))
        self._pairs = pairs

    def text(self, text: str) -> str:
        """*text* with every known secret (as is, JSON-escaped, URL-encoded) replaced."""
        for _ in range(_ROUNDS):
            before = text
            for form, marker in self._pairs:
                if form in text:
                    text = text.replace(form, marker)
            if text == before:
                break
        return text

    def data(self, data: bytes) -> bytes:
        """Bytes scrubbed as text when they are UTF-8, byte for byte otherwise."""
        try:
            return self.text(data.decode("utf-8")).encode()
        except UnicodeDecodeError:
            for form, marker in self._pairs:
                data = data.replace(form.encode(), marker.encode())
            return data

    def url(self, url: str) -> str:
        """*url* scrubbed as text, and each query value as the server reads it (decoded).

        A secret query parameter's value is hidden whole; a value that holds a secret in
        an encoding `text` does not know (``a/b%2Bc``) is scrubbed decoded, encoded again.
        """
        base, mark, query = url.partition("?")
        if not mark:
            return self.text(url)
        pairs = []
        for pair in query.split("&"):
            name, equals, raw = pair.partition("=")
            value = unquote_plus(raw)
            if equals and is_secret_param(unquote_plus(name)) and value:
                known = next((s for s in self.secrets if s.value == value), None)
                pair = f"{name}={(known or Secret(unquote_plus(name).lower(), value)).marker}"
            elif equals and (scrubbed := self.text(value)) != value:
                pair = f"{name}={quote(scrubbed, safe='<>:')}"
            pairs.append(self.text(pair))
        return self.text(base) + "?" + "&".join(pairs)

    def value(self, value: Any) -> Any:
        """A JSON value (a log) with its keys and strings scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        return value

    def headers(self, headers: Headers) -> Headers:
        """Secret headers hidden whole (their auth scheme kept), the rest scrubbed as text."""
        return [(name, self._header(name, value)) for name, value in headers]

    def _header(self, name: str, value: str) -> str:
        if not is_secret_header(name):
            return self.text(value)
        scheme = next((s for s in _SCHEMES if value.startswith(s)), "")
        token = value[len(scheme) :].strip()
        known = next((s for s in self.secrets if s.value == token), None)
        return scheme + (known.marker if known else Secret(name.lower(), token).marker)

    def cassette(self, cassette: Cassette) -> Cassette:
        """A scrubbed copy of *cassette*."""
        place = cassette.gateway
        return dataclasses.replace(
            cassette,
            test=self.text(cassette.test),
            gateway=GatewayPlace(*(self.text(part) for part in _place_parts(place))),
            exchanges=[self._exchange(exchange) for exchange in cassette.exchanges],
            logs=[self.value(log) for log in cassette.logs],
            missing_logs=[self.text(log_id) for log_id in cassette.missing_logs],
        )

    def _exchange(self, exchange: Exchange) -> Exchange:
        request, response = exchange.request, exchange.response
        chunks = response.chunks
        return dataclasses.replace(
            exchange,
            request=dataclasses.replace(
                request,
                url=self.url(request.url),
                headers=self.headers(request.headers),
                body=Body(self.data(request.body.data)),
            ),
            response=dataclasses.replace(
                response,
                headers=self.headers(response.headers),
                body=None if response.body is None else Body(self.data(response.body.data)),
                chunks=None
                if chunks is None
                else tuple(Chunk(c.at, Body(self.data(c.body.data))) for c in chunks),
            ),
        )


def _forms_of(value: str) -> list[str]:
    return list(dict.fromkeys(form for forms in text_forms(value).values() for form in forms))


def _place_parts(place: GatewayPlace) -> tuple[str, str, str, str]:
    return place.account_id, place.gateway_id, place.gateway_url, place.api_url


def _token(value: str) -> str:
    scheme = next((s for s in _SCHEMES if value.startswith(s)), "")
    return value[len(scheme) :].strip()


def request_secrets(exchanges: Sequence[Exchange]) -> list[Secret]:
    """The secret values the recorded requests carried, named after where they were."""
    found = []
    for exchange in exchanges:
        request = exchange.request
        for name, value in request.headers:
            if is_secret_header(name) and _token(value):
                found.append(Secret(name.lower(), _token(value)))
        for name, value in parse_qsl(urlsplit(request.url).query):
            if is_secret_param(name) and value:
                found.append(Secret(name.lower(), value))
        found += _step_secrets(request.body.data)
    return found


def _step_secrets(content: bytes) -> list[Secret]:
    """The secret headers in a universal request's steps (``[{"headers": {...}}]``)."""
    if content.lstrip()[:1] not in (b"[", b"{"):
        return []
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return []
    steps = body if isinstance(body, list) else [body]
    return [
        Secret(str(name).lower(), _token(value))
        for step in steps
        if isinstance(step, dict) and isinstance(step.get("headers"), dict)
        for name, value in step["headers"].items()
        if is_secret_header(str(name)) and isinstance(value, str) and _token(value)
    ]


def _places(cassette: Cassette) -> Iterator[tuple[str, bytes]]:
    """Each part of *cassette* a secret could hide in, with its name for the message."""
    for n, exchange in enumerate(cassette.exchanges):
        request, response = exchange.request, exchange.response
        where = f"exchanges[{n}]"
        yield f"{where}.request.url", request.url.encode()
        yield from _header_places(f"{where}.request.headers", request.headers)
        yield f"{where}.request.body", request.body.data
        yield from _header_places(f"{where}.response.headers", response.headers)
        if response.chunks is None:
            yield f"{where}.response.body", (response.body or Body()).data
            continue
        for k, chunk in enumerate(response.chunks):
            yield f"{where}.response.chunks[{k}]", chunk.body.data
        yield f"{where}.response.chunks (split across chunks)", response.content
    for n, log in enumerate(cassette.logs):
        yield f"logs[{n}]", json.dumps(log, ensure_ascii=False).encode()
    yield "missing_logs", json.dumps(cassette.missing_logs).encode()
    yield "gateway", json.dumps(cassette.gateway.as_json()).encode()
    yield "test", cassette.test.encode()


def _header_places(where: str, headers: Headers) -> Iterator[tuple[str, bytes]]:
    for k, (name, value) in enumerate(headers):
        yield f"{where}[{k}] ({name})", f"{name}: {value}".encode()


def _found(data: bytes, secret: Secret) -> str | None:
    """The form in which *secret* shows in *data*, or None."""
    for form, texts in all_forms(secret.value).items():
        if any(text.encode() in data for text in texts):
            return form
    return None


def scan(text: str, cassette: Cassette, secrets: Iterable[Secret]) -> list[Leak]:
    """The secrets left in *text* (the file to be written for *cassette*), one per secret.

    Each is named at the first place of *cassette* that holds it; one that shows only in
    the text as a whole is placed at ``the file``.
    """
    searched = {s.value: s for s in secrets if len(s.value) >= MIN_SECRET}
    places = list(_places(cassette))
    whole = text.encode()
    leaks = []
    for secret in searched.values():
        leak = next(
            (
                Leak(where, secret.name, form)
                for where, data in places
                if (form := _found(data, secret))
            ),
            None,
        )
        if leak is None and (form := _found(whole, secret)):
            leak = Leak("the file", secret.name, form)
        if leak is not None:
            leaks.append(leak)
    return leaks


def leak_message(path: str, leaks: Sequence[Leak]) -> str:
    """Why the cassette at *path* was not written, and how to get it written."""
    lines = "\n".join(
        f"  {n}. {leak.name} ({leak.form}) at {leak.place}" for n, leak in enumerate(leaks, 1)
    )
    return (
        f"pytest-aigw did not write the cassette {path}: after scrubbing it would still hold"
        f" {len(leaks)} secret(s):\n{lines}\n"
        "The scrubber replaces secrets as they are, JSON-escaped or URL-encoded; these are in"
        " another form (base64, or split across a stream's chunks). Keep the secret out of"
        " what this test exchanges (a reply should not echo a key), or leave the test out of"
        " the recording (deselect it, or run it without --aigw-record)."
    )
