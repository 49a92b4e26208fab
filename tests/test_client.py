"""The Logs API client: against the fake, and against scripted API answers for retries."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import gateway_with_calls

from pytest_aigw import ConfigError, LogSettings, MockGateway
from pytest_aigw.client import (
    AsyncLogsClient,
    Log,
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


def _client(
    kind: type[LogsClient | AsyncLogsClient],
    transport: httpx.MockTransport,
    time: FakeTime,
    options: dict[str, Any],
) -> Any:
    """A client of *kind* for the test target, answered by *transport*, on *time*'s clock."""
    if kind is AsyncLogsClient:
        http: Any = httpx.AsyncClient(transport=transport)
        sleep: Any = time.asleep
    else:
        http, sleep = httpx.Client(transport=transport), time.sleep
    return kind(
        account_id=ACCOUNT,
        gateway_id=GATEWAY,
        api_token=TOKEN,
        http_client=http,
        sleep=sleep,
        clock=time.clock,
        **options,
    )


def scripted(
    answers: list[httpx.Response], seen: list[httpx.Request], time: FakeTime, **options: object
) -> LogsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    client: LogsClient = _client(LogsClient, httpx.MockTransport(handler), time, options)
    return client


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


# --- Retry-After capped --------------------------------------------------------------------


def async_scripted(
    answers: list[httpx.Response],
    time: FakeTime,
    *,
    seen: list[httpx.Request] | None = None,
    **options: object,
) -> AsyncLogsClient:
    async def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return answers.pop(0)

    client: AsyncLogsClient = _client(AsyncLogsClient, httpx.MockTransport(handler), time, options)
    return client


def test_a_retry_after_of_a_day_from_the_fake_waits_only_the_cap(gw: MockGateway) -> None:
    time = FakeTime()
    gw.fail_logs_api(429, retry_after=86400)
    with LogsClient(
        account_id=gw.account_id,
        gateway_id=gw.gateway_id,
        api_token="t",
        base_url=gw.api_url,
        sleep=time.sleep,
        clock=time.clock,
    ) as logs:
        assert logs.get(gw.log_ids[0]).id == gw.log_ids[0]
    assert time.slept == [60.0]


@pytest.mark.parametrize(
    ("headers", "options", "slept"),
    [
        ({"retry-after": "86400"}, {}, 60.0),
        ({"retry-after-ms": "86400000"}, {}, 60.0),
        ({"retry-after-ms": "1e400"}, {}, 60.0),  # infinite once parsed
        ({"retry-after": "inf"}, {}, 60.0),
        ({"retry-after": "86400"}, {"max_retry_after": 5}, 5.0),
        ({"retry-after-ms": "2500"}, {"max_retry_after": 2.5}, 2.5),
        ({"retry-after-ms": "2500"}, {"max_retry_after": 2.4}, 2.4),
        ({"retry-after": "30"}, {"max_retry_after": 0}, 0.0),
        ({"retry-after": "-5"}, {}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, {}, 0.25),  # the finer one first
    ],
)
def test_the_wait_a_429_asks_for_is_capped_by_max_retry_after(
    headers: dict[str, str], options: dict[str, Any], slept: float
) -> None:
    def answers() -> list[httpx.Response]:
        return [httpx.Response(429, headers=headers, json={}), ok_log()]

    time = FakeTime()
    assert scripted(answers(), [], time, **options).get("L1").id == "L1"

    async def run() -> str:
        async with async_scripted(answers(), time, **options) as logs:
            return (await logs.get("L1")).id

    assert asyncio.run(run()) == "L1"
    assert time.slept == [slept, slept]  # the sync client's wait, then the async one's


