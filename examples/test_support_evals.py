"""An eval suite: each case's gateway logs get +1 or -1 from its outcome, and a score.

pytest examples/test_support_evals.py --aigw-eval-report=eval.json --aigw-eval-min-pass-rate=0.9
"""

from __future__ import annotations

import pytest
from support_app import SupportAssistant

from pytest_aigw import Gateway, MockGateway

CASES = [
    ("How do I reset my password?", "reset link"),
    ("Can I get a refund?", "refund"),
    ("Where is my invoice?", "invoice"),
]


@pytest.mark.aigw_eval
@pytest.mark.aigw_live
@pytest.mark.parametrize(("question", "must_mention"), CASES)
def test_the_answer_mentions_the_topic(aigw: Gateway, question: str, must_mention: str) -> None:
    if isinstance(aigw, MockGateway):  # live, the real model answers
        aigw.respond(f"Here is how the {must_mention} works: ...")
    assistant = SupportAssistant(aigw.gateway_url, api_key="sk-test")
    answer = assistant.ask(question, user_id="eval", team="support")
    aigw.score(100 if must_mention in answer.text.lower() else 0)
    assert must_mention in answer.text.lower()
