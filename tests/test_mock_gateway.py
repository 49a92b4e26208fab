"""MockGateway outside pytest: routing, replies, headers, redaction and interception."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import httpx2
import pytest
from respx.mocks import HTTPCoreMocker

from pytest_aigw import GatewayCheckError, MockGateway
from pytest_aigw.calls import REDACTED
from pytest_aigw.ids import is_log_id


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_other_hosts_reach_the_network_untouched(local_url: str) -> None:
    async def fetch_async() -> tuple[str, str]:
        async with httpx.AsyncClient() as one, httpx2.AsyncClient() as two:
            return (await one.get(local_url)).text, (await two.get(local_url)).text

    with MockGateway() as gw:
        assert httpx.get(local_url).text == "hello"
        assert httpx2.get(local_url).text == "hello"
        assert asyncio.run(fetch_async()) == ("hello", "hello")
    assert len(gw.calls) == 0


def test_stop_removes_every_router_it_registered() -> None:
    before = list(HTTPCoreMocker.routers)
    with MockGateway():
        assert len(HTTPCoreMocker.routers) == len(before) + 1
    assert HTTPCoreMocker.routers == before


def test_handler_plugs_into_httpx_mock_transport() -> None:
    gw = MockGateway()
    with httpx.Client(transport=httpx.MockTransport(gw.handler)) as client:
        reply = client.post(
            gw.url("anthropic") + "/v1/messages",
            json={"model": "claude"},
            headers={"x-api-key": "sk-ant-test"},
        )
    assert reply.json()["type"] == "message"
    assert gw.calls.last.model == "claude"


def test_clean_exit_raises_the_findings() -> None:
    gw = MockGateway()
    gw.__enter__()
    header = '{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}'
    httpx.post(gw.url("openai") + "/chat/completions", headers={"cf-aig-metadata": header})
    with pytest.raises(GatewayCheckError, match="dropped: 'f'"):
        gw.__exit__(None, None, None)
    assert gw.calls.last.metadata == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


def test_exit_with_an_exception_or_strict_false_does_not_check() -> None:
    gw = MockGateway()
    gw.__enter__()
    httpx.post(gw.url("openai") + "/x", headers={"cf-aig-metadata": "nope"})
    gw.__exit__(KeyError, KeyError("the app's own error"), None)
    assert len(gw.findings()) == 1
    with MockGateway(strict=False) as gw:
        httpx.post(gw.url("openai") + "/x", headers={"cf-aig-metadata": "nope"})
    assert len(gw.findings()) == 1


def test_response_headers_carry_log_id_cache_status_and_echoed_event_id() -> None:
    with MockGateway() as gw:
        plain = httpx.post(gw.url("openai") + "/chat/completions", json={})
        traced = httpx.post(
            gw.url("openai") + "/chat/completions", json={}, headers={"cf-aig-event-id": "ev-1"}
        )
    log_id = plain.headers["cf-aig-log-id"]
    assert is_log_id(log_id)
    assert plain.headers["cf-aig-cache-status"] == "MISS"
    assert plain.headers["cf-aig-event-id"] == log_id  # one id for a single-step request
    assert traced.headers["cf-aig-event-id"] == "ev-1"
    assert [c.event_id for c in gw.calls] == [log_id, "ev-1"]
    assert gw.log_ids == [plain.headers["cf-aig-log-id"], traced.headers["cf-aig-log-id"]]
    assert gw.log_ids[0] < gw.log_ids[1]


@pytest.mark.parametrize(
    ("path", "status", "code", "reason"),
    [
        ("/v2/acct/gw/openai/chat/completions", 400, 2008, "does not have the gateway's shape"),
        ("/v1/acct", 400, 2008, "does not have the gateway's shape"),
        ("/v1/other/test-gateway/openai/x", 404, 2001, "names account 'other'"),
        ("/v1/0123456789abcdef0123456789abcdef/other-gw/openai/x", 404, 2001, "gateway 'other-gw'"),
        (
            "/v1/0123456789abcdef0123456789abcdef/test-gateway/Bad_Slug/x",
            400,
            2008,
            "not a provider",
        ),
    ],
)
def test_urls_the_fake_does_not_serve_get_the_gateway_error_body(
    path: str, status: int, code: int, reason: str
) -> None:
    with MockGateway(strict=False) as gw:
        reply = httpx.post("https://gateway.ai.cloudflare.com" + path, json={})
    assert reply.status_code == status
    body = reply.json()
    assert body["success"] is False
    assert "errors" not in body
    assert body["error"][0]["code"] == code
    assert body["name"] == "AiGatewayError"
    assert len(gw.calls) == 0
    [unexpected] = gw.unexpected
    assert reason in unexpected.reason
    assert reason in gw.findings()[0]


SECRETS = {
    "Authorization": "Bearer sk-live-123",
    "cf-aig-authorization": "Bearer cf-token-456",
    "x-api-key": "sk-ant-789",
    "api-key": "azure-000",
    "x-goog-api-key": "goog-111",
}


def test_secrets_are_redacted_everywhere_but_can_still_be_checked() -> None:
    with MockGateway(strict=False) as gw:
        httpx.post(gw.url("openai") + "/chat/completions?key=q-secret", headers=SECRETS, json={})
        httpx.post(
            "https://gateway.ai.cloudflare.com/v1/x/y/openai?key=q-secret",
            headers={**SECRETS, "cf-aig-metadata": "bad"},
        )
    call = gw.calls.last
    shown = " ".join([repr(call), repr(gw.calls), str(call.request.url), *gw.findings()])
    shown += " ".join(f"{k}: {v}" for k, v in call.headers.items())
    for secret in [*SECRETS.values(), "q-secret"]:
        assert secret.split()[-1] not in shown
    assert call.headers["authorization"] == f"Bearer {REDACTED}"
    assert call.headers["x-api-key"] == REDACTED
    assert call.request.url.params["key"] == REDACTED
    assert call.secret_matches("Authorization", "Bearer sk-live-123")
    assert call.secret_matches("?key", "q-secret")
    assert not call.secret_matches("x-api-key", "something else")
    assert not call.secret_matches("x-not-sent", "sk-ant-789")


def test_reset_forgets_calls_and_findings() -> None:
    with MockGateway() as gw:
        httpx.post(gw.url("openai") + "/x", headers={"cf-aig-metadata": "[]"})
        httpx.post("https://gateway.ai.cloudflare.com/nowhere")
        assert len(gw.findings()) == 2
        gw.reset()
    assert (len(gw.calls), gw.unexpected, gw.findings()) == (0, [], [])


def test_calls_last_names_the_problem_when_nothing_was_sent() -> None:
    gw = MockGateway()
    with pytest.raises(LookupError, match="no gateway calls were recorded"):
        _ = gw.calls.last


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"account_id": ""}, "account_id must be a non-empty string"),
        ({"gateway_id": "UPPER"}, "gateway_id must be 1-64 characters"),
        ({"gateway_id": "a" * 65}, "gateway_id must be 1-64 characters"),
        ({"gateway_id": "trailing-"}, "gateway_id must be 1-64 characters"),
    ],
)
def test_bad_ids_are_refused_with_the_rule(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MockGateway(**kwargs)  # type: ignore[arg-type]


def test_url_refuses_a_path_instead_of_a_provider_slug() -> None:
    with pytest.raises(ValueError, match="provider must be a slug such as 'openai'"):
        MockGateway().url("openai/chat")


def test_concurrent_calls_are_recorded_in_the_order_their_ids_were_issued() -> None:
    barrier = threading.Barrier(16)

    def send(gw: MockGateway) -> None:
        with httpx.Client() as client:
            barrier.wait()
            for _ in range(10):
                client.post(gw.url("openai") + "/chat/completions", json={"model": "m"})

    with MockGateway() as gw:
        threads = [threading.Thread(target=send, args=(gw,)) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(gw.log_ids) == 160
    assert gw.log_ids == sorted(gw.log_ids)
    assert len(set(gw.log_ids)) == 160


def test_interception_keeps_no_unredacted_copy_of_requests() -> None:
    with MockGateway() as gw:
        httpx.post(gw.url("openai") + "/x", headers={"authorization": "Bearer sk-hidden"})
        held = [call for router in HTTPCoreMocker.routers for call in router.calls]
    assert held == []
    assert "sk-hidden" not in repr(gw.calls)


def test_a_gateway_started_inside_another_serves_while_it_runs() -> None:
    with MockGateway(strict=False) as outer:
        with MockGateway() as inner:
            httpx.post(inner.url("openai") + "/chat/completions", json={})
        httpx.post(outer.url("openai") + "/chat/completions", json={})
    assert (len(inner.calls), len(outer.calls)) == (1, 1)
