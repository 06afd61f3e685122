"""An `Importer` into an in-memory dataset: for tests, demos and servers without a
Redis to load into.

It is a real implementation of the port's contract on a small scale: it reads the RDB
file a `mount_point` source names (only the header is judged: `REDIS` and a version),
reports progress in `steps` evenly spaced calls, honours `flush` and undoes its work
when `progress` raises (a cancel, a shutdown). What it "loads" is the file's bytes,
kept per bdb in `datasets`, so a test can see what an import left behind.

It reads files as the real importer does, so it obeys the same rule: given the
deployment's `resolve_path` (the export roots' check), a path outside the roots fails
`no-permission` with the refusal's one description, which names no path, before the
file is opened; a server run with `--importer memory` cannot be used to probe its file
system (does this exist, is it a directory, is it readable).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.errors import DomainError
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import ExportLocation, MountPointLocation
from bdbexport.domain.statuses import ImportFailureReason

RDB_MAGIC = b"REDIS"
DEFAULT_MAX_BYTES = 4 * 1024**3
"""The same default as the real importer's `ImportLimits.max_bytes` (4 GiB)."""


class InMemoryImporter:
    """Loads RDB files from `mount_point` sources into `datasets[bdb uid]`: a list of
    the files' contents, in import order (`flush` empties it first)."""

    location_types = frozenset({"mount_point"})

    def __init__(
        self,
        *,
        duration: float = 0.0,
        steps: int = 4,
        resolve_path: Callable[[str], Path] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        """`resolve_path`: where a source path really leads if the deployment allows it,
        else a `DomainError` (`ExportRoots.resolve`); None reads any path (tests).
        `max_bytes`: the largest file it reads (the server's `--import-max-bytes`, as
        for the real importer): it holds the file in memory, so it is bounded too."""
        if duration < 0 or steps < 1:
            raise ValueError("duration must be >= 0 and steps >= 1")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self._resolve_path = resolve_path
        self.duration = duration
        self.steps = steps
        self.datasets: dict[int, list[bytes]] = {}
        self._lock = threading.Lock()
        self._pause = threading.Event()  # never set: waits are plain, interruptible sleeps

    def import_rdb(
        self,
        bdb: Bdb,
        source: ExportLocation,
        *,
        flush: bool,
        progress: Callable[[int], None],
    ) -> int:
        """Returns the bytes read: the file's size (it does read the file)."""
        if not isinstance(source, MountPointLocation):
            raise ImportFailedError(
                ImportFailureReason.GENERAL_ERROR,
                f"the in-memory importer reads mount_point sources, not {source.type}",
            )
        payload = _read_rdb(self._permitted(source.path), self.max_bytes)
        with self._lock:
            before = list(self.datasets.get(bdb.uid, []))
        try:
            pause = self.duration / self.steps
            for step in range(1, self.steps):
                self._pause.wait(pause)
                progress(step * 100 // self.steps)
            self._pause.wait(pause)
            progress(100)  # the commit gate: a cancel that came first undoes the load
            with self._lock:
                loaded = [] if flush else list(before)
                self.datasets[bdb.uid] = [*loaded, payload]
        except BaseException:
            with self._lock:  # undo: the dataset exactly as before
                self.datasets[bdb.uid] = before
            raise
        return len(payload)

    def _permitted(self, path: str) -> Path:
        if self._resolve_path is None:
            return Path(path)
        try:
            return self._resolve_path(path)
        except DomainError as refusal:
            raise ImportFailedError(
                ImportFailureReason.NO_PERMISSION, refusal.description
            ) from refusal


def _too_big(max_bytes: int) -> ImportFailedError:
    """The real importer's words (`adapters/importing/size_cap.py`) for the same limit."""
    return ImportFailedError(
        ImportFailureReason.GENERAL_ERROR,
        f"the file has more than the {max_bytes} bytes an import may copy"
        " (the import size limit); stopped there",
    )


def _read_rdb(path: Path, max_bytes: int) -> bytes:
    """The file, read whole only when it is within `max_bytes`: a file announcing more
    (`fstat`) is refused before a byte is read, one growing past it is cut off there."""
    try:
        with path.open("rb") as file:
            if os.fstat(file.fileno()).st_size > max_bytes:
                raise _too_big(max_bytes)
            payload = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ImportFailedError(ImportFailureReason.DOWNLOAD_ERROR, f"no file at {path}") from None
    except PermissionError:
        raise ImportFailedError(
            ImportFailureReason.DOWNLOAD_ERROR, f"no permission to read {path}"
        ) from None
    except OSError as error:
        raise ImportFailedError(ImportFailureReason.DOWNLOAD_ERROR, str(error)) from None
    if len(payload) > max_bytes:
        raise _too_big(max_bytes)
    if not payload.startswith(RDB_MAGIC) or not payload[5:9].isdigit():
        raise ImportFailedError(ImportFailureReason.FILE_CORRUPTED, f"{path} is not an RDB file")
    return payload
