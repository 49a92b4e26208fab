"""What the loopback server does with each request-target form and Host header.

RFC 9112 §3.2 names four target forms. An origin server serves origin-form
(``GET /path``) and MUST accept absolute-form (``GET http://host:port/path``), using the
target's authority and ignoring Host; ``OPTIONS *`` asks about the server as a whole;
authority-form belongs to ``CONNECT``, which only a proxy serves. Whatever the form, a
Host header that is missing (HTTP/1.1) or repeated (both refused by h11 already), or
malformed gets a 400. `resolve` turns each request into the origin-form target to serve, or into
the `Answer` the server gives instead.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

__all__ = ["ALLOWED_METHODS", "Answer", "resolve"]

# The methods some route of the fake answers; what ``OPTIONS *`` reports.
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

# RFC 3986 host (IP-literal, IPv4 or reg-name) and optional port, as Host carries them.
_HOST = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::([0-9]*))?")
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class Answer:
    """A response the server gives itself, without the handler (then closes the connection)."""

    status: int
    text: str
    headers: tuple[tuple[str, str], ...] = ()


def resolve(
    method: bytes, target: bytes, hosts: list[bytes], own_host: str, own_port: int
) -> str | Answer:
    """The origin-form target to serve, or the server's own `Answer` to this request."""
    bad_host = _check_host(hosts)
    if bad_host is not None:
        return bad_host
    text = target.decode("latin-1")
    if method == b"CONNECT":
        return Answer(
            501,
            f"pytest-aigw serves the fake gateway itself and is not a proxy: CONNECT {text}"
            " is not implemented. Point the client at this server's URL instead.",
        )
    if text.startswith("/"):
        return text
    if text == "*":
        if method == b"OPTIONS":
            return Answer(200, "", (("allow", ALLOWED_METHODS),))
        return Answer(400, f"the target * is for OPTIONS only, not {method.decode('latin-1')}.")
    if "://" in text:
        return _absolute(text, own_host, own_port)
    return Answer(
        400, f"the request target {text!r} is not a path: send it as /path (origin-form)."
    )


def _check_host(hosts: list[bytes]) -> Answer | None:
    # h11 refuses an HTTP/1.1 request with no Host, or with two; HTTP/1.0 may omit it.
    if not hosts:
        return None
    match = _HOST.fullmatch(hosts[0])
    port = match.group(2) if match else None
    if match is None or (port and int(port) > 65535):
        shown = hosts[0].decode("latin-1")
        return Answer(
            400, f"the Host header {shown!r} is not a valid host[:port] (ports are 0-65535)."
        )
    return None


def _absolute(text: str, own_host: str, own_port: int) -> str | Answer:
    """Serve an absolute-form target naming this server as origin-form; refuse other origins."""
    try:
        parts = urllib.parse.urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port beyond 65535, an unbalanced [ ...
        return Answer(400, f"the request target {text!r} is not a valid URL.")
    if parts.scheme.lower() != "http" or parts.username is not None or host is None:
        return _not_ours(text)
    if not _is_own(host, 80 if port is None else port, own_host, own_port):
        return _not_ours(text)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _is_own(host: str, port: int, own_host: str, own_port: int) -> bool:
    """Whether *host*:*port* names this server (any name for a loopback one reaches it)."""
    if port != own_port:
        return False
    own = own_host.strip("[]").lower()
    if own in _ANY_ADDRESS:
        return True
    names = {own}
    if own in _LOOPBACK_NAMES or own.startswith("127."):
        names |= _LOOPBACK_NAMES
    return host.lower() in names


def _not_ours(text: str) -> Answer:
    return Answer(
        400,
        f"the request target {text!r} names another origin, and pytest-aigw is not a proxy."
        " Send the path alone (GET /path), or a URL on this server.",
    )
