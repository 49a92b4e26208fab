"""``pytest-aigw serve`` (also ``python -m pytest_aigw serve``): the fake, by hand.

``pytest-aigw drift [CASSETTE_DIR...]`` reports where the fake drifts from recorded real
answers (`pytest_aigw.drift.command`).

stdout carries only ``KEY=VALUE`` lines a script can read (``AIGW_PORT=41234``), printed
once the port is bound; everything meant for people (the banner, one line per request,
what the real gateway would have refused) goes to stderr. Ctrl-C or SIGTERM stops the
server cleanly and exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from . import _json, settings
from ._errors import AigwError, ConfigError
from ._server_limits import ServerLimits
from .drift import command as drift_command
from .server import check_port

if TYPE_CHECKING:
    from .served import MockGatewayServer

__all__ = ["main"]

PROG = "pytest-aigw"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools of pytest-aigw, the test harness for Cloudflare AI Gateway."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve a fake AI Gateway and Logs API over HTTP until Ctrl-C",
        description=(
            "Serve a fake Cloudflare AI Gateway and Logs API over HTTP, for any client or"
            " process, until Ctrl-C. Prints AIGW_URL=..., AIGW_PORT=..., AIGW_GATEWAY_URL=..."
            " and AIGW_API_URL=... on stdout; logs one line per request on stderr."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port",
        type=_port,
        default=8787,
        help="port to bind, 0-65535; 0 picks a free one (default: %(default)s)",
    )
    _add_limits(serve)
    for entry in settings.settings():
        _add_setting(serve, entry)
    serve.add_argument(
        "--seed",
        type=Path,
        metavar="FILE",
        help="JSON file of logs as the Logs API returns them (a list, or a list response)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not log each request")
    drift_command.add_parser(commands)
    return parser


# The `ServerLimits` fields as flags: each field's help and metavar; its type and default
# come from the dataclass field, so a flag cannot drift from what the server accepts.
_LIMIT_HELP = {
    "header_timeout": "seconds a request head may take to arrive; then 408 (default: %(default)g)",
    "idle_timeout": "seconds an idle keep-alive connection stays open (default: %(default)g)",
    "max_connections": "connections served at once; more get a 503 (default: %(default)s, or"
    " fewer if the file descriptor limit is lower)",
    "max_body_size": "largest request body; more gets a 413 (default: %(default)s, 100 MB,"
    " Cloudflare's default on the Free and Pro plans)",
}
_LIMIT_METAVARS = {
    "header_timeout": "SECONDS",
    "idle_timeout": "SECONDS",
    "max_connections": "N",
    "max_body_size": "BYTES",
}


def _add_limits(parser: argparse.ArgumentParser) -> None:
    """Flags for the server's timeouts and caps (`ServerLimits`), one a field."""
    limits = parser.add_argument_group("server limits")
    for field in dataclasses.fields(ServerLimits):
        kind = float if field.type == "float" else int
        limits.add_argument(
            "--" + field.name.replace("_", "-"),
            type=_limit(kind, field.name),
            default=field.default,
            metavar=_LIMIT_METAVARS[field.name],
            help=_LIMIT_HELP[field.name],
        )


def _port(raw: str) -> int:
    try:
        port = int(raw)
        check_port(port)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to 65535 (0 picks a free port), got {raw!r}"
        ) from None
    return port


