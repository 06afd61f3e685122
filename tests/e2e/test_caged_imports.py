"""A real `bdbexport serve` importing hostile RDB files into a real target, each read by
a real scratch `redis-server` (issue 22, finding 1): Redis Functions that spin for ever
or allocate without end, a compressed file that unfolds a hundredfold. Before the cage
the loader ran them unbounded — 100 % CPU until the 600 s load timeout, gigabytes of
memory — and outlived a cancel, a SIGTERM and a SIGKILL of the server.

The spinning cases are bounded on this shared machine: a 2 s CPU limit where the test
waits for the limit, and a cancel, a shutdown or a kill within seconds otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from bdbexport.adapters.importing.cage import started_at
from tests.support.crafted_rdb import SPINNING, compressed_strings, hungry
from tests.support.importing_server import (
    ADMIN,
    MIB,
    ended,
    scratch_tmp,
    serve,
    start_import,
    work_directories,
)
from tests.support.redis_server import RedisServer, redis_binary

pytestmark = pytest.mark.slow

GRACE = 10.0


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def loaders(tmp_path: Path) -> list[int]:
    """The redis-servers whose command line names a place under the test's TMPDIR: the
    scratch loaders of this test's server (their title is `unixsocket:<path>`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"redis-server" in command and str(scratch_tmp(tmp_path)).encode() in command:
            found.append(int(entry.name))
    return found


def eventually(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_functions_that_spin_fail_the_import_once_the_loader_used_its_cpu_time(
    tmp_path: Path, target: RedisServer
) -> None:
    server = serve(tmp_path, target, "--import-cpu-limit", "2", "--import-load-timeout", "300")
    with server.start():
        start_import(server, tmp_path, "evil.rdb", SPINNING)
        bdb = ended(server, within=60)
        assert (bdb["import_status"], bdb["import_failure_reason"]) == ("failed", "general-error")
        assert "2 s of CPU time" in bdb["import_failure_detail"], bdb
        eventually(lambda: not loaders(tmp_path), 10, "the loader outlived its import")
        eventually(lambda: not work_directories(tmp_path), 10, "the work directory stayed")


def test_a_load_that_takes_longer_than_the_load_timeout_fails_and_ends_the_loader(
    tmp_path: Path, target: RedisServer
) -> None:
    server = serve(tmp_path, target, "--import-load-timeout", "2")
    with server.start():
        start_import(server, tmp_path, "evil.rdb", SPINNING)
        bdb = ended(server, within=60)
        assert (bdb["import_status"], bdb["import_failure_reason"]) == ("failed", "general-error")
        assert "within 2 s" in bdb["import_failure_detail"], bdb
        eventually(lambda: not loaders(tmp_path), 10, "the loader outlived its import")


@pytest.mark.parametrize(
    "content",
    [hungry(512), compressed_strings(6, 100)],
    ids=["a function allocating 512 MiB", "6 MB of file unfolding into 600 MiB of keys"],
)
def test_a_file_that_needs_more_memory_than_the_limit_fails_the_import(
    tmp_path: Path, target: RedisServer, content: bytes
) -> None:
    server = serve(tmp_path, target, "--import-max-memory", str(64 * MIB))
    with server.start():
        start_import(server, tmp_path, "bomb.rdb", content)
        bdb = ended(server, within=120)
        assert (bdb["import_status"], bdb["import_failure_reason"]) == ("failed", "general-error")
        assert "64 MiB of memory" in bdb["import_failure_detail"], bdb
        eventually(lambda: not loaders(tmp_path), 10, "the loader outlived its import")
    assert redis.Redis(port=target.port).dbsize() == 0


def test_a_cancel_and_a_shutdown_kill_a_loader_that_runs_a_files_code(
    tmp_path: Path, target: RedisServer
) -> None:
    """Default limits: only the cancel, then SIGTERM, can end these loads."""
    server = serve(tmp_path, target)
    with server.start():
        action = start_import(server, tmp_path, "evil.rdb", SPINNING)
        eventually(lambda: bool(loaders(tmp_path)), 30, "no loader started")
        cancelled = httpx.delete(f"{server.url}/v1/actions/{action}", auth=ADMIN)
        assert cancelled.status_code == 200, cancelled.text
        eventually(lambda: not loaders(tmp_path), 10, "the cancelled import's loader runs on")
        eventually(lambda: not work_directories(tmp_path), 10, "the work directory stayed")

        start_import(server, tmp_path, "evil-again.rdb", SPINNING)
        eventually(lambda: bool(loaders(tmp_path)), 30, "no loader started")
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(GRACE + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not end the server while its loader spun")
        eventually(lambda: not loaders(tmp_path), 10, "the loader outlived its server")


def test_a_killed_server_takes_its_loader_along_and_the_next_start_reaps_leftovers(
    tmp_path: Path, target: RedisServer
) -> None:
    server = serve(tmp_path, target)
    with server.start():
        start_import(server, tmp_path, "evil.rdb", SPINNING)
        eventually(lambda: bool(loaders(tmp_path)), 30, "no loader started")
        assert server.process is not None
        server.process.kill()
        server.process.wait(10)
        eventually(lambda: not loaders(tmp_path), 10, "the loader outlived a SIGKILL of serve")
    assert work_directories(tmp_path), "a killed server cannot remove its work directory"

    # A leftover the kernel did not end (a server without the cage, another platform):
    # a loader in a work directory whose owner file names a server that is gone.
    gone = subprocess.Popen(["sleep", "60"])
    gone_start = started_at(gone.pid)
    gone.kill()
    gone.wait()
    leftover = scratch_tmp(tmp_path) / "bdbexport-import-leftover"
    leftover.mkdir(mode=0o700)
    orphan = subprocess.Popen(
        [redis_binary(), "--port", "0", "--unixsocket", str(leftover / "scratch.sock")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        (leftover / "owner").write_text(
            f"{gone.pid} {gone_start}\n{orphan.pid} {started_at(orphan.pid)}\n"
        )
        # Another server's live work directory is not ours to reap.
        alive = scratch_tmp(tmp_path) / "bdbexport-import-alive"
        alive.mkdir(mode=0o700)
        (alive / "owner").write_text(f"{os.getpid()} {started_at(os.getpid())}\n0 None\n")
        with server.start():
            orphan.wait(10)
            eventually(
                lambda: work_directories(tmp_path) == [alive], 10, "leftovers were not reaped"
            )
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
