"""A real `bdbexport serve` importing files too big for it (issue 22, finding 4): an
FTP source that announces 100 bytes and then streams zeros (it filled /tmp with 885 MB
in 15 s, growing until cancelled), files over `--import-max-bytes` or the target
database's memory limit, and a work directory on a disk without room for the file."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.importing_server import (
    MIB,
    ended,
    scratch_tmp,
    serve,
    start_ftp_import,
    start_import,
    work_directories,
)
from tests.support.redis_server import RedisServer
from tests.support.scripted_ftp import ScriptedFtpServer, lying_size

pytestmark = pytest.mark.slow

ZEROS = b"REDIS0010" + bytes(3 * MIB - 9)
"""A 3 MiB file with a valid header: its size is what is judged, never its content."""


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def test_an_ftp_source_sending_more_than_its_size_reply_is_cut_off_there(
    tmp_path: Path, target: RedisServer
) -> None:
    server = serve(tmp_path, target, "--allow-egress", "127.0.0.1")
    with ScriptedFtpServer(lying_size(100)) as ftp, server.start():
        start_ftp_import(server, ftp.url("/dump.rdb"))
        bdb = ended(server, within=60)
        assert ftp.wait_for(lambda: ftp.open == 0, 10)
    assert (bdb["import_status"], bdb["import_failure_reason"]) == ("failed", "download-error")
    assert "more than the 100 bytes it announced" in bdb["import_failure_detail"], bdb
    assert work_directories(tmp_path) == []


def test_files_over_the_import_size_limit_are_refused_before_they_are_copied(
    tmp_path: Path, target: RedisServer
) -> None:
    server = serve(tmp_path, target, "--allow-egress", "127.0.0.1", "--import-max-bytes", str(MIB))
    with ScriptedFtpServer(lying_size(3 * MIB)) as ftp, server.start():
        start_import(server, tmp_path, "big.rdb", ZEROS)
        local = ended(server, within=60)
        start_ftp_import(server, ftp.url("/big.rdb"))
        remote = ended(server, within=60)
        # Without a size to judge first, the download stops at the limit.
        with ScriptedFtpServer(lying_size(None)) as silent:
            start_ftp_import(server, silent.url("/endless.rdb"))
            endless = ended(server, within=60)
    for bdb in (local, remote, endless):
        assert (bdb["import_status"], bdb["import_failure_reason"]) == ("failed", "general-error")
        assert f"more than the {MIB} bytes an import may copy" in bdb["import_failure_detail"]
    assert work_directories(tmp_path) == []


def test_a_file_larger_than_the_databases_memory_limit_fails_as_redis_software_says(
    tmp_path: Path, target: RedisServer
) -> None:
    redis.Redis(port=target.port).config_set("maxmemory", str(MIB))
    server = serve(tmp_path, target)
    with server.start():
        start_import(server, tmp_path, "big.rdb", ZEROS)
        bdb = ended(server, within=60)
    assert (bdb["import_status"], bdb["import_failure_reason"]) == (
        "failed",
        "file-larger-than-mem-limit",
    )
    assert bdb["import_failure_detail"].startswith(
        f"file-larger-than-mem-limit:{3 * MIB}:{MIB}:"
    ), bdb


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """The server's TMPDIR on a 64 MiB tmpfs of its own (mounting needs root: CI has it)."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs as root, to mount a small file system here")
        pytest.skip("mounting a small tmpfs needs root")
    disk = scratch_tmp(tmp_path)
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def test_the_free_space_of_the_work_disk_is_checked_before_and_while_copying(
    tmp_path: Path, target: RedisServer, small_disk: Path
) -> None:
    """The import keeps 256 MiB free: a 3 MiB file does not fit on 64 MiB; a download
    of unknown size stops at its first check."""
    server = serve(tmp_path, target, "--allow-egress", "127.0.0.1")
    with ScriptedFtpServer(lying_size(None)) as ftp, server.start():
        start_import(server, tmp_path, "big.rdb", ZEROS)
        before = ended(server, within=60)
        start_ftp_import(server, ftp.url("/endless.rdb"))
        during = ended(server, within=60)
    assert (before["import_status"], before["import_failure_reason"]) == (
        "failed",
        "general-error",
    )
    assert "not enough free disk space" in before["import_failure_detail"], before
    assert "nearly full" in during["import_failure_detail"], during
    assert work_directories(tmp_path) == []
