"""Scheduled backups through real `bdbexport serve` replicas: two replicas on one Redis
store, a bdb backing up every 2 seconds, running until six backups were written (a
generous deadline ends a run that hangs). The backup directory holds one file per due
moment, never two; every file is a backup the scheduler of exactly one replica
started."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.e2e.test_serve import ADMIN
from tests.support.passwords import with_cheap_hashes
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
INTERVAL = 2
WANTED = 6
"""Backups to see written: as many as the old fixed 20 s run had to show, and one more."""
DEADLINE = 120.0
"""Only ends a run that hangs: a loaded machine takes longer and still passes."""
FILE = re.compile(r"^db1-(?P<at>\d{8}T\d{6}Z)-db1-(?P<action>.+)\.rdb$")


@pytest.fixture
def data(tmp_path: Path) -> Iterator[RedisServer]:
    """The database being backed up: a live redis-server with a few keys."""
    server = RedisServer(tmp_path / "data").start()
    client = redis.Redis(port=server.port)
    client.config_set("repl-diskless-sync-delay", 0)  # snapshots at once, not after 5 s
    client.mset({f"key:{i}": f"value {i}" for i in range(200)})
    client.close()
    yield server
    server.stop()


def bootstrap_file(tmp_path: Path, data_port: int, backups: Path) -> Path:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {
                "uid": 1,
                "name": "db1",
                "endpoints": [{"addr": ["127.0.0.1"], "port": data_port}],
                "backup": True,
                "backup_interval": INTERVAL,
                "backup_interval_offset": 0,
                "backup_location": {"type": "mount_point", "path": str(backups)},
            }
        ],
    }
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(with_cheap_hashes(document)))
    return path


def backup_files(backups: Path) -> list[str]:
    return sorted(path.name for path in backups.iterdir() if not path.name.startswith("."))


def scheduler_starts(audit_log: Path) -> list[dict[str, Any]]:
    """The backups this replica's scheduler started, from its audit log."""
    starts = []
    for line in audit_log.read_text().splitlines():
        record = json.loads(line)
        if record["event"] == "BackupStarted" and record["actor"] == "backup-scheduler":
            starts.append(record)
    return starts


def test_two_replicas_take_each_scheduled_backup_exactly_once(
    tmp_path: Path, data: RedisServer, redis_url: str
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    bootstrap = bootstrap_file(tmp_path, data.port, backups)
    replicas = []
    began = time.time()
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        replicas.append(
            ServerProcess(
                redis_url,
                args=[
                    "--bootstrap", str(bootstrap),
                    "--export-root", str(backups),
                    "--audit-log", str(workdir / "audit.jsonl"),
                ],
                workdir=workdir,
            )
        )  # fmt: skip
    try:
        for replica in replicas:
            replica.start()
        deadline = time.monotonic() + DEADLINE
        while len(backup_files(backups)) < WANTED:
            assert time.monotonic() < deadline, backup_files(backups)
            time.sleep(0.2)
    finally:
        for replica in replicas:
            replica.stop()
    ended = time.time()

    files = backup_files(backups)
    starts = {name: scheduler_starts(tmp_path / name / "audit.jsonl") for name in ("a", "b")}
    started = [start for replica_starts in starts.values() for start in replica_starts]
    moments = {
        int(datetime.fromisoformat(start["at"]).timestamp()) // INTERVAL for start in started
    }
    due_in_window = int(ended) // INTERVAL - int(began) // INTERVAL + 1

    # Never two: each due moment was started once, by one replica, across both.
    assert len(moments) == len(started), started
    assert len(started) <= due_in_window
    # One file per started backup, each named after its action.
    actions = {start["action_uid"] for start in started}
    named = {FILE.match(name).group("action") for name in files if FILE.match(name)}  # type: ignore[union-attr]
    assert len(named) == len(files), files
    assert named == actions, (files, started)
    # And the schedule really ran: the backups kept coming until the stop.
    assert len(files) >= WANTED, files
