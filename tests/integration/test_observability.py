"""The metrics the composition root wires: actions counted from the real event bus,
the event loop's store calls timed through the instrumented async ports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import pytest

from bdbexport.adapters.http.metrics import ServerMetrics
from bdbexport.adapters.memory import ManualClock
from bdbexport.composition import Application, bootstrap
from bdbexport.composition.observability import (
    instrument_store,
    metrics_access_for,
    readiness_probe,
    subscribe_metrics,
)
from bdbexport.composition.stores import open_store
from bdbexport.domain import Bdb, DomainError, ExportFailureReason, MountPointLocation
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.events import ActionSucceeded, LifecycleEvent
from bdbexport.entrypoints.server import ServerConfig, ServerConfigError
from tests.support.world import ADMIN

LOCATION = MountPointLocation(path="/backups")


@dataclass(slots=True, kw_only=True)
class Cancelled(LifecycleEvent):
    """Shaped as the family's cancel event: the metrics dispatch on the suffix."""

    suffix: ClassVar[str] = "Cancelled"


def wired(metrics: ServerMetrics, clock: ManualClock) -> Application:
    store = instrument_store(open_store("memory://"), metrics)
    for uid in (1, 2, 3):
        store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))
    application = bootstrap(store, clock=clock, lease_ttl=timedelta(seconds=60), with_async=True)
    subscribe_metrics(application.bus, metrics, workers_busy=application.pool.running)
    return application


def value(metrics: ServerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_starts_and_ends_of_actions_are_counted_by_kind_and_reason() -> None:
    metrics, clock = ServerMetrics(), ManualClock()
    application = wired(metrics, clock)
    service = application.service
    succeeded = service.start_export(ADMIN, 1, LOCATION).action_uid
    failed = service.start_export(ADMIN, 2, LOCATION).action_uid
    service.start_export(ADMIN, 3, LOCATION)
    assert succeeded is not None
    assert failed is not None
    assert value(metrics, "bdbexport_actions_running", kind="export") == 3
    service.record_export_success(1, succeeded)
    service.record_export_failure(2, failed, ExportFailureReason.NO_PERMISSION, "denied")
    clock.advance(timedelta(seconds=61))
    service.get_bdb(ADMIN, 3)  # the read that finds the lapsed lease and fails it
    assert value(metrics, "bdbexport_actions_started_total", kind="export") == 3
    assert value(metrics, "bdbexport_actions_succeeded_total", kind="export") == 1
    assert (
        value(metrics, "bdbexport_actions_failed_total", kind="export", reason="no-permission") == 1
    )
    assert (
        value(metrics, "bdbexport_actions_failed_total", kind="export", reason="general-error") == 1
    )
    assert value(metrics, "bdbexport_lease_expiries_total", kind="export") == 1
    assert value(metrics, "bdbexport_actions_running", kind="export") == 0
    application.close()


def test_an_action_ended_by_another_replica_leaves_the_gauge_when_its_worker_is_refused() -> None:
    metrics, clock = ServerMetrics(), ManualClock()
    here = wired(metrics, clock)
    action = here.service.start_export(ADMIN, 1, LOCATION).action_uid
    assert action is not None
    # Another replica on the same store (its events on its own bus) finds the lease
    # lapsed and fails the export; this replica's metrics see nothing of it...
    elsewhere = bootstrap(here.store, clock=clock, lease_ttl=timedelta(seconds=60))
    clock.advance(timedelta(seconds=61))
    elsewhere.service.get_bdb(ADMIN, 1)
    assert value(metrics, "bdbexport_actions_running", kind="export") == 1
    # ...until this replica's worker reports progress and is told its action is over.
    with pytest.raises(DomainError):
        here.service.record_export_progress(1, action, 50)
    assert value(metrics, "bdbexport_actions_running", kind="export") == 0
    assert value(metrics, "bdbexport_lease_expiries_total", kind="export") == 0  # not here
    here.close()


def test_a_scrape_forgets_running_actions_when_no_worker_here_holds_any() -> None:
    metrics, clock = ServerMetrics(), ManualClock()
    application = wired(metrics, clock)
    application.service.start_export(ADMIN, 1, LOCATION)  # started, never handed to a worker
    assert value(metrics, "bdbexport_actions_running", kind="export") == 1
    metrics.refresh()
    assert application.pool.running() == 0
    assert value(metrics, "bdbexport_actions_running", kind="export") == 0
    application.close()


def test_cancellations_sizes_and_lockouts_are_counted() -> None:
    metrics = ServerMetrics()
    clock = ManualClock()
    started = wired(metrics, clock).service.start_export(ADMIN, 1, LOCATION)
    assert started.action_uid is not None
    metrics.observe_event(
        Cancelled(
            actor=ADMIN.name,
            uid=1,
            at=clock.now(),
            kind=ActionKind.EXPORT,
            action_uid=started.action_uid,
        )
    )
    done = ActionSucceeded(actor="export-worker", uid=2, at=clock.now(), kind=ActionKind.IMPORT)
    metrics.observe_event(done)
    metrics.record_lockout("address")
    metrics.record_lockout("anything-else")
    assert value(metrics, "bdbexport_actions_cancelled_total", kind="export") == 1
    assert value(metrics, "bdbexport_actions_running", kind="export") == 0
    assert value(metrics, "bdbexport_actions_succeeded_total", kind="import") == 1
    assert value(metrics, "bdbexport_login_lockouts_total", subject="address") == 1
    assert value(metrics, "bdbexport_login_lockouts_total", subject="user") == 1


@pytest.mark.anyio
async def test_the_event_loops_store_calls_are_timed_and_their_errors_counted() -> None:
    metrics = ServerMetrics()
    store = instrument_store(open_store("memory://"), metrics)
    store.bdbs.add(Bdb(uid=1, name="db1"))
    assert store.open_async is not None
    ports = store.open_async()
    assert await ports.bdbs.get(1) is not None
    assert [bdb.uid async for bdb in ports.bdbs.list()] == [1]
    with pytest.raises(DomainError):
        await ports.bdbs.add(Bdb(uid=1, name="again"))
    assert await readiness_probe(ports)() is not None
    count = "bdbexport_store_call_duration_seconds_count"
    assert value(metrics, count, operation="bdbs.get") == 2  # the probe reads one bdb too
    assert value(metrics, count, operation="bdbs.list") == 1
    assert value(metrics, count, operation="bdbs.add") == 1
    assert value(metrics, count, operation="users.get") == 0  # declared, not yet used
    assert (
        value(
            metrics, "bdbexport_store_errors_total", operation="bdbs.add", error="db_already_exists"
        )
        == 1
    )


def test_metrics_are_open_on_loopback_and_authenticated_elsewhere_unless_chosen() -> None:
    assert metrics_access_for(None, loopback=True) == "open"
    assert metrics_access_for(None, loopback=False) == "authenticated"
    assert metrics_access_for("open", loopback=False) == "open"
    assert metrics_access_for("authenticated", loopback=True) == "authenticated"


def test_an_unknown_metrics_access_is_refused_before_the_server_starts() -> None:
    with pytest.raises(ServerConfigError, match="--metrics-access 'public'"):
        ServerConfig(store_url="memory://", metrics_access="public").check()
    ServerConfig(store_url="memory://", metrics_access="authenticated").check()
