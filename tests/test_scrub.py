"""The scrubber and the final scan: no known secret, in any form the scan knows, is written."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw.cassette import (
    Body,
    Cassette,
    Chunk,
    Exchange,
    GatewayPlace,
    RecordedRequest,
    RecordedResponse,
)
from pytest_aigw.scrub import (
    ACCOUNT,
    MIN_SECRET,
    Leak,
    Scrubber,
    Secret,
    all_forms,
    base64_forms,
    leak_message,
    request_secrets,
    scan,
)

KEY = Secret("authorization", "sk-live-0123456789")
TOKEN = Secret("CLOUDFLARE_API_TOKEN", 'cf/token+with=odd "chars"')
ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
PLACE = GatewayPlace(
    ACCOUNT_ID, "gw", f"https://gateway.ai.cloudflare.com/v1/{ACCOUNT_ID}/gw", "https://api"
)


def exchange(
    *,
    url: str = "https://gateway.ai.cloudflare.com/v1/a/g/openai/chat/completions",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"{}",
    answer: bytes = b"{}",
    chunks: list[bytes] | None = None,
    answer_headers: list[tuple[str, str]] | None = None,
) -> Exchange:
    pieces = (
        None if chunks is None else tuple(Chunk(0.1 * n, Body(c)) for n, c in enumerate(chunks))
    )
    return Exchange(
        "gateway",
        RecordedRequest("POST", url, headers or [], Body(body)),
        RecordedResponse(
            200, answer_headers or [], None if chunks is not None else Body(answer), pieces
        ),
    )


def scanned(*exchanges: Exchange, secrets: tuple[Secret, ...] = (KEY,)) -> list[Leak]:
    cassette = Cassette("t.py::test", PLACE, "", list(exchanges))
    return scan(cassette.dumps(), cassette, secrets)


# --- the scrubber ---------------------------------------------------------------------------


def test_each_secret_is_replaced_as_is_json_escaped_and_url_encoded() -> None:
    scrub = Scrubber([KEY, TOKEN])
    text = f"{TOKEN.value} {json.dumps(TOKEN.value)} {quote(TOKEN.value, safe='')} {KEY.value}"
    text += f" {quote_plus(TOKEN.value)}"
    assert scrub.text(text) == (
        '<redacted:CLOUDFLARE_API_TOKEN> "<redacted:CLOUDFLARE_API_TOKEN>"'
        " <redacted:CLOUDFLARE_API_TOKEN> <redacted:authorization>"
        " <redacted:CLOUDFLARE_API_TOKEN>"
    )


def test_a_json_escaped_secret_is_replaced_inside_json_text() -> None:
    secret = Secret("x-api-key", 'key"with\\quote-é')
    for ascii in (True, False):  # é as \\u00e9, or as it is
        body = json.dumps({"echo": secret.value}, ensure_ascii=ascii).encode()
        assert json.loads(Scrubber([secret]).data(body)) == {"echo": "<redacted:x-api-key>"}


def test_a_secret_the_first_pass_forms_next_to_a_placeholder_goes_in_the_next() -> None:
    # Contrived: "n>tail12345" shows only once the shorter "sk-short1" before it has
    # become "<redacted:authorization>", after the longer secret's turn in the pass.
    short, tail = Secret("authorization", "sk-short1"), Secret("x-tail", "n>tail12345")
    clean = Scrubber([short, tail]).text(f"{short.value}tail12345")
    assert short.value not in clean
    assert tail.value not in clean


def test_the_longest_secret_goes_first_so_one_holding_another_is_replaced_whole() -> None:
    short, long = Secret("a", "abcdefgh"), Secret("b", "abcdefgh-and-more")
    assert Scrubber([short, long]).text("abcdefgh-and-more abcdefgh") == "<redacted:b> <redacted:a>"


def test_short_values_and_values_a_marker_holds_are_not_searched_for() -> None:
    scrub = Scrubber([Secret("x-api-key", "test"), Secret("a", "redacted:a")])
    assert scrub.secrets == []
    assert scrub.text("a test of redacted:a") == "a test of redacted:a"
    assert len("1234567") < MIN_SECRET


def test_the_first_name_given_for_a_value_is_the_one_shown() -> None:
    scrub = Scrubber([Secret("CLOUDFLARE_API_TOKEN", KEY.value), KEY])
    assert scrub.text(KEY.value) == "<redacted:CLOUDFLARE_API_TOKEN>"


def test_binary_bodies_are_scrubbed_byte_for_byte() -> None:
    data = b"\xff\x00" + KEY.value.encode() + b"\xfe"
    assert Scrubber([KEY]).data(data) == b"\xff\x00<redacted:authorization>\xfe"


def test_secret_headers_are_hidden_whole_keeping_their_scheme() -> None:
    headers = [
        ("Authorization", f"Bearer {KEY.value}"),
        ("x-api-key", "short"),
        ("set-cookie", "session=abc; Path=/"),
        ("x-echo", f"sent {KEY.value}"),
        ("cf-aig-cache-key", "my-cache-key"),
        ("cf-aig-authorization", f"Bearer {TOKEN.value}"),
    ]
    assert Scrubber([KEY, TOKEN]).headers(headers) == [
        ("Authorization", "Bearer <redacted:authorization>"),
        ("x-api-key", "<redacted:x-api-key>"),
        ("set-cookie", "<redacted:set-cookie>"),
        ("x-echo", "sent <redacted:authorization>"),
        ("cf-aig-cache-key", "my-cache-key"),
        ("cf-aig-authorization", "Bearer <redacted:CLOUDFLARE_API_TOKEN>"),
    ]


def test_query_values_are_scrubbed_as_the_server_reads_them() -> None:
    scrub = Scrubber([TOKEN, Secret("GOOGLE_KEY", "query-key-value")])
    url = (
        f"https://h/p/{quote(TOKEN.value, safe='')}?key=query-key-value&token=short"
        "&q=cf/token%2Bwith%3Dodd+%22chars%22&plain=1&flag&api_key=ab=cd?e=f"
    )
    assert scrub.url(url) == (
        "https://h/p/<redacted:CLOUDFLARE_API_TOKEN>?key=<redacted:GOOGLE_KEY>"
        "&token=<redacted:token>&q=<redacted:CLOUDFLARE_API_TOKEN>&plain=1&flag"
        "&api_key=<redacted:api_key>"
    )
    assert scrub.url("https://h/p") == "https://h/p"


def test_logs_are_scrubbed_in_keys_and_values_at_any_depth() -> None:
    log = {"id": "l1", "request_head": f"Bearer {KEY.value}", KEY.value: [1, {"k": KEY.value}]}
    assert Scrubber([KEY]).value(log) == {
        "id": "l1",
        "request_head": "Bearer <redacted:authorization>",
        "<redacted:authorization>": [1, {"k": "<redacted:authorization>"}],
    }


def test_the_account_id_is_replaced_everywhere_when_asked() -> None:
    recorded = Cassette(
        "t.py::test",
        PLACE,
        "",
        [exchange(url=f"https://api/accounts/{ACCOUNT_ID}/ai/run", answer=ACCOUNT_ID.encode())],
        [{"account": ACCOUNT_ID}],
    )
    text = Scrubber([], ACCOUNT_ID).cassette(recorded).dumps()
    assert ACCOUNT_ID not in text
    assert text.count(ACCOUNT) == 5  # place (2), URL, body, log
    assert ACCOUNT_ID in Scrubber([]).cassette(recorded).dumps()


def test_a_whole_cassette_comes_out_clean() -> None:
    recorded = Cassette(
        f"t.py::test[{KEY.value}]",
        PLACE,
        "",
        [
            exchange(
                url=f"https://h/p?api_key={KEY.value}",
                headers=[("authorization", f"Bearer {KEY.value}")],
                body=KEY.value.encode(),
                chunks=[KEY.value.encode(), b"data: [DONE]\n\n"],
                answer_headers=[("x-echo", KEY.value)],
            ),
            exchange(answer=f"echo {KEY.value}".encode()),
        ],
        [{"head": KEY.value}],
        [KEY.value],
    )
    clean = Scrubber([KEY]).cassette(recorded)
    assert KEY.value not in clean.dumps()
    assert scan(clean.dumps(), clean, [KEY]) == []
    assert clean.missing_logs == ["<redacted:authorization>"]
    chunks = clean.exchanges[0].response.chunks
    assert chunks is not None
    assert [(c.at, c.body.data) for c in chunks] == [
        (0.0, b"<redacted:authorization>"),
        (0.1, b"data: [DONE]\n\n"),
    ]


# --- where secrets come from ------------------------------------------------------------------


def test_secrets_come_from_the_requests_secret_headers_query_and_universal_steps() -> None:
    one_step = {"provider": "openai", "headers": {"x-api-key": "sk-one-step-5678"}}
    steps = [
        {"provider": "openai", "headers": {"Authorization": "Bearer sk-step-one-1234"}},
        {"provider": "anthropic", "headers": {"x-api-key": "sk-ant-step-two", "x": "y"}},
        "not a step",
    ]
    found = request_secrets(
        [
            exchange(
                url="https://h/p?key=goog-key-123&other=1&token=",
                headers=[
                    ("Authorization", "Bearer sk-live-0123456789"),
                    ("cf-aig-authorization", "gw-token-1234"),
                    ("accept", "text/plain"),
                    ("x-api-key", ""),
                ],
                body=b"  " + json.dumps(steps).encode(),
            ),
            exchange(body=json.dumps(one_step).encode()),
            exchange(body=b"[not json"),
            exchange(body=b"plain text"),
        ]
    )
    assert found == [
        Secret("authorization", "sk-live-0123456789"),
        Secret("cf-aig-authorization", "gw-token-1234"),
        Secret("key", "goog-key-123"),
        Secret("authorization", "sk-step-one-1234"),
        Secret("x-api-key", "sk-ant-step-two"),
        Secret("x-api-key", "sk-one-step-5678"),
    ]


# --- the scan ---------------------------------------------------------------------------------


def test_the_scan_finds_nothing_in_a_clean_file() -> None:
    assert scanned(exchange(answer=b"nothing to see")) == []


@pytest.mark.parametrize("offset", [0, 1, 2])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_of_a_secret_is_found_at_any_offset(offset: int, encode: object) -> None:
    assert callable(encode)
    hidden = encode(b"x" * offset + KEY.value.encode() + b"tail")
    assert scanned(exchange(answer=b"reply " + hidden)) == [
        Leak("exchanges[0].response.body", "authorization", "base64-encoded")
    ]


def test_a_binary_body_is_scanned_in_the_base64_the_file_holds() -> None:
    data = b"\xff" + KEY.value.encode()
    recorded = Cassette("t.py::test", PLACE, "", [exchange(answer=data)])
    leaks = scan(recorded.dumps(), recorded, [KEY])
    assert leaks == [Leak("exchanges[0].response.body", "authorization", "as is")]


def test_a_secret_split_across_chunks_is_found_in_the_joined_stream() -> None:
    half = len(KEY.value) // 2
    split = exchange(chunks=[b"data: " + KEY.value[:half].encode(), KEY.value[half:].encode()])
    assert scanned(split) == [
        Leak("exchanges[0].response.chunks (split across chunks)", "authorization", "as is")
    ]


@pytest.mark.parametrize(
    ("form", "text"),
    [
        ("as is", KEY.value),
        ("JSON-escaped", json.dumps(TOKEN.value)),
        ("URL-encoded", quote(TOKEN.value, safe="")),
        ("URL-encoded", quote_plus(TOKEN.value)),
    ],
)
def test_each_form_is_named(form: str, text: str) -> None:
    leaks = scanned(exchange(headers=[("x-echo", text)]), secrets=(KEY, TOKEN))
    assert [(leak.place, leak.form) for leak in leaks] == [
        ("exchanges[0].request.headers[0] (x-echo)", form)
    ]


@pytest.mark.parametrize(
    ("change", "place"),
    [
        ({"url": f"https://h/{KEY.value}"}, "exchanges[1].request.url"),
        ({"body": KEY.value.encode()}, "exchanges[1].request.body"),
        (
            {"answer_headers": [("a", "b"), ("x", KEY.value)]},
            "exchanges[1].response.headers[1] (x)",
        ),
        ({"chunks": [b"a", KEY.value.encode()]}, "exchanges[1].response.chunks[1]"),
    ],
)
def test_the_place_names_the_exchange_and_the_field(change: dict[str, object], place: str) -> None:
    leaks = scanned(exchange(), exchange(**change))  # type: ignore[arg-type]
    assert [leak.place for leak in leaks] == [place]


def test_logs_the_gateway_the_test_name_and_missing_logs_are_scanned_too() -> None:
    def leaks_of(**fields: object) -> list[str]:
        recorded = Cassette(**{"test": "t", "gateway": PLACE, **fields})  # type: ignore[arg-type]
        return [leak.place for leak in scan(recorded.dumps(), recorded, [KEY])]

    assert leaks_of(logs=[{"a": 1}, {"b": KEY.value}]) == ["logs[1]"]
    wide = Secret("x", "clé-secrète-1")
    recorded = Cassette("t", PLACE, logs=[{"b": wide.value}])
    assert scan(recorded.dumps(), recorded, [wide]) == [Leak("logs[0]", "x", "as is")]
    assert leaks_of(missing_logs=[KEY.value]) == ["missing_logs"]
    assert leaks_of(test=f"t.py::test[{KEY.value}]") == ["test"]
    place = GatewayPlace("a", KEY.value, "u", "v")
    assert leaks_of(gateway=place) == ["gateway"]


def test_a_secret_only_the_whole_text_shows_is_placed_at_the_file() -> None:
    recorded = Cassette("t.py::test", PLACE, "")
    text = recorded.dumps() + KEY.value
    assert scan(text, recorded, [KEY]) == [Leak("the file", "authorization", "as is")]


def test_short_secrets_are_not_scanned_for_and_each_secret_is_named_once() -> None:
    eight = Secret("y", "87654321")
    leaks = scanned(
        exchange(answer=b"test 8765432 " + KEY.value.encode() * 2),
        secrets=(Secret("x", "test"), Secret("z", "8765432"), KEY, KEY, eight),
    )
    assert leaks == [Leak("exchanges[0].response.body", "authorization", "as is")]
    assert scanned(exchange(answer=b"87654321"), secrets=(eight,)) == [
        Leak("exchanges[0].response.body", "y", "as is")
    ]


def test_the_message_names_places_and_forms_never_values() -> None:
    leaks = [
        Leak("exchanges[2].response.body", "x-api-key", "base64-encoded"),
        Leak("logs[0]", "CLOUDFLARE_API_TOKEN", "as is"),
    ]
    message = leak_message("tests/cassettes/test_app/test_x.json", leaks)
    assert message == (
        "pytest-aigw did not write the cassette tests/cassettes/test_app/test_x.json: after"
        " scrubbing it would still hold 2 secret(s):\n"
        "  1. x-api-key (base64-encoded) at exchanges[2].response.body\n"
        "  2. CLOUDFLARE_API_TOKEN (as is) at logs[0]\n"
        "The scrubber replaces secrets as they are, JSON-escaped or URL-encoded; these are in"
        " another form (base64, or split across a stream's chunks). Keep the secret out of"
        " what this test exchanges (a reply should not echo a key), or leave the test out of"
        " the recording (deselect it, or run it without --aigw-record)."
    )


def test_base64_forms_are_the_characters_that_hold_only_the_secrets_bytes() -> None:
    assert base64_forms("abcdefgh") == [
        "YWJjZGVmZ2",
        "YWJjZGVmZ2",
        "FiY2RlZmdo",
        "FiY2RlZmdo",
        "hYmNkZWZna",
        "hYmNkZWZna",
    ]
    assert base64_forms("\xff\xfe\xfd>>>?")[:2] == ["w7/DvsO9Pj4+P", "w7_DvsO9Pj4-P"]


# --- the property -----------------------------------------------------------------------------

NAMES = ("authorization", "x-api-key", "CLOUDFLARE_API_TOKEN", "PYTEST_AIGW_GATEWAY_TOKEN")
# The file's own words (keys, the place's URLs) are no secrets: a "secret" such as
# "gateway_" would be found in every file, scrubbed or not.
SKELETON = Cassette("t.py::test", PLACE, "", [exchange(url="https://h/p?q=")], [{"text": ""}])
secret_values = st.text(min_size=MIN_SECRET, max_size=24).filter(
    lambda value: (
        not any(value in marker for marker in (ACCOUNT, *(f"<redacted:{n}>" for n in NAMES)))
        and not any(
            form in SKELETON.dumps() for forms in all_forms(value).values() for form in forms
        )
    )
)


@st.composite
def planted(draw: st.DrawFn) -> tuple[str, list[Secret]]:
    """Text with secrets planted anywhere, as they are, JSON-escaped or URL-encoded."""
    secrets = [
        Secret(draw(st.sampled_from(NAMES)), value)
        for value in draw(st.lists(secret_values, min_size=1, max_size=3, unique=True))
    ]
    pieces = draw(st.lists(st.text(max_size=12), min_size=1, max_size=6))
    text = pieces[0]
    for piece in pieces[1:]:
        secret = draw(st.sampled_from(secrets))
        forms = [form for forms in all_forms(secret.value).values() for form in forms]
        text += draw(st.sampled_from(forms[:5])) + piece  # not the base64 forms
    return text, secrets


@given(planted())
def test_scrubbed_text_holds_no_secret_in_any_form_the_scan_knows(
    case: tuple[str, list[Secret]],
) -> None:
    text, secrets = case
    clean = Scrubber(secrets).text(text)
    for secret in secrets:
        for form, shapes in all_forms(secret.value).items():
            assert not any(shape in clean for shape in shapes), (secret, form)
    recorded = Cassette("t.py::test", PLACE, "", [exchange(answer=clean.encode())])
    assert scan(recorded.dumps(), recorded, secrets) == []


@given(planted())
def test_a_scrubbed_cassette_passes_the_scan(case: tuple[str, list[Secret]]) -> None:
    text, secrets = case
    data = text.encode()
    recorded = Cassette(
        "t.py::test",
        PLACE,
        "",
        [exchange(url=f"https://h/p?q={quote(text)}", body=data, answer=data, chunks=None)],
        [{"text": text}],
    )
    clean = Scrubber(secrets).cassette(recorded)
    assert scan(clean.dumps(), clean, secrets) == []
