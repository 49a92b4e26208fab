"""Log ids: lowercase UUIDv7s by default, ULIDs on request; well formed, time-ordered and
unique across threads, asyncio tasks and processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from itertools import pairwise
from uuid import RFC_4122, UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_aigw import ConfigError, ids
from pytest_aigw.ids import (
    UlidFactory,
    Uuid7Factory,
    check_id_format,
    id_factory,
    is_log_id,
    is_ulid,
    is_uuid7,
    new_id,
    new_log_id,
    new_ulid,
    new_uuid7,
)

MAX_MS = (1 << 48) - 1


def increasing(issued: list[str]) -> bool:
    return all(a < b for a, b in pairwise(issued))


def time_of(uuid7: str) -> int:
    return UUID(uuid7).int >> 80


def counter_of(uuid7: str) -> int:
    return (UUID(uuid7).int >> 64) & 0xFFF


# --- UUIDv7 -----------------------------------------------------------------------------


@given(st.integers(0, MAX_MS))
def test_a_uuid7_carries_version_variant_and_the_clocks_millisecond(ms: int) -> None:
    uuid7 = Uuid7Factory(clock_ms=lambda: ms)()
    parsed = UUID(uuid7)
    assert parsed.version == 7
    assert parsed.variant == RFC_4122
    assert time_of(uuid7) == ms
    assert str(parsed) == uuid7  # canonical 8-4-4-4-12 text, lowercase
    assert uuid7 == uuid7.lower()
    assert is_uuid7(uuid7)
    assert is_log_id(uuid7)
    assert not is_ulid(uuid7)


@given(st.lists(st.integers(0, 3), min_size=2, max_size=50))
def test_uuid7s_strictly_increase_as_the_clock_ticks_or_stands_still(steps: list[int]) -> None:
    ticks = iter(1_700_000_000_000 + sum(steps[:n]) for n in range(len(steps)))
    factory = Uuid7Factory(clock_ms=lambda: next(ticks))
    issued = [factory() for _ in steps]
    assert increasing(issued)


def test_many_uuid7s_within_one_millisecond_keep_increasing() -> None:
    factory = Uuid7Factory(clock_ms=lambda: 5)
    issued = [factory() for _ in range(10_000)]
    assert increasing(issued)
    assert all(UUID(i).version == 7 for i in issued)
    # At least 2048 ids per millisecond: the counter starts with its top bit clear.
    assert time_of(issued[2047]) == 5
    assert time_of(issued[-1]) > 5  # ran out of counter: borrowed later milliseconds


def test_a_uuid7_counter_that_runs_out_moves_to_the_next_millisecond() -> None:
    factory = Uuid7Factory(clock_ms=lambda: 5)
    first = factory()
    assert counter_of(first) < 2048  # seeded with 11 random bits
    factory._counter = 0xFFF
    following = factory()
    assert following > first
    assert time_of(following) == 6
    assert factory() > following  # the clock still says 5: stays on the borrowed one


def test_a_clock_that_goes_back_does_not_make_uuid7s_go_back() -> None:
    ticks = iter([100, 50, 100])
    factory = Uuid7Factory(clock_ms=lambda: next(ticks))
    issued = [factory() for _ in range(3)]
    assert issued == sorted(issued)
    assert {time_of(i) for i in issued} == {100}


def test_uuid7s_from_the_real_clock_keep_increasing() -> None:
    issued = [new_uuid7() for _ in range(20_000)]
    assert increasing(issued)


def test_uuid7s_from_eight_threads_are_unique_and_ordered_per_thread() -> None:
    batches: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def take(batch: list[str]) -> None:
        start.wait()
        batch.extend(new_uuid7() for _ in range(2000))

    threads = [threading.Thread(target=take, args=(batch,)) for batch in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued = [i for batch in batches for i in batch]
    assert len(set(issued)) == 16_000
    assert all(batch == sorted(batch) for batch in batches)


def test_uuid7s_from_asyncio_tasks_are_unique() -> None:
    async def take() -> list[str]:
        taken = []
        for _ in range(200):
            taken.append(new_uuid7())
            await asyncio.sleep(0)
        return taken

    async def main() -> list[list[str]]:
        return await asyncio.gather(*(take() for _ in range(10)))

    issued = [i for batch in asyncio.run(main()) for i in batch]
    assert len(set(issued)) == 2000


ISSUE = (
    "from pytest_aigw.ids import new_ulid, new_uuid7;"
    " print(*(new_uuid7() for _ in range(2000)), *(new_ulid() for _ in range(2000)))"
)


def test_ids_from_four_processes_are_unique() -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", ISSUE], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    issued = [i for p in processes for i in p.communicate(timeout=60)[0].split()]
    assert all(p.returncode == 0 for p in processes)
    uuid7s, ulids = [i for i in issued if is_uuid7(i)], [i for i in issued if is_ulid(i)]
    assert (len(uuid7s), len(ulids)) == (8000, 8000)
    assert len(set(uuid7s)) == len(set(ulids)) == 8000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("factory", [new_uuid7, new_ulid], ids=["uuid7", "ulid"])
def test_a_forked_child_does_not_continue_its_parents_sequence(
    monkeypatch: pytest.MonkeyPatch, factory: Uuid7Factory | UlidFactory
) -> None:
    monkeypatch.setattr(factory, "_clock_ms", lambda: 42)
    factory()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, f"{factory._last_ms} {factory()}".encode())
        os._exit(0)
    os.waitpid(pid, 0)
    forgotten, child_id = os.read(read, 64).decode().split()
    os.close(read)
    os.close(write)
    assert forgotten == "-1"  # the child starts a fresh sequence with fresh randomness
    assert child_id != factory()


@pytest.mark.parametrize(
    "value",
    [
        "",
        7,
        "019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e07".upper(),  # the gateway writes lowercase
        "019a7b3e-5f2c-4c41-9d3e-2b8f6a1c4e07",  # version 4
        "019a7b3e-5f2c-7c41-cd3e-2b8f6a1c4e07",  # another variant
        "019a7b3e5f2c7c419d3e2b8f6a1c4e07",  # no dashes
        "{019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e07}",
    ],
)
def test_is_uuid7_refuses_what_the_gateway_would_not_issue(value: object) -> None:
    assert not is_uuid7(value)
    assert not is_log_id(value)


def test_the_changelogs_example_is_a_uuid7() -> None:
    assert is_uuid7("019a7b3e-5f2c-7c41-9d3e-2b8f6a1c4e07")


# --- ULID -------------------------------------------------------------------------------


def test_ulids_are_26_crockford_base32_characters_starting_with_the_time() -> None:
    factory = UlidFactory(clock_ms=lambda: 1_700_000_000_000)
    log_id = factory()
    assert is_ulid(log_id)
    assert is_log_id(log_id)
    assert not is_uuid7(log_id)
    assert len(log_id) == 26
    assert log_id.startswith("01HF7YAT00")  # 1_700_000_000_000 ms in Crockford base32


def test_ulids_within_one_millisecond_keep_increasing() -> None:
    factory = UlidFactory(clock_ms=lambda: 5)
    issued = [factory() for _ in range(1000)]
    assert issued == sorted(issued)
    assert len(set(issued)) == 1000


def test_running_out_of_randomness_in_a_millisecond_moves_to_the_next() -> None:
    factory = UlidFactory(clock_ms=lambda: 5)
    first = factory()
    factory._counter = (1 << 80) - 1
    following = factory()
    assert following > first
    assert following[:10] == UlidFactory(clock_ms=lambda: 6)()[:10]


def test_ulids_from_many_threads_are_unique() -> None:
    issued: list[str] = []

    def take() -> None:
        issued.extend(new_ulid() for _ in range(500))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(issued)) == 4000


@pytest.mark.parametrize(
    "value", ["", "01HF7YAT00", "81HF7YAT00ABCDEFGHJKMNPQRS", "01hf7yat00abcdefghjkmnpqrs", 7]
)
def test_is_ulid_refuses_what_is_not_a_ulid(value: object) -> None:
    assert not is_ulid(value)
    assert not is_log_id(value)


# --- formats ----------------------------------------------------------------------------


def test_new_log_id_and_new_id_default_to_the_gateways_uuid7() -> None:
    assert is_uuid7(new_log_id())
    assert is_uuid7(new_id())
    assert is_ulid(new_id("ulid"))
    assert id_factory("uuid7") is new_uuid7
    assert id_factory("ulid") is new_ulid
    assert ids.ID_FORMATS == ("uuid7", "ulid")


@pytest.mark.parametrize("value", ["UUID7", "uuid4", "", None, 7])
def test_an_unknown_id_format_names_the_allowed_ones(value: object) -> None:
    message = (
        "id_format must be 'uuid7' or 'ulid' (the gateway issues 'uuid7' since 2026-10-08;"
        f" 'ulid' for older accounts' logs), got {value!r}"
    )
    with pytest.raises(ConfigError) as raised:
        check_id_format(value)
    assert str(raised.value) == message
    with pytest.raises(ConfigError):
        new_id(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("factory", [Uuid7Factory, UlidFactory])
def test_reseed_forgets_the_sequence(factory: type[Uuid7Factory | UlidFactory]) -> None:
    issue = factory(clock_ms=lambda: 5)
    first = issue()
    issue.reseed()
    assert issue._last_ms == -1  # what a forked child does first
    assert issue() != first
    assert issue._last_ms == 5
