"""The settings table: every setting reaches the constructor, the marker, ini and serve,
checked by one function with one message wherever it is given."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from pytest_aigw import ConfigError, LogSettings, MockGateway, settings
from pytest_aigw.cli import _parser, given_settings

# name: (good value as text, the same value as Python, a bad value written the same way)
EXAMPLES: dict[str, tuple[str, object, str]] = {
    "account_id": ("acct123", "acct123", "a/b"),
    "gateway_id": ("prod-gw", "prod-gw", "Bad Id"),
    "strict": ("false", False, "maybe"),
    "authenticated": ("true", True, "maybe"),
    "cache_ttl": ("60", 60, "soon"),
    "id_format": ("ulid", "ulid", "uuid4"),
    "metadata_as": ("string", "string", "x"),
    "feedback_in_get": ("false", False, "maybe"),
    "visibility_lag": ("1.5", 1.5, "later"),
    "detail_lag": ("2", 2, "later"),
    "credentials": ("byok", "byok", "stored"),
    "byok_aliases": ("team-a, team-b", ("team-a", "team-b"), "team-a"),
    "allow_direct": ("true", True, "maybe"),
    "provider_hosts": ("api.acme.ai", ("api.acme.ai",), "https://api.acme.ai/v1"),
    "timeout_status": ("408", 408, "slow"),
    "timeout_code": ("2099", 2099, "zero"),
    "guardrail_stream": ("sse", "sse", "xml"),
    "rate_limit": ("10", 10, "many"),
    "rate_limit_interval": ("30", 30, "soon"),
    "rate_limit_technique": ("sliding", "sliding", "leaky"),
    "spend_limits": (
        '[{"id": "a", "limit": 1, "window": 60}]',
        ({"id": "a", "limit": 1, "window": 60},),
        "cheap",
    ),
    "policies": (
        '[{"id": "all", "action": {"type": "no-limit"}}]',
        ({"id": "all", "action": {"type": "no-limit"}},),
        "open",
    ),
    "budget_grace": ("0", 0, "one"),
    "retry_max_attempts": ("3", 3, "many"),
    "retry_delay": ("500", 500, "slow"),
    "retry_backoff": ("linear", "linear", "random"),
}
NAMES = sorted(EXAMPLES)
# Any text is a valid list of aliases, so there is no bad text to give in ini or serve.
REJECTS_TEXT = [name for name in NAMES if name != "byok_aliases"]


def message(name: str, *, as_text: bool = False) -> str:
    """The one message the table's check gives for the bad example (read as text: a list)."""
    kind = settings.setting(name).kind
    raw = EXAMPLES[name][2]
    bad: dict[str, Any] = {name: kind.parse(str(raw)) if as_text and kind.many else raw}
    with pytest.raises(ConfigError) as raised:
        MockGateway(**bad)
    return str(raised.value)


def test_every_setting_has_an_example_here() -> None:
    assert sorted(settings.names()) == NAMES


def test_the_messages_name_the_setting_and_the_value() -> None:
    assert message("metadata_as") == "metadata_as must be 'object' or 'string', got 'x'"
    assert message("visibility_lag") == "visibility_lag must be seconds >= 0, got 'later'"
    assert message("authenticated") == "authenticated must be True or False, got 'maybe'"


@pytest.mark.parametrize("name", NAMES)
def test_the_constructor_takes_every_setting(name: str) -> None:
    good: dict[str, Any] = {name: EXAMPLES[name][1]}
    gateway = MockGateway(**good)
    assert dict(gateway.settings)[name] == EXAMPLES[name][1]


def test_defaults_come_from_the_table() -> None:
    assert MockGateway().settings == {e.name: e.default for e in settings.settings()}


def test_an_unknown_keyword_names_the_settings() -> None:
    with pytest.raises(ConfigError) as raised:
        MockGateway(colour="red")  # type: ignore[call-arg]
    assert str(raised.value) == (
        "MockGateway() got unknown setting(s) colour. Settings: " + ", ".join(NAMES)
    )


