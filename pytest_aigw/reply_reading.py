"""What a reply says, read from the body the app received, whatever API format it speaks.

The reader knows the shapes of every format the fake answers (and the providers send):
OpenAI chat completions and their stream chunks, OpenAI Responses and their events,
Anthropic messages and their events, Gemini candidates (a stream is a list of them,
as JSON or as events), Workers AI's and the REST API's ``result`` envelope (a stream of
``response`` pieces), the Run API, embeddings, and error bodies (the providers', the
gateway's and the Cloudflare API's envelopes). A stream is read from the chunks
received, assembled. A JSON shape it does not know shows as that JSON; a body that is
not JSON shows as its text, marked as unreadable. Reading never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "read_reply"]


@dataclass(frozen=True)
class Reply:
    """A reply's text, tool calls and error, as far as its body tells them."""

    text: str | None = None  # what the model said; None: no text
    tool_calls: tuple[tuple[str, str], ...] = ()  # (name, arguments as JSON text)
    error: str | None = None  # the error message the body carries
    unreadable: str | None = None  # why the body could not be read (`text` is then raw)


def read_reply(content: bytes, content_type: str = "", content_encoding: str = "") -> Reply:
    """Read *content* (as received, encoded as *content_encoding* says)."""
    try:
        return _read(_decoded(content, content_encoding), content_type.lower())
    except RecursionError:  # a body nested deeper than Python's stack: shown raw
        return Reply(_text(content), unreadable="nested too deeply to read")


def _decoded(content: bytes, encoding: str) -> bytes:
    if not encoding:
        return content
    import httpx  # its decoders: gzip, deflate, br and zstd where installed; identity

    try:
        return httpx.Response(200, headers={"content-encoding": encoding}, content=content).content
    except httpx.DecodingError:
        return content  # shown as it came: unreadable below


def _text(content: bytes) -> str:
    return content.decode("utf-8", "replace")


def _read(content: bytes, content_type: str) -> Reply:
    if not content.strip():
        return Reply()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Reply(unreadable=f"{len(content)} bytes of {content_type or 'binary data'}")
    if "event-stream" in content_type or text.lstrip().startswith(("data:", "event:")):
        return _read_stream(text)
    try:
        body = json.loads(text)
    except ValueError:
        if content_type.startswith("text/") and "json" not in content_type:
            return Reply(text)
        return Reply(text, unreadable="not JSON")
    if isinstance(body, dict):
        return _read_whole(body)
    if isinstance(body, list):  # Gemini's stream without alt=sse: a JSON array of chunks
        return _Stream().read(body)
    return Reply(text)


def _read_stream(text: str) -> Reply:
    events: list[Any] = []
    broken = 0
    for data in _event_data(text.lstrip()):
        if data.strip() == "[DONE]":
            continue
        try:
            events.append(json.loads(data))
        except ValueError:
            broken += 1
    said = _Stream().read(events)
    if broken:
        note = f"{broken} stream event(s) not JSON"
        return Reply(said.text, said.tool_calls, said.error, note)
    return said


def _event_data(text: str) -> list[str]:
    """The data of each server-sent event in *text* (its ``data:`` lines joined)."""
    found = []
    for block in text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n"):
        lines = [line[5:] for line in block.split("\n") if line.startswith("data:")]
        if lines:
            found.append("\n".join(lines))  # JSON ignores the space after "data:"
    return found


# --- whole bodies ------------------------------------------------------------------------


def _read_whole(body: dict[str, Any]) -> Reply:
    stream = _Stream()
    if stream.take(body):  # a whole reply reads as a stream of one event
        return stream.said()
    embeddings = _embeddings(body)
    if embeddings is not None:
        return Reply(embeddings)
    return Reply(_json(body))


