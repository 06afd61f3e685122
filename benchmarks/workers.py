"""Workers apart from the API (issue 25): queued simulated backups drained by 1, 2 and
4 `bdbexport worker` processes (`--concurrency 4` each) on one Redis store.

The transfers are simulated (they sleep), so the figure measures the queue and the
workers, not a disk. Every backup is started before the clock starts; the clock runs
from enqueueing them all to the last completion the queue counts. Each run checks that
every action was claimed exactly once (claims = completions = backups, no retry).
`python -m benchmarks.workers [--count N]` runs it alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bdbexport.adapters.memory import SystemClock
from bdbexport.composition.application import bootstrap
from bdbexport.composition.work_launch import QueueLauncher
from bdbexport.composition.work_queues import open_work_queue
from bdbexport.domain import ActionKind, Bdb, MountPointLocation, Principal
from bdbexport.domain.statuses import BackupStatus

from .processes import Process, start_redis
from .report import Report

ADMIN = Principal("admin@example.com", "admin")
BDBEXPORT = str(Path(sys.executable).with_name("bdbexport"))
CONCURRENCY = 4


@dataclass(frozen=True)
class Drained:
    rate: float
    """Backups completed per second."""
    counters: dict[str, int]
    """The queue's counters after the run (claims, completions, retries, lapsed...)."""
    succeeded: int
    """Databases whose backup ended `succeeded`."""


def drain(store: str, workers: int, count: int, duration: float, workdir: Path) -> Drained:
    """`count` backups queued at once and drained by `workers` worker processes."""
    application = bootstrap(store, exporter="simulated", lease_ttl=timedelta(hours=1))
    queue, close_queue = open_work_queue(store, SystemClock())
    processes: list[Process] = []
    try:
        location = MountPointLocation(path=str(workdir))
        started = []
        for uid in range(1, count + 1):
            application.store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))
            started.append(
                application.service.start_action(ADMIN, uid, location, ActionKind.BACKUP)
            )
        for n in range(workers):
            command = [BDBEXPORT, "worker", "--store", store, "--name", f"bench-{workers}-{n}"]
            command += ["--exporter", "simulated", "--simulated-duration", str(duration)]
            command += ["--concurrency", str(CONCURRENCY), "--nice", "0"]
            processes.append(Process(command, log=workdir / f"worker-{workers}-{n}.log"))
        deadline = time.monotonic() + 60
        while len(queue.workers()) < workers:
            assert time.monotonic() < deadline, "the workers did not register"
            time.sleep(0.1)
        launcher = QueueLauncher(queue)
        began = time.monotonic()
        for bdb in started:
            launcher.submit(bdb, location, kind=ActionKind.BACKUP)
        launcher.close()
        while queue.stats().counters["completions"] < count:
            assert time.monotonic() - began < 3600, "the workers did not finish"
            time.sleep(0.05)
        elapsed = time.monotonic() - began
        succeeded = sum(
            1
            for bdb in application.store.bdbs.list()
            if bdb.backup_status is BackupStatus.SUCCEEDED
        )
        return Drained(count / elapsed, queue.stats().counters, succeeded)
    finally:
        for process in processes:
            process.stop()
        close_queue()
        application.close(grace=0)


def run(report: Report, workdir: Path, *, count: int = 1000, duration: float = 0.2) -> None:
    redis_process, port = start_redis(workdir)
    rates: dict[int, float] = {}
    try:
        for workers in (1, 2, 4):
            store = f"redis://127.0.0.1:{port}/0?prefix=workers{workers}:"
            drained = drain(store, workers, count, duration, workdir)
            counters = drained.counters
            assert counters["claims"] == counters["completions"] == count, counters
            assert counters["retries"] == counters["lapsed"] == 0, counters
            rates[workers] = drained.rate
    finally:
        redis_process.stop()
    what = f"{count} simulated backups of {duration}s, --concurrency {CONCURRENCY}"
    report.info(f"workers: 1 worker drains {what}", rates[1], "actions/s")
    report.ratio_at_least(
        f"workers: 2 workers drain {what}", rates[2], "actions/s", rates[1], "one worker", 1.6
    )
    report.ratio_at_least(
        f"workers: 4 workers drain {what}", rates[4], "actions/s", rates[1], "one worker", 1.6
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=0.2)
    options = parser.parse_args()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="bdbexport-workers-") as workdir:
        run(report, Path(workdir), count=options.count, duration=options.duration)
    print("\n" + report.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