def test_log_settings_still_work_and_keywords_beside_them_win() -> None:
    gateway = MockGateway(
        log_settings=LogSettings(metadata_as="string", visibility_lag=3), visibility_lag=1
    )
    logs = gateway.log_store.settings
    assert (logs.metadata_as, logs.visibility_lag, logs.detail_lag) == ("string", 1, 0.0)


def test_log_settings_check_their_fields_with_the_same_message() -> None:
    with pytest.raises(ConfigError, match=r"^metadata_as must be 'object' or 'string', got 'x'$"):
        LogSettings(metadata_as="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^log_settings must be a pytest_aigw.LogSettings"):
        MockGateway(log_settings={"metadata_as": "string"})  # type: ignore[arg-type]


def serve_args(name: str, raw: str, value: object) -> list[str]:
    option = settings.setting(name).option
    assert option is not None
    if settings.setting(name).kind.switch:
        return [option if value else "--no-" + option[2:]]
    return [option, raw]


@pytest.mark.parametrize("name", [n for n in NAMES if settings.setting(n).option])
def test_serve_takes_every_setting_but_strict(name: str) -> None:
    raw, value, _ = EXAMPLES[name]
    args = _parser().parse_args(["serve", *serve_args(name, raw, value)])
    assert given_settings(args) == {name: value}


def test_serve_gives_no_flag_for_strict_and_leaves_unset_settings_to_the_defaults() -> None:
    assert settings.setting("strict").option is None
    assert given_settings(_parser().parse_args(["serve"])) == {}


@pytest.mark.parametrize(
    "name",
    [n for n in REJECTS_TEXT if settings.setting(n).option and not settings.setting(n).kind.switch],
)
def test_serve_rejects_a_bad_value_with_the_same_message(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    option = settings.setting(name).option
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["serve", f"{option}={EXAMPLES[name][2]}"])
    assert exited.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == f"pytest-aigw serve: error: argument {option}: {message(name, as_text=True)}"


def run(pytester: pytest.Pytester, ini: str, source: str) -> pytest.RunResult:
    pytester.makeini("[pytest]\n" + ini)
    pytester.makepyfile(textwrap.dedent(source))
    return pytester.runpytest("-p", "no:randomly")


def ini_key(name: str) -> str:
    return settings.setting(name).ini_key or ""


def test_ini_sets_every_setting(pytester: pytest.Pytester) -> None:
    ini = "".join(f"{ini_key(name)} = {raw}\n" for name, (raw, _, _) in EXAMPLES.items())
    expected = {name: value for name, (_, value, _) in EXAMPLES.items()}
    result = run(
        pytester,
        ini,
        f"""
        def test_settings(aigw):
            assert dict(aigw.settings) == {expected!r}
        """,
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("name", REJECTS_TEXT)
def test_ini_rejects_a_bad_value_with_the_same_message_at_start_up(
    pytester: pytest.Pytester, name: str
) -> None:
    result = run(pytester, f"{ini_key(name)} = {EXAMPLES[name][2]}\n", "def test_x(): pass\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*: error: ini {ini_key(name)}: {message(name, as_text=True)}"])


