"""A tiny support assistant that calls an LLM through Cloudflare AI Gateway.

It tags every request with the user and team (`cf-aig-metadata`) and returns the
gateway's log id with the answer; a user's thumbs up or down goes to that log as gateway
feedback through Cloudflare's Logs API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from openai import OpenAI

from pytest_aigw.metadata import MetadataValue, encode


def request_tags(user_id: str, team: str, extra: Mapping[str, MetadataValue] | None = None) -> str:
    """The `cf-aig-metadata` value: any extra tags, then the user and team (which win)."""
    return encode({**(extra or {}), "user": user_id, "team": team})


@dataclass(frozen=True)
class Answer:
    text: str
    log_id: str


@dataclass(frozen=True)
class FeedbackTarget:
    """Where thumbs go: the Logs API of one account's gateway."""

    api_url: str  # https://api.cloudflare.com/client/v4
    account_id: str
    gateway_id: str
    api_token: str

    def logs_url(self, log_id: str) -> str:
        return (
            f"{self.api_url}/accounts/{self.account_id}/ai-gateway/gateways/"
            f"{self.gateway_id}/logs/{log_id}"
        )


class SupportAssistant:
    def __init__(
        self,
        gateway_url: str,
        api_key: str,
        model: str = "gpt-4o-mini",
        feedback: FeedbackTarget | None = None,
    ) -> None:
        self._client = OpenAI(base_url=f"{gateway_url}/openai", api_key=api_key, max_retries=0)
        self._model = model
        self._feedback = feedback

    def ask(
        self,
        question: str,
        *,
        user_id: str,
        team: str,
        tags: Mapping[str, MetadataValue] | None = None,
    ) -> Answer:
        raw = self._client.chat.completions.with_raw_response.create(
            model=self._model,
            messages=[
                {"role": "system", "content": "You are a helpful support assistant."},
                {"role": "user", "content": question},
            ],
            extra_headers={"cf-aig-metadata": request_tags(user_id, team, tags)},
        )
        completion = raw.parse()
        return Answer(completion.choices[0].message.content or "", raw.headers["cf-aig-log-id"])

    def thumbs(self, answer: Answer, *, up: bool) -> None:
        """Record the user's verdict on *answer* as gateway feedback (+1 or -1)."""
        if self._feedback is None:
            raise RuntimeError("no feedback target configured")
        response = httpx.patch(
            self._feedback.logs_url(answer.log_id),
            json={"feedback": 1 if up else -1},
            headers={"Authorization": f"Bearer {self._feedback.api_token}"},
        )
        response.raise_for_status()
