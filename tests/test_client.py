"""The Logs API client: against the fake, and against scripted API answers for retries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import gateway_with_calls

from pytest_aigw import ConfigError, LogSettings, MockGateway
from pytest_aigw.client import (
    AsyncLogsClient,
    LogsApiError,
    LogsApiTimeout,
    LogsClient,
    RateLimit,
    log_filter,
)

TOKEN = "cf-token-never-shown"
ACCOUNT, GATEWAY = "acct", "gw"


@pytest.fixture
def gw() -> Iterator[MockGateway]:
    with gateway_with_calls(5) as gateway:
        yield gateway


class FakeTime:
    """A clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def scripted(
    answers: list[httpx.Response], seen: list[httpx.Request], time: FakeTime, **options: object
) -> LogsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return LogsClient(
        account_id=ACCOUNT,
        gateway_id=GATEWAY,
        api_token=TOKEN,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=time.sleep,
        clock=time.clock,
        **options,  # type: ignore[arg-type]
    )


def ok_log(log_id: str = "L1", **fields: object) -> httpx.Response:
    return httpx.Response(200, json={"result": {"id": log_id, **fields}, "success": True})


NOT_FOUND = httpx.Response(
    404, json={"success": False, "errors": [{"code": 7002, "message": "Not Found"}]}
)


# --- against the fake ----------------------------------------------------------------------


def test_get_list_iter_and_bodies_through_the_fake(gw: MockGateway) -> None:
    logs = gw.logs
    first = logs.get(gw.log_ids[0])
    assert (first.model, first.metadata, first.feedback) == ("gpt-4o-mini", {"user": "u0"}, None)
    page = logs.list(filters=[log_filter("model", "eq", "gpt-4o")], per_page=1)
    assert (page.total_count, page.count, page.logs[0].id) == (2, 1, gw.log_ids[3])
    assert [log.id for log in logs.iter(per_page=2)] == list(reversed(gw.log_ids))
    assert logs.request_body(gw.log_ids[0]) == {"model": "gpt-4o-mini", "messages": [], "n": 0}
    assert logs.response_body(gw.log_ids[0])["object"] == "chat.completion"  # type: ignore[index]


def test_patch_delete_and_roundtrip_through_the_fake(gw: MockGateway) -> None:
    log = gw.assert_feedback_roundtrip(gw.log_ids[1], feedback=-1, score=12.5)
    assert (log.feedback, log.score) == (-1, 12.5)
    gw.logs.patch(gw.log_ids[1], metadata={"k": "v"})
    assert gw.logs.get(gw.log_ids[1]).metadata == {"k": "v"}
    gw.logs.delete(filters=[log_filter("model", "eq", "gpt-4o")])
    assert len(gw.log_store) == 3


def test_roundtrip_reads_through_a_filtered_list_when_get_lacks_feedback() -> None:
    with MockGateway(log_settings=LogSettings(feedback_in_get=False)) as gw:
        httpx.post(gw.url("openai") + "/chat/completions", json={})
        log = gw.assert_feedback_roundtrip(gw.log_ids[0], feedback=1, score=100)
    assert (log.feedback, log.score) == (1, 100)


def test_wait_for_polls_until_a_lagging_log_shows() -> None:
    with MockGateway(log_settings=LogSettings(visibility_lag=0.3)) as lagging:
        httpx.post(lagging.url("openai") + "/chat/completions", json={})
        log = lagging.logs.wait_for(lagging.log_ids[0], timeout=5)
    assert log.id == lagging.log_ids[0]


def test_verify_feedback_batches_ids_into_list_calls(gw: MockGateway) -> None:
    gw.seed_logs(
        {"id": f"S{n:03d}", "created_at": "2026-11-01T00:00:00Z", "provider": "p", "model": "m",
         "feedback": 1, "score": n % 100}
        for n in range(120)
    )  # fmt: skip
    before = gw.logs.calls
    found = gw.logs.verify_feedback({f"S{n:03d}": (1, n % 100) for n in range(120)}, timeout=1)
    assert len(found) == 120
    assert gw.logs.calls - before == 3  # 50 + 50 + 20 ids


