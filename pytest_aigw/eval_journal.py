"""The eval verdict journal: live verdicts on disk before any network call, sent once.

The journal is a directory (by default ``aigw-eval-journal`` in pytest's cache
directory). Each process that judges live eval tests (the run itself, or each xdist
worker) appends to a file of its own, ``{run}-{worker}.jsonl``: one JSON object a line,
written with one ``write`` and flushed to disk before the test's teardown goes on. A
process holds an exclusive lock (``flock``) on its file while it runs, so a file whose
lock can be taken belongs to a run that has ended, finished or died.

A verdict counts as sent only once the Logs API shows it: its log id is then appended
to ``done.jsonl``. Whatever is journaled and not done is left to send, by the next live
run or by ``pytest --aigw-eval-resubmit``; those take ``submit.lock`` first, so two of
them never send the same leftovers. Files whose verdicts are all done are deleted (the
done file last), so the journal stays small.

On systems without ``fcntl`` (Windows) there are no locks: a run then counts another
run's files that are still being written as leftovers too. Sending checks the Logs API
first, so a verdict that already shows is marked done without a second PATCH.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Entry", "Journal", "JournalWriter"]

DONE_FILE = "done.jsonl"
LOCK_FILE = "submit.lock"


@dataclass(frozen=True)
class Entry:
    """One log's verdict as the journal keeps it, with where to send it."""

    log_id: str
    feedback: float | None
    score: float | None
    nodeid: str
    run: str
    account_id: str
    gateway_id: str
    api_base_url: str
    metadata: dict[str, Any] | None = None  # the log's metadata with its named scores

    @property
    def target(self) -> tuple[str, str, str]:
        """(account_id, gateway_id, api_base_url): the Logs API the verdict goes to."""
        return self.account_id, self.gateway_id, self.api_base_url


def _lock(handle: IO[Any], wait: bool = False) -> bool:
    """Take *handle*'s exclusive lock; False if another process holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _append(handle: IO[str], records: Iterable[dict[str, Any]]) -> None:
    """Append *records* in one write, then make sure they are on disk."""
    text = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
    if text:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _read(path: Path) -> list[dict[str, Any]]:
    """The records of one file; a torn last line (a process killed mid-write) is skipped."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _entry(record: dict[str, Any]) -> Entry | None:
    try:
        return Entry(**record)
    except TypeError:
        return None  # not a verdict this version wrote


class JournalWriter:
    """One process's journal file; opened (and locked) with the first verdict."""

    def __init__(self, directory: Path, run: str, worker: str) -> None:
        self.run = run
        self.path = directory / f"{run}-{worker}.jsonl"
        self._handle: IO[str] | None = None

    def write(self, entries: Iterable[Entry]) -> None:
        """Append *entries*: on disk when this returns."""
        records = [asdict(entry) for entry in entries]
        if not records:
            return
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
            _lock(self._handle, wait=True)
        _append(self._handle, records)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()  # releases the lock
            self._handle = None


class Journal:
    """The journal directory as the sender sees it: what is left, what is done."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __str__(self) -> str:
        return str(self.directory)

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.jsonl") if p.name != DONE_FILE)

    def _done(self) -> set[str]:
        return {
            str(record["done"]) for record in _read(self.directory / DONE_FILE) if "done" in record
        }

    @contextlib.contextmanager
    def sending(self) -> Iterator[bool]:
        """Hold the sender's lock while inside; yields False if another run holds it."""
        if not self.directory.is_dir():
            yield True
            return
        with (self.directory / LOCK_FILE).open("a", encoding="utf-8") as handle:
            yield _lock(handle)

    def leftovers(self, skip_run: str | None = None) -> list[Entry]:
        """Verdicts not done in files no running process holds (*skip_run*'s excluded)."""
        done = self._done()
        left: dict[str, Entry] = {}
        for path in self._files():
            if skip_run is not None and path.name.startswith(f"{skip_run}-"):
                continue
            if not self._unheld(path):
                continue
            for entry in filter(None, map(_entry, _read(path))):
                if entry.log_id not in done:
                    left[entry.log_id] = entry
        return list(left.values())

    def mark_done(self, log_ids: Iterable[str]) -> None:
        """Record *log_ids* as shown by the Logs API: never sent again."""
        records = [{"done": log_id} for log_id in log_ids]
        if not records:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / DONE_FILE).open("a", encoding="utf-8") as handle:
            _append(handle, records)

    def compact(self) -> None:
        """Delete files no running process holds whose verdicts are all done.

        Call it holding `sending`. The done file goes last, once no verdict file is
        left: a run killed midway leaves done marks for files already deleted, which
        is harmless (log ids are never reused), never a verdict without its mark.
        """
        done = self._done()
        for path in self._files():
            entries = filter(None, map(_entry, _read(path)))
            if all(entry.log_id in done for entry in entries) and self._unheld(path):
                path.unlink(missing_ok=True)
        if not self._files():
            (self.directory / DONE_FILE).unlink(missing_ok=True)

    @staticmethod
    def _unheld(path: Path) -> bool:
        """True when no process holds *path*'s lock (the run that wrote it has ended)."""
        try:
            with path.open("a", encoding="utf-8") as handle:
                return _lock(handle)
        except OSError:
            return False