@pytest.mark.parametrize("name", NAMES)
def test_the_marker_takes_every_setting_over_ini(pytester: pytest.Pytester, name: str) -> None:
    other = {
        "account_id": "from-ini",
        "gateway_id": "from-ini",
        "id_format": "uuid7",
        "metadata_as": "object",
        "cache_ttl": "5",
        "visibility_lag": "9",
        "detail_lag": "9",
        "credentials": "unified",
        "byok_aliases": "other",
        "provider_hosts": "api.other.ai",
        "timeout_status": "504",
        "timeout_code": "none",
        "guardrail_stream": "json",
        "rate_limit": "5",
        "rate_limit_interval": "9",
        "rate_limit_technique": "fixed",
        "spend_limits": "[]",
        "policies": "[]",
        "budget_grace": "2",
        "retry_max_attempts": "1",
        "retry_delay": "0",
        "retry_backoff": "constant",
    }.get(name, "true" if EXAMPLES[name][1] is False else "false")
    result = run(
        pytester,
        f"{ini_key(name)} = {other}\n",
        f"""
        import pytest

        @pytest.mark.aigw({name}={EXAMPLES[name][1]!r})
        def test_marked(aigw):
            assert aigw.settings[{name!r}] == {EXAMPLES[name][1]!r}

        def test_unmarked(aigw):
            assert aigw.settings[{name!r}] != {EXAMPLES[name][1]!r}
        """,
    )
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("name", NAMES)
def test_the_marker_rejects_a_bad_value_with_the_same_message(
    pytester: pytest.Pytester, name: str
) -> None:
    result = run(
        pytester,
        "",
        f"""
        import pytest

        @pytest.mark.aigw({name}={EXAMPLES[name][2]!r})
        def test_marked(aigw):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"@pytest.mark.aigw: {message(name)}"])


def test_closest_marker_wins_per_key_and_logs_expands_into_its_fields(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        "aigw_detail_lag = 4\n",
        """
        import pytest
        from pytest_aigw import LogSettings

        pytestmark = pytest.mark.aigw(
            log_settings=LogSettings(metadata_as="string", visibility_lag=2)
        )

        @pytest.mark.aigw(visibility_lag=1)
        def test_marked(aigw):
            settings = aigw.settings
            assert settings["metadata_as"] == "string"
            assert settings["visibility_lag"] == 1
            assert settings["detail_lag"] == 0.0  # LogSettings() carries all four fields
        """,
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("key", ["aigw_gateway", "aigw_gateway_id"])
def test_the_gateway_option_wins_over_the_ini_key(pytester: pytest.Pytester, key: str) -> None:
    pytester.makeini(f"[pytest]\n{key} = from-ini\n")
    pytester.makepyfile("def test_x(aigw):\n    assert aigw.gateway_id == 'from-ini'\n")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makepyfile("def test_x(aigw):\n    assert aigw.gateway_id == 'from-option'\n")
    result = pytester.runpytest("--aigw-gateway", "from-option")
    result.assert_outcomes(passed=1)


def test_a_bad_old_gateway_ini_key_is_named_in_the_message(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naigw_gateway_id = Bad Id\n")
    pytester.makepyfile("def test_x(): pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*: error: ini aigw_gateway_id: gateway_id must be*"])


def test_a_bad_gateway_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass\n")
    result = pytester.runpytest("--aigw-gateway", "Bad Id")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*: error: --aigw-gateway or PYTEST_AIGW_GATEWAY_ID: gateway_id must be 1-64*"]
    )


def test_text_forms() -> None:
    assert settings.setting("cache_ttl").parse("none") is None
    assert settings.setting("strict").parse(" Off ") is False
    assert settings.setting("visibility_lag").parse("0.25") == 0.25


def test_a_list_of_strings_kind_splits_text_and_keeps_a_tuple() -> None:
    kind = settings.strings()
    assert kind.check(kind.parse("prod, staging\nlocal"), "aliases") == ("prod", "staging", "local")
    assert kind.check(["a"], "aliases") == ("a",)
    with pytest.raises(ConfigError, match=r"^aliases must be a list of non-empty strings, got"):
        kind.check(["a", ""], "aliases")


def test_a_choice_kind_lists_its_names() -> None:
    kind: Any = settings.choice("provider", "byok", note="who holds the keys")
    assert kind.check("byok", "credentials") == "byok"
    with pytest.raises(ConfigError) as raised:
        kind.check("mine", "credentials")
    assert str(raised.value) == (
        "credentials must be 'provider' or 'byok' (who holds the keys), got 'mine'"
    )
