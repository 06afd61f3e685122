"""Imports from a real FTP server: the file arrives, and each refusal has its reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bdbexport.adapters.importing import RdbImporter
from bdbexport.domain.bdb import Bdb, Endpoint
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import UrlLocation
from bdbexport.domain.statuses import ImportFailureReason, MemLimitReason
from tests.support.ftp_server import FtpServer
from tests.support.redis_server import RedisServer
from tests.support.server_process import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    """An FTP server offering `dumps/small.rdb`, a real RDB of three keys."""
    source = RedisServer(tmp_path / "source").start()
    try:
        client = redis.Redis(port=source.port)
        client.set("greeting", "hello")
        client.hset("user:1", mapping={"name": "Ada"})
        client.set("session", "x", px=600_000)
        client.save()
        client.close()
        rdb = (tmp_path / "source" / "dump.rdb").read_bytes()
    finally:
        source.stop()
    server = FtpServer(tmp_path / "ftp")
    (server.root / "dumps").mkdir()
    (server.root / "dumps" / "small.rdb").write_bytes(rdb)
    with server:
        yield server


def import_from(target_port: int, url: str) -> None:
    bdb = Bdb(uid=1, name="db", endpoints=(Endpoint(addr=("127.0.0.1",), port=target_port),))
    RdbImporter(timeout=5).import_rdb(
        bdb, UrlLocation(url=url), flush=True, progress=lambda percent: None
    )


def reason_of(target_port: int, url: str) -> ImportFailureReason | MemLimitReason:
    with pytest.raises(ImportFailedError) as caught:
        import_from(target_port, url)
    assert "password" not in caught.value.detail
    return caught.value.reason


def test_a_file_on_ftp_is_imported(ftp: FtpServer, target: RedisServer) -> None:
    import_from(target.port, ftp.url("reader", "reader-password", "dumps/small.rdb"))
    client = redis.Redis(port=target.port)
    assert client.get("greeting") == b"hello"
    assert client.hgetall("user:1") == {b"name": b"Ada"}
    assert 0 < client.pttl("session") <= 600_000
    client.close()


def test_a_refused_login_is_no_permission(ftp: FtpServer, target: RedisServer) -> None:
    url = ftp.url("reader", "wrong", "dumps/small.rdb")
    assert reason_of(target.port, url) is ImportFailureReason.NO_PERMISSION


def test_a_user_who_may_not_download_is_no_permission(ftp: FtpServer, target: RedisServer) -> None:
    url = ftp.url("lister", "lister-password", "dumps/small.rdb")
    assert reason_of(target.port, url) is ImportFailureReason.NO_PERMISSION


def test_a_missing_remote_file_is_a_wrong_file_path(ftp: FtpServer, target: RedisServer) -> None:
    for path in ("dumps/absent.rdb", "dumps/"):
        url = ftp.url("reader", "reader-password", path)
        assert reason_of(target.port, url) is ImportFailureReason.WRONG_FILE_PATH


def test_an_unreachable_ftp_server_is_a_download_error(target: RedisServer) -> None:
    url = f"ftp://reader:reader-password@127.0.0.1:{free_port()}/dumps/small.rdb"
    assert reason_of(target.port, url) is ImportFailureReason.DOWNLOAD_ERROR
