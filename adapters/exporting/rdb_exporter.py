"""The real exporter: a live Redis database's snapshot, streamed to a location."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import ExportLocation, MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ExportFailureReason

from .egress import EgressPolicy
from .export_roots import ExportRoots
from .ftp_sink import FtpSink
from .progress_throttle import ProgressThrottle
from .rdb_stream import RdbStream, ReplicationError
from .sinks import DirectorySink, Sink, file_name

SUPPORTED_LOCATION_TYPES = frozenset({"mount_point", "url"})
DEFAULT_TIMEOUT = 30.0
"""Seconds every network step of an export may take: a connect, a reply, a chunk."""


class RemoteSinks(Protocol):
    """The other location types' destinations (`s3`, `abs`, `sftp`: the composition
    root provides `adapters/object_stores`): a `Sink` for the file `name`, or
    `ExportFailedError` with the reason the provider's answer deserves."""

    types: frozenset[str]

    def sink(self, location: ExportLocation, name: str) -> Sink: ...


class RdbExporter:
    """Takes a point-in-time RDB from the bdb's first endpoint (its first address) and
    streams it to a `mount_point` directory inside an export root, or to an FTP/FTPS
    `url` the egress policy permits."""

    location_types = SUPPORTED_LOCATION_TYPES

    def __init__(
        self,
        *,
        roots: ExportRoots,
        egress: EgressPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        diskless: bool = True,
        progress_interval: float = 0.1,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        remote: RemoteSinks | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("the export timeout must be positive")
        self.roots = roots
        self.egress = egress if egress is not None else EgressPolicy()
        self._timeout = timeout
        self._diskless = diskless
        self._progress_interval = progress_interval
        self._clock = clock
        self._remote = remote
        self.location_types = SUPPORTED_LOCATION_TYPES | (remote.types if remote else frozenset())

    def export(self, bdb: Bdb, location: ExportLocation, progress: Callable[[int], None]) -> int:
        """Returns the bytes written: the RDB file's size at the destination."""
        if not bdb.endpoints or not bdb.endpoints[0].addr:
            raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "no data endpoint")
        endpoint = bdb.endpoints[0]
        password = bdb.authentication_redis_pass
        name = file_name(bdb.name, self._clock(), bdb.uid, bdb.action_uid or "local")
        throttle = ProgressThrottle(progress, interval=self._progress_interval)
        sink: Sink | None = None
        written = 0
        try:
            with RdbStream(
                endpoint.addr[0],
                endpoint.port,
                password=None if password is None else password.get_secret_value(),
                timeout=self._timeout,
                diskless=self._diskless,
                waiting=throttle.poke,
                started=throttle.started,
            ) as stream:
                # The source first: its failures are the likelier ones, and nothing is
                # created at the destination for an export that cannot even begin.
                sink = self._open(location, name, throttle.poke)
                for chunk in stream.chunks():
                    sink.write(chunk)
                    written += len(chunk)
                    throttle.update(stream.fraction)
            # The commit gate: returns only if no cancel got there first (ports.py).
            progress(100)
            sink.commit()
            return written
        except ReplicationError as error:
            if sink is not None:
                sink.abort()
            what = "source refused the credentials" if error.auth else "source failed"
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR,
                f"{what} ({endpoint.addr[0]}:{endpoint.port}): {error}",
            ) from error
        except BaseException:
            if sink is not None:
                sink.abort()
            raise

    def _open(self, location: ExportLocation, name: str, waiting: Callable[[], None]) -> Sink:
        if isinstance(location, MountPointLocation):
            return DirectorySink(location, name, self.roots)
        if isinstance(location, UrlLocation):
            return FtpSink(
                location, name, egress=self.egress, timeout=self._timeout, waiting=waiting
            )
        if self._remote is not None and location.type in self._remote.types:
            return self._remote.sink(location, name)
        raise ExportFailedError(
            ExportFailureReason.GENERAL_ERROR, f"no exporter for location type {location.type}"
        )
