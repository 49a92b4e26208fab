"""Sending a live run's verdicts, and those the journal holds, to the Logs API.

Each verdict goes to the gateway it was judged on (the journal records the account,
the gateway and the API base URL), with the run's API token; the clients share the
run's `Deadline` as their sleep, so a long Retry-After or a slow API never keeps the
run past it. Verdicts the Logs API shows are marked done in the journal; the rest stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._config import RunConfig
from .client import Log, LogPage, LogsClient
from .eval_journal import Entry, Journal
from .evals import Deadline, LogVerdict, submit

__all__ = ["Sending", "send"]

Target = tuple[str, str, str]  # account_id, gateway_id, api_base_url


@dataclass
class Sending:
    """What one end-of-run submission sends: the run's own verdicts and leftovers."""

    own: list[LogVerdict] = field(default_factory=list)
    leftovers: list[LogVerdict] = field(default_factory=list)
    interrupted: bool = False
    seen: dict[str, Log] = field(default_factory=dict)  # every log the calls listed

    def unsent(self) -> list[LogVerdict]:
        return [v for v in (*self.own, *self.leftovers) if not v.verified]


def send(
    run: RunConfig,
    own: Sequence[LogVerdict],
    leftovers: Sequence[Entry],
    deadline: Deadline,
    journal: Journal | None,
) -> Sending:
    """Send *own* (to the run's gateway) and *leftovers*; mark what shows as done.

    A KeyboardInterrupt (a second Ctrl-C, or SIGTERM) stops the sending; the verdicts
    already shown are still marked done, and `Sending.interrupted` says so.
    """
    sending = Sending(
        list(own),
        [LogVerdict(e.log_id, e.feedback, e.score, metadata=e.metadata) for e in leftovers],
    )
    groups: dict[Target, tuple[list[LogVerdict], list[LogVerdict]]] = {}
    if sending.own:
        account_id, gateway_id, _ = run.target()
        groups[(account_id, gateway_id, run.api_base_url)] = (sending.own, [])
    for entry, verdict in zip(leftovers, sending.leftovers, strict=True):
        groups.setdefault(entry.target, ([], []))[1].append(verdict)
    try:
        for target, (fresh, stale) in groups.items():
            _send_to(run, target, fresh, stale, deadline, sending.seen)
    except KeyboardInterrupt:
        sending.interrupted = True
        stopped = "not submitted: the run was interrupted"
        for verdict in sending.unsent():
            verdict.error = verdict.error or stopped
    finally:
        if journal is not None:
            journal.mark_done(v.log_id for v in (*sending.own, *sending.leftovers) if v.verified)
    return sending


def _send_to(
    run: RunConfig,
    target: Target,
    fresh: list[LogVerdict],
    stale: list[LogVerdict],
    deadline: Deadline,
    seen: dict[str, Log],
) -> None:
    account_id, gateway_id, base_url = target
    with SeeingLogsClient(
        seen,
        account_id=account_id,
        gateway_id=gateway_id,
        api_token=run.api_token,
        base_url=base_url,
        max_retry_after=run.max_retry_after,
        sleep=deadline.sleep,
    ) as client:
        submit(client, stale, deadline=deadline, recheck=True)
        submit(client, fresh, deadline=deadline)


class SeeingLogsClient(LogsClient):
    """A Logs API client that keeps every log its list calls return, by id.

    The verification lists the run's logs anyway; their tokens and cost come with them.
    """

    def __init__(self, seen: dict[str, Log], **options: Any) -> None:
        super().__init__(**options)
        self.seen = seen

    def list(self, **options: Any) -> LogPage:
        page = super().list(**options)
        self.seen.update((log.id, log) for log in page.logs)
        return page
