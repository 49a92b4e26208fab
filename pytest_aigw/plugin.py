"""The pytest plugin: options, markers, the report header and the `aigw` fixture.

No business logic lives here; heavy imports (respx, httpx, httpx2) happen when the
fixture is first used, so a run that never uses it pays almost nothing.
Settings resolve as described in `pytest_aigw._config`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import pytest

from . import _config
from ._errors import AigwError, GatewayCheckError

if TYPE_CHECKING:
    from .mock import MockGateway
    from .served import MockGatewayServer
    from .server import LoopbackServer

P = ParamSpec("P")
T = TypeVar("T")
G = TypeVar("G", bound="MockGateway")
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
_GATEWAY = pytest.StashKey["MockGateway"]()

_MARKERS = (
    "aigw(*, strict=True, account_id=..., gateway_id=..., authenticated=False,"
    " cache_ttl=None, logs=LogSettings(...)): settings of the fake AI Gateway for this test;"
    " see the README section 'Markers'.",
    "aigw_live: a contract test written to run against the real AI Gateway too.",
    "aigw_eval: an eval case whose gateway logs get feedback from its outcome.",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(_config.INI_ACCOUNT_ID, "Account id the fake AI Gateway serves.", default="")
    parser.addini(_config.INI_GATEWAY_ID, "Gateway id the fake AI Gateway serves.", default="")
    parser.addini(
        _config.INI_STRICT,
        "Fail tests at teardown for requests the real gateway would refuse or lose.",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)


def pytest_report_header(config: pytest.Config) -> str:
    defaults = _defaults(config)
    return f"aigw: mode=mock, account={defaults.account_id}, gateway={defaults.gateway_id}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
        gateway = item.stash.get(_GATEWAY, None)
        if report.failed and gateway is not None:
            _explain_failure(report, gateway)
    return report


def _explain_failure(report: pytest.TestReport, gateway: MockGateway) -> None:
    """Show what the gateway saw go wrong next to a failed test (teardown checks are skipped)."""
    found = gateway.findings()
    if found:
        lines = "\n".join(f"{n}. {text}" for n, text in enumerate(found, start=1))
        report.sections.append(("pytest-aigw: what the AI Gateway fake saw", lines))


def _defaults(config: pytest.Config) -> _config.GatewayOptions:
    return _config.ini_defaults(config)


def _test_passed(item: pytest.Item) -> bool:
    report = item.stash.get(_CALL_REPORT, None)
    return report is not None and report.passed


@pytest.fixture
def aigw(request: pytest.FixtureRequest) -> Iterator[MockGateway]:
    """A fake Cloudflare AI Gateway for this test, reached by the app's httpx/httpx2 clients.

    Records every call (`aigw.calls`, `aigw.log_ids`); fails the test at teardown for
    requests the real gateway would refuse or lose (opt out: ``aigw(strict=False)``).
    """
    from .mock import MockGateway

    gateway = _fail_on(AigwError, _build_gateway, request, MockGateway)
    yield from _run_for_test(request, gateway)


@pytest.fixture(scope="session")
def aigw_loopback() -> Iterator[LoopbackServer]:
    """The session's loopback HTTP server; its `url` stays the same for the whole session.

    `aigw_server` serves each test's gateway on it. Use it in session-scoped fixtures
    that start another process and must hand it the URL up front.
    """
    from .server import LoopbackServer

    server = LoopbackServer()
    _fail_on(AigwError, server.start)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aigw_server(
    request: pytest.FixtureRequest, aigw_loopback: LoopbackServer
) -> Iterator[MockGatewayServer]:
    """A fake AI Gateway for this test served over real HTTP on 127.0.0.1.

    For clients that are not httpx-based and for other processes: `aigw_server.url`
    (``http://127.0.0.1:PORT``), `gateway_url`, ``url("openai")`` and `api_url`, with the
    whole `aigw` interface. Each test gets a new gateway on the session's server.
    """
    from .served import MockGatewayServer

    gateway = _fail_on(AigwError, _build_gateway, request, MockGatewayServer, server=aigw_loopback)
    yield from _run_for_test(request, gateway)


def _run_for_test(request: pytest.FixtureRequest, gateway: G) -> Iterator[G]:
    """Serve *gateway* for the test, then run its teardown checks if the test passed."""
    request.node.stash[_GATEWAY] = gateway
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()
    if gateway.strict and _test_passed(request.node):
        _fail_on(GatewayCheckError, gateway.check)


def _build_gateway(request: pytest.FixtureRequest, kind: type[G], **extra: Any) -> G:
    options = _config.resolve_options(request.node, _defaults(request.config))
    return kind(
        account_id=options.account_id,
        gateway_id=options.gateway_id,
        strict=options.strict,
        authenticated=options.authenticated,
        cache_ttl=options.cache_ttl,
        log_settings=options.logs,
        **extra,
    )


def _fail_on(error: type[Exception], func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call *func*; turn *error* into a clean test failure showing only its message."""
    try:
        return func(*args, **kwargs)
    except error as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)
