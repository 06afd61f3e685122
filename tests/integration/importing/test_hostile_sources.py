"""Import sources that try to hold a worker or leak what the server holds: hostile FTP
servers, a FIFO, a huge file that is not an RDB, failure details naming the server's
own paths. Each case was found open by a review (docs/imports.md); each runs against
real sockets and files, and each call is bounded so a regression fails, not hangs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from bdbexport.adapters.exporting.egress import OPEN, EgressPolicy
from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.exporting.ftp_connection import open_ftp
from bdbexport.adapters.importing import RdbImporter
from bdbexport.adapters.importing.sources import fetch
from bdbexport.domain.bdb import Bdb, Endpoint
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import MountPointLocation, UrlLocation
from bdbexport.domain.statuses import ImportFailureReason
from tests.support.bounded import within
from tests.support.ftp_server import FtpServer
from tests.support.redis_server import RedisServer
from tests.support.scripted_ftp import (
    ScriptedFtpServer,
    endless_multiline,
    hang_up_after_user,
    trickle,
)

BOUND = 20.0
"""Longest any case may take: without the fixes they ran for minutes, or forever."""


class CancelledError(Exception):
    """What the worker's progress raises once the action is cancelled."""


def failure(raised: BaseException | None) -> ImportFailedError:
    assert isinstance(raised, ImportFailedError), repr(raised)
    return raised


def fetch_ftp(
    url: str, destination: Path, *, timeout: float, fraction: Callable[[float], None]
) -> Callable[[], None]:
    opener = partial(open_ftp, egress=OPEN)
    return lambda: fetch(
        UrlLocation(url=url), destination, fraction, timeout=timeout, open_ftp=opener
    )


def test_a_banner_trickled_byte_by_byte_fails_within_the_timeout(tmp_path: Path) -> None:
    with ScriptedFtpServer(trickle(0.3)) as ftp:
        raised = within(
            BOUND,
            fetch_ftp(
                ftp.url("/a.rdb"), tmp_path / "in.rdb", timeout=1.5, fraction=lambda share: None
            ),
        )
        assert ftp.wait_for(lambda: ftp.open == 0, 5), "the connection was left open"
    failed = failure(raised)
    assert failed.reason is ImportFailureReason.DOWNLOAD_ERROR
    assert "within 1.5s" in (failed.detail or "")


def test_an_endless_multi_line_reply_is_bounded_as_a_whole(tmp_path: Path) -> None:
    with ScriptedFtpServer(endless_multiline(0.2)) as ftp:
        raised = within(
            BOUND,
            fetch_ftp(
                ftp.url("/a.rdb"), tmp_path / "in.rdb", timeout=1.5, fraction=lambda share: None
            ),
        )
    assert failure(raised).reason is ImportFailureReason.DOWNLOAD_ERROR


def test_a_cancel_lets_go_of_a_stalled_server_at_once(tmp_path: Path) -> None:
    """The timeout is long; the cancel (progress raising) is what ends the wait."""
    cancelled = threading.Event()

    def progress(share: float) -> None:
        if cancelled.is_set():
            raise CancelledError()

    for behaviour in (endless_multiline(0.1), trickle(0.3)):
        cancelled.clear()
        with ScriptedFtpServer(behaviour) as ftp:
            call = fetch_ftp(ftp.url("/a.rdb"), tmp_path / "in.rdb", timeout=600, fraction=progress)
            threading.Timer(0.5, cancelled.set).start()
            raised = within(BOUND, call)
            assert ftp.wait_for(lambda: ftp.open == 0, 5), "the connection was left open"
        assert isinstance(raised, CancelledError)
    assert not (tmp_path / "in.rdb").exists()


def test_a_server_that_hangs_up_after_user_is_a_download_error_with_a_detail(
    tmp_path: Path,
) -> None:
    with ScriptedFtpServer(hang_up_after_user) as ftp:
        raised = within(
            BOUND,
            fetch_ftp(
                ftp.url("/a.rdb"), tmp_path / "in.rdb", timeout=5, fraction=lambda share: None
            ),
        )
    failed = failure(raised)
    assert failed.reason is ImportFailureReason.DOWNLOAD_ERROR
    assert "closed the connection" in (failed.detail or "")


