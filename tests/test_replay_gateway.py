"""`ReplayGateway` used directly: what reaches the cassette, what the fake keeps, the calls."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from replay_cassettes import (
    PLACE,
    REAL_ACCOUNT,
    chat,
    chat_answer,
    chat_body,
    log,
    request,
    stream_answer,
)

from pytest_aigw import LiveModeError, ReplayGateway
from pytest_aigw.cassette import Cassette, CassetteError, Exchange, RecordedRequest
from pytest_aigw.fake import replayed

LOG = "019ad5a0-0000-7000-8000-000000000009"


def gateway(*exchanges: Exchange, **options: object) -> ReplayGateway:
    return ReplayGateway(Cassette("t", PLACE, exchanges=list(exchanges)), **options)  # type: ignore[arg-type]


def post(aigw: ReplayGateway, path: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(f"{aigw.gateway_url}/{path}", json=body, headers=headers)


def test_a_replayed_call_is_recorded_as_live_mode_records_it() -> None:
    recorded = [*chat_answer("hi", LOG).headers, ("cf-aig-step", "1")]
    answer = type(chat_answer("hi", LOG))(200, recorded, chat_answer("hi", LOG).body)
    exchange = Exchange("gateway", request(chat_body("q"), "compat/chat/completions"), answer)
    with gateway(exchange, tags={"test": True, "suite": "c"}) as aigw:
        got = post(
            aigw,
            "compat/chat/completions",
            chat_body("q"),
            **{"cf-aig-metadata": '{"user":"u1"}', "cf-aig-skip-cache": "true"},
        )
    call = aigw.calls.last
    assert got.json()["choices"][0]["message"]["content"] == "hi"
    assert (call.endpoint, call.provider, call.path, call.step) == (
        "compat",
        "compat",
        "chat/completions",
        1,
    )
    assert call.metadata == {"user": "u1", "test": True, "suite": "c"}
    assert call.options.skip_cache is True
    assert (call.log_id, call.event_id, call.cache_status, call.attempts) == (LOG, LOG, "MISS", 1)
    assert aigw.log_ids == [LOG]


def test_run_universal_and_rest_calls_name_their_endpoint_and_model() -> None:
    run_body = {"model": "@cf/meta/llama", "input": {"prompt": "x"}}
    rest_url = f"{PLACE.api_url}/accounts/{REAL_ACCOUNT}/ai/run/@cf/meta/llama"
    exchanges = [
        Exchange("gateway", request(run_body, "run"), chat_answer("r", "L1", cache="HIT")),
        Exchange("gateway", request([{"provider": "openai"}], ""), chat_answer("u", "L2")),
        Exchange(
            "rest", RecordedRequest("POST", rest_url, body=request({}).body), chat_answer("x", "L3")
        ),
    ]
    user = {"cf-aig-metadata": '{"user":"u1"}'}
    with gateway(*exchanges, tags={}) as aigw:
        post(aigw, "run", run_body, **user)
        httpx.post(aigw.gateway_url, json=[{"provider": "openai"}], headers=user)
        httpx.post(f"{aigw.rest_url}/run/@cf/meta/llama", json={})
    run, universal, rest = aigw.calls
    assert (run.endpoint, run.provider, run.model, run.attempts) == (
        "run",
        "workers-ai",
        "@cf/meta/llama",
        0,
    )
    assert (universal.endpoint, universal.provider) == ("universal", "")
    assert (rest.endpoint, rest.provider, rest.path, rest.model) == (
        "rest",
        "workers-ai",
        "ai/run/@cf/meta/llama",
        "@cf/meta/llama",
    )
    assert run.metadata == {"user": "u1"}


def test_bad_metadata_and_bad_options_are_recorded_as_sent() -> None:
    exchange = chat("q", "a", LOG, metadata="not json")
    with gateway(exchange) as aigw:
        post(
            aigw,
            "openai/chat/completions",
            chat_body("q"),
            **{"cf-aig-metadata": "not json", "cf-aig-cache-ttl": "soon"},
        )
    call = aigw.calls.last
    assert call.metadata_header == "not json"
    assert call.options.cache_ttl is None


def test_an_unmatched_rest_request_gets_the_api_envelope() -> None:
    with gateway(strict=False) as aigw:
        got = httpx.post(f"{aigw.rest_url}/v1/chat/completions", json={})
    assert got.status_code == 404
    assert got.json()["success"] is False
    assert "no exchange recorded in <cassette> matches it" in got.json()["errors"][0]["message"]
    assert len(aigw.calls) == 0


def test_requests_replay_does_not_serve_are_refused_as_in_mock_mode() -> None:
    with gateway(strict=False) as aigw:
        other = httpx.post("https://gateway.ai.cloudflare.com/v1/other/gw/openai/x", json={})
        config = httpx.get(f"{aigw.api_url}/accounts/{aigw.account_id}/ai-gateway/gateways")
        direct = httpx.post("https://api.openai.com/v1/chat/completions", json={})
    assert [other.status_code, config.status_code, direct.status_code] == [404, 404, 403]
    found = aigw.findings()
    assert len(found) == 3
    assert "no exchange recorded" not in " ".join(found)
    assert "names account 'other'" in " ".join(found)


def test_recorded_logs_are_in_the_fake_logs_api_and_feedback_changes_them() -> None:
    cassette = Cassette("t", PLACE, exchanges=[chat("q", "a", LOG)], logs=[log(LOG)])
    with ReplayGateway(cassette) as aigw:
        post(
            aigw, "openai/chat/completions", chat_body("q"), **{"cf-aig-metadata": '{"user":"u1"}'}
        )
        assert aigw.logs.get(LOG).feedback is None
        aigw.assert_feedback_roundtrip(LOG, feedback=1)
        assert aigw.logs.get(LOG).feedback == 1
        assert [entry.id for entry in aigw.logs.list().logs] == [LOG]


def test_bad_logs_name_the_cassette() -> None:
    with pytest.raises(CassetteError, match=r"^c\.json: logs: seeded log #1 \(id 'x'\)"):
        ReplayGateway(Cassette("t", PLACE, logs=[{"id": "x"}]), source="c.json")


def test_a_paced_stream_waits_async_as_well(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []

    async def pause(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(replayed, "async_sleep", pause)
    exchange = Exchange(
        "gateway", request(chat_body("s", stream=True)), stream_answer(["a"], LOG, step=0.5)
    )

    async def read(aigw: ReplayGateway) -> bytes:
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{aigw.gateway_url}/openai/chat/completions",
                json=chat_body("s", stream=True),
                headers={"cf-aig-metadata": '{"user":"u1"}'},
            )
            return answer.content

    with gateway(exchange, speed=1) as aigw:
        content = asyncio.run(read(aigw))
    assert content.endswith(b"data: [DONE]\n\n")
    assert waited == [0.5, 0.5]


def test_gaps_never_go_back_in_time() -> None:
    from pytest_aigw.cassette import Body, Chunk

    chunks = [Chunk(1.0, Body()), Chunk(0.5, Body()), Chunk(2.0, Body())]
    assert replayed.gaps(chunks, 1) == [1.0, 0.0, 1.0]
    assert replayed.gaps(chunks, 0) == [0.0, 0.0, 0.0]
    assert replayed.gaps(chunks, 4) == [0.25, 0.0, 0.25]


def test_mock_only_calls_and_the_check_message() -> None:
    aigw = gateway(chat("q", "a", LOG), source="c.json", strict=False)
    with pytest.raises(LiveModeError, match=r"^aigw\.respond works on the fake gateway only"):
        aigw.respond("x")
    assert not aigw.strict
    with pytest.raises(AssertionError) as raised:
        aigw.check()
    assert str(raised.value) == (
        "pytest-aigw found 1 problem(s) replaying c.json:\n  1. recorded exchange #1 (POST"
        " openai/chat/completions) in c.json was not used: the app no longer sends it (or"
        " sends it otherwise: see any unexpected request above). Record the test again with"
        " pytest --aigw-mode=live --aigw-record=all to drop it.\nTo turn these checks off"
        " for one test, mark it @pytest.mark.aigw(strict=False)."
    )
    assert repr(aigw).startswith("<ReplayGateway https://gateway.ai.cloudflare.com/v1/")


def test_the_framing_headers_are_the_transports() -> None:
    recorded = chat_answer("hi", LOG)
    answer = type(recorded)(
        200,
        [*recorded.headers, ("Content-Length", "1"), ("content-encoding", "gzip")],
        recorded.body,
    )
    with gateway(Exchange("gateway", request(chat_body("q")), answer)) as aigw:
        got = post(
            aigw, "openai/chat/completions", chat_body("q"), **{"cf-aig-metadata": '{"user":"u1"}'}
        )
    assert got.headers["content-length"] == str(len(recorded.content))
    assert "content-encoding" not in got.headers
    assert json.loads(got.content) == json.loads(recorded.content)
