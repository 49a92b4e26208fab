"""Send a cassette's recorded requests to a fresh fake with its default settings.

Each cassette gets its own `MockGateway` (so a cache hit recorded after a miss meets
the fake's own cache), reached in process through `httpx.MockTransport`. URLs are moved
from the recorded account and gateway to the fake's; credentials the recorder replaced
with ``<redacted:NAME>`` become stand-in values of the same form, since the fake only
checks that one was sent. Logs API exchanges are sent too (a feedback PATCH changes the
log the test read back) with recorded log ids swapped for the fake's, but their answers
are not compared: they depend on when the real Logs API had caught up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .. import _json
from ..cassette import FORMAT_KEY, Cassette, CassetteError, Exchange, RecordedRequest
from ..fake.formats import format_for
from ..mock import MockGateway
from ..redaction import is_secret_header
from .compare import Answer, Difference, compare_answers, compare_logs

__all__ = ["CassetteDrift", "api_format", "find_cassettes", "replay_cassette"]

LOG_ID = "cf-aig-log-id"
STAND_IN_CREDENTIAL = "drift-stand-in-credential"
_DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_REDACTED = re.compile(r"<redacted:[^>]*>|\[redacted\]")
_GATEWAY = re.compile(r"/v1/[^/]+/[^/]+(?P<tail>(?:/.*)?)$")
_LOGS = re.compile(r"/accounts/[^/]+/ai-gateway/gateways/[^/]+(?P<tail>(?:/.*)?)$")
_REST = re.compile(r"/accounts/[^/]+(?P<tail>/.*)$")


@dataclass
class CassetteDrift:
    """What one cassette's replay found: each difference with its exchange's number."""

    path: Path
    exchanges: int = 0
    differences: list[tuple[int, Difference]] = field(default_factory=list)


def find_cassettes(directory: Path) -> Iterator[Path]:
    """The cassette files under *directory*: ``*.json`` naming the format, sorted."""
    for path in sorted(directory.rglob("*.json")):
        try:
            head = path.read_bytes()
        except OSError:
            continue  # unreadable: not ours to judge
        if FORMAT_KEY.encode() in head:
            yield path


def api_format(exchange: Exchange) -> str:
    """The API format a recorded request speaks (``openai-chat``, ``rest openai-chat``)."""
    path = httpx.URL(exchange.request.url).path
    if exchange.api == "rest":
        match = _REST.search(path)
        tail = match.group("tail").lstrip("/") if match else path
        provider = "workers-ai" if tail.startswith("ai/run/@") else ""
        return "rest " + format_for(provider, tail).name
    match = _GATEWAY.search(path)
    tail = match.group("tail").lstrip("/") if match else ""
    provider, _, rest = tail.partition("/")
    if not provider:
        return "universal"
    return format_for(provider, rest).name


def replay_cassette(path: Path) -> CassetteDrift:
    """Replay the cassette at *path* on a fresh fake; `CassetteError` if it is broken."""
    cassette = Cassette.load(path)
    drift = CassetteDrift(path)
    gateway = MockGateway(strict=False)
    ids: dict[str, str] = {}  # recorded log id -> the fake's
    numbers: dict[str, int] = {}  # recorded log id -> the exchange that issued it, same status
    with httpx.Client(transport=httpx.MockTransport(gateway.handler)) as client:
        for number, exchange in enumerate(cassette.exchanges):
            request = _request(exchange, number, gateway, ids, path)
            answer = _send(client, request)
            if exchange.api == "logs":
                continue
            drift.exchanges += 1
            real = _recorded(exchange)
            found = compare_answers(api_format(exchange), real, answer)
            drift.differences += [(number, difference) for difference in found]
            real_id, fake_id = real.header(LOG_ID), answer.header(LOG_ID)
            if real_id and fake_id:
                ids[real_id] = fake_id
                if real.status == answer.status:  # else its log tells the same story again
                    numbers[real_id] = number
        for log in cassette.logs:
            real_id = str(log.get("id"))
            if real_id in numbers:
                fake_log = _fake_log(client, gateway, ids[real_id])
                number = numbers[real_id]
                drift.differences += [(number, d) for d in _log_differences(log, fake_log)]
    return drift


def _log_differences(real: dict[str, object], fake: dict[str, object] | None) -> list[Difference]:
    if fake is None:
        return [Difference("log", "(log)", "present", "missing")]
    return compare_logs(real, fake)


def _request(
    exchange: Exchange, number: int, gateway: MockGateway, ids: dict[str, str], path: Path
) -> httpx.Request:
    recorded = exchange.request
    url = _swap_ids(_fake_url(exchange, gateway, number, path), ids)
    body = recorded.body.data
    if exchange.api == "logs":
        body = _swap_ids(body.decode("utf-8", errors="surrogateescape"), ids).encode(
            "utf-8", errors="surrogateescape"
        )
    return httpx.Request(
        recorded.method, url, headers=request_headers(recorded, gateway), content=body
    )


def _fake_url(exchange: Exchange, gateway: MockGateway, number: int, path: Path) -> str:
    url = httpx.URL(exchange.request.url)
    if exchange.api == "gateway":
        pattern, base = _GATEWAY, gateway.gateway_url
    elif exchange.api == "logs":
        pattern = _LOGS
        base = f"{gateway.api_url}/accounts/{gateway.account_id}/ai-gateway/gateways/"
        base += gateway.gateway_id
    else:
        pattern, base = _REST, f"{gateway.api_url}/accounts/{gateway.account_id}"
    match = pattern.search(url.path)
    if match is None:
        raise CassetteError(
            f"{path}: exchanges[{number}].request.url {exchange.request.url!r} is not a"
            f" URL of the {exchange.api} API; record the cassette again"
        )
    query = f"?{url.query.decode()}" if url.query else ""
    return base + match.group("tail") + query


def _swap_ids(text: str, ids: dict[str, str]) -> str:
    for real_id, fake_id in ids.items():
        text = text.replace(real_id, fake_id)
    return text


def request_headers(recorded: RecordedRequest, gateway: MockGateway) -> list[tuple[str, str]]:
    """The recorded request's headers as the fake gets them: its gateway, sendable credentials."""
    headers = []
    for name, value in recorded.headers:
        lowered = name.lower()
        if lowered in _DROPPED:
            continue
        if lowered == "cf-aig-gateway-id":
            value = gateway.gateway_id
        elif is_secret_header(lowered):
            value = _stand_in(lowered, value)
        headers.append((name, value))
    return headers


def _stand_in(name: str, value: str) -> str:
    """A redacted credential made sendable again, in the form it was sent."""
    if not _REDACTED.search(value):
        return value  # sent as it was (an empty key stays empty)
    value = _REDACTED.sub(STAND_IN_CREDENTIAL, value)
    if name == "authorization" and " " not in value.strip():
        return f"Bearer {value.strip()}"  # the scheme went with the secret
    return value


def _send(client: httpx.Client, request: httpx.Request) -> Answer:
    response = client.send(request)  # the fake acts out network faults only when scripted
    return Answer(response.status_code, list(response.headers.items()), response.content)


def _recorded(exchange: Exchange) -> Answer:
    response = exchange.response
    return Answer(response.status, response.headers, response.content)


def _fake_log(client: httpx.Client, gateway: MockGateway, log_id: str) -> dict[str, object] | None:
    url = f"{gateway.api_url}/accounts/{gateway.account_id}/ai-gateway/gateways/"
    url += f"{gateway.gateway_id}/logs/{log_id}"
    response = client.get(url, headers={"authorization": f"Bearer {STAND_IN_CREDENTIAL}"})
    if response.status_code != 200:
        return None
    result = _json.loads(response.text).get("result")
    return result if isinstance(result, dict) else None