def test_async_client_through_the_fake(gw: MockGateway) -> None:
    async def run() -> tuple[list[str], float | None]:
        async with AsyncLogsClient(
            account_id=gw.account_id, gateway_id=gw.gateway_id, api_token="t", base_url=gw.api_url
        ) as logs:
            ids = [log.id async for log in logs.iter(per_page=2)]
            await logs.patch(gw.log_ids[0], feedback=1)
            await logs.assert_feedback_roundtrip(gw.log_ids[1], feedback=-1, score=3)
            verified = await logs.verify_feedback({gw.log_ids[1]: (-1, 3)}, timeout=1)
            assert list(verified) == [gw.log_ids[1]]
            return ids, (await logs.wait_for(gw.log_ids[0])).feedback

    assert asyncio.run(run()) == (list(reversed(gw.log_ids)), 1)


# --- retries, rate limit, errors -----------------------------------------------------------


def test_429_is_retried_after_retry_after_then_succeeds() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    client = scripted(
        [httpx.Response(429, headers={"retry-after": "7"}, json={}), ok_log()], seen, time
    )
    assert client.get("L1").id == "L1"
    assert (len(seen), time.slept) == (2, [7.0])


def test_5xx_is_retried_with_backoff_then_gives_up_with_the_apis_message() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    failing = httpx.Response(
        503, json={"success": False, "errors": [{"code": 1, "message": "busy"}]}
    )
    client = scripted([failing] * 3, seen, time, max_retries=2)
    with pytest.raises(
        LogsApiError, match=re.escape("Logs API GET /logs failed: 503 (code 1) busy")
    ):
        client.list()
    assert len(seen) == 3
    assert len(time.slept) == 2


def test_a_404_names_the_log_and_is_not_retried() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    client = scripted([NOT_FOUND], seen, time)
    with pytest.raises(LogsApiError) as raised:
        client.get("01JX")
    assert str(raised.value) == (
        "Logs API GET /logs/01JX failed: 404 (code 7002) Not Found. Check that log 01JX belongs"
        " to account acct, gateway gw, and that it is visible yet"
    )
    assert (raised.value.status_code, raised.value.code, len(seen)) == (404, 7002, 1)


def test_requests_carry_json_filters_and_auth() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    empty = httpx.Response(200, json={"result": [], "result_info": {}, "success": True})
    client = scripted([empty], seen, time)
    client.list(filters=[log_filter("model", "eq", "gpt-4o")], search="u1")
    request = seen[0]
    assert request.url.path == f"/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/{GATEWAY}/logs"
    assert request.url.params["filters"] == '[{"key":"model","operator":"eq","value":["gpt-4o"]}]'
    assert request.url.params["search"] == "u1"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    legacy = LogsClient(account_id="a", gateway_id="g", api_email="me@x", api_key="k")
    assert legacy._wire.auth == {"x-auth-email": "me@x", "x-auth-key": "k"}


def test_the_rate_limiter_waits_for_the_window_to_free() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    client = scripted([ok_log() for _ in range(5)], seen, time, rate_limit=RateLimit(3, 10.0))
    for _ in range(5):
        client.get("L1")
    assert time.slept == [10.0]  # the 4th call waits for the 1st to leave the window


def test_wait_for_times_out_showing_what_the_api_last_returned() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    client = scripted([NOT_FOUND] * 50, seen, time)
    with pytest.raises(
        LogsApiTimeout, match=re.escape("the Logs API last returned 404 (code 7002) Not Found")
    ):
        client.wait_for("L9", timeout=3)
    assert sum(time.slept) == pytest.approx(3.0)


def test_wait_for_returns_once_the_condition_holds() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    client = scripted([NOT_FOUND, ok_log(feedback=None), ok_log(feedback=1)], seen, time)
    log = client.wait_for("L1", where=lambda log: log.feedback == 1, timeout=10)
    assert (log.feedback, len(seen)) == (1, 3)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LogsClient(account_id="", gateway_id="g", api_token="t"), "non-empty account_id"),
        (lambda: LogsClient(account_id="a", gateway_id="g"), "needs api_token=..., or api_email"),
        (
            lambda: LogsClient(account_id="a", gateway_id="g", api_token="t").patch("x", score=101),
            "score must be a number from 0 to 100, or None; got 101",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make()


def test_the_token_never_shows_in_reprs_or_errors() -> None:
    time, seen = FakeTime(), list[httpx.Request]()
    client = scripted([NOT_FOUND], seen, time)
    with pytest.raises(LogsApiError) as raised:
        client.get("x")
    assert TOKEN not in repr(client) + str(raised.value) + repr(raised.value)
