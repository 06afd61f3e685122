"""Progress that tells the truth (issue 27, 1): a real export of 2,000,000 keys of
mixed types and sizes, watched the way a poller watches it. At every poll the progress
last reported is never more than 25 points behind the bytes already written ÷ the
file's final size, and while Redis holds the snapshot back (`repl-diskless-sync-delay`)
progress stays at 0, the percent readers show as "waiting for Redis to start the
snapshot" (the action is `starting`), and only the snapshot's start moves it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.rdb_exporter import RdbExporter
from bdbexport.domain.bdb import Bdb
from bdbexport.domain.locations import MountPointLocation
from tests.e2e.test_real_exports import SOURCE_PASSWORD, SourceRedis, bdb_on

pytestmark = pytest.mark.slow

KEYS = 2_000_000
SYNC_DELAY = 2
MAX_BEHIND = 25
BATCH = 100_000

STRINGS = """
local first, n, size, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = first, first + n - 1 do
  redis.call('SET', prefix .. i, string.sub(i .. string.rep('-', size), 1, size))
end
return n
"""
MIXED = """
local first, n = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = first, first + n - 1 do
  redis.call('HSET', 'hash:' .. i, 'a', i, 'b', 'value-' .. i, 'c', 'x')
  redis.call('RPUSH', 'list:' .. i, 'one', 'two', i)
  redis.call('SADD', 'set:' .. i, 'm1', 'm2', i)
  redis.call('ZADD', 'zset:' .. i, 1, 'a', 2, 'b', i, 'c')
end
return n
"""


def populate(source: SourceRedis) -> int:
    """2,000,000 keys in a few seconds: strings (10 B to 1 KB) and the aggregate types
    by server-side scripts, incompressible 100 KB strings piped in."""
    # Scripts of 100,000 keys each, and a generous socket timeout: the machine may be
    # loaded, and a long script must not be taken for a dead server.
    client = redis.Redis(port=source.port, password=SOURCE_PASSWORD, socket_timeout=300)
    for count, size, prefix in ((1_400_000, 10, "small:"), (150_000, 200, "medium:")):
        for first in range(0, count, BATCH):
            client.eval(STRINGS, 0, first, min(BATCH, count - first), size, prefix)
    client.eval(STRINGS, 0, 0, 20_000, 1000, "kilo:")
    for first in range(0, 107_500, BATCH // 4):  # 430,000 keys, four types
        client.eval(MIXED, 0, first, min(BATCH // 4, 107_500 - first))
    pipe = client.pipeline(transaction=False)
    pattern = bytes(range(256)) * 400
    for i in range(400):  # incompressible: every value a different rotation
        pipe.set(f"large:{i}", (pattern[i:] + pattern[:i])[:100_000])
    pipe.execute()
    count = int(client.dbsize())
    client.close()
    return count


def test_progress_follows_the_bytes_and_the_wait_is_shown_as_such(tmp_path: Path) -> None:
    source = SourceRedis(tmp_path / "source", sync_delay=SYNC_DELAY).start()
    try:
        assert populate(source) >= KEYS
        root = tmp_path / "exports"
        root.mkdir()
        exporter = RdbExporter(roots=ExportRoots([root]))
        bdb = Bdb.model_validate(bdb_on(source.port))
        reported: list[int] = [0]
        snapshot_started_at: list[float] = []

        def progress(percent: int) -> None:
            if percent > 0 and not snapshot_started_at:
                snapshot_started_at.append(time.monotonic())
            reported.append(percent)

        result: list[int] = []
        worker = threading.Thread(
            target=lambda: result.append(
                exporter.export(bdb, MountPointLocation(path=str(root)), progress)
            )
        )
        began = time.monotonic()
        worker.start()
        polls: list[tuple[float, int, int]] = []  # (when, progress shown, bytes on disk)
        while worker.is_alive():
            shown = reported[-1]  # what a poller reads first, then the disk
            written = sum(path.stat().st_size for path in root.iterdir() if path.is_file())
            polls.append((time.monotonic(), shown, written))
            time.sleep(0.02)
        worker.join()
        assert result, "the export failed"
        final = result[0]
        assert final == sum(path.stat().st_size for path in root.iterdir())
        assert final > 20_000_000  # a real size, not a handful of bytes

        behind = [
            (round(100 * written / final), shown)
            for _, shown, written in polls
            if 100 * written / final - shown > MAX_BEHIND
        ]
        assert not behind, f"progress behind the bytes (written %, shown %): {behind[:10]}"
        # The wait for Redis: progress stays 0 with nothing written, for about the
        # delay, and the first percent comes with the snapshot's start.
        assert snapshot_started_at
        waited = [p for p in polls if p[0] < snapshot_started_at[0]]
        assert waited
        assert all(shown == 0 and written == 0 for _, shown, written in waited)
        # Redis counts the delay in whole seconds on a once-a-second cron, so the
        # snapshot starts between SYNC_DELAY - 1 and SYNC_DELAY + 1 seconds after our
        # request: the wait shown is Redis's, not ours.
        assert snapshot_started_at[0] - began > SYNC_DELAY - 1.0
        assert sum(1 for _, shown, _ in polls if 0 < shown < 99) >= 3  # a curve, not a jump
    finally:
        source.stop()