def _limit(kind: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    """A flag's parser: *kind* of the text, then the check `ServerLimits` makes."""

    def parse(raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{name} must be {what}, got {raw!r}") from None
        try:
            ServerLimits(**{name: value})
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    parse.__name__ = name  # argparse names the type in its own messages
    return parse


def _add_setting(parser: argparse.ArgumentParser, entry: settings.Setting[Any]) -> None:
    """A flag for a gateway setting; its text is checked as the constructor checks values."""
    if entry.option is None:
        return
    default = entry.default if entry.default not in ((), None) else "none"
    if entry.kind.switch:
        parser.add_argument(
            entry.option,
            dest=entry.name,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"{entry.help} (default: {'on' if entry.default else 'off'})",
        )
        return

    def parse(raw: str) -> Any:
        try:
            return entry.parse(raw)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parser.add_argument(
        entry.option,
        dest=entry.name,
        type=parse,
        action="extend" if entry.kind.many else "store",
        default=None,
        metavar=entry.kind.metavar,
        help=f"{entry.help}: {entry.kind.values} (default: {default})".replace("%", "%%"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "drift":
        return drift_command.run(args)
    return serve(args, parser)


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .served import MockGatewayServer

    try:
        gateway = MockGatewayServer(
            host=args.host,
            port=args.port,
            strict=False,
            header_timeout=args.header_timeout,
            idle_timeout=args.idle_timeout,
            max_connections=args.max_connections,
            max_body_size=args.max_body_size,
            **given_settings(args),
        )
        if args.seed is not None:
            _seed(gateway, args.seed)
        gateway.start()
    except (AigwError, ValueError) as error:  # ConfigError, ServerError, a seed's bad value
        _fail(parser, str(error))
    stop = threading.Event()
    _stop_on_signals(stop)  # before the URLs go out: a script may signal as soon as it reads them
    _log_requests(sys.stderr, quiet=args.quiet)
    _announce(gateway, sys.stdout, sys.stderr)
    try:
        while not stop.wait(0.5):  # a timed wait keeps Ctrl-C responsive everywhere
            pass
    except KeyboardInterrupt:
        pass
    gateway.stop()
    _farewell(gateway, sys.stderr)
    return 0


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The gateway settings given as flags (checked already); the rest keep their defaults."""
    return {
        entry.name: entry.check(getattr(args, entry.name))  # a repeated flag gives a list
        for entry in settings.settings()
        if entry.option is not None and getattr(args, entry.name) is not None
    }


class _SeedError(AigwError):
    """A --seed file that cannot be loaded."""


def _seed(gateway: MockGatewayServer, path: Path) -> None:
    items = _seed_items(path)
    try:
        gateway.seed_logs(items)
    except (ValueError, RecursionError) as error:  # ConfigError, or a value nested too deep
        raise _SeedError(f"--seed {path}: {error}") from None


def _seed_items(path: Path) -> list[Any]:
    try:
        raw = path.read_bytes()
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise _SeedError(f"cannot read --seed {path}: {reason}") from None
    try:
        data = _json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise _SeedError(f"--seed {path} is not UTF-8 text: {error}") from None
    except _json.JsonError as error:
        problem = "cannot be loaded" if error.limit else "is not valid JSON"
        raise _SeedError(f"--seed {path} {problem}: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        data = data["result"]  # a saved Logs API list response
    if not isinstance(data, list):
        raise _SeedError(
            f"--seed {path} must hold a JSON list of logs, or a Logs API list response"
            f' ({{"result": [...]}}), got {type(data).__name__}'
        )
    return data


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.exit(2, f"{PROG} serve: error: {message}\n")


def _log_requests(stream: TextIO, *, quiet: bool) -> None:
    logger = logging.getLogger("pytest_aigw.server")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def _announce(gateway: MockGatewayServer, out: TextIO, err: TextIO) -> None:
    err.write(
        f"{PROG}: serving a fake AI Gateway (account {gateway.account_id},"
        f" gateway {gateway.gateway_id}) and its Logs API on {gateway.url}\n"
        f"  OpenAI SDK:      OpenAI(base_url={gateway.url('openai')!r})\n"
        f"  Anthropic SDK:   Anthropic(base_url={gateway.url('anthropic')!r})\n"
        f"  Cloudflare SDK:  Cloudflare(base_url={gateway.api_url!r})\n"
        f"  {len(gateway.log_store)} seeded log(s). Press Ctrl-C to stop.\n"
    )
    err.flush()
    # The URLs last: a script that waits for them sends requests at once, and their log
    # lines must come after the banner.
    out.write(
        f"AIGW_URL={gateway.url}\n"
        f"AIGW_PORT={gateway.port}\n"
        f"AIGW_GATEWAY_URL={gateway.gateway_url}\n"
        f"AIGW_API_URL={gateway.api_url}\n"
    )
    out.flush()


def _farewell(gateway: MockGatewayServer, err: TextIO) -> None:
    found = gateway.findings()
    err.write(f"{PROG}: stopped after {len(gateway.calls)} gateway call(s).\n")
    if found:
        err.write(f"{len(found)} thing(s) the real gateway would refuse or lose:\n")
        for number, text in enumerate(found, start=1):
            err.write(f"  {number}. {text}\n")
    err.flush()


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, handle)
