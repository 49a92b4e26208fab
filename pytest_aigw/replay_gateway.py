"""`ReplayGateway`: a live test run offline, its gateway answered from its cassette.

With ``--aigw-mode=replay`` a test marked `aigw_live` gets a `ReplayGateway`: the fake,
reached through the same doors as in mock mode (httpx, httpx2, aiohttp, requests), whose
gateway and REST API requests are answered by the exchanges its cassette recorded
(matched as `pytest_aigw.replay` says). The cassette's logs are loaded into the fake
Logs API, which answers from its own state: feedback sent in replay changes the log
there, as it would on Cloudflare, and never leaves the machine.

It offers what `LiveGateway` offers: the mock-only calls (`respond`, `fail`, ...) raise
`LiveModeError`, so a live test runs in replay unchanged and cannot come to depend on
the fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from . import metadata
from ._errors import ConfigError
from .calls import redact_url
from .cassette import Cassette, CassetteError, cassette_path
from .fake.errors import gateway_error
from .fake.gateway import UNMATCHED, UnexpectedRequest
from .fake.replayed import replayed_call, replayed_response
from .fake.rest import api_error, is_rest_request
from .fake.routing import GATEWAY_HOST
from .gateway_base import Gateway
from .mock import OPT_OUT_HINT, MockGateway
from .mock_only import MockOnly
from .replay import Replay, Sent

if TYPE_CHECKING:
    import pytest
    from typing_extensions import Unpack

    from ._replay_config import ReplayConfig
    from .calls import CallList
    from .settings import GatewayArgs

__all__ = ["ReplayGateway", "cassette_file", "missing_cassette", "replay_for"]

RECORD = "pytest --aigw-mode=live --aigw-record"


def cassette_file(module: Path, nodeid: str, rootdir: Path, directory: str | None) -> Path:
    """Where test *nodeid* keeps its cassette: ``<module dir>/cassettes`` or *directory*."""
    base = rootdir / directory if directory else module.parent / "cassettes"
    return cassette_path(base, nodeid)


def missing_cassette(shown: str, nodeid: str, directory: str | None) -> ConfigError:
    """The error for a replayed test without a cassette: where it looked, how to record."""
    option = f" --aigw-cassette-dir={directory}" if directory else ""
    return ConfigError(
        f"pytest-aigw: no cassette for this aigw_live test: looked for {shown}"
        f" (--aigw-mode=replay answers aigw_live tests from their cassettes). Record it once"
        f" against the real gateway, with CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN and"
        f" the gateway id set: {RECORD}{option} '{nodeid}'; then commit {shown}."
    )


def replay_for(
    item: pytest.Item, replay: ReplayConfig, tags: Mapping[str, object], options: Any
) -> ReplayGateway:
    """The `ReplayGateway` of test *item*, from its cassette; `ConfigError` if it has none."""
    rootdir = item.config.rootpath
    path = cassette_file(item.path, item.nodeid, rootdir, replay.cassette_dir)
    shown = str(path.relative_to(rootdir) if path.is_relative_to(rootdir) else path)
    if not path.is_file():
        raise missing_cassette(shown, item.nodeid, replay.cassette_dir)
    return ReplayGateway(
        Cassette.load(path), source=shown, nodeid=item.nodeid, ignore=replay.ignore,
        speed=replay.speed, tags=tags, **options,
    )  # fmt: skip


class _ReplayingFake(MockGateway):
    """The fake, its gateway and REST API requests answered from a cassette."""

    def __init__(
        self,
        cassette: Cassette,
        *,
        source: str,
        nodeid: str,
        ignore: Sequence[str],
        speed: float,
        tags: Mapping[str, metadata.MetadataValue],
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.source = source
        self.nodeid = nodeid
        self._speed = speed
        self._tags = tags
        extra_tags = [key for key in tags if key != "test"]
        self.replay = Replay(cassette, self.account_id, ignore=ignore, tags=extra_tags)

    @property
    def _test(self) -> str:
        return f" '{self.nodeid}'" if self.nodeid else ""

    def _answer(self, request: httpx.Request) -> httpx.Response:
        target = None if self._logs_api.is_logs_request(request) else self._target(request)
        if target is None:
            return super()._answer(request)
        return self._replayed(request, *target)

    def _target(self, request: httpx.Request) -> tuple[str, str] | None:
        """The API (gateway or rest) and the path below the gateway or account, if served."""
        if request.url.host == GATEWAY_HOST:
            base = httpx.URL(self.gateway_url).path
            api = "gateway"
        elif is_rest_request(request):
            base = f"/client/v4/accounts/{self.account_id}"
            api = "rest"
        else:
            return None
        path = request.url.path
        if not (path == base or path.startswith(base + "/")):
            return None  # another account or gateway: the fake refuses it as in mock mode
        below = path[len(base) :].strip("/")
        if api == "rest" and not (below == "ai" or below.startswith("ai/")):
            return None  # not the REST inference API: refused as in mock mode
        return api, below

    def _replayed(self, request: httpx.Request, api: str, path: str) -> httpx.Response:
        request.read()
        header = request.headers.get(metadata.HEADER)
        sent = Sent(request.method, api, path, request.content, header)
        exchange = self.replay.take(sent)
        if exchange is None:
            return self._unmatched(request, sent)
        self._fake.calls.append(replayed_call(request, api, path, exchange.response, self._tags))
        return replayed_response(exchange.response, self._speed)

    def _unmatched(self, request: httpx.Request, sent: Sent) -> httpx.Response:
        """The gateway's 404 naming the closest recorded exchange; a finding at teardown."""
        reason = (
            f"no exchange recorded in {self.source} matches it (method, path, body and"
            f" cf-aig-metadata); {self.replay.closest(sent)}"
        )
        hint = (
            f"Record it: {RECORD}=new_episodes{self._test}; or, if a field changes"
            " from run to run, leave it out of matching with --aigw-replay-ignore=FIELD."
        )
        refused = UnexpectedRequest(request.method, str(redact_url(request.url)), reason, hint)
        self._fake.unexpected.append(refused)
        message = f"pytest-aigw: {refused.describe()}"
        if sent.api == "rest":
            return api_error(UNMATCHED, message)
        return gateway_error(UNMATCHED.status_code, UNMATCHED.code, message)

    def unused(self) -> list[str]:
        """Findings for the recorded exchanges no request used."""
        return [
            f"recorded {label} in {self.source} was not used: the app no longer sends it"
            " (or sends it otherwise: see any unexpected request above). Record the test"
            f" again with {RECORD}=all{self._test} to drop it."
            for label in self.replay.unused()
        ]


