"""Contract tests: written once, run against the fake by default and the real gateway live.

    tox -e live    # with CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN, PYTEST_AIGW_GATEWAY_ID

They call Workers AI through the gateway, which the Cloudflare API token pays for, so no
provider key is needed. In live mode every request also carries ``test: true``.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest

from pytest_aigw import Gateway

pytestmark = pytest.mark.aigw_live

MODEL = "@cf/meta/llama-3.1-8b-instruct"
PROMPT = {"messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8}


def run_model(aigw: Gateway, **body: object) -> httpx.Response:
    token = os.environ.get("CLOUDFLARE_API_TOKEN", "mock-token")
    response = httpx.post(
        f"{aigw.url('workers-ai')}/{MODEL}",
        json={**PROMPT, **body},
        headers={
            "Authorization": f"Bearer {token}",
            "cf-aig-metadata": json.dumps({"suite": "contract"}),
        },
        timeout=60,
    )
    response.raise_for_status()
    return response


def test_a_call_is_logged_with_the_apps_metadata(aigw: Gateway) -> None:
    response = run_model(aigw)
    call = aigw.calls.last
    assert call.log_id == response.headers["cf-aig-log-id"]
    assert aigw.log_ids == [call.log_id]
    assert (call.provider, call.model) == ("workers-ai", MODEL)
    assert call.metadata is not None
    assert call.metadata["suite"] == "contract"
    if aigw.mode == "live":
        assert call.metadata["test"] is True


def test_a_stream_arrives_as_server_sent_events(aigw: Gateway) -> None:
    response = run_model(aigw, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert aigw.calls.last.log_id is not None


def test_feedback_round_trips_through_the_logs_api(aigw: Gateway) -> None:
    run_model(aigw)
    log = aigw.assert_feedback_roundtrip(aigw.log_ids[0], feedback=1, score=80, timeout=60)
    assert (log.feedback, log.score) == (1, 80)
    assert log.provider == "workers-ai"
