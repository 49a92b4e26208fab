"""Request matchers one by one: what each accepts, and the exact near-miss phrase it gives."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from pytest_aigw import Call, ConfigError
from pytest_aigw.fake.formats.base import Conversation, Message, ToolResult, ToolSpec
from pytest_aigw.fake.matchers import Matchers, matchers, shown


@dataclass
class Asked:
    """A request as the matchers see it, built by hand."""

    provider: str = "openai"
    model: str | None = "gpt-4o-mini"
    path: str = "chat/completions"
    body: Any = field(default_factory=dict)
    conversation: Conversation = field(default_factory=Conversation)
    metadata: Mapping[str, Any] | None = None
    calls: int = 0

    def call(self) -> Call:
        self.calls += 1
        return cast(Call, self)


def said(prompt: str | None = None, system: str | None = None) -> Conversation:
    messages = () if prompt is None else (Message("user", prompt),)
    return Conversation(messages=messages, system=system)


def tooled(tools: tuple[str, ...] = (), results: tuple[str | None, ...] = ()) -> Conversation:
    return Conversation(
        tools=tuple(ToolSpec(name, {}) for name in tools),
        tool_results=tuple(ToolResult(name, None, "ok") for name in results),
    )


def problems(asked: Asked | None = None, **kwargs: Any) -> list[str]:
    return matchers(**kwargs).mismatches(asked or Asked())


# --- where the request goes ---------------------------------------------------------------


def test_no_matcher_matches_anything() -> None:
    assert Matchers().mismatches(Asked(model=None, metadata=None, body=None)) == []


def test_provider_must_be_equal() -> None:
    assert problems(provider="openai") == []
    assert problems(provider="open") == ["provider is 'openai', not 'open'"]


@pytest.mark.parametrize(
    ("matcher", "provider", "model"),
    [
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("openai/gpt-4o-mini", "openai", "gpt-4o-mini"),  # the compat endpoint's spelling
        ("gpt-4o-mini", "openai", "openai/gpt-4o-mini"),  # a REST API call's model
        (re.compile(r"4o-m"), "openai", "gpt-4o-mini"),  # a regex searches
    ],
)
def test_model_matches(matcher: str | re.Pattern[str], provider: str, model: str) -> None:
    assert problems(Asked(provider=provider, model=model), model=matcher) == []


@pytest.mark.parametrize(
    ("matcher", "model", "phrase"),
    [
        ("gpt-4o", "gpt-4o-mini", "model is 'gpt-4o-mini', not 'gpt-4o'"),  # no substring
        ("anthropic/gpt-4o", "gpt-4o", "model is 'gpt-4o', not 'anthropic/gpt-4o'"),
        ("gpt-4o", "anthropic/gpt-4o", "model is 'anthropic/gpt-4o', not 'gpt-4o'"),
        ("gpt-4o", None, "model is None, not 'gpt-4o'"),
        (re.compile("claude"), None, "model is None, not re.compile('claude')"),
        (re.compile("^mini"), "gpt-4o-mini", "model is 'gpt-4o-mini', not re.compile('^mini')"),
    ],
)
def test_model_mismatches(matcher: str | re.Pattern[str], model: str | None, phrase: str) -> None:
    assert problems(Asked(model=model), model=matcher) == [phrase]


def test_path_is_compared_without_its_slashes_or_searched_by_a_regex() -> None:
    assert problems(path="/chat/completions/") == []
    assert problems(Asked(path="/v1/messages/"), path="v1/messages") == []
    assert problems(path=re.compile("completions$")) == []
    assert problems(Asked(path="models/"), path="models/X") == ["path is 'models/', not 'models/X'"]
    assert problems(Asked(path="models/X"), path="models/") == ["path is 'models/X', not 'models/'"]
    assert problems(path="completions") == ["path is 'chat/completions', not 'completions'"]
    assert problems(path="chat/completions/x") == [
        "path is 'chat/completions', not 'chat/completions/x'"
    ]
    assert problems(path=re.compile("^completions")) == [
        "path is 'chat/completions', not re.compile('^completions')"
    ]


def test_shown_writes_a_matcher_as_the_test_wrote_it() -> None:
    assert shown("a'b") == '"a\'b"'
    assert shown(re.compile(r"\d+")) == "re.compile('\\\\d+')"
    # the pattern as written; its flags are left out, as the matcher's kind is what matters
    assert shown(re.compile("refund", re.I)) == "re.compile('refund')"


def test_every_failing_matcher_is_named_in_order() -> None:
    asked = Asked(
        provider="groq",
        model="llama",
        path="v1/x",
        body={"n": 1},
        conversation=Conversation(
            messages=(Message("user", "hi"),),
            system="sys",
            tool_results=(ToolResult("f", None, "ok"),),
        ),
        metadata={"m": 1},
    )
    assert problems(
        asked,
        provider="openai",
        model="gpt",
        path="chat",
        prompt="bye",
        system="other",
        tools=["t"],
        tool_result=False,
        metadata={"m": 2},
        body={"n": 2},
        match=lambda call: True,
    ) == [
        "provider is 'groq', not 'openai'",
        "model is 'llama', not 'gpt'",
        "path is 'v1/x', not 'chat'",
        "prompt does not contain 'bye' (last user message: 'hi')",
        "system prompt does not contain 'other' (system prompt: 'sys')",
        "tools offered are [], without ['t']",
        "the request carries tool results ['f']",
        "metadata['m'] is 1, not 2",
        "body['n'] is 1, not 2",
    ]
    assert asked.calls == 0


# --- what the request says ----------------------------------------------------------------


def test_prompt_is_a_substring_or_a_regex_search() -> None:
    asked = Asked(conversation=said("Where is my refund?"))
    assert problems(asked, prompt="refund") == []
    assert problems(asked, prompt=re.compile(r"my\s+REFUND", re.I)) == []
    assert problems(asked, prompt="r.fund") == [
        "prompt does not contain 'r.fund' (last user message: 'Where is my refund?')"
    ]
    assert problems(asked, prompt=re.compile("^refund")) == [
        "prompt does not match re.compile('^refund') (last user message: 'Where is my refund?')"
    ]


def test_a_request_without_a_prompt_or_system_prompt_matches_neither() -> None:
    assert problems(prompt="", system="") == [
        "prompt does not contain '' (last user message: none)",
        "system prompt does not contain '' (system prompt: none)",
    ]


def test_system_is_a_substring_or_a_regex_search() -> None:
    asked = Asked(conversation=said("hi", system="You are a pirate"))
    assert problems(asked, system="pirate", prompt="hi") == []
    assert problems(asked, system=re.compile("pirate$")) == []
    assert problems(asked, system="Pirate") == [
        "system prompt does not contain 'Pirate' (system prompt: 'You are a pirate')"
    ]
    assert problems(asked, system=re.compile("^pirate")) == [
        "system prompt does not match re.compile('^pirate') (system prompt: 'You are a pirate')"
    ]


def test_long_prompts_are_cut_to_sixty_characters_in_messages() -> None:
    sixty = "a" * 60
    assert problems(Asked(conversation=said(sixty)), prompt="b") == [
        f"prompt does not contain 'b' (last user message: '{sixty}')"
    ]
    assert problems(Asked(conversation=said(sixty + "z")), prompt="b") == [
        f"prompt does not contain 'b' (last user message: '{'a' * 57}...')"
    ]
    assert problems(Asked(conversation=said("x", system=sixty + "z")), system="b") == [
        f"system prompt does not contain 'b' (system prompt: '{'a' * 57}...')"
    ]


def test_tools_must_all_be_offered() -> None:
    asked = Asked(conversation=tooled(("lookup", "refund")))
    assert problems(asked, tools=["refund", "lookup"]) == []
    assert problems(asked, tools=[]) == []
    assert problems(asked, tools=["lookup", "weather", "news"]) == [
        "tools offered are ['lookup', 'refund'], without ['weather', 'news']"
    ]


@pytest.mark.parametrize(
    ("wanted", "results", "phrase"),
    [
        (True, ("lookup",), None),
        (True, (), "the request carries no tool result"),
        (False, (), None),
        (False, ("lookup", None), "the request carries tool results ['lookup', None]"),
        ("lookup", ("news", "lookup"), None),
        ("lookup", ("news",), "the request carries no result of tool 'lookup' (results: ['news'])"),
        ("lookup", (), "the request carries no result of tool 'lookup' (results: [])"),
    ],
)
def test_tool_result(
    wanted: bool | str, results: tuple[str | None, ...], phrase: str | None
) -> None:
    asked = Asked(conversation=tooled(results=results))
    assert problems(asked, tool_result=wanted) == ([] if phrase is None else [phrase])


# --- metadata and body: a subset to find ---------------------------------------------------


def test_metadata_is_a_subset_and_a_request_without_metadata_has_none() -> None:
    asked = Asked(metadata={"user": "u1", "tier": "gold"})
    assert problems(asked, metadata={"tier": "gold"}) == []
    assert problems(asked, metadata={}) == []
    assert problems(Asked(metadata=None), metadata={}) == []
    assert problems(Asked(metadata=None), metadata={"tier": "gold"}) == ["metadata has no 'tier'"]
    assert problems(asked, metadata={"tier": "free"}) == ["metadata['tier'] is 'gold', not 'free'"]


def test_body_dicts_are_compared_key_by_key_at_every_depth() -> None:
    asked = Asked(body={"a": {"b": {"c": 1, "d": 2}, "e": [1, 2]}, "f": "x"})
    assert problems(asked, body={"a": {"b": {"d": 2}}}) == []
    assert problems(asked, body={"a": {"e": [1, 2]}, "f": "x"}) == []
    assert problems(asked, body={"a": {"b": {"c": 2}}}) == ["body['a']['b']['c'] is 1, not 2"]
    assert problems(asked, body={"a": {"b": {"x": 1}}}) == ["body['a']['b'] has no 'x'"]
    assert problems(asked, body={"a": {"e": [1]}}) == ["body['a']['e'] is [1, 2], not [1]"]
    assert problems(asked, body={"f": {"g": 1}}) == ["body['f'] is 'x', not {'g': 1}"]
    # the first difference is the one named
    assert problems(asked, body={"f": "y", "a": {"b": {"c": 2}}}) == ["body['f'] is 'x', not 'y'"]


def test_a_body_that_is_not_a_dict_departs_from_any_wanted_key() -> None:
    assert problems(Asked(body=None), body={"a": 1}) == ["body is None, not {'a': 1}"]
    assert problems(Asked(body=[1]), body={}) == ["body is [1], not {}"]


@pytest.mark.parametrize(
    ("wanted", "actual", "phrase"),
    [
        (1, 1.0, None),  # JSON does not tell 1 from 1.0
        (0.5, 0.5, None),
        (1.0, 1, None),
        (True, True, None),
        (True, 1, "body['n'] is 1, not True"),  # a bool is not a number
        (1, True, "body['n'] is True, not 1"),
        (0, False, "body['n'] is False, not 0"),
        (1.0, True, "body['n'] is True, not 1.0"),
        ("1", 1, "body['n'] is 1, not '1'"),
        (None, 0, "body['n'] is 0, not None"),
    ],
)
def test_numbers_compare_by_value_but_not_with_bools(
    wanted: object, actual: object, phrase: str | None
) -> None:
    assert problems(Asked(body={"n": actual}), body={"n": wanted}) == (
        [] if phrase is None else [phrase]
    )


def test_long_values_are_cut_to_sixty_characters_in_messages() -> None:
    fits = "b" * 58  # its repr is 60 characters
    assert problems(Asked(body={"k": fits}), body={"k": "x"}) == [f"body['k'] is '{fits}', not 'x'"]
    assert problems(Asked(body={"k": "x"}), body={"k": fits + "b"}) == [
        f"body['k'] is 'x', not '{'b' * 56}..."
    ]


# --- match= functions ----------------------------------------------------------------------


def test_a_match_function_is_given_the_call() -> None:
    seen: list[object] = []
    asked = Asked()

    def everything(call: Call) -> bool:
        seen.append(call)
        return True

    assert problems(asked, match=everything) == []
    assert seen == [asked]


@pytest.mark.parametrize(
    ("returned", "phrase"),
    [
        (1, None),
        ("yes", None),
        ([0], None),
        (False, "match=answer returned False"),
        (None, "match=answer returned None"),
        (0, "match=answer returned 0"),
        ("", "match=answer returned ''"),
    ],
)
def test_a_match_function_matches_when_it_returns_something_true(
    returned: object, phrase: str | None
) -> None:
    def answer(call: Call) -> Any:
        return returned

    assert problems(match=answer) == ([] if phrase is None else [phrase])


def test_a_match_function_is_not_called_when_another_matcher_fails() -> None:
    asked = Asked()
    assert problems(asked, provider="groq", match=lambda call: False) == [
        "provider is 'openai', not 'groq'"
    ]
    assert asked.calls == 0
    assert problems(asked, body={"x": 1}, match=lambda call: False) == ["body has no 'x'"]
    assert asked.calls == 0
    assert problems(asked, provider="openai", match=lambda call: True) == []
    assert asked.calls == 1


def test_a_match_function_that_raises_is_a_mismatch_with_its_traceback() -> None:
    def picky(call: Call) -> bool:
        raise KeyError("tier")

    [phrase] = problems(match=picky)
    head, trace = phrase.split("\n", 1)
    assert head == "match=picky raised KeyError: 'tier'"
    assert trace.startswith("Traceback (most recent call last):\n")
    assert 'raise KeyError("tier")' in trace
    assert trace.endswith("KeyError: 'tier'")
    assert all(line.startswith(("Traceback", "  ", "KeyError")) for line in trace.splitlines())
    assert "pytest_aigw" not in trace  # the test's own frames only, as for reply functions


class Callable_:
    def __call__(self, call: Call) -> bool:
        return False


def test_a_match_object_without_a_name_is_called_the_function() -> None:
    assert problems(match=Callable_()) == ["match=the function returned False"]


# --- the matchers as written ---------------------------------------------------------------


def test_described_gives_every_matcher_as_written() -> None:
    def fn(call: Call) -> bool:
        return True

    pattern = re.compile("x")
    written = matchers(
        provider="openai",
        model=pattern,
        path="p",
        prompt="q",
        system="s",
        metadata={"m": 1},
        tools=("t", "u"),
        tool_result="t",
        body={"b": 2},
        match=fn,
    )
    assert written.described() == {
        "provider": "openai",
        "model": pattern,
        "path": "p",
        "prompt": "q",
        "system": "s",
        "metadata": {"m": 1},
        "tools": ["t", "u"],
        "tool_result": "t",
        "body": {"b": 2},
        "match": fn,
    }
    assert Matchers().described() == dict.fromkeys(written.described())


def names() -> Iterator[str]:
    yield "a"
    yield "b"


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        (None, None),
        ("lookup", ("lookup",)),
        (["a", "b"], ("a", "b")),
        (("a",), ("a",)),
        ([], ()),
        ({"a": 1}.keys(), ("a",)),
    ],
)
def test_tools_may_be_one_name_or_any_iterable_of_names(tools: object, expected: object) -> None:
    assert matchers(tools=tools).tools == expected


def test_tools_may_be_a_generator() -> None:
    assert matchers(tools=names()).tools == ("a", "b")


def test_matchers_keep_each_argument_in_its_place() -> None:
    def fn(call: Call) -> bool:
        return True

    built = matchers(
        provider="groq",
        model="m",
        path="p",
        prompt="q",
        system="s",
        metadata={"m": 1},
        tools="t",
        tool_result=False,
        body={"b": 2},
        match=fn,
    )
    assert built == Matchers("groq", "m", "p", "q", "s", {"m": 1}, ("t",), False, {"b": 2}, fn)
    assert matchers(tool_result=True).tool_result is True


TOOLS = "tools= must be a tool name or a list of tool names that must be offered, got "
SLUG = "provider= must be a provider slug such as 'openai', got "
TEXT = "must be a string or a compiled regex (re.compile(...)), got "


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provider": "Open AI"}, SLUG + "'Open AI'"),
        ({"provider": "openai/"}, SLUG + "'openai/'"),
        ({"provider": "-openai"}, SLUG + "'-openai'"),
        ({"provider": ""}, SLUG + "''"),
        ({"provider": 3}, SLUG + "3"),
        ({"model": b"m"}, f"model= {TEXT}b'm'"),
        ({"path": 1}, f"path= {TEXT}1"),
        ({"prompt": ["a"]}, f"prompt= {TEXT}['a']"),
        ({"system": 2.0}, f"system= {TEXT}2.0"),
        ({"metadata": [("a", 1)]}, "metadata= must be a dict (a subset to find), got [('a', 1)]"),
        ({"body": "{}"}, "body= must be a dict (a subset to find), got '{}'"),
        ({"tool_result": 0}, "tool_result= must be True, False or a tool name, got 0"),
        ({"tool_result": ["a"]}, "tool_result= must be True, False or a tool name, got ['a']"),
        ({"match": True}, "match= must be a function taking the request's Call, got True"),
        ({"tools": 3}, TOOLS + "3"),
        ({"tools": b"lookup"}, TOOLS + "b'lookup'"),
        ({"tools": {"lookup": {}}}, TOOLS + "{'lookup': {}}"),
        ({"tools": ["a", 1]}, TOOLS + "['a', 1]"),
    ],
)
def test_bad_matcher_arguments_say_what_is_wrong(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        matchers(**kwargs)
    assert str(raised.value) == message


@pytest.mark.parametrize("provider", ["openai", "workers-ai", "google-ai-studio", "x1"])
def test_provider_slugs_are_accepted(provider: str) -> None:
    assert matchers(provider=provider).provider == provider


def test_a_callable_class_is_a_match_function() -> None:
    made: Callable[[Call], bool] = Callable_()
    assert matchers(match=made).match is made
