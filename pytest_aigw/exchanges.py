"""The calls a test made, summarised for people: a failed test's report, the eval report.

`summarize` reads one recorded `Call` into an `ExchangeSummary`: method, URL, model,
the last user message, the reply's text or tool calls (a stream assembled from the
chunks the app received), status, log id and, in live mode, a link to the log in the
Cloudflare dashboard. Every text is scrubbed of secrets (`pytest_aigw.redaction`) and
folded: a long one keeps its start and end, with a marker saying how much was cut.
`section` is the text of a failed test's report section, `exchanges` the eval report's
list. Nothing here raises: a call that cannot be read shows as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .redaction import WORD, scrub

if TYPE_CHECKING:
    from .calls import Call
    from .fake.formats import Conversation
    from .gateway_base import Gateway

__all__ = [
    "DASHBOARD_LOG",
    "ExchangeSummary",
    "dashboard_url",
    "exchanges",
    "fold",
    "section",
    "summaries",
    "summarize",
]

TEXT_LIMIT = 600  # characters of a prompt or a reply shown
TOOL_CALL_LIMIT = 300  # characters of one tool call (its name and arguments) shown
EVAL_CALLS = 10  # calls per eval case kept in the eval report
TITLE = "pytest-aigw: the calls this test made"
# The dashboard's page for one log. The gateway's logs page is .../gateways/{g}/logs;
# the log id appended to it is how the dashboard links one log (not documented).
DASHBOARD_LOG = (
    "https://dash.cloudflare.com/{account_id}/ai/ai-gateway/gateways/{gateway_id}/logs/{log_id}"
)


@dataclass(frozen=True)
class ExchangeSummary:
    """One call, as a person reads it: what was asked and what came back, redacted, folded."""

    method: str
    url: str
    model: str | None = None
    prompt: str | None = None
    reply: str | None = None  # the text; notes in brackets ("[error] ...", "[stream cut]")
    tool_calls: tuple[str, ...] = ()  # "name(arguments)"
    status: int | None = None
    log_id: str | None = None
    judge: bool = False
    dashboard_url: str | None = None
    fault: str | None = None  # "timeout", "disconnect" or "cut": what the network did

    def as_json(self) -> dict[str, Any]:
        """The eval report's shape of one exchange."""
        return {
            "log_id": self.log_id,
            "method": self.method,
            "url": self.url,
            "model": self.model,
            "prompt": self.prompt,
            "reply": self.reply,
            "tool_calls": list(self.tool_calls),
            "status": self.status,
            "judge": self.judge,
            "dashboard_url": self.dashboard_url,
        }

    def lines(self, number: int) -> list[str]:
        """The exchange as numbered, indented lines of the report section."""
        status = "none" if self.status is None else str(self.status)
        if self.fault is not None:
            status += f" ({self.fault})"
        facts = [f"model: {self.model or 'none'}", f"status: {status}"]
        facts.append(f"log id: {self.log_id or 'none'}")
        if self.judge:
            facts.append("judge call")
        lines = [f"#{number} {self.method} {self.url}", "   " + ", ".join(facts)]
        lines += _field("prompt", self.prompt if self.prompt is not None else "(none)")
        if self.reply is not None or not self.tool_calls:
            lines += _field("reply", self.reply if self.reply is not None else "(none)")
        for call in self.tool_calls:
            lines += _field("tool call", call)
        if self.dashboard_url is not None:
            lines.append(f"   dashboard: {self.dashboard_url}")
        return lines


def _field(name: str, text: str) -> list[str]:
    first, *rest = text.split("\n")
    return [f"   {name}: {first}", *(f"      {line}" for line in rest)]


