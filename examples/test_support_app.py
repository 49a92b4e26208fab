"""Unit tests of the support assistant on the fake gateway, written as a user would."""

from __future__ import annotations

import pytest
from support_app import FeedbackTarget, SupportAssistant

from pytest_aigw import MockGateway


@pytest.fixture
def assistant(aigw: MockGateway) -> SupportAssistant:
    return SupportAssistant(aigw.gateway_url, api_key="sk-test")


def test_answer_carries_the_gateway_log_id(assistant: SupportAssistant, aigw: MockGateway) -> None:
    answer = assistant.ask("How do I reset my password?", user_id="u-42", team="billing")
    assert answer.text
    assert answer.log_id == aigw.calls.last.log_id


def test_requests_are_tagged_with_user_and_team(
    assistant: SupportAssistant, aigw: MockGateway
) -> None:
    assistant.ask("Where is my invoice?", user_id="u-7", team="billing")
    call = aigw.calls.last
    assert call.metadata == {"user": "u-7", "team": "billing"}
    assert call.model == "gpt-4o-mini"
    assert call.json["messages"][-1] == {"role": "user", "content": "Where is my invoice?"}


def test_the_api_key_is_sent_but_never_recorded(
    assistant: SupportAssistant, aigw: MockGateway
) -> None:
    assistant.ask("Hi", user_id="u-1", team="sales")
    call = aigw.calls.last
    assert "sk-test" not in str(call.headers)
    assert call.secret_matches("authorization", "Bearer sk-test")


def test_thumbs_become_gateway_feedback(aigw: MockGateway) -> None:
    target = FeedbackTarget(aigw.api_url, aigw.account_id, aigw.gateway_id, "cf-token")
    assistant = SupportAssistant(aigw.gateway_url, api_key="sk-test", feedback=target)
    liked = assistant.ask("Refund?", user_id="u-1", team="billing")
    disliked = assistant.ask("Refund now?", user_id="u-1", team="billing")
    assistant.thumbs(liked, up=True)
    assistant.thumbs(disliked, up=False)
    assert aigw.logs.get(liked.log_id).feedback == 1
    assert aigw.logs.get(disliked.log_id).feedback == -1