@pytest.mark.parametrize("value", ["nan", "soon", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_a_retry_after_that_is_no_number_of_seconds_backs_off_instead(value: str) -> None:
    time = FakeTime()
    answers = [httpx.Response(503, headers={"retry-after": value}, json={}), ok_log()]
    assert scripted(answers, [], time).get("L1").id == "L1"
    assert len(time.slept) == 1
    assert 0.25 <= time.slept[0] <= 0.5  # the first backoff: 0.5 s, jittered down to half


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (-1, "-1"),
        (-0.5, "-0.5"),
        pytest.param(10**400, "1" + "0" * 76 + "...", id="10**400"),
        (True, "True"),
        ("60", "'60'"),
        (None, "None"),
    ],
)
@pytest.mark.parametrize("client", [LogsClient, AsyncLogsClient])
def test_a_bad_max_retry_after_is_refused(
    client: type[LogsClient | AsyncLogsClient], value: object, shown: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        client(account_id="a", gateway_id="g", api_token="t", max_retry_after=value)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"max_retry_after= must be a finite number of seconds, 0 or more, got {shown}"
    )


def test_the_largest_finite_max_retry_after_is_accepted() -> None:
    time = FakeTime()
    answers = [httpx.Response(429, headers={"retry-after": "86400"}, json={}), ok_log()]
    scripted(answers, [], time, max_retry_after=sys.float_info.max).get("L1")
    assert time.slept == [86400.0]


# --- waits between attempts ----------------------------------------------------------------


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 0.5), (1.0, 1.0)])
def test_backoff_doubles_from_half_a_second_up_to_eight_jittered_down_to_half(
    monkeypatch: pytest.MonkeyPatch, jitter: float, factor: float
) -> None:
    monkeypatch.setattr("pytest_aigw.client.random.random", lambda: jitter)
    time = FakeTime()
    failing = httpx.Response(502, json={})
    client = scripted([failing] * 6 + [ok_log()], [], time, max_retries=6)
    assert client.get("L1").id == "L1"
    assert time.slept == [factor * s for s in (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)]


def test_wait_for_polls_at_doubling_intervals_up_to_five_seconds() -> None:
    time = FakeTime()
    client = scripted([NOT_FOUND] * 9 + [ok_log()], [], time)
    client.wait_for("L1", timeout=60)
    assert time.slept == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0])


def test_wait_for_never_sleeps_past_its_deadline() -> None:
    time = FakeTime()
    client = scripted([NOT_FOUND] * 9, [], time)
    with pytest.raises(LogsApiTimeout, match="within 1 s"):
        client.wait_for("L1", timeout=1)
    assert time.slept == pytest.approx([0.1, 0.2, 0.4, 0.3])


# --- both clients, request by request ------------------------------------------------------


class Both:
    """One call on the sync or the async client, over the same scripted answers."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seen: list[httpx.Request] = []
        self.time = FakeTime()
        self.options: dict[str, Any] = {}  # constructor keywords
        self.calls = 0  # the client's count of requests sent

    def __call__(self, answers: list[httpx.Response], method: str, *args: Any, **kw: Any) -> Any:
        if self.kind == "sync":
            client = scripted(answers, self.seen, self.time, **self.options)
            try:
                if method == "iter":
                    return list(client.iter(*args, **kw))
                return getattr(client, method)(*args, **kw)
            finally:
                self.calls = client.calls

        async def run() -> Any:
            async with async_scripted(answers, self.time, seen=self.seen, **self.options) as logs:
                try:
                    if method == "iter":
                        return [log async for log in logs.iter(*args, **kw)]
                    return await getattr(logs, method)(*args, **kw)
                finally:
                    self.calls = logs.calls

        return asyncio.run(run())

    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path after /logs, query) of each request sent."""
        base = f"/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/{GATEWAY}/logs"
        return [(r.method, r.url.path.removeprefix(base), dict(r.url.params)) for r in self.seen]


@pytest.fixture(params=["sync", "async"])
def both(request: pytest.FixtureRequest) -> Both:
    return Both(request.param)


def page_of(*logs: dict[str, object], **info: int) -> httpx.Response:
    return httpx.Response(200, json={"result": list(logs), "result_info": info, "success": True})


def ok() -> httpx.Response:
    return httpx.Response(200, json={"result": None, "success": True})


def not_found() -> httpx.Response:
    return httpx.Response(404, json={"errors": [{"code": 7002, "message": "Not Found"}]})