def test_the_connection_goes_only_to_an_address_the_egress_policy_checked(
    tmp_path: Path,
) -> None:
    """No check before the connect whose own resolution DNS rebinding could swap: the
    opener judges the very address it connects to (`localhost` resolves to loopback,
    which the default policy refuses)."""
    with ScriptedFtpServer(trickle(0.3)) as ftp:
        raised = within(
            BOUND,
            lambda: fetch(
                UrlLocation(url=ftp.url("/a.rdb", host="localhost")),
                tmp_path / "in.rdb",
                lambda share: None,
                timeout=5,
                open_ftp=partial(open_ftp, egress=EgressPolicy()),
            ),
        )
        assert ftp.connections == 0
    assert failure(raised).reason is ImportFailureReason.NO_PERMISSION


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.rdb")
    raised = within(
        BOUND,
        lambda: fetch(
            MountPointLocation(path="fifo.rdb"),
            tmp_path / "in.rdb",
            lambda share: None,
            timeout=5,
            resolved=tmp_path / "fifo.rdb",
        ),
    )
    failed = failure(raised)
    assert failed.reason is ImportFailureReason.WRONG_FILE_PATH
    assert failed.detail == "fifo.rdb is not a regular file"


def test_a_huge_file_that_is_no_rdb_is_refused_before_it_is_copied(tmp_path: Path) -> None:
    huge = tmp_path / "huge.rdb"
    with huge.open("wb") as file:
        file.truncate(300 * 1024 * 1024)  # sparse: 300 MB of zeros, no disk used
    copy = tmp_path / "in.rdb"
    raised = within(
        BOUND,
        lambda: fetch(MountPointLocation(path=str(huge)), copy, lambda s: None, timeout=5),
    )
    assert failure(raised).reason is ImportFailureReason.FILE_CORRUPTED
    assert not copy.exists() or copy.stat().st_size == 0


def test_an_ftp_file_that_is_no_rdb_is_refused_at_its_first_bytes(tmp_path: Path) -> None:
    server = FtpServer(tmp_path / "ftp")
    with (server.root / "huge.rdb").open("wb") as file:
        file.truncate(64 * 1024 * 1024)
    copy = tmp_path / "in.rdb"
    with server:
        url = server.url("reader", "reader-password", "huge.rdb")
        raised = within(BOUND, fetch_ftp(url, copy, timeout=5, fraction=lambda s: None))
    failed = failure(raised)
    assert failed.reason is ImportFailureReason.FILE_CORRUPTED
    assert "\\x00" not in (failed.detail or "")  # the content is never echoed
    assert copy.stat().st_size < 2 * 1024 * 1024


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def test_details_name_paths_as_written_and_never_echo_content(
    tmp_path: Path, target: RedisServer
) -> None:
    root = tmp_path / "exports"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "secret.txt").write_bytes(b"TOPSECRET and more")
    (root / "link.rdb").symlink_to(root / "sub" / "secret.txt")
    importer = RdbImporter(resolve_path=ExportRoots([root]).resolve, timeout=5)
    bdb = Bdb(uid=1, name="db", endpoints=(Endpoint(addr=("127.0.0.1",), port=target.port),))
    details = {}
    for path in ("nope.rdb", "link.rdb", "sub/secret.txt", "sub", str(root / "nope.rdb")):
        with pytest.raises(ImportFailedError) as caught:
            importer.import_rdb(
                bdb, MountPointLocation(path=path), flush=False, progress=lambda p: None
            )
        details[path] = caught.value.detail or ""
    assert details["nope.rdb"] == "no file nope.rdb"
    assert details["sub"] == "sub is a directory, not a file"
    assert details[str(root / "nope.rdb")] == f"no file {root / 'nope.rdb'}"  # as written
    for path in ("nope.rdb", "link.rdb", "sub/secret.txt", "sub"):
        assert str(tmp_path) not in details[path]
    assert "secret.txt" not in details["link.rdb"]  # the symlink's target stays unsaid
    for detail in details.values():
        assert "TOPSEC" not in detail
