"""Streamed-reply throughput of the fake gateway versus a bare respx route.

Run: python bench/bench_stream.py [--words N] [--streams N] [--sdk-streams N] [--rounds N]

One scripted OpenAI chat-completions reply of N words (default 2000) is streamed back to
a client that reads it to the end. The fake sends one SSE event per word, plus its role,
stop and [DONE] events. Cases, each pairing the fake with a baseline:

(a) fake:  MockGateway, with ``respond(content=..., times=None)``, interception started
(b) respx: a bare respx route whose side effect returns ``httpx.Response(200,
           stream=...)`` over the same SSE events, pre-built, one chunk per event

for three clients: ``httpx.Client.stream`` with ``iter_lines()``, the same on ``httpx2``
(if importable), and the official ``openai`` SDK's ``create(..., stream=True)`` iteration
(if importable; counted as the chunks the SDK yields). The fake is stopped during
the baseline's rounds because both answer the same URL. (c) times ``MockGateway.handler``
alone. It builds the whole reply, and nothing is streamed.

Rounds of all cases alternate, and the order flips every round, so machine noise hits
each case alike. A round streams the reply --streams times per case (--sdk-streams for
the SDK). The table shows the median over rounds of each round's figures:
chunks per second over the whole reply (from sending the request to the last chunk), MB/s
(the reply's bytes, the same for both), time to first chunk, and chunks per second after
the first chunk.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import respx
from respx.mocks import Mocker

from pytest_aigw import MockGateway

SENTENCE = (
    "Your order #1234 left our warehouse on Monday and is now with the courier, who"
    " expects to deliver it within two working days; you can follow every step with"
    " the tracking link we emailed you, and reply here if anything looks wrong."
)
MESSAGES = [
    {"role": "system", "content": "You are a helpful support assistant for Acme Inc."},
    {"role": "user", "content": "My order #1234 has not arrived yet. Where is it?"},
]
MODEL = "gpt-4o-mini"
PAYLOAD = {"model": MODEL, "messages": MESSAGES, "stream": True}
BASELINE_HEADERS = {"content-type": "text/event-stream"}
KEY = {"authorization": "Bearer sk-test"}  # the provider key an app sends


class LineResponse(Protocol):
    def iter_lines(self) -> Iterator[str]: ...


class StreamingClient(Protocol):
    """What httpx.Client and httpx2.Client share for this benchmark."""

    def stream(
        self,
        method: str,
        url: str,
        *,
        json: Any | None = None,
        headers: dict[str, str] | None = None,
    ) -> AbstractContextManager[LineResponse]: ...


@dataclass(frozen=True)
class Stream:
    """One streamed reply as the client saw it."""

    chunks: int
    first: float  # seconds from sending the request to the first chunk
    total: float  # seconds from sending the request to the last chunk


@dataclass(frozen=True)
class Round:
    """One round of one case: --streams replies, summed."""

    chunks_per_s: float
    mb_per_s: float
    first_ms: float  # mean time to first chunk
    rest_chunks_per_s: float  # chunks after the first, per second after the first


class ListStream(httpx.SyncByteStream):
    """The baseline's body: the pre-built chunks, one at a time."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


def long_text(words: int) -> str:
    return " ".join(itertools.islice(itertools.cycle(SENTENCE.split()), words))


def read_lines(client: StreamingClient, url: str, expected: int) -> Stream:
    """Stream one reply with *client*, counting its ``data:`` events."""
    chunks, first = 0, 0.0
    start = time.perf_counter()
    with client.stream("POST", url, json=PAYLOAD, headers=KEY) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                if not chunks:
                    first = time.perf_counter()
                chunks += 1
    end = time.perf_counter()
    assert chunks == expected, f"got {chunks} events, expected {expected}"
    return Stream(chunks, first - start, end - start)


def summarize(streams: list[Stream], reply_bytes: int) -> Round:
    chunks = sum(s.chunks for s in streams)
    total = sum(s.total for s in streams)
    first = sum(s.first for s in streams)
    return Round(
        chunks_per_s=chunks / total,
        mb_per_s=reply_bytes * len(streams) / total / 1e6,
        first_ms=first / len(streams) * 1e3,
        rest_chunks_per_s=(chunks - len(streams)) / (total - first),
    )