def test_list_sends_the_default_query_and_reads_the_page(both: Both) -> None:
    page = both([page_of({"id": "L1"}, page=2, per_page=3, count=4, total_count=9)], "list")
    assert both.requests() == [
        ("GET", "", {"page": "1", "per_page": "50", "order_by": "created_at",
                     "order_by_direction": "desc"}),
    ]  # fmt: skip
    assert (page.page, page.per_page, page.count, page.total_count) == (2, 3, 4, 9)
    assert [log.id for log in page.logs] == ["L1"]


def test_a_page_without_result_info_counts_its_logs(both: Both) -> None:
    page = both([httpx.Response(200, json={"result": [{"id": "a"}, {"id": "b"}]})], "list")
    assert (page.page, page.per_page, page.count, page.total_count) == (1, 2, 2, 2)


def test_list_sends_every_option_given(both: Both) -> None:
    both(
        [page_of()],
        "list",
        filters=[log_filter("cached", "eq", True)],
        page=3,
        per_page=7,
        order_by="cost",
        order_by_direction="asc",
        search="hi",
    )
    assert both.requests()[0][2] == {
        "page": "3", "per_page": "7", "order_by": "cost", "order_by_direction": "asc",
        "search": "hi", "filters": '[{"key":"cached","operator":"eq","value":[true]}]',
    }  # fmt: skip


def test_iter_reads_pages_until_an_empty_one_passing_the_options_on(both: Both) -> None:
    answers = [page_of({"id": "a"}, {"id": "b"}), page_of({"id": "c"}), page_of()]
    logs = both(answers, "iter", per_page=2, search="u1")
    assert [log.id for log in logs] == ["a", "b", "c"]
    assert [(query["page"], query["per_page"], query["search"]) for _, _, query in
            both.requests()] == [("1", "2", "u1"), ("2", "2", "u1"), ("3", "2", "u1")]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        ({"feedback": 1, "score": 90, "metadata": {"k": "v"}},
         {"feedback": 1, "score": 90, "metadata": {"k": "v"}}),
        ({"metadata": None}, {"metadata": None}),
        ({"score": None}, {"score": None}),
        ({}, {}),
    ],
)  # fmt: skip
def test_patch_sends_only_the_fields_given(
    both: Both, fields: dict[str, object], body: dict[str, object]
) -> None:
    assert both([ok()], "patch", "L1", **fields) is None
    assert both.requests() == [("PATCH", "/L1", {})]
    assert json.loads(both.seen[0].content) == body


def test_delete_sends_filters_and_limit(both: Both) -> None:
    both([ok()], "delete", filters=[log_filter("model", "eq", "m")], limit=5)
    both([ok()], "delete")
    assert both.requests() == [
        ("DELETE", "", {"filters": '[{"key":"model","operator":"eq","value":["m"]}]',
                        "limit": "5"}),
        ("DELETE", "", {}),
    ]  # fmt: skip


@pytest.mark.parametrize("which", ["request", "response"])
def test_stored_bodies_are_json_or_text(both: Both, which: str) -> None:
    as_json = both([httpx.Response(200, json={"a": 1})], f"{which}_body", "L1")
    as_text = both([httpx.Response(200, text="not json")], f"{which}_body", "L1")
    assert (as_json, as_text) == ({"a": 1}, "not json")
    assert both.requests() == [("GET", f"/L1/{which}", {})] * 2


def test_wait_for_polls_until_where_holds(both: Both) -> None:
    answers = [not_found(), ok_log(feedback=None), ok_log(feedback=1)]
    log = both(answers, "wait_for", "L1", where=lambda log: log.feedback == 1, timeout=10)
    assert (log.feedback, len(both.seen)) == (1, 3)
    assert both.time.slept == pytest.approx([0.1, 0.2])


def test_wait_for_times_out_naming_what_it_last_saw(both: Both) -> None:
    answers = [ok_log(feedback=None, score=None) for _ in range(9)]
    with pytest.raises(LogsApiTimeout) as raised:
        both(answers, "wait_for", "L1", where=lambda log: log.feedback == 1, timeout=0.5)
    assert str(raised.value) == (
        "log L1 did not show as expected within 0.5 s; the Logs API last returned the log,"
        " not yet as expected: feedback=None, score=None"
    )


