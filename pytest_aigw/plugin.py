"""The pytest plugin: options, markers, the report header and the `aigw` fixture.

No business logic lives here; heavy imports (respx, httpx, httpx2) happen when the
fixture is first used, so a run that never uses it pays almost nothing.
Settings resolve as described in `pytest_aigw._config`. The eval machinery
(`pytest_aigw.eval_plugin`), the live clean-up (`pytest_aigw.cleanup_plugin`) and the
cassette recorder (`pytest_aigw.recording`) are plugin objects, registered at start-up
where the run needs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import pytest

from . import _config, _replay_config, drift_plugin, eval_trials, redaction, settings
from ._errors import AigwError, GatewayCheckError
from .eval_plugin import EvalJudge, EvalSession
from .recording import RECORDER, Recorder
from .spend_plugin import SpendMeter, spend_cap

if TYPE_CHECKING:
    from .gateway_base import Gateway
    from .live import LiveGateway
    from .mock import MockGateway
    from .replay_gateway import ReplayGateway
    from .served import MockGatewayServer
    from .server import LoopbackServer

P = ParamSpec("P")
T = TypeVar("T")
G = TypeVar("G", bound="Gateway")
M = TypeVar("M", bound="MockGateway")
_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
_GATEWAY = pytest.StashKey["Gateway"]()
_RUN = pytest.StashKey[_config.RunConfig]()
_REPLAY = pytest.StashKey[_replay_config.ReplayConfig]()
_INI_SETTINGS = pytest.StashKey[dict[str, Any]]()
_REDACTED_BEFORE = pytest.StashKey[Any]()
_JUDGE = pytest.StashKey[EvalJudge]()
_METER = pytest.StashKey[SpendMeter]()
_OWN_SPEND_FILE = pytest.StashKey[Path]()
_UNDO_SIGTERM = pytest.StashKey[Callable[[], None]]()
# keys in pytest-xdist's workerinput: what every worker shares with the controller
_WORKER_RUN_ID = "aigw_run_id"
_WORKER_JOURNAL_RUN = "aigw_journal_run"
_WORKER_JOURNAL_DIR = "aigw_journal_dir"
_WORKER_SPEND_FILE = "aigw_spend_file"

_MARKERS = (
    "aigw(**settings): settings of the fake AI Gateway for this test (strict, account_id,"
    " gateway_id, metadata_as, ...); see the README section 'Gateway settings'.",
    "aigw_live: a contract test written to run against the real AI Gateway too.",
    "aigw_eval(trials=1, min_pass_rate=1.0): an eval case whose gateway logs get feedback"
    " from its outcome (+1 passed, -1 failed) and the score it sets with aigw.score();"
    " run trials times, it passes when that share of its trials pass.",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aigw", "pytest-aigw (Cloudflare AI Gateway)")
    for setting in _config.RUN_SETTINGS:
        if setting in (_config.CLEANUP, _config.EVAL_FAIL_ON_REGRESSION):
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
    for setting in (
        _config.EVAL_REPORT,
        _config.EVAL_MIN_PASS_RATE,
        _config.EVAL_JOURNAL,
        _config.EVAL_SUBMIT_TIMEOUT,
        _config.MAX_RETRY_AFTER,
        _config.MAX_COST,
        _config.EVAL_BASELINE,
        _config.EVAL_FAIL_ON_REGRESSION,
        _config.SHOW_CALLS,
        _config.EVAL_HTML,
    ):
        parser.addini(setting.ini, setting.help, default="")
    redact = _config.REDACT
    group.addoption(redact.option, action="append", metavar="NAME", help=redact.help)
    parser.addini(redact.ini, redact.help, type="linelist", default=[])
    group.addoption(_config.EVAL_RESUBMIT, action="store_true", help=_config.EVAL_RESUBMIT_HELP)
    group.addoption(
        _config.RECORD.option, nargs="?", const="once", metavar="MODE", help=_config.RECORD.help
    )
    group.addoption(_config.CASSETTE_DIR.option, metavar="DIR", help=_config.CASSETTE_DIR.help)
    hide = _config.RECORD_REDACT_ACCOUNT
    group.addoption(hide.option, action="store_true", default=None, help=hide.help)
    speed = _replay_config.REPLAY_SPEED
    group.addoption(speed.option, metavar="X", help=speed.help)
    ignore = _replay_config.REPLAY_IGNORE
    group.addoption(ignore.option, action="append", metavar="FIELD", help=ignore.help)
    parser.addini(ignore.ini, ignore.help, type="linelist", default=[])
    for setting in (_config.RECORD, _config.CASSETTE_DIR, hide, speed):
        parser.addini(setting.ini, setting.help, default="")
    drift_plugin.add_options(parser, group)


def pytest_cmdline_main(config: pytest.Config) -> int | pytest.ExitCode | None:
    """``--aigw-eval-resubmit``: a session without tests, whose end sends the leftovers."""
    if not config.getoption(_config.EVAL_RESUBMIT_DEST):
        return None
    if config.option.help or config.option.version:
        return None
    from _pytest.main import wrap_session

    return wrap_session(config, lambda config, session: None)


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    try:
        run = _config.run_config(config.getoption, config.getini)
        config.stash[_INI_SETTINGS] = _config.ini_settings(config.getini, run.gateway_id)
        names = _config.redact_names(config.getoption, config.getini)
        config.stash[_REDACTED_BEFORE] = redaction.use_extra_names(names)
        config.stash[_REPLAY] = _replay_config.replay_config(config.getoption, config.getini)
        drift_plugin.register(config, run.mode)
    except AigwError as error:
        _usage_error(config, str(error))
    if run.live:
        missing = run.missing()
        if missing:
            raise pytest.UsageError(
                "pytest-aigw: live mode (--aigw-mode=live) needs " + "; ".join(missing) + "."
                " Set them, or leave out --aigw-mode=live to test against the fake gateway."
            )
        run = _with_run_id(config, run)
    if run.resubmit and not run.api_token:
        raise pytest.UsageError(
            f"pytest-aigw: {_config.EVAL_RESUBMIT} sends the journal's verdicts to the Logs"
            f" API and needs {_config.ENV_API_TOKEN} (environment). Set it and run again."
        )
    config.stash[_RUN] = run
    try:
        Recorder.install(config, run)
    except AigwError as error:
        _usage_error(config, str(error))
    _register_plugins(config, run)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SharesRunId(), "aigw-xdist")


def _register_plugins(config: pytest.Config, run: _config.RunConfig) -> None:
    """The eval machinery everywhere; its session part and live clean-up where reports meet."""
    journal_dir, journal_run = _journal_place(config, run)
    writer = None
    if run.live and journal_dir is not None:
        from .eval_journal import JournalWriter

        worker = getattr(config, "workerinput", {}).get("workerid", "main")
        writer = JournalWriter(journal_dir, journal_run, worker)
    config.stash[_JUDGE] = judge = EvalJudge(run, writer)
    config.pluginmanager.register(judge, "aigw-eval-judge")
    shared = getattr(config, "workerinput", {}).get(_WORKER_SPEND_FILE)
    cap, spend_file = spend_cap(run, shared)
    if spend_file is not None and shared is None:
        config.stash[_OWN_SPEND_FILE] = Path(spend_file)
    config.stash[_METER] = meter = SpendMeter(run, cap)
    config.pluginmanager.register(meter, "aigw-spend")
    if run.live or run.resubmit:
        from ._signals import sigterm_as_interrupt

        config.stash[_UNDO_SIGTERM] = sigterm_as_interrupt()
    if hasattr(config, "workerinput"):
        return  # the controller sends, reports, gates and cleans up, once for all workers
    if run.live and run.cleanup:
        from .cleanup_plugin import LiveCleanup

        config.pluginmanager.register(LiveCleanup(run), "aigw-cleanup")
    journal = None
    if journal_dir is not None:
        from .eval_journal import Journal

        journal = Journal(journal_dir)
    command = f"pytest {_config.EVAL_RESUBMIT}"
    if run.eval_journal:
        command += f" {_config.EVAL_JOURNAL.option}={journal_dir}"
    session = EvalSession(run, journal, journal_run, command)
    config.pluginmanager.register(session, "aigw-eval-session")


def _journal_place(config: pytest.Config, run: _config.RunConfig) -> tuple[Path | None, str]:
    """The journal directory (None where there is none to use) and this run's name in it."""
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None and worker_input.get(_WORKER_JOURNAL_RUN):
        given = worker_input.get(_WORKER_JOURNAL_DIR)
        return (Path(given) if given else None), str(worker_input[_WORKER_JOURNAL_RUN])
    if not (run.live or run.resubmit):
        return None, ""
    from .ids import new_log_id

    run_name = new_log_id()  # sorts by time, so the journal's files do too
    if run.eval_journal:
        return Path(run.eval_journal).absolute(), run_name
    cache = getattr(config, "cache", None)
    if cache is None:
        if run.resubmit:
            raise pytest.UsageError(
                f"pytest-aigw: {_config.EVAL_RESUBMIT} reads the journal in pytest's cache"
                " directory, and the cache is off (-p no:cacheprovider): give"
                f" {_config.EVAL_JOURNAL.option}=DIR."
            )
        return None, run_name
    return cache.mkdir(_config.JOURNAL_DIR), run_name


