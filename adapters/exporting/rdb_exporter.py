"""The real exporter: a live Redis database's snapshot, streamed to a location."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bdbexport.domain.bdb import Bdb
from bdbexport.domain.export_outcome import ExportFailedError
from bdbexport.domain.locations import ExportLocation, MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ExportFailureReason

from .progress_throttle import ProgressThrottle
from .rdb_stream import RdbStream, ReplicationError
from .sinks import DirectorySink, FtpSink, Sink, file_name

SUPPORTED_LOCATION_TYPES = frozenset({"mount_point", "url"})


class RdbExporter:
    """Takes a point-in-time RDB from the bdb's first endpoint (its first address) and
    streams it to a `mount_point` directory or an FTP/FTPS `url`."""

    location_types = SUPPORTED_LOCATION_TYPES

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        diskless: bool = True,
        progress_interval: float = 0.25,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._timeout = timeout
        self._diskless = diskless
        self._progress_interval = progress_interval
        self._clock = clock

    def export(self, bdb: Bdb, location: ExportLocation, progress: Callable[[int], None]) -> None:
        if not bdb.endpoints or not bdb.endpoints[0].addr:
            raise ExportFailedError(ExportFailureReason.GENERAL_ERROR, "no data endpoint")
        endpoint = bdb.endpoints[0]
        password = bdb.authentication_redis_pass
        name = file_name(bdb.name, self._clock())
        sink = self._open(location, name)
        throttle = ProgressThrottle(progress, interval=self._progress_interval)
        try:
            with RdbStream(
                endpoint.addr[0],
                endpoint.port,
                password=None if password is None else password.get_secret_value(),
                timeout=self._timeout,
                diskless=self._diskless,
            ) as stream:
                for chunk in stream.chunks():
                    sink.write(chunk)
                    throttle.update(stream.fraction)
            sink.commit()
        except ReplicationError as error:
            sink.abort()
            what = "source refused the credentials" if error.auth else "source failed"
            raise ExportFailedError(
                ExportFailureReason.GENERAL_ERROR,
                f"{what} ({endpoint.addr[0]}:{endpoint.port}): {error}",
            ) from error
        except BaseException:
            sink.abort()
            raise

    def _open(self, location: ExportLocation, name: str) -> Sink:
        if isinstance(location, MountPointLocation):
            return DirectorySink(location, name)
        if isinstance(location, UrlLocation):
            return FtpSink(location, name, timeout=self._timeout)
        raise ExportFailedError(
            ExportFailureReason.GENERAL_ERROR, f"no exporter for location type {location.type}"
        )