def test_wait_for_raises_an_error_other_than_404_at_once(both: Both) -> None:
    refused = httpx.Response(403, json={"errors": [{"code": 10000, "message": "no"}]})
    with pytest.raises(LogsApiError, match=re.escape("403 (code 10000) no")):
        both([refused], "wait_for", "L1", timeout=10)
    assert len(both.seen) == 1


def test_verify_feedback_lists_by_id_until_every_log_shows(both: Both) -> None:
    answers = [
        page_of({"id": "A", "feedback": 1, "score": None}, {"id": "B", "feedback": None}),
        page_of({"id": "B", "feedback": -1, "score": 5}),
    ]
    found = both(answers, "verify_feedback", {"A": (1, None), "B": (-1, 5)}, timeout=10)
    assert sorted(found) == ["A", "B"]
    assert [query["filters"] for _, _, query in both.requests()] == [
        '[{"key":"id","operator":"eq","value":["A","B"]}]',
        '[{"key":"id","operator":"eq","value":["B"]}]',
    ]
    assert {query["per_page"] for _, _, query in both.requests()} == {"50"}
    assert both.time.slept == [0.1]


def test_verify_feedback_times_out_listing_what_is_missing_and_keeps_what_was_found(
    both: Both,
) -> None:
    answers = [page_of({"id": "A", "feedback": 1, "score": 2}, {"id": "B", "feedback": 0})]
    answers += [page_of({"id": "B", "feedback": 0, "score": None}) for _ in range(9)]
    expected = {"A": (1, 2), "B": (1, None), "C": (-1, 3)}
    with pytest.raises(LogsApiTimeout) as raised:
        both(answers, "verify_feedback", expected, timeout=0.25)
    assert str(raised.value) == (
        "2 log(s) did not show their feedback within 0.25 s:\n"
        "  B: expected feedback=1, score=None; saw feedback=0, score=None\n"
        "  C: expected feedback=-1, score=3; saw not listed"
    )
    assert list(raised.value.found) == ["A"]
    assert both.time.slept == pytest.approx([0.1, 0.15])


def test_a_timeout_from_wait_for_has_found_empty() -> None:
    assert LogsApiTimeout("m").found == {}


def test_roundtrip_patches_feedback_1_by_default_then_polls_get_until_it_shows(
    both: Both,
) -> None:
    answers = [
        ok_log(feedback=None, score=None),  # visible: it can be patched
        ok(),
        ok_log(feedback=None, score=None),  # GET carries the fields, not yet updated
        ok_log(feedback=None, score=None),
        ok_log(feedback=1, score=None),
    ]
    log = both(answers, "assert_feedback_roundtrip", "L1", timeout=10)
    assert (log.feedback, log.score) == (1, None)
    assert [(method, path) for method, path, _ in both.requests()] == [
        ("GET", "/L1"), ("PATCH", "/L1"), ("GET", "/L1"), ("GET", "/L1"), ("GET", "/L1"),
    ]  # fmt: skip
    assert json.loads(both.seen[1].content) == {"feedback": 1, "score": None}


@pytest.mark.parametrize("field", ["feedback", "score"])
def test_roundtrip_polls_get_when_get_carries_either_field(both: Both, field: str) -> None:
    answers = [ok_log(), ok(), ok_log("L1", **{field: None}), ok_log(feedback=-1, score=7)]
    log = both(answers, "assert_feedback_roundtrip", "L1", feedback=-1, score=7, timeout=10)
    assert (log.feedback, log.score) == (-1, 7)
    assert [method for method, _, _ in both.requests()] == ["GET", "PATCH", "GET", "GET"]


def test_roundtrip_reads_a_filtered_list_when_get_lacks_the_fields(both: Both) -> None:
    answers = [ok_log(), ok(), ok_log(), page_of({"id": "L1", "feedback": 1, "score": 50})]
    log = both(answers, "assert_feedback_roundtrip", "L1", score=50, timeout=10)
    assert (log.feedback, log.score) == (1, 50)
    assert [(method, path) for method, path, _ in both.requests()] == [
        ("GET", "/L1"), ("PATCH", "/L1"), ("GET", "/L1"), ("GET", ""),
    ]  # fmt: skip