def pytest_unconfigure(config: pytest.Config) -> None:
    judge = config.stash.get(_JUDGE, None)
    if judge is not None:
        judge.close()
    if _METER in config.stash:
        config.stash[_METER].close()
    if _OWN_SPEND_FILE in config.stash:
        config.stash[_OWN_SPEND_FILE].unlink(missing_ok=True)
    config.stash.get(_UNDO_SIGTERM, lambda: None)()
    # A run inside another (pytester, in process) gives the outer one its names back.
    if _REDACTED_BEFORE in config.stash:
        redaction.restore_extra_names(config.stash[_REDACTED_BEFORE])


def _usage_error(config: pytest.Config, message: str) -> NoReturn:
    """Stop the run with a usage line, as pytest does for a bad command-line value.

    The same ``pytest: error:`` line whether the value came from the command line,
    the environment or the ini file; the message names which.
    """
    parser = getattr(getattr(config, "_parser", None), "optparser", None)
    if parser is not None:  # pytest's own parser: its usage line, its program name
        parser.error(message)
    raise pytest.UsageError(f"pytest: error: {message}")


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
    """pytest-xdist hook: hand the controller's run id and journal to every worker."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        run = node.config.stash.get(_RUN, None)
        if run is not None and run.run_id is not None:
            node.workerinput[_WORKER_RUN_ID] = run.run_id
        judge = node.config.stash.get(_JUDGE, None)
        if judge is not None and judge.writer is not None:
            node.workerinput[_WORKER_JOURNAL_RUN] = judge.writer.run
            node.workerinput[_WORKER_JOURNAL_DIR] = str(judge.writer.path.parent)
        if _OWN_SPEND_FILE in node.config.stash:
            node.workerinput[_WORKER_SPEND_FILE] = str(node.config.stash[_OWN_SPEND_FILE])


def pytest_report_header(config: pytest.Config) -> str:
    run = _run(config)
    if run.resubmit:
        return "aigw: sending the eval verdicts left in the journal (no tests run)"
    if run.live:
        return f"aigw: {run.header()}"
    fake = settings.resolve(_ini_settings(config))
    return f"aigw: mode={run.mode}, account={fake['account_id']}, gateway={fake['gateway_id']}"


@pytest.hookimpl(trylast=True)  # the trial id comes after the test's own parameters
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    eval_trials.parametrize(metafunc)


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.get_closest_marker(_config.EVAL_MARKER) is not None:
        item.user_properties.append((_config.EVAL_MARKER, True))  # travels with every report
        trial = eval_trials.trial_property(item)
        if trial is not None:
            item.user_properties.append((eval_trials.TRIAL_PROPERTY, trial))


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
            _show_calls(report, gateway, _run(item.config).show_calls)
    return report


def _explain_failure(report: pytest.TestReport, gateway: Gateway) -> None:
    """Show what the gateway saw go wrong next to a failed test (teardown checks are skipped)."""
    found = gateway.findings()
    if found:
        lines = "\n".join(f"{n}. {text}" for n, text in enumerate(found, start=1))
        report.sections.append(("pytest-aigw: what the AI Gateway fake saw", lines))


def _show_calls(report: pytest.TestReport, gateway: Gateway, limit: int) -> None:
    """List the calls a failed test made: what was asked, what came back (redacted, folded)."""
    if limit:
        from .exchanges import TITLE, section

        report.sections.append((TITLE, section(gateway, limit)))


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
    its requests go to the real gateway, tagged ``test: true``; with
    ``--aigw-mode=replay``, a `ReplayGateway` answering them from the test's cassette.
    """
    run = _run(request.config)
    gateway: Gateway
    live_test = request.node.get_closest_marker("aigw_live") is not None
    if run.live and live_test:
        gateway = live = _fail_on(AigwError, _live_gateway, run)
        recorder = request.config.stash.get(RECORDER, None)
        if recorder is not None:
            recorder.watch(request.node, live)
    elif run.replay and live_test:
        gateway = _fail_on(AigwError, _replay_gateway, request, run)
    else:
        from .mock import MockGateway

        gateway = _fail_on(AigwError, _build_gateway, request, MockGateway)
    yield from _run_for_test(request, gateway)