def fold(text: str, words: frozenset[str] = frozenset(), limit: int = TEXT_LIMIT) -> str:
    """*text* scrubbed of secrets; past *limit* characters, its start and end around a marker.

    The cut falls between words, so no secret is left half shown.
    """
    if len(text) <= limit:
        return scrub(text, words)
    head = _word_start(text, limit * 2 // 3)
    tail = _word_end(text, len(text) - limit // 3)
    cut = tail - head
    return f"{scrub(text[:head], words)}[… {cut} characters cut …]{scrub(text[tail:], words)}"


def _within_word(text: str, index: int) -> bool:
    """Whether *index* falls inside a word (a word character on either side of it)."""
    return (
        0 < index < len(text)
        and WORD.fullmatch(text[index - 1]) is not None
        and WORD.fullmatch(text[index]) is not None
    )


def _word_start(text: str, index: int) -> int:
    while _within_word(text, index):
        index -= 1
    return index


def _word_end(text: str, index: int) -> int:
    if _within_word(text, index):
        match = WORD.match(text, index)
        index = match.end() if match else index
    return index


def dashboard_url(account_id: str, gateway_id: str, log_id: str) -> str:
    """The Cloudflare dashboard's page for one log of a gateway."""
    return DASHBOARD_LOG.format(account_id=account_id, gateway_id=gateway_id, log_id=log_id)


def summarize(call: Call, *, dashboard: tuple[str, str] | None = None) -> ExchangeSummary:
    """Summarise *call*; *dashboard* (account id, gateway id) adds the link to its log.

    Never raises: a call that cannot be read is summarised as such.
    """
    try:
        return _summary(call, dashboard)
    except Exception as error:  # shown in a report hook: it must not break the report
        return ExchangeSummary(
            getattr(call, "method", "?"),
            str(getattr(call, "url", "?")),
            reply=f"[could not be summarised: {type(error).__name__}: {error}]",
        )


def _summary(call: Call, dashboard: tuple[str, str] | None) -> ExchangeSummary:
    words = call._secret_words
    prompt = _conversation(call).prompt
    reply, tool_calls = _reply(call, words)
    link = None
    if dashboard is not None and call.log_id:
        link = dashboard_url(*dashboard, call.log_id)
    return ExchangeSummary(
        method=call.method,
        url=fold(str(call.url), words),
        model=fold(call.model, words, TOOL_CALL_LIMIT) if call.model is not None else None,
        prompt=fold(prompt, words) if prompt is not None else None,
        reply=reply,
        tool_calls=tool_calls,
        status=call.status_code,
        log_id=call.log_id,
        judge=call.judge,
        dashboard_url=link,
        fault=call.fault,
    )


def _conversation(call: Call) -> Conversation:
    """The request read as its format does; a universal one's answering step read as its own.

    The fake records a universal call as its answering step's request; live mode records
    the steps as sent.
    """
    if call.endpoint != "universal" or call.provider:
        return call.conversation
    from .fake.formats import Conversation, format_for

    steps = call.json if isinstance(call.json, list) else [call.json]
    index = call.step or 0
    step = steps[index] if index < len(steps) else None
    if not isinstance(step, dict) or not isinstance(step.get("query"), dict):
        return Conversation()
    query = step["query"]
    provider, endpoint = str(step.get("provider", "")), str(step.get("endpoint", "")).strip("/")
    return format_for(provider, endpoint).read(endpoint, query)


def _reply(call: Call, words: frozenset[str]) -> tuple[str | None, tuple[str, ...]]:
    """The reply's text (with notes) and its tool calls, folded and scrubbed."""
    from .reply_reading import read_reply

    if call.fault in ("timeout", "disconnect"):
        return f"[no answer: {call.fault}]", ()
    received = call._received
    headers = _lowered(call.response_headers)
    said = read_reply(
        received.content, headers.get("content-type", ""), headers.get("content-encoding", "")
    )
    parts = []
    if said.unreadable is not None:
        parts.append(f"[unreadable: {said.unreadable}]")
    if said.error is not None:
        parts.append(f"[error] {said.error}")
    if said.text is not None:
        parts.append(said.text)
    if call.fault == "cut":
        parts.append("[stream cut]")
    if received.size > received.LIMIT:
        parts.append(f"[only the first {received.LIMIT} of {received.size} bytes were kept]")
    reply = " ".join(parts) if parts else None
    calls = tuple(
        fold(f"{name}({arguments})", words, TOOL_CALL_LIMIT) for name, arguments in said.tool_calls
    )
    return (fold(reply, words) if reply is not None else None), calls


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def _dashboard(gateway: Gateway) -> tuple[str, str] | None:
    return (gateway.account_id, gateway.gateway_id) if gateway.mode == "live" else None


def summaries(gateway: Gateway, limit: int) -> tuple[list[ExchangeSummary], int, int]:
    """The summaries of at most *limit* of *gateway*'s calls (the first and last ones).

    Returns them, how many of them come from the start, and how many were left out.
    """
    calls = list(gateway.calls)
    dashboard = _dashboard(gateway)
    first, last = _kept(len(calls), limit)
    kept = calls[:first] + calls[len(calls) - last :]
    return [summarize(c, dashboard=dashboard) for c in kept], first, len(calls) - first - last


def _kept(total: int, limit: int) -> tuple[int, int]:
    """How many calls to show from the start and from the end."""
    if total <= limit:
        return total, 0
    return limit - limit // 2, limit // 2


def section(gateway: Gateway, limit: int) -> str:
    """The report section listing the calls *gateway* recorded (at most *limit* of them)."""
    shown, first, left_out = summaries(gateway, limit)
    if not shown and not left_out:
        return "(no calls reached the gateway)"
    total = len(shown) + left_out
    lines = [f"{total} call(s)" + (f", {left_out} in the middle left out" if left_out else "")]
    for number, summary in enumerate(shown[:first], start=1):
        lines += summary.lines(number)
    if left_out:
        lines.append(f"[… {left_out} call(s) left out …]")
    for number, summary in enumerate(shown[first:], start=first + left_out + 1):
        lines += summary.lines(number)
    return "\n".join(lines)


def exchanges(gateway: Gateway, limit: int = EVAL_CALLS) -> tuple[list[dict[str, Any]], int]:
    """The eval report's exchanges of *gateway*'s calls, and how many were left out."""
    shown, _, left_out = summaries(gateway, limit)
    return [summary.as_json() for summary in shown], left_out