@pytest.mark.parametrize("step", [0, 2])
def test_roundtrip_waits_within_its_timeout_at_each_step(both: Both, step: int) -> None:
    answers = [ok_log(), ok()][:step] + [not_found() for _ in range(20)]
    with pytest.raises(LogsApiTimeout, match="within 2 s"):
        both(answers, "assert_feedback_roundtrip", "L1", timeout=2)


HINT = ". Check that log L1 belongs to account acct, gateway gw, and that it is visible yet"


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("get", ("L1",), "GET /logs/L1 failed: 404 (code 7002) Not Found" + HINT),
        ("list", (), "GET /logs failed: 404 (code 7002) Not Found"),
        ("patch", ("L1",), "PATCH /logs/L1 failed: 404 (code 7002) Not Found" + HINT),
        ("delete", (), "DELETE /logs failed: 404 (code 7002) Not Found"),
        ("request_body", ("L1",), "GET /logs/L1/request failed: 404 (code 7002) Not Found" + HINT),
        (
            "response_body",
            ("L1",),
            "GET /logs/L1/response failed: 404 (code 7002) Not Found" + HINT,
        ),
    ],
)
def test_each_call_names_itself_and_the_log_in_its_error(
    both: Both, method: str, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(LogsApiError) as raised:
        both([not_found()], method, *args)
    assert str(raised.value) == "Logs API " + message


def test_429_and_5xx_are_retried_four_times_by_default_each_counted(both: Both) -> None:
    answers = [httpx.Response(status, json={}) for status in (429, 500, 502, 503, 504)]
    with pytest.raises(LogsApiError, match="504"):
        both(answers, "list")
    assert (len(both.seen), both.calls, len(both.time.slept)) == (5, 5, 4)


def test_a_transport_error_is_retried_on_both_clients(both: Both) -> None:
    failing = [httpx.ConnectError("refused")]

    def handler(request: httpx.Request) -> httpx.Response:
        both.seen.append(request)
        if failing:
            raise failing.pop()
        return ok_log()

    if both.kind == "sync":
        client = LogsClient(account_id=ACCOUNT, gateway_id=GATEWAY, api_token=TOKEN,
                            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
                            sleep=both.time.sleep, clock=both.time.clock)  # fmt: skip
        assert client.get("L1").id == "L1"
    else:

        async def ahandler(request: httpx.Request) -> httpx.Response:
            return handler(request)

        async def run() -> str:
            async with AsyncLogsClient(
                account_id=ACCOUNT, gateway_id=GATEWAY, api_token=TOKEN,
                http_client=httpx.AsyncClient(transport=httpx.MockTransport(ahandler)),
                sleep=both.time.asleep, clock=both.time.clock,
            ) as logs:  # fmt: skip
                return (await logs.get("L1")).id

        assert asyncio.run(run()) == "L1"
    assert len(both.seen) == 2
    assert 0.25 <= both.time.slept[0] <= 0.5


def test_the_default_rate_limit_is_1200_calls_per_5_minutes(both: Both) -> None:
    answers = [page_of() for _ in range(1201)]
    if both.kind == "sync":
        client = scripted(answers, both.seen, both.time)
        for _ in range(1201):
            client.list()
    else:

        async def run() -> None:
            async with async_scripted(answers, both.time, seen=both.seen) as logs:
                for _ in range(1201):
                    await logs.list()

        asyncio.run(run())
    assert both.time.slept == [300.0]


def test_without_a_rate_limit_nothing_waits(both: Both) -> None:
    both.options = {"rate_limit": None}
    both([page_of(), page_of({"id": "a"}), page_of()], "iter")
    assert both.time.slept == []


def test_a_rate_limit_given_is_kept(both: Both) -> None:
    both.options = {"rate_limit": RateLimit(1, 7.0)}
    both([page_of({"id": "a"}), page_of()], "iter")
    assert both.time.slept == [7.0]


@pytest.mark.parametrize("client", [LogsClient, AsyncLogsClient])
def test_the_default_http_client_times_out_after_30_seconds(
    client: type[LogsClient | AsyncLogsClient],
) -> None:
    logs = client(account_id="a", gateway_id="g", api_token="t")
    assert logs._http.timeout == httpx.Timeout(30.0)


@pytest.mark.parametrize("client", [LogsClient, AsyncLogsClient])
def test_email_and_key_authenticate_both_clients(
    client: type[LogsClient | AsyncLogsClient],
) -> None:
    logs = client(account_id="a", gateway_id="g", api_email="me@x", api_key="k")
    assert logs._wire.auth == {"x-auth-email": "me@x", "x-auth-key": "k"}


def test_an_error_without_an_envelope_shows_the_status_and_reason(both: Both) -> None:
    with pytest.raises(LogsApiError) as raised:
        both([httpx.Response(400, text="<html>")], "list")
    assert str(raised.value) == "Logs API GET /logs failed: 400 Bad Request"
    assert (raised.value.code, raised.value.api_message) == (None, "Bad Request")


@pytest.mark.parametrize(
    ("method", "args"),
    [("wait_for", ("L1",)), ("verify_feedback", ({"L1": (1, None)},)),
     ("assert_feedback_roundtrip", ("L1",))],
)  # fmt: skip
def test_polling_gives_up_after_60_seconds_by_default(
    both: Both, method: str, args: tuple[object, ...]
) -> None:
    answers = [not_found() if method != "verify_feedback" else page_of() for _ in range(30)]
    with pytest.raises(LogsApiTimeout, match="within 60 s"):
        both(answers, method, *args)
    assert sum(both.time.slept) == pytest.approx(60.0)


@pytest.mark.parametrize("get_has_fields", [True, False])
def test_roundtrip_reads_back_within_its_timeout(both: Both, get_has_fields: bool) -> None:
    fields = {"feedback": None} if get_has_fields else {}
    answers = [ok_log(), ok(), ok_log("L1", **fields)]
    answers += [ok_log("L1", **fields) if get_has_fields else page_of() for _ in range(20)]
    with pytest.raises(LogsApiTimeout, match="within 2 s"):
        both(answers, "assert_feedback_roundtrip", "L1", timeout=2)


# --- the parts the clients share ------------------------------------------------------------


def test_a_log_reads_every_field_the_api_returns() -> None:
    raw = {
        "id": 7, "created_at": "2026-11-01T00:00:00Z", "provider": "openai", "model": "m",
        "path": "chat/completions", "success": True, "status_code": 200, "cached": True,
        "tokens_in": 3, "tokens_out": 4, "cost": 0.5, "metadata": {"u": 1}, "feedback": -1,
        "score": 9,
    }  # fmt: skip
    log = Log.from_api(raw)
    assert (log.id, log.created_at, log.provider, log.model, log.path) == (
        "7", "2026-11-01T00:00:00Z", "openai", "m", "chat/completions",
    )  # fmt: skip
    assert (log.success, log.status_code, log.cached, log.tokens_in, log.tokens_out) == (
        True, 200, True, 3, 4,
    )  # fmt: skip
    assert (log.cost, log.metadata, log.feedback, log.score, log.raw) == (
        0.5, {"u": 1}, -1, 9, raw,
    )  # fmt: skip


def test_a_log_with_only_an_id_has_empty_defaults() -> None:
    log = Log.from_api({"id": "L"})
    assert (log.created_at, log.provider, log.model, log.path, log.success, log.cached) == (
        "", "", "", "", False, False,
    )  # fmt: skip
    assert (log.status_code, log.tokens_in, log.tokens_out, log.cost, log.metadata) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert (log.feedback, log.score, log.raw) == (None, None, {"id": "L"})


@pytest.mark.parametrize(
    ("metadata", "read"),
    [('{"u": "a"}', {"u": "a"}), ("{not json", None), ("[1]", None), (["x"], None)],
)
def test_metadata_as_a_json_string_is_read_as_an_object(metadata: object, read: object) -> None:
    assert Log.from_api({"id": "L", "metadata": metadata}).metadata == read


def test_the_rate_limit_window_slides_with_the_clock() -> None:
    time = FakeTime()
    client = scripted([ok_log() for _ in range(6)], [], time, rate_limit=RateLimit(2, 10.0))
    for _ in range(6):
        client.get("L1")
    # calls 1-2 at 0 s; 3 waits to 10 s; 4 starts at 10 s as call 1 leaves the window;
    # 5 waits to 20 s, 6 starts at 20 s beside it.
    assert time.slept == [10.0, 10.0]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"feedback": 2}, "feedback must be a number from -1 to 1, or None; got 2"),
        ({"feedback": -1.5}, "feedback must be a number from -1 to 1, or None; got -1.5"),
        ({"feedback": True}, "feedback must be a number from -1 to 1, or None; got True"),
        ({"feedback": "1"}, "feedback must be a number from -1 to 1, or None; got '1'"),
        ({"score": -1}, "score must be a number from 0 to 100, or None; got -1"),
        ({"score": 100.5}, "score must be a number from 0 to 100, or None; got 100.5"),
    ],
)
def test_patch_refuses_feedback_and_score_out_of_range(
    both: Both, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        both([], "patch", "L1", **fields)
    assert both.seen == []


def test_patch_accepts_the_ends_of_each_range(both: Both) -> None:
    both([ok(), ok()], "patch", "L1", feedback=-1, score=0)
    both([ok()], "patch", "L1", feedback=1, score=100)
    assert [json.loads(request.content) for request in both.seen] == [
        {"feedback": -1, "score": 0}, {"feedback": 1, "score": 100},
    ]  # fmt: skip


def test_a_transport_error_is_raised_once_retries_run_out(both: Both) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        both.seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    async def arefuse(request: httpx.Request) -> httpx.Response:
        return refuse(request)

    async def run() -> None:
        async with AsyncLogsClient(
            account_id=ACCOUNT, gateway_id=GATEWAY, api_token=TOKEN, max_retries=2,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(arefuse)),
            sleep=both.time.asleep, clock=both.time.clock,
        ) as logs:  # fmt: skip
            await logs.get("L1")

    def call() -> None:
        if both.kind == "async":
            asyncio.run(run())
            return
        LogsClient(account_id=ACCOUNT, gateway_id=GATEWAY, api_token=TOKEN, max_retries=2,
                   http_client=httpx.Client(transport=httpx.MockTransport(refuse)),
                   sleep=both.time.sleep, clock=both.time.clock).get("L1")  # fmt: skip

    with pytest.raises(httpx.ConnectError, match="refused"):
        call()
    assert (len(both.seen), len(both.time.slept)) == (3, 2)


