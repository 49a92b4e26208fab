"""The requests-based tagger, tested over real HTTP with `aigw_server`."""

from __future__ import annotations

import pytest
import requests
from ticket_tagger import MODEL, tag_ticket

from pytest_aigw import MockGatewayServer


def test_the_models_category_is_used(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond("Billing", provider="workers-ai")
    category = tag_ticket(aigw_server.gateway_url, "cf-token", "T-17", "I was charged twice")
    assert category == "billing"
    call = aigw_server.calls.last
    assert (call.provider, call.model) == ("workers-ai", MODEL)
    assert call.metadata == {"ticket": "T-17"}


def test_an_unknown_answer_becomes_other(aigw_server: MockGatewayServer) -> None:
    aigw_server.respond("Weather", provider="workers-ai")
    assert tag_ticket(aigw_server.gateway_url, "cf-token", "T-18", "Nice day") == "other"


def test_a_rate_limited_gateway_raises(aigw_server: MockGatewayServer) -> None:
    aigw_server.fail(429)
    with pytest.raises(requests.HTTPError, match="429"):
        tag_ticket(aigw_server.gateway_url, "cf-token", "T-19", "Help")
