"""A real server on a real SQLite file, while the file or its disk fails under it.

Each case is one the issue found answered wrongly: an immutable store file turned an
export start into a 500; with the store's directory deleted, writes still answered 200
(into unlinked files); a full disk. Now each is 503 `store_unavailable` on writes,
reads keep working, the log says it once, and the server recovers when the fault ends.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.conftest import (
    RESET,
    assert_unavailable,
    bootstrap_file,
    lines_with,
    request,
    server_on,
    wait_for_line,
)

pytestmark = pytest.mark.slow
START = "/v1/bdbs/1/actions/export"
MOUNT = {"type": "mount_point", "path": "backups"}


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """`chattr +i`: not even root may write (a chmod would not stop root)."""
    done: list[Path] = []
    try:
        for path in paths:
            result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if result.returncode != 0:
                pytest.skip(f"platform lacks chattr +i: {result.stderr.decode().strip()}")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=False)


def test_an_immutable_store_answers_writes_503_and_reads_200(tmp_path: Path) -> None:
    store = tmp_path / "store" / "bdbexport.sqlite3"
    store.parent.mkdir()
    url = f"sqlite://{store}"
    with server_on(url, tmp_path, "--bootstrap", str(bootstrap_file(tmp_path))).start() as server:
        assert request(server, "GET", "/v1/bdbs/1").status_code == 200
        wal = store.with_name(store.name + "-wal")
        # Not the -shm file: SQLite maps it into memory, where a write to an immutable
        # file is a SIGBUS rather than an error (an operator would not lock it either).
        with immutable(store, wal, store.parent):
            started = request(server, "POST", START, export_location=MOUNT)
            assert_unavailable(started, names=(str(tmp_path),))
            assert_unavailable(request(server, "PUT", RESET), names=(str(tmp_path),))
            read = request(server, "GET", "/v1/bdbs/1")
            assert read.status_code == 200
            assert read.json()["export_status"] == "idle"
            assert request(server, "GET", "/v1/bdbs").status_code == 200
        wait_for_line(server, "unavailable")
        reset = request(server, "PUT", RESET)  # the fault is over: it works again
        assert reset.status_code == 200, reset.text
        assert reset.json()["export_status"] == "idle"
    assert len(lines_with(server, "writes answer 503")) == 1, server.stderr()
    assert "Traceback" not in server.stderr()


def test_a_deleted_store_refuses_writes_instead_of_losing_them(tmp_path: Path) -> None:
    """SQLite would go on writing into the unlinked file: 200 for a change no one
    will ever read. The server notices the path no longer names its file."""
    home = tmp_path / "data"
    url = f"sqlite://{home / 'bdbexport.sqlite3'}"
    with server_on(url, tmp_path, "--bootstrap", str(bootstrap_file(tmp_path))).start() as server:
        assert request(server, "GET", "/v1/bdbs/2").json()["export_status"] == "failed"
        shutil.rmtree(home)
        for _ in range(3):
            assert_unavailable(request(server, "PUT", RESET), names=(str(home),))
        assert_unavailable(request(server, "POST", START, export_location=MOUNT))
        read = request(server, "GET", "/v1/bdbs/2")  # served from the open file
        assert read.status_code == 200
        assert read.json()["export_status"] == "failed"
        assert not home.exists()  # nothing re-created it
    removed = lines_with(server, "removed or replaced")
    assert len(removed) == 1, server.stderr()
    assert str(home) in removed[0]  # the operator's log names the file
    assert "Traceback" not in server.stderr()


def test_a_store_the_server_served_is_never_seeded_again(tmp_path: Path) -> None:
    """An emptied store is not a new one: the demo dataset (and its passwords) comes
    only into a store no server ever used."""
    store = tmp_path / "bdbexport.sqlite3"
    url = f"sqlite://{store}"
    with server_on(url, tmp_path).start() as first:
        assert "First start" in first.stdout()
    with sqlite3.connect(store) as connection:
        connection.execute("DELETE FROM users")
        connection.execute("DELETE FROM bdbs")
    connection.close()
    with server_on(url, tmp_path).start() as again:
        pass
    assert "First start" not in again.stdout()
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (0,)
    connection.close()


def mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def test_a_full_disk_answers_writes_503_and_recovers(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not mount_tmpfs(disk, "4m"):
        pytest.skip("platform lacks mount -t tmpfs (no full disk to make)")
    try:
        url = f"sqlite://{disk / 'bdbexport.sqlite3'}"
        bootstrap = bootstrap_file(tmp_path)
        with server_on(url, tmp_path, "--bootstrap", str(bootstrap)).start() as server:
            filler = disk / "filler"
            with filler.open("wb") as out:
                try:
                    while True:
                        out.write(b"\0" * 65536)
                        out.flush()
                except OSError:
                    pass
            statuses = set()
            for _ in range(20):  # until the WAL needs a page the disk no longer has
                response = request(server, "PUT", RESET)
                statuses.add(response.status_code)
                if response.status_code == 503:
                    assert_unavailable(response, names=(str(disk),))
                    break
            assert 503 in statuses, statuses
            assert 500 not in statuses
            assert request(server, "GET", "/v1/bdbs/1").status_code == 200
            filler.unlink()
            assert request(server, "PUT", RESET).status_code == 200
        assert len(lines_with(server, "writes answer 503")) == 1, server.stderr()
        assert "Traceback" not in server.stderr()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