def _live_gateway(run: _config.RunConfig) -> LiveGateway:
    from .live import LiveGateway

    return LiveGateway(
        **run.client_args(),
        gateway_token=run.gateway_token,
        gateway_base_url=run.gateway_base_url,
        api_base_url=run.api_base_url,
        tags=run.live_tags(),
    )


def _replay_gateway(request: pytest.FixtureRequest, run: _config.RunConfig) -> ReplayGateway:
    from .replay_gateway import replay_for

    options = _config.resolve_options(request.node, _ini_settings(request.config))
    return replay_for(request.node, request.config.stash[_REPLAY], run.live_tags(), options)


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
        request.config.stash[_METER].measure(request.node, gateway)
        if request.node.get_closest_marker(_config.EVAL_MARKER) is not None:
            _judge(request.node, gateway)
    finally:
        gateway.stop()
    if gateway.strict and _test_passed(request.node):
        _fail_on(GatewayCheckError, gateway.check)


def _judge(item: pytest.Item, gateway: Gateway) -> None:
    """Decide the eval test's verdicts; the fake takes them now, live ones go at the end."""
    item.config.stash[_JUDGE].judge(item, gateway, item.stash.get(_CALL_REPORT, None))
    from .evals import EXCHANGES_PROPERTY
    from .exchanges import exchanges

    # The summaries travel with the report: it is written where the reports meet (xdist).
    item.user_properties.append((EXCHANGES_PROPERTY, exchanges(gateway)))


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
