"""Contract tests: on the fake by default, on the real gateway with --aigw-mode=live.

Live, they need OPENAI_API_KEY (the provider key the gateway forwards) besides the
Cloudflare credentials.
"""

from __future__ import annotations

import os

import pytest
from support_app import SupportAssistant

from pytest_aigw import Gateway

pytestmark = pytest.mark.aigw_live


@pytest.fixture
def assistant(aigw: Gateway) -> SupportAssistant:
    return SupportAssistant(aigw.gateway_url, api_key=os.environ.get("OPENAI_API_KEY", "sk-test"))


def test_an_answer_is_logged_with_user_and_team(assistant: SupportAssistant, aigw: Gateway) -> None:
    answer = assistant.ask("Say OK.", user_id="contract", team="qa")
    assert answer.log_id == aigw.log_ids[-1]
    metadata = aigw.calls.last.metadata or {}
    assert (metadata["user"], metadata["team"]) == ("contract", "qa")


def test_feedback_on_an_answer_round_trips(assistant: SupportAssistant, aigw: Gateway) -> None:
    answer = assistant.ask("Say OK.", user_id="contract", team="qa")
    log = aigw.assert_feedback_roundtrip(answer.log_id, feedback=1, score=100)
    assert (log.feedback, log.score) == (1, 100)
