"""Exports whose process was killed (`kill -9`) mid-export leave a `.partial` file:
it is removed when a server starts after the export's lease ran out, or when a lease
expiry fails the export; it is kept while the export may still be running.

Before, the file stayed forever. The sources here wait 5 s before streaming the
snapshot, so the export is surely mid-way, its temporary file created, when the
server is killed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_real_exports import SourceRedis, bdb_on, export, serve
from tests.e2e.test_serve import ADMIN
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
LEASE = 3.0
LONG_LEASES = (10.0, 20.0, 40.0)
"""Long enough that a second server is up and sweeping before the lease runs out: on a
quiet machine the first is; a loaded one that starts too slowly to prove it is given the
next (the test waits out the lease, so the shortest that proves it is the fastest)."""


@pytest.fixture
def slow_source(tmp_path: Path) -> Iterator[SourceRedis]:
    source = SourceRedis(tmp_path / "source", sync_delay=5).start()
    source.client().set("key", "value")
    yield source
    source.stop()


def partials(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.partial"))


def killed_mid_export(tmp_path: Path, source: SourceRedis, lease: float) -> ServerProcess:
    """A server with two exports under way, killed; their partial files are left."""
    target = tmp_path / "exports"
    target.mkdir(exist_ok=True)
    bdbs = [bdb_on(source.port, 1), bdb_on(source.port, 2)]
    server = serve(tmp_path, bdbs, "--export-lease-ttl", str(lease)).start()
    for uid in (1, 2):
        location = {"type": "mount_point", "path": str(target)}
        assert export(server, uid, location).status_code == 200
    deadline = time.monotonic() + 10
    while len(partials(target)) < 2:
        assert time.monotonic() < deadline, list(target.iterdir())
        time.sleep(0.05)
    assert server.process is not None
    server.process.kill()
    server.process.wait(10)
    assert len(partials(target)) == 2
    return server


def test_a_server_started_after_the_lease_ran_out_removes_the_partials(
    tmp_path: Path, slow_source: SourceRedis
) -> None:
    killed_mid_export(tmp_path, slow_source, LEASE)
    time.sleep(LEASE + 0.5)
    with serve(tmp_path, []).start():
        assert partials(tmp_path / "exports") == []


def test_a_lease_expiry_removes_the_partials_and_a_live_lease_keeps_them(
    tmp_path: Path, slow_source: SourceRedis
) -> None:
    for attempt, lease in enumerate(LONG_LEASES):
        workdir = tmp_path / f"attempt-{attempt}"
        workdir.mkdir()
        killed = time.monotonic()
        killed_mid_export(workdir, slow_source, lease)
        with serve(workdir, []).start() as server:
            if time.monotonic() - killed < lease:
                lease_expires(server, workdir, lease)
                return
    pytest.fail(f"every start outlasted its lease ({LONG_LEASES}): nothing is proven")


def lease_expires(server: ServerProcess, workdir: Path, lease: float) -> None:
    """The second server keeps the partials while the leases run, and removes them
    once a read fails the expired export."""
    # The leases still run: the exports might be alive on another replica.
    assert len(partials(workdir / "exports")) == 2
    deadline = time.monotonic() + lease + 30
    while True:  # reads fail the export once its lease has run out
        bdb = httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()
        if bdb["export_status"] != "exporting":
            break
        assert time.monotonic() < deadline, bdb
        time.sleep(0.2)
    assert (bdb["export_status"], bdb["export_failure_reason"]) == ("failed", "general-error")
    deadline = time.monotonic() + 10
    while partials(workdir / "exports"):
        assert time.monotonic() < deadline, partials(workdir / "exports")
        time.sleep(0.05)
