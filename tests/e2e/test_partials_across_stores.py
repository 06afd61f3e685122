"""Two real `bdbexport serve` processes with DIFFERENT stores and one shared export
root: the second one's start-up sweep must not remove the first one's in-flight
temporary file. Before, it did (its store did not know the action, so it counted as
dead), and the first one's export then failed at the end: "saving failed: No such
file or directory". Now a partial of an action our store does not know is kept while
it is fresh (docs/exports.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_real_exports import SourceRedis, bdb_on, export, serve, wait_end

pytestmark = pytest.mark.slow
SYNC_DELAY = 8
"""Seconds the source waits before streaming its snapshot: the first server's partial
file exists, with no byte in it, while the second server starts and sweeps."""


@pytest.fixture
def slow_source(tmp_path: Path) -> Iterator[SourceRedis]:
    source = SourceRedis(tmp_path / "source", sync_delay=SYNC_DELAY).start()
    source.client().mset({f"key:{i}": f"value {i}" for i in range(100)})
    yield source
    source.stop()


def test_a_server_on_another_store_keeps_our_running_exports_partial(
    tmp_path: Path, slow_source: SourceRedis
) -> None:
    shared = tmp_path / "exports"
    shared.mkdir()
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    # Both stores have a bdb 1; only A's runs an export.
    first = serve(a_dir, [bdb_on(slow_source.port, 1)], "--export-root", str(shared))
    second = serve(b_dir, [bdb_on(slow_source.port, 1)], "--export-root", str(shared))
    with first.start() as a:
        began = time.monotonic()
        assert export(a, 1, {"type": "mount_point", "path": str(shared)}).status_code == 200
        deadline = time.monotonic() + 10
        while not list(shared.glob(".*.partial")):
            assert time.monotonic() < deadline, list(shared.iterdir())
            time.sleep(0.05)
        in_flight = list(shared.glob(".*.partial"))
        with second.start():  # its start-up sweep has run when it answers
            assert time.monotonic() - began < SYNC_DELAY, "too slow a start to prove this"
            assert [path for path in in_flight if path.exists()] == in_flight
            bdb, _ = wait_end(a, 1, timeout=60)
        assert (bdb["export_status"], bdb.get("export_failure_detail")) == ("succeeded", None)
    finals = [path.name for path in shared.iterdir() if not path.name.startswith(".")]
    assert len(finals) == 1, finals
    assert list(shared.glob(".*.partial")) == []
