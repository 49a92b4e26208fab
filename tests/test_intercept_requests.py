"""requests calls reach the fake in process: plain, streamed, faults, pass-through."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import requests
import responses
from pytest_httpserver import HTTPServer
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from pytest_aigw import MockGateway
from pytest_aigw.calls import REDACTED
from pytest_aigw.intercept import Interception

GATEWAY_HOST = "gateway.ai.cloudflare.com"
SSE = {"content-type": "text/event-stream"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True}
KEY = {"Authorization": "Bearer sk-test"}  # the provider key the app sends


def chat_url(aigw: MockGateway) -> str:
    return aigw.url("openai") + "/chat/completions"


def logs_url(aigw: MockGateway) -> str:
    return f"{aigw.api_url}/accounts/{aigw.account_id}/ai-gateway/gateways/{aigw.gateway_id}/logs"


def test_plain_json_reply_with_log_id_and_recorded_headers(aigw: MockGateway) -> None:
    aigw.respond("in process", provider="openai")
    response = requests.post(
        chat_url(aigw),
        json=CHAT,
        headers={"Authorization": "Bearer sk-secret-requests", "cf-aig-metadata": '{"n": 1}'},
    )
    assert response.json()["choices"][0]["message"]["content"] == "in process"
    assert aigw.log_ids == [response.headers["cf-aig-log-id"]]
    call = aigw.calls.last
    assert (call.metadata, call.json) == ({"n": 1}, CHAT)
    assert call.request.headers["authorization"] == f"Bearer {REDACTED}"
    assert call.request.headers["user-agent"].startswith("python-requests/")
    assert call.request.headers["host"] == "gateway.ai.cloudflare.com"
    assert "sk-secret-requests" not in repr(call) + str(call.request.headers)


def test_a_streamed_body_reaches_the_fake_chunked(aigw: MockGateway) -> None:
    body = iter([b'{"model": "gpt-4o-mini", ', b'"messages": []}'])
    requests.post(chat_url(aigw), data=body, headers={**KEY, "content-type": "application/json"})
    assert aigw.calls.last.request.headers["transfer-encoding"] == "chunked"
    assert aigw.calls.last.json == {"model": "gpt-4o-mini", "messages": []}


def test_a_stream_arrives_event_by_event(aigw: MockGateway) -> None:
    aigw.respond(["Hel", "lo"], provider="openai")
    with requests.post(chat_url(aigw), json=STREAM, headers=KEY, stream=True) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = list(response.iter_content(chunk_size=None))
    assert len(chunks) == 5  # role, "Hel", "lo", finish, [DONE]: one read each
    assert b'"content":"Hel"' in chunks[1]


def test_iter_lines_reads_the_events(aigw: MockGateway) -> None:
    aigw.respond(["Hel", "lo"], provider="openai")
    with requests.post(chat_url(aigw), json=STREAM, headers=KEY, stream=True) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == b"data: [DONE]"
    assert len(lines) == 5


def test_the_first_chunk_arrives_before_the_second_is_produced() -> None:
    produced: list[int] = []

    class Recorded(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for n in (1, 2):
                produced.append(n)
                yield b"data: %d\n\n" % n

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE, stream=Recorded())

    interception = Interception(
        handler, lambda request: request.url.host == "gateway.ai.cloudflare.com"
    )
    interception.start()
    try:
        with requests.get("https://gateway.ai.cloudflare.com/v1/a/g/x", stream=True) as response:
            chunks = response.iter_content(chunk_size=None)
            assert next(chunks) == b"data: 1\n\n"
            assert produced == [1]
            assert next(chunks) == b"data: 2\n\n"
            assert produced == [1, 2]
    finally:
        interception.stop()


def test_the_logs_api_answers_requests(aigw: MockGateway) -> None:
    log_id = requests.post(chat_url(aigw), json=CHAT, headers=KEY).headers["cf-aig-log-id"]
    listed = requests.get(logs_url(aigw), headers={"Authorization": "Bearer t"}).json()
    assert [log["id"] for log in listed["result"]] == [log_id]


def test_a_scripted_timeout_raises_read_timeout(aigw: MockGateway) -> None:
    aigw.fail("timeout")
    with pytest.raises(requests.ReadTimeout, match="Read timed out"):
        requests.post(chat_url(aigw), json=CHAT, headers=KEY, timeout=30)


def test_a_dropped_connection_raises_connection_error(aigw: MockGateway) -> None:
    aigw.fail("disconnect")
    with pytest.raises(requests.ConnectionError, match="Remote end closed connection"):
        requests.post(chat_url(aigw), json=CHAT, headers=KEY)


def test_a_cut_stream_raises_chunked_encoding_error_mid_way(aigw: MockGateway) -> None:
    aigw.respond(["a", "b", "c"], provider="openai", cut_after=2)
    got: list[bytes] = []

    def read_all() -> None:
        with requests.post(chat_url(aigw), json=STREAM, headers=KEY, stream=True) as response:
            got.extend(response.iter_content(chunk_size=None))

    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="ended prematurely"):
        read_all()
    assert len(got) == 2


def test_the_sessions_retries_apply_to_the_gateway(aigw: MockGateway) -> None:
    aigw.fail("disconnect", times=1)
    aigw.respond("after a retry", provider="openai")
    with requests.Session() as session:
        retry = Retry(total=1, allowed_methods=None)  # POST too
        session.mount("https://", HTTPAdapter(max_retries=retry))
        assert session.post(chat_url(aigw), json=CHAT, headers=KEY).status_code == 200
    assert len(aigw.calls) == 2


def test_other_hosts_pass_through_to_the_network(aigw: MockGateway, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/other").respond_with_json({"real": True})
    assert requests.get(httpserver.url_for("/other")).json() == {"real": True}
    assert len(aigw.calls) == 0


def test_a_users_responses_mock_keeps_its_hosts_and_lets_the_gateway_through(
    aigw: MockGateway,
) -> None:
    with responses.RequestsMock() as mocked:
        mocked.get("https://api.example.com/user", json={"id": 7})
        assert requests.get("https://api.example.com/user").json() == {"id": 7}
        assert requests.post(chat_url(aigw), json=CHAT, headers=KEY).status_code == 200
    assert len(aigw.calls) == 1


def test_a_session_made_before_the_gateway_started_is_caught() -> None:
    with requests.Session() as session:
        session.get  # noqa: B018 - the session exists before the gateway
        with MockGateway(strict=False) as aigw:
            response = session.post(chat_url(aigw), json=CHAT, headers=KEY)
        assert response.headers["cf-aig-log-id"] == aigw.log_ids[0]


def test_stopping_restores_the_sessions_adapter_lookup() -> None:
    get_adapter = requests.Session.get_adapter
    with MockGateway(strict=False):
        assert requests.Session.get_adapter is not get_adapter
    assert requests.Session.get_adapter is get_adapter
    adapter = requests.Session().get_adapter("https://gateway.ai.cloudflare.com/v1")
    assert type(adapter) is HTTPAdapter


def test_a_nested_gateway_answers_while_it_runs() -> None:
    with MockGateway(strict=False) as outer:
        with MockGateway(strict=False) as inner:
            requests.post(chat_url(inner), json=CHAT, headers=KEY)
        requests.post(chat_url(outer), json=CHAT, headers=KEY)
    assert (len(outer.calls), len(inner.calls)) == (1, 1)
