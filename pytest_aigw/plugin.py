"""The pytest plugin: options, markers, the report header and the `aigw` fixture.

No business logic lives here; heavy imports (respx, httpx, httpx2) happen when the
fixture is first used, so a run that never uses it pays almost nothing.
Settings resolve as described in `pytest_aigw._config`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import pytest

from . import _config, settings
from ._errors import AigwError, GatewayCheckError

if TYPE_CHECKING:
    from .evals import EvalRun
    from .gateway_base import Gateway
    from .live import LiveGateway
    from .mock import MockGateway
    from .served import MockGatewayServer
    from .server import LoopbackServer

P = ParamSpec("P")
T = TypeVar("T")
G = TypeVar("G", bound="Gateway")
M = TypeVar("M", bound="MockGateway")
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
_GATEWAY = pytest.StashKey["Gateway"]()
_RUN = pytest.StashKey[_config.RunConfig]()
_INI_SETTINGS = pytest.StashKey[dict[str, Any]]()
_CLEANED = pytest.StashKey[str]()
_EVALS = pytest.StashKey["_GathersEvals"]()
_WORKER_RUN_ID = "aigw_run_id"  # key in pytest-xdist's workerinput

_MARKERS = (
    "aigw(**settings): settings of the fake AI Gateway for this test (strict, account_id,"
    " gateway_id, metadata_as, ...); see the README section 'Gateway settings'.",
    "aigw_live: a contract test written to run against the real AI Gateway too.",
    "aigw_eval: an eval case whose gateway logs get feedback from its outcome (+1 passed,"
    " -1 failed) and the score it sets with aigw.score().",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aigw", "pytest-aigw (Cloudflare AI Gateway)")
    for setting in _config.RUN_SETTINGS:
        if setting is _config.CLEANUP:
            group.addoption(setting.option, action="store_true", default=None, help=setting.help)
        elif setting is _config.TAGS:
            group.addoption(setting.option, action="append", metavar="KEY=VALUE", help=setting.help)
        else:
            group.addoption(setting.option, help=setting.help)
    for entry in settings.settings():
        if entry.ini_key:
            text = f"The fake AI Gateway's {entry.name}: {entry.help} ({entry.kind.values})."
            parser.addini(entry.ini_key, text, default="")
    for key, old in _config.OLD_INI_KEYS.items():
        parser.addini(old, f"The old name of {key}, still read.", default="")
    for setting in (_config.MODE, _config.GATEWAY_BASE_URL, _config.API_BASE_URL):
        parser.addini(setting.ini, setting.help, default="")
    parser.addini(_config.TAGS.ini, _config.TAGS.help, type="linelist", default=[])
    parser.addini(_config.RUN_ID.ini, _config.RUN_ID.help, default="")
    parser.addini(_config.CLEANUP.ini, _config.CLEANUP.help, default="")
    for setting in (_config.EVAL_REPORT, _config.EVAL_MIN_PASS_RATE):
        parser.addini(setting.ini, setting.help, default="")


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    try:
        run = _config.run_config(config.getoption, config.getini)
        config.stash[_INI_SETTINGS] = _config.ini_settings(config.getini, run.gateway_id)
    except AigwError as error:
        raise pytest.UsageError(f"pytest-aigw: {error}") from None
    if run.live:
        missing = run.missing()
        if missing:
            raise pytest.UsageError(
                "pytest-aigw: live mode (--aigw-mode=live) needs " + "; ".join(missing) + "."
                " Set them, or leave out --aigw-mode=live to test against the fake gateway."
            )
        run = _with_run_id(config, run)
    config.stash[_RUN] = run
    if not hasattr(config, "workerinput"):  # the eval run is gathered where reports meet
        config.stash[_EVALS] = gathers = _GathersEvals(run.eval_min_pass_rate)
        config.pluginmanager.register(gathers, "aigw-evals")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SharesRunId(), "aigw-xdist")


def _with_run_id(config: pytest.Config, run: _config.RunConfig) -> _config.RunConfig:
    """Give a clean-up run an id, the same in every xdist worker."""
    if run.run_id is not None or not run.cleanup:
        return run
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and worker_input.get(_WORKER_RUN_ID):
        run_id = str(worker_input[_WORKER_RUN_ID])
    else:
        from .ids import new_log_id

        run_id = new_log_id()
    return dataclasses.replace(run, run_id=run_id)


class _SharesRunId:
    """pytest-xdist hook: hand the controller's run id to every worker."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        run = node.config.stash.get(_RUN, None)
        if run is not None and run.run_id is not None:
            node.workerinput[_WORKER_RUN_ID] = run.run_id


def pytest_report_header(config: pytest.Config) -> str:
    run = _run(config)
    if run.live:
        return f"aigw: {run.header()}"
    fake = settings.resolve(_ini_settings(config))
    return f"aigw: mode=mock, account={fake['account_id']}, gateway={fake['gateway_id']}"


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.get_closest_marker(_config.EVAL_MARKER) is not None:
        item.user_properties.append((_config.EVAL_MARKER, True))  # travels with every report


class _GathersEvals:
    """Feeds every test report (from this process or an xdist worker) to the eval run.

    The eval machinery loads with the first eval case's report: a run without eval
    cases only counts its failures.
    """

    def __init__(self, min_pass_rate: float | None) -> None:
        self.min_pass_rate = min_pass_rate
        self.evals: EvalRun | None = None
        self.failures_before = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.evals is None:
            if _config.EVAL_MARKER not in dict(report.user_properties):
                self.failures_before += report.failed
                return
            from .evals import EvalRun

            self.evals = EvalRun(self.min_pass_rate)
            self.evals.other_failures = self.failures_before
        self.evals.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    run = _run(config)
    if hasattr(config, "workerinput"):
        return  # the controller reports, gates and cleans up, once for all workers
    evals = _gathered(config)
    if evals is not None:
        _finish_evals(session, run, evals)
    if run.live and run.cleanup:
        _clean_up(config, run)


