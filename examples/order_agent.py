"""An order-status agent: the model looks orders up with a tool, then answers.

It streams, as chat front ends do, reassembling tool calls from the stream, and it can
also file a structured ticket (`Ticket`) when the customer asks for a human.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from pydantic import BaseModel

LOOKUP_ORDER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Find an order's status by its number.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}
SYSTEM = "You are the order desk of a small shop. Look orders up before answering."


class Ticket(BaseModel):
    """A hand-over to a human agent."""

    summary: str
    urgent: bool


Orders = Callable[[str], Mapping[str, Any]]


class OrderAgent:
    def __init__(self, gateway_url: str, api_key: str, orders: Orders) -> None:
        self._client = OpenAI(base_url=f"{gateway_url}/openai", api_key=api_key, max_retries=0)
        self._orders = orders

    def answer(self, question: str, *, max_turns: int = 4) -> str:
        """Run the tool loop until the model answers in text."""
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
        ]
        for _ in range(max_turns):
            text, calls = self._turn(messages)
            if not calls:
                return text
            assistant = {"role": "assistant", "content": text or None, "tool_calls": calls}
            messages.append(cast("ChatCompletionMessageParam", assistant))
            for call in calls:
                arguments = json.loads(call["function"]["arguments"])
                result = self._orders(arguments["order_id"])
                messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
                )
        raise RuntimeError(f"no answer after {max_turns} turns")

    def _turn(self, messages: list[ChatCompletionMessageParam]) -> tuple[str, list[dict[str, Any]]]:
        """One streamed model turn: its text and the tool calls rebuilt from the deltas."""
        stream = self._client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, tools=[LOOKUP_ORDER], stream=True
        )
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        for chunk in stream:
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            text.append(delta.content or "")
            for piece in delta.tool_calls or ():
                call = calls.setdefault(
                    piece.index,
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = piece.id or call["id"]
                if piece.function is not None:
                    call["function"]["name"] += piece.function.name or ""
                    call["function"]["arguments"] += piece.function.arguments or ""
        return "".join(text), [calls[index] for index in sorted(calls)]

    def hand_over(self, conversation: str) -> Ticket:
        """Summarise a conversation as a ticket for a human agent."""
        reply = self._client.chat.completions.parse(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Summarise this for a human agent."},
                {"role": "user", "content": conversation},
            ],
            response_format=Ticket,
        )
        ticket = reply.choices[0].message.parsed
        if ticket is None:
            raise RuntimeError("the model refused to summarise the conversation")
        return ticket