class ReplayGateway(MockOnly, Gateway):
    """The `aigw` of an `aigw_live` test under ``--aigw-mode=replay``.

    Answers the test's gateway and REST API requests from *cassette* (read from
    *source*, for messages), each recorded exchange once, in recorded order among
    those that match; *ignore* lists body fields matching leaves out; *speed* paces
    stream chunks (0: no waiting, 1: as recorded). *tags* are the live run's tags,
    merged into the recorded calls' metadata as live mode does. Other keywords are
    the fake's settings (`MockGateway`'s).
    """

    mode = "replay"
    where = (
        "this test replays its cassette (it is marked aigw_live and the run is"
        " --aigw-mode=replay): its answers are the recorded ones, as they were live"
    )
    _roundtrip_timeout = MockGateway._roundtrip_timeout

    def __init__(
        self,
        cassette: Cassette,
        *,
        source: str = "<cassette>",
        nodeid: str = "",
        ignore: Sequence[str] = (),
        speed: float = 0.0,
        tags: Mapping[str, object] | None = None,
        **options: Unpack[GatewayArgs],
    ) -> None:
        given = metadata.validate(dict(tags if tags is not None else {"test": True}))
        self._fake = _ReplayingFake(
            cassette, source=source, nodeid=nodeid, ignore=ignore, speed=speed, tags=given,
            **options,
        )  # fmt: skip
        self.strict = self._fake.strict
        self.cassette = cassette
        self.source = source
        try:
            self._fake.seed_logs(cassette.logs)
        except ConfigError as error:
            raise CassetteError(f"{source}: logs: {error}") from None

    @property
    def account_id(self) -> str:
        """The run's account id (the recording's maps to it)."""
        return self._fake.account_id

    @property
    def gateway_id(self) -> str:
        """The run's gateway id (the recording's maps to it)."""
        return self._fake.gateway_id

    @property
    def gateway_url(self) -> str:
        """``https://gateway.ai.cloudflare.com/v1/{account}/{gateway}``, answered in process."""
        return self._fake.gateway_url

    @property
    def api_url(self) -> str:
        """The Cloudflare API base the fake Logs API and REST API answer on."""
        return self._fake.api_url

    @property
    def calls(self) -> CallList:
        """The replayed calls, in order, with their recorded answer headers (log ids...)."""
        return self._fake.calls

    def _logs_client_options(self) -> dict[str, Any]:
        return self._fake._logs_client_options()

    def start(self) -> None:
        """Start answering the app's requests (idempotent)."""
        self._fake.start()

    def stop(self) -> None:
        """Stop answering; close the Logs API client."""
        self._close_logs_client()
        self._fake.stop()

    def findings(self) -> list[str]:
        """What mock mode would report, requests with no recorded answer, unused exchanges."""
        return self._fake.findings() + self._fake.unused()

    def _check_message(self, count: int, lines: str) -> str:
        return (
            f"pytest-aigw found {count} problem(s) replaying {self.source}:\n{lines}"
            f"\n{OPT_OUT_HINT}"
        )
