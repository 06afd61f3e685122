"""`bdbexport worker` processes for end-to-end tests, and a store to queue actions on.

`QueueingStore` opens the store in the test's process as an API replica would: it adds
databases, starts actions through the use cases and enqueues them, and reads how they
ended. `WorkerProcess` runs the real console script; its JSON lines are read back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bdbexport.adapters.exporting.work_payload import Job, encode
from bdbexport.adapters.memory import SystemClock
from bdbexport.composition.application import Application, bootstrap
from bdbexport.composition.work_queues import open_work_queue
from bdbexport.domain import ActionKind, Bdb, Principal
from bdbexport.domain.locations import ExportLocation
from bdbexport.domain.work_queue import WorkQueue

ADMIN = Principal("admin@example.com", "admin")
BDBEXPORT = str(Path(sys.executable).with_name("bdbexport"))


def wait_until(done: Callable[[], bool], deadline: float = 60.0, what: str = "") -> None:
    """Wait for `done` with a generous deadline (never a timed assertion)."""
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < deadline, f"not in time: {what}"
        time.sleep(0.05)


class QueueingStore:
    """The API's side of the queue, in the test's process."""

    def __init__(self, url: str, *, lease_ttl: timedelta = timedelta(minutes=10)) -> None:
        self.url = url
        self.application: Application = bootstrap(url, exporter="simulated", lease_ttl=lease_ttl)
        queue, self._close_queue = open_work_queue(url, SystemClock())
        self.queue: WorkQueue = queue

    def add(self, uids: range) -> None:
        for uid in uids:
            self.application.store.bdbs.add(Bdb(uid=uid, name=f"db{uid}"))

    def start(
        self, uid: int, location: ExportLocation, kind: ActionKind, *, flush: bool = False
    ) -> str:
        started = self.application.service.start_action(ADMIN, uid, location, kind)
        assert started.action_uid is not None
        self.queue.enqueue(encode(Job(kind, uid, started.action_uid, location, flush=flush)))
        return started.action_uid

    def bdb(self, uid: int) -> Bdb:
        found = self.application.store.bdbs.get(uid)
        assert found is not None
        return found

    def close(self) -> None:
        self._close_queue()
        self.application.close(grace=0)


class WorkerProcess:
    """One `bdbexport worker`, its JSON lines in a file."""

    def __init__(self, store: str, name: str, workdir: Path, *args: str) -> None:
        self.name = name
        self.log = workdir / f"{name}.jsonl"
        self._errors = workdir / f"{name}.err"
        command = [BDBEXPORT, "worker", "--store", store, "--name", name, *args]
        with self.log.open("w") as out, self._errors.open("w") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, cwd=workdir)

    def lines(self) -> list[dict[str, Any]]:
        text = self.log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == event]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def errors(self) -> str:
        return self._errors.read_text(encoding="utf-8")
