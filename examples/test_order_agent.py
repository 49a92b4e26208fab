"""The order agent's tool loop and hand-over, on the fake gateway."""

from __future__ import annotations

import json
from typing import Any

import pytest
from order_agent import OrderAgent, Ticket

import pytest_aigw
from pytest_aigw import MockGateway

ORDERS = {"A-17": {"status": "shipped", "carrier": "DHL"}}


@pytest.fixture
def agent(aigw: MockGateway) -> OrderAgent:
    return OrderAgent(aigw.gateway_url, api_key="sk-test", orders=lambda n: ORDERS[n])


def test_the_agent_looks_the_order_up_then_answers(agent: OrderAgent, aigw: MockGateway) -> None:
    aigw.respond(
        tool_calls=[pytest_aigw.tool_call("lookup_order", {"order_id": "A-17"})],
        tool_result=False,
    )
    aigw.respond("Order A-17 has shipped with DHL.", tool_result="lookup_order")

    assert agent.answer("Where is order A-17?") == "Order A-17 has shipped with DHL."
    lookup = aigw.calls[1].tool_results[0]
    assert lookup.name == "lookup_order"
    assert json.loads(lookup.text) == ORDERS["A-17"]
    assert "order desk" in (aigw.calls[0].system or "")


def test_parallel_lookups_are_all_answered(agent: OrderAgent, aigw: MockGateway) -> None:
    ORDERS["B-2"] = {"status": "packing"}
    aigw.respond(
        "Let me check both.",
        tool_calls=[
            pytest_aigw.tool_call("lookup_order", {"order_id": "A-17"}),
            pytest_aigw.tool_call("lookup_order", {"order_id": "B-2"}),
        ],
        tool_result=False,
    )
    aigw.respond("A-17 shipped; B-2 is being packed.", tool_result=True)

    assert agent.answer("Status of A-17 and B-2?") == "A-17 shipped; B-2 is being packed."
    assert [json.loads(r.text)["status"] for r in aigw.calls[1].tool_results] == [
        "shipped",
        "packing",
    ]


def test_the_model_is_answered_by_what_it_asks(agent: OrderAgent, aigw: MockGateway) -> None:
    def model(call: pytest_aigw.Call) -> Any:
        if not call.tool_results:
            order = call.prompt.split()[-1].rstrip("?") if call.prompt else ""
            return pytest_aigw.reply(
                tool_calls=[pytest_aigw.tool_call("lookup_order", {"order_id": order})]
            )
        return f"It is {json.loads(call.tool_results[0].text)['status']}."

    aigw.respond(model, times=None)
    assert agent.answer("Where is A-17?") == "It is shipped."


def test_hand_over_gives_a_ticket_without_any_script(agent: OrderAgent) -> None:
    ticket = agent.hand_over("The parcel arrived broken.")
    assert isinstance(ticket, Ticket)


def test_a_scripted_ticket_is_parsed(agent: OrderAgent, aigw: MockGateway) -> None:
    aigw.respond(Ticket(summary="Broken parcel", urgent=True))
    assert agent.hand_over("The parcel arrived broken.") == Ticket(
        summary="Broken parcel", urgent=True
    )
