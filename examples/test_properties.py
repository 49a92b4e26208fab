"""Property-based tests of the app's metadata builder, with pytest-aigw's strategies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support_app import SupportAssistant, request_tags

from pytest_aigw import MetadataError, MockGateway, metadata
from pytest_aigw import strategies as aigw_st

users = st.text(min_size=1, max_size=30)
teams = st.sampled_from(["billing", "sales", "support"])


@given(users, teams, aigw_st.metadata(max_entries=3))
def test_the_gateway_keeps_every_tag_the_builder_writes(
    user: str, team: str, extra: dict[str, Any]
) -> None:
    stored = metadata.parse(request_tags(user, team, extra)).stored
    assert stored == {**extra, "user": user, "team": team}


@given(users, teams, aigw_st.metadata(min_entries=4, max_entries=5))
def test_too_many_tags_are_refused_before_the_gateway_drops_them(
    user: str, team: str, extra: dict[str, Any]
) -> None:
    if len({**extra, "user": user, "team": team}) > 5:
        with pytest.raises(MetadataError, match="at most 5"):
            request_tags(user, team, extra)


# One `aigw` serves every example of a @given test: reset it at the start of each.
@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20, deadline=None
)
@given(users)
def test_every_question_is_tagged_with_its_user(aigw: MockGateway, user: str) -> None:
    aigw.reset()
    SupportAssistant(aigw.gateway_url, api_key="sk-test").ask("Hi", user_id=user, team="sales")
    assert aigw.calls.last.metadata == {"user": user, "team": "sales"}
