"""The export worker outlives a store blip: retryable refusals are retried, final ones not.

The store is the real in-memory repository behind a thin layer that refuses the next N
saves as an unavailable store would (a fault injector, not a mock: every save that goes
through is the repository's own compare-and-set).
"""

from __future__ import annotations

import threading
import time

from bdbexport.adapters.exporting import ActionRunner, SimulatedExporter
from bdbexport.adapters.memory import InMemoryBdbRepository, InMemoryEventLog
from bdbexport.composition import build_service
from bdbexport.domain import Bdb, MountPointLocation, Principal, StoreUnavailableError

ADMIN = Principal("admin@example.com", "admin")
LOCATION = MountPointLocation(path="/backups")


class FlakyBdbs(InMemoryBdbRepository):
    """Refuses the next `failures` saves with `StoreUnavailableError`."""

    def __init__(self, bdbs: list[Bdb]) -> None:
        super().__init__(bdbs)
        self.failures = 0
        self.refused = 0
        self._guard = threading.Lock()

    def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        with self._guard:
            if self.failures > 0:
                self.failures -= 1
                self.refused += 1
                raise StoreUnavailableError("injected blip")
        return super().save(bdb, expected_revision=expected_revision)


def run_export(bdbs: FlakyBdbs, *, blips: int, retry_budget: float) -> Bdb:
    service = build_service(bdbs=bdbs, events=InMemoryEventLog())
    started = service.start_export(ADMIN, 1, LOCATION)
    bdbs.failures = blips
    pool = ActionRunner(
        service,
        SimulatedExporter(duration=0.2, steps=4),
        max_concurrent=1,
        retry_budget=retry_budget,
    )
    pool.submit(started, LOCATION)
    deadline = time.monotonic() + 20
    while pool.running():
        assert time.monotonic() < deadline, "the export never ended"
        time.sleep(0.02)
    pool.shutdown(grace=0)
    final = bdbs.get(1)
    assert final is not None
    return final


def test_an_export_survives_a_short_store_outage() -> None:
    bdbs = FlakyBdbs([Bdb(uid=1, name="db")])
    final = run_export(bdbs, blips=5, retry_budget=10.0)
    assert bdbs.refused == 5
    assert final.export_status == "succeeded"
    assert final.export_progress == 100


def test_an_outage_longer_than_the_budget_leaves_the_export_to_its_lease() -> None:
    bdbs = FlakyBdbs([Bdb(uid=1, name="db")])
    final = run_export(bdbs, blips=10_000, retry_budget=0.3)
    assert final.export_status == "exporting"  # nothing could be recorded
    assert final.action_lease_expires is not None  # the lease will fail it
