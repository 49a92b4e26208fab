"""A streamed tool call against a streamed text reply of the same size, on the fake gateway.

Run: python bench/bench_tool_stream.py [--chars N] [--streams N] [--rounds N]

Both replies carry N characters (default 12,000) of model output through the `openai`
SDK's `chat.completions.create(..., stream=True)`:

(a) tool:  ``respond(tool_calls=[tool_call("save_notes", {"notes": TEXT})])``, the
           arguments streamed as OpenAI sends them, in small pieces after an opening delta
(b) text:  ``respond(TEXT)``, one piece per word

Each figure is the median over rounds of: time to the first chunk the SDK yields, and the
time to reassemble the whole reply (the tool call's arguments joined and parsed, or the
text joined), per stream. Rounds alternate (a) and (b) and flip their order every round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from _rounds import alternate
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from pytest_aigw import MockGateway, tool_call

WORDS = [
    "the",
    "parcel",
    "left",
    "the",
    "warehouse",
    "on",
    "monday",
    "and",
    "reached",
    "the",
    "courier",
    "depot",
    "by",
    "noon",
]
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Save my notes."}]


def text_of(chars: int) -> str:
    words: list[str] = []
    while len(" ".join(words)) < chars:
        words.append(WORDS[len(words) % len(WORDS)])
    return " ".join(words)[:chars]


def read_tool_call(client: OpenAI) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    arguments: list[str] = []
    for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        first = first or time.perf_counter() - start
        for delta in (chunk.choices[0].delta.tool_calls or ()) if chunk.choices else ():
            if delta.function and delta.function.arguments:
                arguments.append(delta.function.arguments)
    json.loads("".join(arguments))
    return first, time.perf_counter() - start


def read_text(client: OpenAI) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
        first = first or time.perf_counter() - start
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    "".join(pieces)
    return first, time.perf_counter() - start


def run_round(
    read: Callable[[OpenAI], tuple[float, float]], client: OpenAI, streams: int
) -> tuple[float, float]:
    figures = [read(client) for _ in range(streams)]
    return statistics.mean(f for f, _ in figures), statistics.mean(t for _, t in figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=12_000)
    parser.add_argument("--streams", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    text = text_of(args.chars)
    with MockGateway(strict=False) as gw:
        client = OpenAI(base_url=gw.url("openai"), api_key="sk-test")

        def tool_round() -> tuple[float, float]:
            gw.reset()
            gw.respond(tool_calls=[tool_call("save_notes", {"notes": text})], times=None)
            return run_round(read_tool_call, client, args.streams)

        def text_round() -> tuple[float, float]:
            gw.reset()
            gw.respond(text, times=None)
            return run_round(read_text, client, args.streams)

        results = alternate({"tool": tool_round, "text": text_round}, args.rounds)
    print(f"reply of {args.chars:,} characters, {args.streams} streams x {args.rounds} rounds")
    print("case | first chunk, ms | whole reply reassembled, ms")
    medians: dict[str, tuple[float, float]] = {}
    for case, rounds in results.items():
        first = statistics.median(f for f, _ in rounds) * 1000
        total = statistics.median(t for _, t in rounds) * 1000
        medians[case] = (first, total)
        print(f"{case} | {first:.2f} | {total:.1f}")
    tool_first, tool_total = medians["tool"]
    text_first, text_total = medians["text"]
    print(f"ratio tool/text | {tool_first / text_first:.2f}x | {tool_total / text_total:.2f}x")


if __name__ == "__main__":
    main()
