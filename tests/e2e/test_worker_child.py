"""The worker `serve` starts as a child: woken through its pipe when an action is
queued, started again when it dies, and gone when its server is gone (even SIGKILLed):
real processes on a real SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdbexport.adapters.memory import SystemClock
from bdbexport.composition.work_launch import QueueLauncher
from bdbexport.composition.work_queues import open_work_queue
from bdbexport.domain import ActionKind, MountPointLocation
from bdbexport.domain.statuses import ExportStatus
from bdbexport.entrypoints.worker_child import WorkerChild
from tests.support.worker_processes import ADMIN, QueueingStore, wait_until

pytestmark = pytest.mark.slow
OPTIONS = ["--exporter", "simulated", "--simulated-duration", "0.3", "--nice", "0"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[QueueingStore]:
    opened = QueueingStore(f"sqlite://{tmp_path / 'store.sqlite3'}")
    opened.add(range(1, 4))
    yield opened
    opened.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours still answers kill(0); its state says it is gone
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_a_queued_action_wakes_the_child_and_a_dead_child_is_replaced(
    store: QueueingStore, tmp_path: Path
) -> None:
    child = WorkerChild(store.url, OPTIONS, drain_timeout=5).start()
    queue, close = open_work_queue(store.url, SystemClock(), wake_writer=child.wake_writer)
    launcher = QueueLauncher(queue)
    location = MountPointLocation(path=str(tmp_path))
    try:
        for uid in (1, 2):
            launcher.submit(store.application.service.start_export(ADMIN, uid, location), location)
        wait_until(
            lambda: all(store.bdb(uid).export_status is ExportStatus.SUCCEEDED for uid in (1, 2)),
            what="both exports succeeded",
        )
        first = child.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: child.pid not in (None, first), what="a new child")
        started = store.application.service.start_action(ADMIN, 3, location, ActionKind.BACKUP)
        launcher.submit(started, location, kind=ActionKind.BACKUP)
        wait_until(
            lambda: store.bdb(3).backup_status.value == "succeeded", what="the backup succeeded"
        )
    finally:
        launcher.close()
        child.stop()
        close()
    assert child.pid is not None
    assert not alive(child.pid)


def test_the_child_goes_when_its_server_is_killed(store: QueueingStore, tmp_path: Path) -> None:
    server = textwrap.dedent(
        f"""
        import sys, time
        from bdbexport.entrypoints.worker_child import WorkerChild
        child = WorkerChild({store.url!r}, {OPTIONS!r}, drain_timeout=5).start()
        print(child.pid, flush=True)
        time.sleep(600)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", server], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    with process.stdout:
        pid = int(process.stdout.readline())
    assert alive(pid)
    process.kill()
    process.wait(30)
    wait_until(lambda: not alive(pid), what="the orphaned child exited")
