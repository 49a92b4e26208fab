"""A ticket tagger built on `requests`, calling Workers AI through AI Gateway.

It asks a model to pick a category for a support ticket and tags the request with the
ticket id, so the gateway's logs can be traced back to tickets.
"""

from __future__ import annotations

import json

import requests

CATEGORIES = ("billing", "bug", "account", "other")
MODEL = "@cf/meta/llama-3.1-8b-instruct"


def tag_ticket(gateway_url: str, api_token: str, ticket_id: str, text: str) -> str:
    """Return the ticket's category ("other" when the model answers something else)."""
    response = requests.post(
        f"{gateway_url}/workers-ai/{MODEL}",
        json={
            "messages": [
                {"role": "system", "content": "Answer with one word: " + ", ".join(CATEGORIES)},
                {"role": "user", "content": text},
            ]
        },
        headers={
            "Authorization": f"Bearer {api_token}",
            "cf-aig-metadata": json.dumps({"ticket": ticket_id}),
        },
        timeout=30,
    )
    response.raise_for_status()
    answer = str(response.json()["result"]["response"]).strip().lower()
    return answer if answer in CATEGORIES else "other"
