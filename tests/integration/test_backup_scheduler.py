"""The backup scheduler over real stores: each due moment's backup starts once across
replicas (schedulers with connections of their own), on schedule, never for a bdb
without a complete schedule, and a refused start is skipped, not retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bdbexport.adapters.memory import InMemoryBdbRepository, ManualClock
from bdbexport.adapters.memory.claims import InMemoryClaims
from bdbexport.adapters.scheduling import BackupScheduler
from bdbexport.composition.claims import open_claims
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import BusyError
from bdbexport.domain.locations import MountPointLocation
from bdbexport.domain.ports import Claims

START = datetime(2026, 11, 29, 3, 0, 0, tzinfo=UTC)


def scheduled(uid: int, interval: int = 60, offset: int = 0, *, backup: bool = True) -> Bdb:
    return Bdb(
        uid=uid,
        name=f"db{uid}",
        backup=backup,
        backup_interval=interval,
        backup_interval_offset=offset,
        backup_location=MountPointLocation(path="/backups"),
    )


def repository(*bdbs: Bdb) -> InMemoryBdbRepository:
    repo = InMemoryBdbRepository()
    for bdb in bdbs:
        repo.add(bdb)
    return repo


class Starts:
    """The `start_backup` callable: records what it was asked to start."""

    def __init__(self, refuse: Callable[[int], bool] = lambda uid: False) -> None:
        self.uids: list[int] = []
        self._refuse = refuse
        self._lock = threading.Lock()

    def __call__(self, uid: int) -> None:
        if self._refuse(uid):
            raise BusyError(uid, "an-export")
        with self._lock:
            self.uids.append(uid)


def test_a_due_backup_starts_once_per_moment() -> None:
    clock = ManualClock(START + timedelta(seconds=1))
    starts = Starts()
    scheduler = BackupScheduler(
        repository(scheduled(1)), InMemoryClaims(clock), starts, holder="a", clock=clock
    )
    assert scheduler.run_due() == [1]
    assert scheduler.run_due() == []
    clock.advance(timedelta(seconds=58))
    assert scheduler.run_due() == []
    clock.advance(timedelta(seconds=1))
    assert scheduler.run_due() == [1]
    assert starts.uids == [1, 1]


def test_the_offset_moves_the_due_moment() -> None:
    clock = ManualClock(START)
    starts = Starts()
    scheduler = BackupScheduler(
        repository(scheduled(1, interval=3600, offset=900)),
        InMemoryClaims(clock),
        starts,
        holder="a",
        clock=clock,
    )
    scheduler.run_due()  # the moment due at 02:15 (still the latest): taken late, once
    assert starts.uids == [1]
    clock.advance(timedelta(minutes=14, seconds=59))
    assert scheduler.run_due() == []
    clock.advance(timedelta(seconds=1))  # 03:15
    assert scheduler.run_due() == [1]


def test_bdbs_without_a_complete_schedule_are_left_alone() -> None:
    clock = ManualClock(START)
    incomplete = [
        scheduled(1, backup=False),
        scheduled(2).model_copy(update={"backup_interval": None}),
        scheduled(3).model_copy(update={"backup_location": None}),
    ]
    starts = Starts()
    scheduler = BackupScheduler(
        repository(*incomplete), InMemoryClaims(clock), starts, holder="a", clock=clock
    )
    assert scheduler.run_due() == []
    assert starts.uids == []


def test_a_refused_start_skips_that_moment() -> None:
    clock = ManualClock(START)
    busy = {1}
    starts = Starts(refuse=lambda uid: uid in busy)
    scheduler = BackupScheduler(
        repository(scheduled(1), scheduled(2)),
        InMemoryClaims(clock),
        starts,
        holder="a",
        clock=clock,
    )
    assert scheduler.run_due() == [2]
    busy.clear()
    assert scheduler.run_due() == []  # not retried within the same moment
    clock.advance(timedelta(minutes=1))
    assert sorted(scheduler.run_due()) == [1, 2]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def replica_claims(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Claims]]:
    """Three replicas' claims on one store, each with a connection of its own."""
    clock = ManualClock(START)
    if request.param == "memory":
        shared = InMemoryClaims(clock)
        yield [shared, shared, shared]
        return
    url = (
        f"sqlite://{tmp_path / 'store.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("redis_url")
    )
    opened = [open_claims(url, clock) for _ in range(3)]
    yield [claims for claims, _ in opened]
    for _, close in opened:
        close()


