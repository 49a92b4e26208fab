"""A tiny support assistant that calls an LLM through Cloudflare AI Gateway.

It tags every request with the user and team (`cf-aig-metadata`) and returns the
gateway's log id with the answer, so user feedback can be attached to the log later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from openai import OpenAI

from pytest_aigw.metadata import MetadataValue, encode


def request_tags(user_id: str, team: str, extra: Mapping[str, MetadataValue] | None = None) -> str:
    """The `cf-aig-metadata` value: any extra tags, then the user and team (which win)."""
    return encode({**(extra or {}), "user": user_id, "team": team})


@dataclass(frozen=True)
class Answer:
    text: str
    log_id: str


class SupportAssistant:
    def __init__(self, gateway_url: str, api_key: str, model: str = "gpt-4o-mini") -> None:
        self._client = OpenAI(base_url=f"{gateway_url}/openai", api_key=api_key, max_retries=0)
        self._model = model

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
