"""The worker `serve` starts as a child process, so `bdbexport serve` alone still does
everything on a fresh machine while the copy loops run outside the API's process
(docs/workers.md).

Two pipes join them. The wake pipe: `serve` writes a byte after each enqueue (given to
its SQLite queue as `wake_writer`) and the child `select`s on it, so a new action
starts at once without polling. The lifeline: the child blocks reading it and drains
when it reads end-of-file, which happens when `serve` exits for any reason, SIGKILL
included, so no worker outlives its server unnoticed. A child that dies is started
again after a pause; on shutdown it gets SIGTERM and its drain timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

log = logging.getLogger("bdbexport.workers")

RESTART_PAUSE = 1.0
LAUNCH = "from bdbexport.entrypoints.console import run; run()"


class WorkerChild:
    def __init__(self, store_url: str, options: Sequence[str], *, drain_timeout: float) -> None:
        self._store_url = store_url
        self._options = list(options)
        self._drain_timeout = drain_timeout
        self.wake_reader, self.wake_writer = os.pipe()
        os.set_blocking(self.wake_writer, False)
        self._lifeline_reader, self._lifeline_writer = os.pipe()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(
            target=self._watch, name="bdbexport-worker-child", daemon=True
        )

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._process is None else self._process.pid

    def start(self) -> WorkerChild:
        self._spawn()
        self._watcher.start()
        return self

    def _spawn(self) -> None:
        command = [sys.executable, "-c", LAUNCH, "worker", "--store", self._store_url]
        command += ["--wake-fd", str(self.wake_reader)]
        command += ["--lifeline-fd", str(self._lifeline_reader), *self._options]
        process = subprocess.Popen(
            command, pass_fds=(self.wake_reader, self._lifeline_reader), stdin=subprocess.DEVNULL
        )
        with self._lock:
            self._process = process

    def _watch(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.wait(RESTART_PAUSE):
                return
            log.warning("worker child %s exited with %s; starting another", process.pid, code)
            self._spawn()

    def stop(self) -> None:
        """SIGTERM: the child drains (its `--drain-timeout`), then exits; killed after."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self._drain_timeout + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for fd in (
            self.wake_reader,
            self.wake_writer,
            self._lifeline_reader,
            self._lifeline_writer,
        ):
            with contextlib.suppress(OSError):
                os.close(fd)
