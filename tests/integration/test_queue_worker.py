"""The queue worker in one process: actions queued by their start run to their end
through the use cases; a general error is retried with a back-off up to the attempt
limit, and only the last attempt fails the action; a drain hands running actions back
uncounted, and another worker finishes them. Processes, SIGKILL and SIGTERM are in
tests/e2e/test_workers.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bdbexport.adapters.exporting import SimulatedExporter
from bdbexport.adapters.exporting.queue_worker import QueueWorker, WorkerSettings
from bdbexport.adapters.exporting.work_payload import Job, decode, encode
from bdbexport.adapters.memory import InMemoryBdbRepository, InMemoryModuleCatalog, SystemClock
from bdbexport.adapters.memory.action_log import InMemoryActionLog
from bdbexport.adapters.memory.ids import UuidIds
from bdbexport.adapters.memory.importer import InMemoryImporter
from bdbexport.adapters.memory.work_queue import InMemoryWorkQueue
from bdbexport.composition.work_queues import open_work_queue
from bdbexport.domain import ActionKind, Bdb, EventBus, MountPointLocation, Principal
from bdbexport.domain.action_records import ActionStatus
from bdbexport.domain.bdb import Bdb as BdbModel
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import ExportLocation, S3Location
from bdbexport.domain.permissions import RoleTablePolicy
from bdbexport.domain.service import ActionService
from bdbexport.domain.statuses import ExportFailureReason
from bdbexport.domain.work_queue import WorkQueue

ADMIN = Principal("admin@example.com", "admin")
DEADLINE = 20.0
FAST = {"backoff_first": timedelta(milliseconds=50), "lease": timedelta(seconds=3)}


class FlakyExporter:
    """Fails with `general-error` for its first `failures` calls, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def export(
        self, bdb: BdbModel, location: ExportLocation, progress: Callable[[int], None]
    ) -> int | None:
        self.calls += 1
        progress(50)
        if self.calls <= self.failures:
            raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, f"disk hiccup {self.calls}")
        return 10


class Setup:
    def __init__(self, queue: WorkQueue) -> None:
        self.bdbs = InMemoryBdbRepository([Bdb(uid=uid, name=f"db{uid}") for uid in (1, 2, 3)])
        self.records = InMemoryActionLog()
        self.service = ActionService(
            bdbs=self.bdbs,
            modules=InMemoryModuleCatalog(),
            policy=RoleTablePolicy(),
            clock=SystemClock(),
            ids=UuidIds(),
            events=EventBus(),
            actions=self.records,
        )
        self.queue = queue
        self.lines: list[dict[str, object]] = []
        self.threads: list[tuple[QueueWorker, threading.Thread]] = []

    def worker(self, exporter: object, name: str, **settings: object) -> QueueWorker:
        worker = QueueWorker(
            self.queue,
            self.service,
            exporter,  # type: ignore[arg-type]
            InMemoryImporter(duration=0.1),
            WorkerSettings(name=name, **{**FAST, **settings}),  # type: ignore[arg-type]
            log_line=self.lines.append,
        )
        thread = threading.Thread(target=worker.run)
        thread.start()
        self.threads.append((worker, thread))
        return worker

    def start(
        self, uid: int, location: ExportLocation, kind: ActionKind = ActionKind.EXPORT
    ) -> str:
        started = self.service.start_action(ADMIN, uid, location, kind)
        assert started.action_uid is not None
        self.queue.enqueue(encode(Job(kind, uid, started.action_uid, location)))
        return started.action_uid

    def status(self, action_uid: str) -> ActionStatus:
        record = self.records.get(action_uid)
        assert record is not None
        return record.status

    def wait_for(self, done: Callable[[], bool]) -> None:
        started = time.monotonic()
        while not done():
            assert time.monotonic() - started < DEADLINE, "not in time"
            time.sleep(0.02)

    def stop(self) -> None:
        for worker, _ in self.threads:
            worker.drain()
        for _, thread in self.threads:
            thread.join(30)