def _gathered(config: pytest.Config) -> EvalRun | None:
    gathers = config.stash.get(_EVALS, None)
    return None if gathers is None else gathers.evals


def _finish_evals(session: pytest.Session, run: _config.RunConfig, evals: EvalRun) -> None:
    from pathlib import Path

    from .evals import submit

    pending = evals.pending()
    if pending and run.live:  # mock-mode verdicts were submitted by each test's fake
        from .live import run_logs_client

        with run_logs_client(run) as client:
            submit(client, pending)
    if run.eval_report:
        evals.write_report(Path(run.eval_report))
    if run.eval_min_pass_rate is not None and session.exitstatus in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
    ):
        failed = evals.other_failures or not evals.gate_met()
        session.exitstatus = pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK


def _clean_up(config: pytest.Config, run: _config.RunConfig) -> None:
    from .live import delete_run_logs

    try:
        deleted = delete_run_logs(run)
    except AigwError as error:
        config.stash[_CLEANED] = f"could not delete the logs of run {run.run_id}: {error}"
    else:
        config.stash[_CLEANED] = f"deleted {deleted} live log(s) of run {run.run_id}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    evals = _gathered(config)
    if evals is not None:
        terminalreporter.write_sep("=", "pytest-aigw eval")
        for line in evals.lines():
            terminalreporter.write_line(line)
        if config.stash[_RUN].eval_report:
            terminalreporter.write_line(f"report: {config.stash[_RUN].eval_report}")
    cleaned = config.stash.get(_CLEANED, None)
    if cleaned is not None:
        terminalreporter.write_line(f"pytest-aigw: {cleaned}")


def _run(config: pytest.Config) -> _config.RunConfig:
    return config.stash.get(_RUN, None) or _config.RunConfig()


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


def _explain_failure(report: pytest.TestReport, gateway: Gateway) -> None:
    """Show what the gateway saw go wrong next to a failed test (teardown checks are skipped)."""
    found = gateway.findings()
    if found:
        lines = "\n".join(f"{n}. {text}" for n, text in enumerate(found, start=1))
        report.sections.append(("pytest-aigw: what the AI Gateway fake saw", lines))


def _ini_settings(config: pytest.Config) -> dict[str, Any]:
    return config.stash.get(_INI_SETTINGS, None) or {}


def _test_passed(item: pytest.Item) -> bool:
    report = item.stash.get(_CALL_REPORT, None)
    return report is not None and report.passed


@pytest.fixture
def aigw(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """A fake Cloudflare AI Gateway for this test, reached by the app's httpx/httpx2 clients.

    Records every call (`aigw.calls`, `aigw.log_ids`); fails the test at teardown for
    requests the real gateway would refuse or lose (opt out: ``aigw(strict=False)``).
    With ``--aigw-mode=live``, a test marked `aigw_live` gets a `LiveGateway` instead:
    its requests go to the real gateway, tagged ``test: true``.
    """
    run = _run(request.config)
    gateway: Gateway
    if run.live and request.node.get_closest_marker("aigw_live") is not None:
        gateway = _fail_on(AigwError, _live_gateway, run)
    else:
        from .mock import MockGateway

        gateway = _fail_on(AigwError, _build_gateway, request, MockGateway)
    yield from _run_for_test(request, gateway)


def _live_gateway(run: _config.RunConfig) -> LiveGateway:
    from .live import LiveGateway

    account_id, gateway_id, api_token = run.target()
    return LiveGateway(
        account_id=account_id,
        gateway_id=gateway_id,
        api_token=api_token,
        gateway_token=run.gateway_token,
        gateway_base_url=run.gateway_base_url,
        api_base_url=run.api_base_url,
        tags=run.live_tags(),
    )


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
        if request.node.get_closest_marker(_config.EVAL_MARKER) is not None:
            _judge(request.node, gateway)
    finally:
        gateway.stop()
    if gateway.strict and _test_passed(request.node):
        _fail_on(GatewayCheckError, gateway.check)


def _judge(item: pytest.Item, gateway: Gateway) -> None:
    """Decide the eval test's verdicts; the fake takes them now, live ones go at the end."""
    from dataclasses import asdict

    from .evals import RESULT_PROPERTY, case_outcome, submit

    report = item.stash.get(_CALL_REPORT, None)
    if report is None or case_outcome(report) not in ("passed", "failed"):
        return  # set-up errors, skips, xfails and xpasses say nothing about the answers
    verdicts = gateway.verdicts.decide(gateway.log_ids, passed=report.passed)
    if gateway.mode == "mock":
        submit(gateway.logs, verdicts, timeout=10.0)
    item.user_properties.append((RESULT_PROPERTY, [asdict(v) for v in verdicts]))


def _build_gateway(request: pytest.FixtureRequest, kind: type[M], **extra: Any) -> M:
    options = _config.resolve_options(request.node, _ini_settings(request.config))
    return kind(**options, **extra)


def _fail_on(error: type[Exception], func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call *func*; turn *error* into a clean test failure showing only its message."""
    try:
        return func(*args, **kwargs)
    except error as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)
