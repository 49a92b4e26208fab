"""Default replies are shaped like each provider's and name the model asked for."""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from pytest_aigw import MockGateway
from pytest_aigw.fake.answers import DEFAULT_CONTENT
from pytest_aigw.fake.formats import model_of


@pytest.mark.parametrize(
    ("provider", "path", "body", "model"),
    [
        ("openai", "chat/completions", {"model": "gpt-4o"}, "gpt-4o"),
        ("workers-ai", "@cf/meta/llama-3.1-8b-instruct", {}, "@cf/meta/llama-3.1-8b-instruct"),
        (
            "workers-ai",
            "run/@cf/meta/llama-3.1-8b-instruct",
            None,
            "@cf/meta/llama-3.1-8b-instruct",
        ),
        ("azure-openai", "res/my-deploy/chat/completions", {}, "my-deploy"),
        (
            "google-ai-studio",
            "v1beta/models/gemini-2.5-flash:generateContent",
            {},
            "gemini-2.5-flash",
        ),
        ("openai", "chat/completions", {"model": 3}, None),
        ("anything", "v1/x", None, None),
    ],
)
def test_model_comes_from_the_body_or_the_path(
    provider: str, path: str, body: dict[str, object] | None, model: str | None
) -> None:
    assert model_of(provider, path, body) == model


# The provider keys the app's clients send; the gateway checks them (credentials="provider").
KEYS = {"authorization": "Bearer sk-test", "x-goog-api-key": "test-key"}


def post(url: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """`httpx.post` with the provider keys; *headers* add to or replace them."""
    return httpx.post(url, headers={**KEYS, **(headers or {})}, **kwargs)


def _post(path: str, body: dict[str, object]) -> dict[str, object]:
    with MockGateway() as gw:
        reply = post(gw.gateway_url + path, json=body)
    assert reply.status_code == 200
    result: dict[str, object] = reply.json()
    return result


@pytest.mark.parametrize(
    "path",
    [
        "/openai/chat/completions",
        "/workers-ai/v1/chat/completions",
        "/groq/chat/completions",
        "/mistral/v1/chat/completions",
        "/deepseek/chat/completions",
        "/azure-openai/res/dep/chat/completions?api-version=2024-06-01",
    ],
)
def test_chat_completions_are_openai_shaped_everywhere(path: str) -> None:
    body = _post(path, {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert body["object"] == "chat.completion"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": DEFAULT_CONTENT, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    usage = body["usage"]
    assert isinstance(usage, dict)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_embeddings_are_deterministic_unit_vectors_and_honour_base64() -> None:
    floats = _post("/openai/embeddings", {"input": ["a", "b"], "dimensions": 4})
    again = _post("/openai/embeddings", {"input": ["a", "b"], "dimensions": 4})
    packed = _post(
        "/openai/embeddings", {"input": ["a", "b"], "dimensions": 4, "encoding_format": "base64"}
    )
    assert floats == again
    vectors = [d["embedding"] for d in floats["data"]]  # type: ignore[attr-defined]
    assert len(vectors) == 2
    assert vectors[0] != vectors[1]
    assert abs(sum(x * x for x in vectors[0]) - 1) < 1e-4
    encoded = packed["data"][0]["embedding"]  # type: ignore[index]
    decoded = struct.unpack("<4f", base64.b64decode(encoded))
    assert decoded == pytest.approx(vectors[0], abs=1e-6)


def test_anthropic_messages_workers_ai_google_and_generic_shapes() -> None:
    anthropic = _post("/anthropic/v1/messages", {"model": "claude", "messages": []})
    assert anthropic["content"] == [{"type": "text", "text": DEFAULT_CONTENT}]
    assert anthropic["stop_reason"] == "end_turn"
    workers = _post("/workers-ai/@cf/meta/llama-3.1-8b-instruct", {"prompt": "hi"})
    assert workers["result"]["response"] == DEFAULT_CONTENT  # type: ignore[index]
    assert workers["success"] is True
    google = _post("/google-ai-studio/v1/models/gemini-2.5-flash:generateContent", {})
    assert google["candidates"][0]["content"]["parts"][0]["text"] == DEFAULT_CONTENT  # type: ignore[index]
    generic = _post("/new-provider/v9/do-something", {"model": "x"})
    assert generic["object"] == "aigw.mock_reply"
    assert (generic["provider"], generic["path"], generic["content"]) == (
        "new-provider",
        "v9/do-something",
        DEFAULT_CONTENT,
    )


def test_responses_api_reply_carries_output_text() -> None:
    body = _post("/openai/responses", {"model": "gpt-4o", "input": "hi"})
    assert body["object"] == "response"
    assert body["output"][0]["content"][0]["text"] == DEFAULT_CONTENT  # type: ignore[index]


def test_reply_ids_are_derived_from_the_log_id() -> None:
    with MockGateway() as gw:
        reply = post(gw.url("openai") + "/chat/completions", json={})
    assert reply.json()["id"] == "chatcmpl-" + gw.log_ids[0].lower()


def test_a_body_that_is_not_json_still_gets_a_reply_and_is_recorded() -> None:
    with MockGateway() as gw:
        reply = post(gw.url("openai") + "/audio/transcriptions", content=b"\x00\x01")
    assert reply.status_code == 200
    assert gw.calls.last.json is None
    assert gw.calls.last.request.content == b"\x00\x01"