@pytest.fixture(params=["memory", "sqlite"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    if request.param == "memory":
        made = Setup(InMemoryWorkQueue())
        yield made
        made.stop()
        return
    queue, close = open_work_queue(f"sqlite://{tmp_path / 'q.sqlite3'}", SystemClock())
    made = Setup(queue)
    yield made
    made.stop()
    close()


LOCATION = MountPointLocation(path="/tmp")


def test_queued_actions_run_to_their_end(setup: Setup) -> None:
    setup.worker(SimulatedExporter(duration=0.2, steps=4), "w1")
    export = setup.start(1, LOCATION)
    backup = setup.start(2, LOCATION, ActionKind.BACKUP)
    setup.wait_for(lambda: setup.status(export) is ActionStatus.COMPLETED)
    setup.wait_for(lambda: setup.status(backup) is ActionStatus.COMPLETED)
    setup.wait_for(lambda: setup.queue.stats().counters["completions"] == 2)
    assert setup.queue.stats().queued == {}
    ends = [line for line in setup.lines if line["event"] == "end"]
    assert {line["outcome"] for line in ends} == {"succeeded"}


def test_a_general_error_is_retried_and_the_next_attempt_succeeds(setup: Setup) -> None:
    exporter = FlakyExporter(failures=1)
    setup.worker(exporter, "w1")
    export = setup.start(1, LOCATION)
    setup.wait_for(lambda: setup.status(export) is ActionStatus.COMPLETED)
    assert exporter.calls == 2
    claims = [line for line in setup.lines if line["event"] == "claim"]
    assert [line["attempt"] for line in claims] == [1, 2]
    assert claims[1]["last_error"] == "general-error: disk hiccup 1"


def test_only_the_last_attempt_fails_the_action_with_its_reason(setup: Setup) -> None:
    exporter = FlakyExporter(failures=99)
    setup.worker(exporter, "w1", max_attempts=3)
    export = setup.start(1, LOCATION)
    setup.wait_for(lambda: setup.status(export) is ActionStatus.FAILED)
    assert exporter.calls == 3
    bdb = setup.bdbs.get(1)
    assert bdb is not None
    assert bdb.export_failure_reason == "general-error"
    assert setup.queue.stats().counters["retries"] == 2


def test_a_drain_hands_running_actions_back_and_another_worker_finishes_them(
    setup: Setup,
) -> None:
    slow = SimulatedExporter(duration=30, steps=300)
    first = setup.worker(slow, "draining", drain_timeout=0.0)
    export = setup.start(1, LOCATION)
    setup.wait_for(lambda: first.running() == [export])
    first.drain()
    setup.wait_for(lambda: setup.queue.stats().counters["releases"] == 1)
    setup.worker(SimulatedExporter(duration=0.2, steps=4), "next")
    setup.wait_for(lambda: setup.status(export) is ActionStatus.COMPLETED)
    claims = [line for line in setup.lines if line["event"] == "claim"]
    assert [(line["worker"], line["attempt"]) for line in claims] == [
        ("draining", 1),
        ("next", 1),
    ]


def test_the_payload_keeps_the_location_and_its_secrets() -> None:
    location = S3Location(
        type="s3",
        bucket_name="b",
        subdir="d",
        access_key_id="AKIA",
        secret_access_key=SecretStr("s3cr3t"),
    )
    job = Job(ActionKind.IMPORT, 7, "a-1", location, notify=True, flush=True)
    assert decode(encode(job)) == job


def test_a_cancel_stops_the_running_transfer_and_ends_the_item(setup: Setup) -> None:
    worker = setup.worker(SimulatedExporter(duration=60, steps=600), "w1")
    export = setup.start(1, LOCATION)
    setup.wait_for(lambda: worker.running() == [export])
    setup.wait_for(lambda: setup.status(export) is ActionStatus.RUNNING)
    setup.service.cancel(ADMIN, export)
    setup.wait_for(lambda: worker.running() == [])
    assert setup.status(export) is ActionStatus.CANCELLED
    ends = [line for line in setup.lines if line["event"] == "end"]
    assert [(line["action"], line["outcome"]) for line in ends] == [(export, "stopped")]
    assert setup.queue.stats().counters["completions"] == 1
