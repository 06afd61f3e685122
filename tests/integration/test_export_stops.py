"""An exporter told to stop (its `progress` callback raises: the export was cancelled,
is no longer the bdb's action, or the server stops) stops within about a second, even
while the source is still preparing its snapshot, and leaves no partial file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.rdb_exporter import RdbExporter
from bdbexport.domain.bdb import Bdb, Endpoint
from bdbexport.domain.locations import MountPointLocation
from tests.e2e.test_real_exports import SOURCE_PASSWORD, SourceRedis

pytestmark = pytest.mark.slow


class ExportCancelledError(Exception):
    """What a worker pool's progress callback raises for an export no longer wanted."""


def test_a_raising_progress_stops_the_export_and_removes_its_partial(tmp_path: Path) -> None:
    source = SourceRedis(tmp_path / "source", sync_delay=8).start()  # snapshot waits 8 s
    try:
        source.client().set("key", "value")
        target = tmp_path / "exports"
        target.mkdir()
        bdb = Bdb(
            uid=1,
            name="orders",
            endpoints=[Endpoint(addr=["127.0.0.1"], port=source.port)],
            authentication_redis_pass=SOURCE_PASSWORD,
            action_uid="action-1",
        )
        asked: list[int] = []

        def progress(percent: int) -> None:
            asked.append(percent)
            if len(list(target.glob(".*.partial"))) == 1:
                raise ExportCancelledError

        exporter = RdbExporter(roots=ExportRoots([target]))
        began = time.monotonic()
        with pytest.raises(ExportCancelledError):
            exporter.export(bdb, MountPointLocation(path=str(target)), progress)
        took = time.monotonic() - began
        assert asked == [0]  # asked while waiting for the snapshot, with nothing moved
        assert took < 6, f"stopped after {took:.1f}s, not while the source prepared"
        assert list(target.iterdir()) == []
    finally:
        source.stop()
