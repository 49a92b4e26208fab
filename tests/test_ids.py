"""Log ids are ULIDs: well formed, time-ordered and unique across threads and processes."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest

from pytest_aigw import ids
from pytest_aigw.ids import LogIdFactory, is_log_id, new_log_id


def test_ids_are_26_crockford_base32_characters_starting_with_the_time() -> None:
    factory = LogIdFactory(clock_ms=lambda: 1_700_000_000_000)
    log_id = factory()
    assert is_log_id(log_id)
    assert len(log_id) == 26
    assert log_id.startswith("01HF7YAT00")  # 1_700_000_000_000 ms in Crockford base32


def test_ids_within_one_millisecond_keep_increasing() -> None:
    factory = LogIdFactory(clock_ms=lambda: 5)
    issued = [factory() for _ in range(1000)]
    assert issued == sorted(issued)
    assert len(set(issued)) == 1000


def test_running_out_of_randomness_in_a_millisecond_moves_to_the_next() -> None:
    factory = LogIdFactory(clock_ms=lambda: 5)
    first = factory()
    factory._last_random = (1 << 80) - 1
    following = factory()
    assert following > first
    assert following[:10] == LogIdFactory(clock_ms=lambda: 6)()[:10]


def test_ids_from_many_threads_are_unique() -> None:
    issued: list[str] = []

    def take() -> None:
        issued.extend(new_log_id() for _ in range(500))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(issued)) == 4000


def _issue(count: int) -> list[str]:
    return [new_log_id() for _ in range(count)]


def test_ids_from_several_processes_are_unique() -> None:
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        batches = pool.map(_issue, [2000, 2000, 2000])
    issued = [i for batch in batches for i in batch]
    assert len(set(issued)) == len(issued)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_continue_its_parents_sequence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids.new_log_id, "_clock_ms", lambda: 42)
    new_log_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, new_log_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read, 26).decode()
    assert child_id != new_log_id()


@pytest.mark.parametrize(
    "value", ["", "01HF7YAT00", "81HF7YAT00ABCDEFGHJKMNPQRS", "01hf7yat00abcdefghjkmnpqrs", 7]
)
def test_is_log_id_refuses_what_is_not_a_ulid(value: object) -> None:
    assert not is_log_id(value)