def run(
    words: int, streams: int, sdk_streams: int, rounds: int
) -> tuple[dict[str, list[Round]], list[float], int, int]:
    """Alternating rounds of every case; also (c)'s ms per reply, events and bytes."""
    text = long_text(words)
    gw = MockGateway(strict=False)
    url = gw.url("openai") + "/chat/completions"
    request = httpx.Request("POST", url, json=PAYLOAD, headers=KEY)
    gw.respond(content=text, times=None)
    body = gw.handler(request).content  # (b) serves exactly the events the fake builds
    events = [event + b"\n\n" for event in body.split(b"\n\n") if event]
    assert b"".join(events) == body
    gw.reset()

    def scripted() -> None:
        gw.reset()
        gw.respond(content=text, times=None)

    def fake(measure: Callable[[], list[Stream]]) -> Callable[[], Round]:
        def fake_round() -> Round:
            scripted()
            gw.start()
            try:
                return summarize(measure(), len(body))
            finally:
                gw.stop()

        return fake_round

    def baseline(measure: Callable[[], list[Stream]]) -> Callable[[], Round]:
        def respx_round() -> Round:
            with ExitStack() as stack:
                # One router per connection-pool mocker the fake patches (httpcore, and
                # httpcore2 under httpx2 once the fake has registered it).
                for using in ("httpcore", "httpcore2"):
                    if using in Mocker.registry:
                        router = stack.enter_context(
                            respx.mock(assert_all_called=False, using=using)
                        )
                        router.post(url).mock(
                            side_effect=lambda request: httpx.Response(
                                200, headers=BASELINE_HEADERS, stream=ListStream(events)
                            )
                        )
                return summarize(measure(), len(body))

        return respx_round

    clients: list[Callable[[], None]] = []  # closers, run at the end
    cases: dict[str, Callable[[], Round]] = {}

    def add_client(name: str, client: StreamingClient, close: Callable[[], None]) -> None:
        def measure() -> list[Stream]:
            return [read_lines(client, url, len(events)) for _ in range(streams)]

        cases[f"{name} fake"] = fake(measure)
        cases[f"{name} respx"] = baseline(measure)
        clients.append(close)

    plain = httpx.Client()
    add_client("httpx", plain, plain.close)
    if importlib.util.find_spec("httpx2") is not None:
        import httpx2

        plain2 = httpx2.Client()
        add_client("httpx2", plain2, plain2.close)
    if importlib.util.find_spec("openai") is not None:
        import openai

        sdk = openai.OpenAI(base_url=gw.url("openai"), api_key="sk-test", max_retries=0)
        sdk_expected = len(events) - 1  # the SDK does not yield [DONE]

        def read_sdk() -> Stream:
            chunks, first = 0, 0.0
            start = time.perf_counter()
            reply = sdk.chat.completions.create(
                model=MODEL,
                messages=[
                    {"role": "system", "content": MESSAGES[0]["content"]},
                    {"role": "user", "content": MESSAGES[1]["content"]},
                ],
                stream=True,
            )
            for _ in reply:
                if not chunks:
                    first = time.perf_counter()
                chunks += 1
            end = time.perf_counter()
            assert chunks == sdk_expected, f"got {chunks} chunks, expected {sdk_expected}"
            return Stream(chunks, first - start, end - start)

        def measure_sdk() -> list[Stream]:
            return [read_sdk() for _ in range(sdk_streams)]

        cases["openai fake"] = fake(measure_sdk)
        cases["openai respx"] = baseline(measure_sdk)
        clients.append(sdk.close)

    def handler_round() -> float:
        scripted()
        start = time.perf_counter()
        for _ in range(streams):
            gw.handler(request)
        return (time.perf_counter() - start) / streams * 1e3

    for measure in cases.values():  # warm-up, not counted; the fake runs first
        measure()
    handler_round()
    results: dict[str, list[Round]] = {name: [] for name in cases}
    handler_ms: list[float] = []
    for number in range(rounds):
        order = list(cases.items())
        if number % 2:
            order.reverse()  # alternate which case runs first in a round
        for name, measure in order:
            results[name].append(measure())
        handler_ms.append(handler_round())
    for close in clients:
        close()
    gw.reset()
    return results, handler_ms, len(events), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2000, help="words in the reply")
    parser.add_argument("--streams", type=int, default=20, help="replies per round (httpx)")
    parser.add_argument("--sdk-streams", type=int, default=4, help="replies per round (SDK)")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds")
    args = parser.parse_args()
    if min(args.words, args.streams, args.sdk_streams, args.rounds) < 1:
        parser.error("--words, --streams, --sdk-streams and --rounds must be at least 1")
    results, handler_ms, events, size = run(args.words, args.streams, args.sdk_streams, args.rounds)
    median = {
        name: Round(
            chunks_per_s=statistics.median(r.chunks_per_s for r in rounds),
            mb_per_s=statistics.median(r.mb_per_s for r in rounds),
            first_ms=statistics.median(r.first_ms for r in rounds),
            rest_chunks_per_s=statistics.median(r.rest_chunks_per_s for r in rounds),
        )
        for name, rounds in results.items()
    }
    print(
        f"{args.rounds} rounds x {args.streams} streams ({args.sdk_streams} for the SDK);"
        f" reply: {args.words} words, {events} SSE events, {size / 1e6:.3f} MB"
    )
    print("median of per-round figures; min and max: chunks/s over rounds")
    print(
        f"{'case':<14} {'chunks/s':>9} {'min':>7} {'max':>7} {'MB/s':>6}"
        f" {'1st chunk ms':>12} {'chunks/s after 1st':>18}"
    )
    for name, m in median.items():
        low = min(r.chunks_per_s for r in results[name])
        high = max(r.chunks_per_s for r in results[name])
        print(
            f"{name:<14} {m.chunks_per_s:>9,.0f} {low:>7,.0f} {high:>7,.0f} {m.mb_per_s:>6.1f}"
            f" {m.first_ms:>12.2f} {m.rest_chunks_per_s:>18,.0f}"
        )
    print(
        f"(c) MockGateway.handler alone (builds the whole reply):"
        f" {statistics.median(handler_ms):.2f} ms per reply (min {min(handler_ms):.2f})"
    )
    print("no target for stream throughput; ratios fake/respx:")
    for client in dict.fromkeys(name.split()[0] for name in median):
        fake, base = median[f"{client} fake"], median[f"{client} respx"]
        print(
            f"  {client:<7} chunks/s {fake.chunks_per_s / base.chunks_per_s:.2f}x,"
            f" time to first chunk {fake.first_ms / base.first_ms:.1f}x,"
            f" chunks/s after the first {fake.rest_chunks_per_s / base.rest_chunks_per_s:.2f}x"
        )


if __name__ == "__main__":
    main()
