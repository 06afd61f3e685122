"""Log streams for the access and audit logs: a `write` never waits on the disk.

The event loop writes an access line per request and an audit line per event. Writing
each to the file (and flushing it) would make the loop wait on the disk, and a lock
shared with the thread that flushes would make it wait on that thread's disk write
(a slow or hung disk stalled every request). Here a `write` appends the line to a
buffer in memory and returns; one thread of its own moves the buffer to the file a few
times a second (bounding what a crash can lose to a fraction of a second of log lines,
never a stored change), and at close. If the file cannot keep up (a hung disk), the
buffer stops growing at `max_buffered` characters: further lines are dropped and
counted, and a line saying how many were dropped is written once the file takes lines
again. Part of the composition root: the logs themselves only `write`.

Log files are created readable and writable by their owner only (0600): the access log
names who called from where, the audit log every user name a sign-in tried.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

FLUSH_INTERVAL = 0.2
MAX_BUFFERED = 64 * 1024 * 1024
"""Characters held for a file that does not take them (then lines are dropped)."""
LOG_FILE_MODE = 0o600


class NonBlockingSink:
    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = FLUSH_INTERVAL,
        max_buffered: int = MAX_BUFFERED,
    ) -> None:
        self._stream = stream
        self._max = max_buffered
        self._lock = threading.Lock()
        """Held for a list append or swap only, never around the file."""
        self._pending: list[str] = []
        self._size = 0
        self.dropped = 0
        self._writing = threading.Lock()
        """Held by whoever moves lines to the file (the thread, or `close`)."""
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._flush_regularly, args=(interval,), name="bdbexport-log-flush", daemon=True
        )
        self._thread.start()

    def write(self, line: str) -> None:
        with self._lock:
            if self._size + len(line) > self._max:
                self.dropped += 1
                return
            self._pending.append(line)
            self._size += len(line)

    def flush(self) -> None:
        """Move what is buffered to the file now (the caller waits on the disk: never
        call it from the event loop)."""
        with self._writing:
            with self._lock:
                lines, self._pending, self._size = self._pending, [], 0
                dropped, self.dropped = self.dropped, 0
            if self._stream.closed:
                return
            if dropped:
                lines.append(_dropped_line(dropped))
            if lines:
                self._stream.write("".join(lines))
            self._stream.flush()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and write what is left (waiting at most `timeout` seconds for
        a file that does not take it)."""
        self._stopped.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            with contextlib.suppress(OSError, ValueError):
                self.flush()

    def _flush_regularly(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            try:
                self.flush()
            except (OSError, ValueError) as error:
                print(f"bdbexport: a log file cannot be written: {error}", file=sys.stderr)
                return
        try:
            self.flush()
        except (OSError, ValueError):
            return


def _dropped_line(count: int) -> str:
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    return json.dumps({"time": at, "event": "LogLinesDropped", "dropped": count}) + "\n"


def open_log_file(path: str | Path) -> tuple[TextIO, str | None]:
    """`path` opened for appending, created with mode 0600; the warning to print when an
    existing file is readable by others than its owner (left as the operator set it)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_FILE_MODE)
    stream = os.fdopen(descriptor, "a", encoding="utf-8")
    mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
    warning = None
    if mode & 0o077:
        warning = (
            f"warning: log file {path} is readable or writable by other users (mode"
            f" {mode:04o}); it names users and clients: chmod 600 {path}\n"
        )
    return stream, warning


def open_sink(
    target: str, default: TextIO
) -> tuple[NonBlockingSink | None, Callable[[], None], str | None]:
    """The sink `target` names (`-`: `default`, `off`: none, else a file, created 0600),
    how to close it, and a warning for the operator (None: nothing to say). `OSError`
    when the file cannot be opened."""
    if target == "off":
        return None, lambda: None, None
    warning = None
    if target == "-":
        stream = default
    else:
        stream, warning = open_log_file(target)
    sink = NonBlockingSink(stream)

    def close() -> None:
        sink.close()
        if stream is not default:
            stream.close()

    return sink, close, warning
