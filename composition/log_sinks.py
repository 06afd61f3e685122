"""Log streams for the access and audit logs: written at request speed, flushed on a
timer. Flushing after every line costs a system call per request; flushing a few times
a second bounds what a crash can lose to a fraction of a second of log lines (never a
stored change). Part of the composition root: the logs themselves only `write`."""

from __future__ import annotations

import threading
from typing import TextIO

FLUSH_INTERVAL = 0.2


class PeriodicFlush:
    def __init__(self, stream: TextIO, *, interval: float = FLUSH_INTERVAL) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._flush_regularly, args=(interval,), name="bdbexport-log-flush", daemon=True
        )
        self._thread.start()

    def write(self, line: str) -> None:
        with self._lock:
            self._stream.write(line)

    def flush(self) -> None:
        with self._lock:
            if not self._stream.closed:
                self._stream.flush()

    def close(self) -> None:
        self._stopped.set()
        self.flush()

    def _flush_regularly(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            try:
                self.flush()
            except (OSError, ValueError):
                return