def _error_of(body: dict[str, Any]) -> str | None:
    """The message of an error body (provider, gateway or Cloudflare API), else None."""
    error = body.get("error")
    if isinstance(error, list):  # the gateway's envelope: [{"code", "message"}]
        error = error[0] if error else None
    if isinstance(error, dict):
        return _message(error)
    if isinstance(error, str) and error:
        return error
    if body.get("success") is False:
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return _message(errors[0])
        return _message(body)
    return None


def _message(error: dict[str, Any]) -> str:
    message = error.get("message")
    text = message if isinstance(message, str) else _json(error)
    code = error.get("code")
    return f"code {code}: {text}" if isinstance(code, (int, str)) and code != "" else text


def _embeddings(body: dict[str, Any]) -> str | None:
    data = body.get("data")
    if not isinstance(data, list):
        return None
    vectors = [item.get("embedding") for item in data if isinstance(item, dict)]
    if not vectors or not all(isinstance(v, (list, str)) for v in vectors):
        return None
    first = vectors[0]
    size = f"{len(first)} dimensions" if isinstance(first, list) else "base64"
    return f"[{len(vectors)} embedding(s), {size}]"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _words(content: object) -> str:
    """The text of a content value: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    texts = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            for key in ("text", "refusal"):
                if isinstance(part.get(key), str):
                    texts.append(part[key])
    return "".join(texts)


def _arguments(value: object) -> str:
    return value if isinstance(value, str) else _json(value)


# --- the reading, whole or streamed --------------------------------------------------------


@dataclass
class _Stream:
    """Text and tool calls gathered from a reply or from its stream events, in order."""

    texts: list[str] = field(default_factory=list)
    calls: dict[object, list[str]] = field(default_factory=dict)  # key -> [name, arguments]
    errors: list[str] = field(default_factory=list)
    known: bool = False  # some event had a shape this reader knows

    def read(self, events: list[Any]) -> Reply:
        for event in events:
            if isinstance(event, dict):
                self.take(event)
        if not self.known and not self.errors:
            shown = [e for e in events if e is not None]
            return Reply(_json(shown) if shown else None)
        return self.said()

    def said(self) -> Reply:
        text = "".join(self.texts)
        calls = tuple((name, arguments) for name, arguments in self.calls.values())
        error = "; ".join(self.errors) or None
        return Reply(text if text or not (calls or error) else None, calls, error)

    def take(self, event: dict[str, Any]) -> bool:
        """Gather what *event* (or a whole reply) says; tell whether its shape is known."""
        error = _error_of(event)
        if error is not None:
            self.errors.append(error)
            return True
        kind = event.get("type")
        readers = (self._chat, self._responses, self._anthropic, self._gemini, self._workers)
        if isinstance(kind, str) and kind.startswith("response."):
            taken = self._response_event(kind, event)
        elif isinstance(kind, str) and kind.startswith(("content_block", "message_")):
            taken = self._anthropic_event(kind, event)
        else:
            taken = any(reader(event) for reader in readers)
        self.known = self.known or taken
        return taken

    def _call(self, key: object, name: object = None, arguments: object = None) -> None:
        call = self.calls.setdefault(key, ["", ""])
        if isinstance(name, str) and name:
            call[0] = name
        if arguments is not None:
            call[1] += _arguments(arguments)

    # OpenAI chat: whole replies carry `message`, stream chunks `delta`
    def _chat(self, body: dict[str, Any]) -> bool:
        choices = body.get("choices")
        if not isinstance(choices, list):
            return False
        for number, choice in enumerate(choices):
            if not isinstance(choice, dict):
                continue
            said = choice.get("message", choice.get("delta"))
            if not isinstance(said, dict):
                if isinstance(choice.get("text"), str):  # legacy completions
                    self.texts.append(choice["text"])
                continue
            for key in ("content", "refusal"):
                self.texts.append(_words(said.get(key)))
            self._chat_calls(number, said)
        return True

    def _chat_calls(self, choice: int, said: dict[str, Any]) -> None:
        calls = said.get("tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else ()):
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                index = call.get("index", position)
                function = call["function"]
                self._call(("chat", choice, index), function.get("name"), function.get("arguments"))
        legacy = said.get("function_call")
        if isinstance(legacy, dict):
            self._call(("chat", choice, "function"), legacy.get("name"), legacy.get("arguments"))

    # OpenAI Responses: a whole reply's `output` items
    def _responses(self, body: dict[str, Any]) -> bool:
        output = body.get("output")
        if body.get("object") != "response" and not isinstance(output, list):
            return False
        for index, item in enumerate(output if isinstance(output, list) else ()):
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call":
                self._call(("responses", index), item.get("name"), item.get("arguments", ""))
            else:
                self.texts.append(_words(item.get("content")))
        return True

    def _response_event(self, kind: str, event: dict[str, Any]) -> bool:
        index = event.get("output_index")
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            self.texts.append(_words(event.get("delta")))
        elif kind == "response.output_item.added":
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "function_call":
                self._call(("responses", index), item.get("name"))
        elif kind == "response.function_call_arguments.delta":
            self._call(("responses", index), None, _words(event.get("delta")))
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            final = event.get("response")
            if not (self.texts or self.calls) and isinstance(final, dict):
                self._responses(final)  # nothing streamed before it: read the whole reply
            error = final.get("error") if isinstance(final, dict) else None
            if isinstance(error, dict):
                self.errors.append(_message(error))
        return True

    # Anthropic messages: a whole reply's `content` blocks
    def _anthropic(self, body: dict[str, Any]) -> bool:
        content = body.get("content")
        if body.get("type") != "message" or not isinstance(content, list):
            return False
        for index, block in enumerate(content):
            self._block(index, block)
        return True

    def _block(self, index: object, block: object, *, opening: bool = False) -> None:
        if not isinstance(block, dict):
            return
        if block.get("type") in ("tool_use", "server_tool_use"):
            # A stream opens a tool call with empty input; its deltas bring the arguments.
            given = None if opening else block.get("input", {})
            self._call(("anthropic", index), block.get("name"), given)
        else:
            self.texts.append(_words(block))

    def _anthropic_event(self, kind: str, event: dict[str, Any]) -> bool:
        index = event.get("index")
        if kind == "content_block_start":
            self._block(index, event.get("content_block"), opening=True)
        elif kind == "content_block_delta":
            delta = event.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "input_json_delta":
                self._call(("anthropic", index), None, _words(delta.get("partial_json")))
            elif isinstance(delta, dict):
                self.texts.append(_words(delta))
        return True

    # Gemini: each chunk (or the whole reply) holds candidates
    def _gemini(self, body: dict[str, Any]) -> bool:
        candidates = body.get("candidates")
        if not isinstance(candidates, list):
            return False
        for candidate in candidates:
            content = candidate.get("content") if isinstance(candidate, dict) else None
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                if not isinstance(part, dict):
                    continue
                call = part.get("functionCall")
                if isinstance(call, dict):
                    self._call(object(), call.get("name"), call.get("args", {}))  # each its own
                elif isinstance(part.get("text"), str) and not part.get("thought"):
                    self.texts.append(part["text"])
        return True

    # Workers AI, the REST API's /ai/run and the Run API: `result`; their stream: pieces
    def _workers(self, body: dict[str, Any]) -> bool:
        result = body.get("result", body)
        if not isinstance(result, dict) or not ("response" in result or "tool_calls" in result):
            if "result" in body and result is not None:
                self.texts.append(_words(result) or _json(result))
                return True
            if isinstance(body.get("content"), str):  # the fake's generic reply
                self.texts.append(body["content"])
                return True
            return False
        response = result.get("response")
        if response is not None:
            self.texts.append(response if isinstance(response, str) else _json(response))
        calls = result.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, dict):
                self._call(object(), call.get("name"), call.get("arguments"))
        return True
