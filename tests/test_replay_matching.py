"""Which recorded exchange answers a request (`pytest_aigw.replay`), and what a miss says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from replay_cassettes import (
    CHAT,
    PLACE,
    REAL_ACCOUNT,
    REDACTED_PLACE,
    chat_answer,
    chat_body,
    request,
)

from pytest_aigw.cassette import (
    Body,
    Cassette,
    Exchange,
    GatewayPlace,
    RecordedRequest,
    RecordedResponse,
)
from pytest_aigw.replay import Replay, Sent, recorded_target

RUN_ACCOUNT = "run-account"
OK = RecordedResponse(200)


def exchange(
    body: Any, path: str = CHAT, *, metadata: str | None = None, method: str = "POST"
) -> Exchange:
    return Exchange("gateway", request(body, path, metadata=metadata, method=method), OK)


def replay(
    *exchanges: Exchange, ignore: tuple[str, ...] = (), tags: tuple[str, ...] = ()
) -> Replay:
    return Replay(
        Cassette("t", PLACE, exchanges=list(exchanges)), RUN_ACCOUNT, ignore=ignore, tags=tags
    )


def sent(body: Any, path: str = CHAT, metadata: str | None = None, method: str = "POST") -> Sent:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Sent(method, "gateway", path, data, metadata)


def test_a_request_takes_the_first_unused_match_once() -> None:
    first, second = exchange({"a": 1}), exchange({"a": 1})
    book = replay(first, second)
    assert book.take(sent({"a": 1})) is first
    assert book.take(sent({"a": 1})) is second
    assert book.take(sent({"a": 1})) is None
    assert book.unused() == []


def test_method_path_and_api_must_be_the_same() -> None:
    book = replay(exchange({}, "openai/embeddings"))
    assert book.take(sent({}, CHAT)) is None
    assert book.take(sent({}, "openai/embeddings", method="PUT")) is None
    assert book.take(Sent("POST", "rest", "openai/embeddings", b"{}")) is None
    assert book.take(sent({}, "openai/embeddings", method="post")) is not None


def test_json_compares_parsed_and_other_bodies_byte_for_byte() -> None:
    book = replay(exchange({"b": [1, 2.5], "a": "x"}), exchange(b"raw \xff"), exchange(b""))
    assert book.take(sent(b'{ "a" : "x", "b" : [1, 2.5] }')) is not None
    assert book.take(sent(b"raw \xfe")) is None
    assert book.take(sent(b"raw \xff")) is not None
    assert book.take(sent(b"")) is not None


@pytest.mark.parametrize(
    ("recorded", "other"),
    [
        (True, 1),
        (1, True),
        (False, 0),
        (1, "1"),
        (None, 0),
        ({"a": 1}, {"a": 1, "b": 2}),
        ({"a": 1, "b": 2}, {"a": 1}),
        ([1, 2], [1]),
        ([1], [1, 2]),
        ([1, 2], [2, 1]),
        ("a", ["a"]),
        ({"a": [{"b": "x"}]}, {"a": [{"b": "y"}]}),
    ],
)
def test_json_values_differ(recorded: Any, other: Any) -> None:
    assert replay(exchange(recorded)).take(sent(other)) is None


@pytest.mark.parametrize(("recorded", "other"), [(1, 1.0), (2.5, 2.5), (None, None), ([], [])])
def test_json_values_match(recorded: Any, other: Any) -> None:
    assert replay(exchange(recorded)).take(sent(other)) is not None


def test_a_scrubbed_secret_in_a_recorded_string_stands_for_anything() -> None:
    recorded = {"h": "Bearer <redacted:KEY>", "x": "a<redacted:A>b<redacted:B>c"}
    book = replay(exchange(recorded), exchange(b"k=<redacted:K>&z=1"))
    assert book.take(sent({"h": "Bearer sk-1", "x": "a.*+?b\nc"})) is not None
    assert book.take(sent(b"k=anything&z=2")) is None
    assert book.take(sent(b"k=anything&z=1")) is not None
    assert replay(exchange({"h": "Bearer <redacted:K>"})).take(sent({"h": "Basic x"})) is None
    assert replay(exchange({"h": "a.c"})).take(sent({"h": "abc"})) is None


def test_the_account_placeholder_in_a_body_is_the_runs_account() -> None:
    book = replay(exchange({"account": "<account>"}))
    assert book.take(sent({"account": "<account>"})) is None
    assert book.take(sent({"account": RUN_ACCOUNT})) is not None


def test_ignored_fields_leave_both_sides() -> None:
    recorded = {
        "user": "a",
        "messages": [{"id": 1, "t": "x"}, {"id": 2, "t": "y"}],
        "meta": {"run": "r1", "keep": 1},
        "list": [1, 2, 3],
    }
    other = {
        "user": "b",
        "messages": [{"id": 3, "t": "x"}, {"id": 4, "t": "y"}],
        "meta": {"run": "r2", "keep": 1},
        "list": [1, 9, 3],
    }
    ignore = ("user", "messages.*.id", "meta.run", "list.1", "absent.deep", "list.7", "list.x")
    assert replay(exchange(recorded), ignore=ignore).take(sent(other)) is not None
    for left_out in ignore[:4]:
        kept = tuple(field for field in ignore if field != left_out)
        assert replay(exchange(recorded), ignore=kept).take(sent(other)) is None


def test_an_ignored_star_covers_every_key_and_a_scalar_is_left_alone() -> None:
    book = replay(exchange({"a": {"x": 1, "y": 2}, "n": 5}), ignore=("a.*", "n.deeper"))
    assert book.take(sent({"a": {"z": 3}, "n": 5})) is not None


def test_metadata_compares_without_the_live_tags_and_ignored_keys() -> None:
    live = '{"user":"u1","test":true,"aigw_run":"R1","ci":"1","trace":"t1"}'
    book = replay(exchange({}, metadata=live), ignore=("cf-aig-metadata.trace",), tags=("ci",))
    assert book.take(sent({}, metadata='{"user":"u2"}')) is None
    assert book.take(sent({}, metadata='{"user":"u1","trace":"t2","test":false}')) is not None


def test_metadata_missing_is_empty_and_text_compares_as_text() -> None:
    assert replay(exchange({}, metadata='{"test":true}')).take(sent({})) is not None
    assert replay(exchange({}, metadata="not json")).take(sent({}, metadata="not json")) is not None
    assert replay(exchange({}, metadata="[1]")).take(sent({}, metadata="[1]")) is not None
    assert replay(exchange({}, metadata="[1]")).take(sent({}, metadata="[2]")) is None
    assert replay(exchange({}, metadata='{"user":"u"}')).take(sent({})) is None


def test_the_recorded_path_is_below_the_gateway_or_the_account() -> None:
    gateway = Exchange("gateway", request({}, "openai/chat/completions"), OK)
    assert recorded_target(gateway, PLACE) == ("gateway", "openai/chat/completions")
    root = Exchange("gateway", RecordedRequest("POST", PLACE.gateway_url), OK)
    assert recorded_target(root, PLACE) == ("gateway", "")
    rest_url = f"{PLACE.api_url}/accounts/{REAL_ACCOUNT}/ai/run/@cf/meta/llama"
    rest = Exchange("rest", RecordedRequest("POST", rest_url), OK)
    assert recorded_target(rest, PLACE) == ("rest", "ai/run/@cf/meta/llama")
    quoted = f"{REDACTED_PLACE.gateway_url.replace('<account>', '%3Caccount%3E')}/openai/x?y=1"
    elsewhere = Exchange("gateway", RecordedRequest("POST", quoted), OK)
    assert recorded_target(elsewhere, REDACTED_PLACE) == ("gateway", "openai/x")
    other = Exchange("gateway", RecordedRequest("POST", "https://h/v1/other/gw/openai/x"), OK)
    assert recorded_target(other, PLACE) == ("gateway", "/v1/other/gw/openai/x")
    near = Exchange("gateway", RecordedRequest("POST", f"{PLACE.gateway_url}x/openai"), OK)
    assert recorded_target(near, PLACE)[1].startswith("/v1/")


def test_logs_exchanges_are_never_matched_nor_unused() -> None:
    logs = Exchange("logs", RecordedRequest("GET", f"{PLACE.api_url}/x/logs"), OK)
    book = Replay(Cassette("t", PLACE, exchanges=[logs]), RUN_ACCOUNT)
    assert book.unused() == []
    assert book.closest(sent({})) == "the cassette holds no gateway or REST API exchange"


def test_unused_exchanges_are_listed_in_recorded_order() -> None:
    book = replay(exchange({"a": 1}), exchange({"a": 2}, "openai/embeddings"), exchange({"a": 3}))
    book.take(sent({"a": 3}))
    assert book.unused() == [
        "exchange #1 (POST openai/chat/completions)",
        "exchange #2 (POST openai/embeddings)",
    ]


def test_closest_names_the_first_unused_exchange_with_the_same_path_and_the_field() -> None:
    book = replay(exchange({"a": 1, "b": [1, 2]}), exchange({"a": 1, "b": [1, 3]}))
    book.take(sent({"a": 1, "b": [1, 2]}))
    assert book.closest(sent({"a": 1, "b": [1, 4]})) == (
        "the closest, exchange #2 (POST openai/chat/completions), differs in body field b.1:"
        " recorded 3, sent 4"
    )


@pytest.mark.parametrize(
    ("recorded", "other", "said"),
    [
        ({"a": 1}, {}, "body field a: recorded 1, sent nothing"),
        ({}, {"z": 1}, "body field z: recorded nothing, sent 1"),
        ([1], [1, 2], "the body: recorded 1 item(s), sent 2"),
        ({"l": [1, 2]}, {"l": [1]}, "body field l: recorded 2 item(s), sent 1"),
        (
            b"abc",
            b"abd",
            "the body: recorded 3 bytes (not JSON) b'abc', sent 3 bytes (not JSON) b'abd'",
        ),
        ({"a": 1}, b"abd", "the body: recorded {'a': 1}, sent 3 bytes (not JSON) b'abd'"),
    ],
)
def test_closest_says_what_differs(recorded: Any, other: Any, said: str) -> None:
    book = replay(exchange(recorded))
    label = "exchange #1 (POST openai/chat/completions)"
    assert book.closest(sent(other)) == f"the closest, {label}, differs in {said}"


def test_closest_names_a_metadata_difference() -> None:
    book = replay(exchange({}, metadata='{"user":"u1"}'), exchange({}, metadata="text"))
    assert book.closest(sent({}, metadata='{"user":"u2"}')).endswith(
        "differs in cf-aig-metadata key user: recorded 'u1', sent 'u2'"
    )
    book.take(sent({}, metadata='{"user":"u1"}'))
    assert book.closest(sent({}, metadata="other")).endswith(
        "differs in cf-aig-metadata: recorded 'text', sent 'other'"
    )


def test_closest_for_a_repeat_and_for_a_used_exchange_that_differs() -> None:
    book = replay(exchange({"a": 1}), exchange({"a": 1}, "openai/embeddings"))
    book.take(sent({"b": 0}))
    book.take(sent({"a": 1}))
    assert book.closest(sent({"a": 1})) == (
        "exchange #1 (POST openai/chat/completions) matches it but already answered request"
        " #2: each recorded exchange answers once, and the app sent this request more often"
        " than when it was recorded"
    )
    assert book.closest(sent({"a": 2})) == (
        "the closest, exchange #1 (POST openai/chat/completions), already answered request"
        " #2 and differs in body field a: recorded 1, sent 2"
    )


def test_closest_with_no_exchange_on_the_path_names_the_nearest_path() -> None:
    book = replay(
        exchange({}, "anthropic/v1/messages"),
        exchange({}, "openai/chat/completions", method="GET"),
        exchange({}, "openai/embeddings"),
        Exchange(
            "rest",
            RecordedRequest(
                "POST", f"{PLACE.api_url}/accounts/{REAL_ACCOUNT}/ai/openai/chat/completion"
            ),
            OK,
        ),
    )
    assert book.closest(sent({}, "openai/chat/completion")) == (
        "no recorded exchange is POST openai/chat/completion; the nearest is exchange #2"
        " (GET openai/chat/completions)"
    )
    assert book.closest(sent({}, "openai/embedding")).endswith(
        "exchange #3 (POST openai/embeddings)"
    )
    assert book.closest(Sent("POST", "rest", "ai/openai/chat/completio")).endswith(
        "exchange #4 (POST ai/openai/chat/completion)"
    )


def test_a_redacted_account_in_the_path_maps_to_the_runs() -> None:
    url = f"{REDACTED_PLACE.api_url}/accounts/<account>/ai/v1/<account>"
    rest = Exchange("rest", RecordedRequest("POST", url, body=Body(b"")), chat_answer("x", "L"))
    book = Replay(Cassette("t", REDACTED_PLACE, exchanges=[rest]), RUN_ACCOUNT)
    assert book.take(Sent("POST", "rest", f"ai/v1/{RUN_ACCOUNT}")) is rest


def test_the_recorded_place_can_have_trailing_slashes() -> None:
    place = GatewayPlace("a", "g", "https://x/v1/a/g/", "https://x/client/v4/")
    gateway = Exchange("gateway", RecordedRequest("POST", "https://x/v1/a/g/openai/y"), OK)
    rest = Exchange("rest", RecordedRequest("POST", "https://x/client/v4/accounts/a/ai/y"), OK)
    assert recorded_target(gateway, place) == ("gateway", "openai/y")
    assert recorded_target(rest, place) == ("rest", "ai/y")


def test_chat_body_helper_is_what_the_sdk_sends() -> None:
    assert chat_body("hi")["messages"] == [{"role": "user", "content": "hi"}]


def test_a_logs_exchange_before_gateway_ones_does_not_hide_them() -> None:
    logs = Exchange("logs", RecordedRequest("GET", f"{PLACE.api_url}/x/logs"), OK)
    later = exchange({"a": 1})
    book = Replay(Cassette("t", PLACE, exchanges=[logs, later]), RUN_ACCOUNT)
    assert book.take(sent({"a": 1})) is later
    assert book.unused() == []


def test_closest_names_a_metadata_difference_of_a_used_exchange() -> None:
    book = replay(exchange({}, metadata='{"user":"u1"}'))
    book.take(sent({}, metadata='{"user":"u1"}'))
    assert book.closest(sent({}, metadata='{"user":"u2"}')) == (
        "the closest, exchange #1 (POST openai/chat/completions), already answered request"
        " #1 and differs in cf-aig-metadata key user: recorded 'u1', sent 'u2'"
    )


def test_closest_names_nested_fields_by_their_whole_path() -> None:
    book = replay(exchange({"m": {"k": [0, {"deep": 1}]}}))
    assert book.closest(sent({"m": {"k": [0, {"deep": 2}]}})).endswith(
        "differs in body field m.k.1.deep: recorded 1, sent 2"
    )


def test_an_ignored_list_item_keeps_the_later_items_in_place() -> None:
    book = replay(exchange({"l": ["a", "b", "c"]}), ignore=("l.0", "l.3"))
    assert book.closest(sent({"l": ["z", "b", "d"]})).endswith(
        "differs in body field l.2: recorded 'c', sent 'd'"
    )
    assert book.closest(sent({"l": ["z"]})).endswith(
        "differs in body field l: recorded 3 item(s), sent 1"
    )
    assert book.take(sent({"l": ["z", "b", "c"]})) is not None
    short = replay(exchange({"l": ["a", "b"]}), ignore=("l.1",))
    assert short.closest(sent({"l": ["a"]})).endswith("recorded 2 item(s), sent 1")
    assert replay(exchange({"l": ["a"]}), ignore=("l.1",)).take(sent({"l": ["a", "x"]})) is None
    assert replay(exchange({"l": [1]}), ignore=("*.0",)).take(sent({"l": [2]})) is not None


def test_metadata_ignores_whole_keys() -> None:
    book = replay(exchange({}, metadata='{"a":"1","b":"2"}'), ignore=("cf-aig-metadata.a",))
    assert book.take(sent({}, metadata='{"a":"9","b":"2"}')) is not None


def test_the_nearest_ranks_the_api_first_then_the_path_then_the_method() -> None:
    rest_url = f"{PLACE.api_url}/accounts/{REAL_ACCOUNT}/ai/run/@cf/x"
    book = replay(
        exchange({}, "ai/v1/chat/completions"),
        Exchange("rest", RecordedRequest("POST", rest_url), OK),
        exchange({}, "openai/x", method="GET"),
        exchange({}, "openai/x"),
        exchange({}, "openai/x", method="PUT"),
    )
    assert book.closest(Sent("POST", "rest", "ai/v1/chat/completion")).endswith(
        "exchange #2 (POST ai/run/@cf/x)"
    )
    assert book.closest(sent({}, "openai/y")).endswith("exchange #4 (POST openai/x)")
    assert book.closest(sent({}, "openai/y", method="PUT")).endswith("exchange #5 (PUT openai/x)")


def test_the_gateway_root_is_labelled_with_a_slash() -> None:
    book = replay(exchange([], ""))
    assert book.unused() == ["exchange #1 (POST /)"]


def test_an_ignored_path_inside_list_items_leaves_their_other_fields_compared() -> None:
    book = replay(exchange({"m": [{"id": 1, "t": "x"}]}), ignore=("m.*.id",))
    assert book.take(sent({"m": [{"id": 2, "t": "y"}]})) is None
    assert book.take(sent({"m": [{"id": 2, "t": "x"}]})) is not None


def test_only_slashes_are_trimmed_from_the_recorded_places_and_paths() -> None:
    place = GatewayPlace("a", "gwX", "https://x/v1/a/gwX", "https://x/apiX")
    gateway = Exchange("gateway", RecordedRequest("POST", "https://x/v1/a/gwX/openai/X"), OK)
    rest = Exchange("rest", RecordedRequest("POST", "https://x/apiX/accounts/a/ai/X"), OK)
    assert recorded_target(gateway, place) == ("gateway", "openai/X")
    assert recorded_target(rest, place) == ("rest", "ai/X")