def test_replicas_on_one_store_start_each_moment_exactly_once(
    replica_claims: list[Claims],
) -> None:
    bdbs = repository(scheduled(1, interval=10), scheduled(2, interval=30, offset=5))
    clock = ManualClock(START)
    starts = Starts()
    replicas = [
        BackupScheduler(bdbs, claims, starts, holder=f"replica-{i}", clock=clock)
        for i, claims in enumerate(replica_claims)
    ]
    for _ in range(60):  # ten minutes, a look every ten seconds, replicas racing
        threads = [threading.Thread(target=replica.run_due) for replica in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        clock.advance(timedelta(seconds=10))
    assert starts.uids.count(1) == 60  # 03:00:00, 03:00:10, ... 03:09:50
    assert starts.uids.count(2) == 21  # 02:59:35 (still the latest at 03:00), 03:00:05, ...


def test_the_background_thread_starts_backups_as_they_fall_due() -> None:
    clock = ManualClock(START + timedelta(seconds=1))
    starts = Starts()
    scheduler = BackupScheduler(
        repository(scheduled(1)), InMemoryClaims(clock), starts, holder="a", clock=clock, tick=0.01
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while len(starts.uids) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        clock.advance(timedelta(minutes=1))
        while len(starts.uids) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        scheduler.stop()
    assert starts.uids == [1, 1]


def test_a_tick_must_be_positive() -> None:
    clock = ManualClock(START)
    with pytest.raises(ValueError, match="tick"):
        BackupScheduler(
            repository(), InMemoryClaims(clock), Starts(), holder="a", clock=clock, tick=0
        )


def test_the_scheduler_wakes_at_the_next_due_moment_within_its_tick() -> None:
    clock = ManualClock(START + timedelta(seconds=59, milliseconds=800))
    scheduler = BackupScheduler(
        repository(scheduled(1)), InMemoryClaims(clock), Starts(), holder="a", clock=clock, tick=0.5
    )
    assert scheduler.pause() == 0.5  # nothing known yet
    scheduler.run_due()
    assert scheduler.pause() == pytest.approx(0.205)  # 03:01:00 and 5 ms
    clock.advance(timedelta(seconds=1))
    assert scheduler.pause() == 0.0  # overdue: look now
    clock.advance(timedelta(seconds=10))
    scheduler.run_due()
    assert scheduler.pause() == 0.5  # the next moment is farther than a tick


def unschedulable(uid: int, **settings: int) -> Bdb:
    """A record with settings out of range, as a store written before they were
    validated may hold one (`model_copy` skips the validation, as such a store did)."""
    return scheduled(uid).model_copy(update=settings)


@pytest.mark.parametrize(
    "settings",
    [
        {"backup_interval": 99999999999999999999999},
        {"backup_interval": 10_000_000_000_000},
        {"backup_interval_offset": 99999999999999999999999},
    ],
)
def test_one_unschedulable_bdb_is_skipped_and_logged_once_the_others_run(
    settings: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(START + timedelta(seconds=1))
    starts = Starts()
    scheduler = BackupScheduler(
        repository(unschedulable(1, **settings), scheduled(2)),
        InMemoryClaims(clock),
        starts,
        holder="a",
        clock=clock,
    )
    with caplog.at_level("INFO", logger="bdbexport.backups"):
        for _ in range(5):
            scheduler.run_due()
            clock.advance(timedelta(seconds=30))
    assert starts.uids == [2, 2, 2]
    skipped = [r for r in caplog.records if "bdb 1 skipped" in r.getMessage()]
    assert len(skipped) == 1, caplog.text
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if "pass failed" in r.getMessage()]


def test_a_pass_failing_the_same_way_is_logged_once_until_one_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock(START)

    class Unreadable(InMemoryBdbRepository):
        """A store holding a record that no longer validates: every listing fails."""

        broken = True

        def scheduled(self) -> Iterator[Bdb]:
            if self.broken:
                raise RuntimeError("a record cannot be read")
            return super().scheduled()

    bdbs = Unreadable()
    bdbs.add(scheduled(1))
    starts = Starts()
    scheduler = BackupScheduler(
        bdbs, InMemoryClaims(clock), starts, holder="a", clock=clock, tick=0.01
    )

    def failures() -> int:
        return len([r for r in caplog.records if "pass failed" in r.getMessage()])

    with caplog.at_level("INFO", logger="bdbexport.backups"):
        scheduler.start()
        try:
            time.sleep(0.5)  # some fifty ticks, every one failing
            assert failures() == 1, caplog.text
            bdbs.broken = False
            deadline = time.monotonic() + 10
            while not starts.uids:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            bdbs.broken = True
            while failures() < 2:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(0.3)
        finally:
            scheduler.stop()
    assert failures() == 2, caplog.text


class CountingRepository(InMemoryBdbRepository):
    """Counts the listings, and makes each cost `cost` seconds (a big store)."""

    def __init__(self, cost: float) -> None:
        super().__init__()
        self.listings = 0
        self._cost = cost

    def scheduled(self) -> Iterator[Bdb]:
        self.listings += 1
        time.sleep(self._cost)
        return super().scheduled()


def test_the_loop_lists_the_bdbs_in_proportion_to_what_a_listing_costs() -> None:
    clock = ManualClock(START + timedelta(seconds=1))
    bdbs = CountingRepository(cost=0.02)  # a listing of 20 ms: again after ~0.4 s
    bdbs.add(scheduled(1))
    starts = Starts()
    scheduler = BackupScheduler(bdbs, InMemoryClaims(clock), starts, holder="a", clock=clock)
    scheduler.run_pass()
    assert (bdbs.listings, starts.uids) == (1, [1])
    clock.advance(timedelta(seconds=60))  # the next moment falls due
    scheduler.run_pass()  # from the schedules already listed: no listing
    assert (bdbs.listings, starts.uids) == (1, [1, 1])
    bdbs.add(scheduled(2))
    deadline = time.monotonic() + 5
    while 2 not in starts.uids:  # seen at the next listing, a bounded while later
        assert time.monotonic() < deadline
        scheduler.run_pass()
        time.sleep(0.01)
    assert 2 <= bdbs.listings <= 3