def test_an_error_without_a_message_shows_the_reason_phrase(both: Both) -> None:
    with pytest.raises(LogsApiError) as raised:
        both([httpx.Response(400, json={"errors": [{"code": 5}]})], "list")
    assert str(raised.value) == "Logs API GET /logs failed: 400 (code 5) Bad Request"


def test_a_logs_api_error_built_by_hand_has_no_hint() -> None:
    error = LogsApiError("GET /logs", 500, None, "boom")
    assert (str(error), error.status_code, error.code) == (
        "Logs API GET /logs failed: 500 boom", 500, None,
    )  # fmt: skip


def test_credentials_and_ids_are_required_with_exact_messages() -> None:
    with pytest.raises(ConfigError) as no_id:
        LogsClient(account_id="a", gateway_id="", api_token="t")
    with pytest.raises(ConfigError) as email_only:
        AsyncLogsClient(account_id="a", gateway_id="g", api_email="me@x")
    with pytest.raises(ConfigError) as key_only:
        LogsClient(account_id="a", gateway_id="g", api_key="k")
    assert str(no_id.value) == "LogsClient needs a non-empty account_id and gateway_id"
    assert (
        str(email_only.value)
        == str(key_only.value)
        == (
            "LogsClient needs api_token=..., or api_email=... and api_key=...;"
            " in live mode set CLOUDFLARE_API_TOKEN"
        )
    )


def test_a_base_url_ending_in_a_slash_gives_the_same_urls(both: Both) -> None:
    both.options = {"base_url": "https://api.example/client/v4/"}
    both([ok_log()], "get", "L1")
    assert str(both.seen[0].url) == (
        f"https://api.example/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/{GATEWAY}/logs/L1"
    )
    assert both.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
