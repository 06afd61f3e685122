"""The real importer against real redis-servers: a file the real exporter made from a
server holding every data type arrives whole in another; every failure has its reason
from a real cause; a cancelled or failed import leaves the target as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bdbexport.adapters.exporting import RdbExporter
from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.adapters.importing import RdbImporter
from bdbexport.domain.bdb import Bdb, Endpoint
from bdbexport.domain.errors import ExportPathNotAllowedError
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import MountPointLocation
from bdbexport.domain.statuses import ImportFailureReason
from tests.support.datasets import DATABASES, assert_same_content, content_of, write_every_type
from tests.support.redis_server import RedisServer
from tests.support.server_process import free_port

pytestmark = pytest.mark.slow


class CancelledError(Exception):
    """What a caller raises from `progress` to stop an import."""


def bdb_at(port: int, password: str | None = None) -> Bdb:
    return Bdb.model_validate(
        {
            "uid": 1,
            "name": "orders",
            "endpoints": [Endpoint(addr=("127.0.0.1",), port=port)],
            "authentication_redis_pass": password,
        }
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("source")).start()
    yield server
    server.stop()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def client_of(server: RedisServer) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10)


@pytest.fixture(scope="module")
def exported(
    source: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[Any, Any]]:
    """The source filled with every type, exported by the real exporter to a file: once
    for the module (an export waits for the snapshot; every test only reads the file)."""
    for db in DATABASES:
        write_every_type(source.port, db)
    content = content_of(source.port)
    directory = tmp_path_factory.mktemp("exports")
    exporter = RdbExporter(roots=ExportRoots([directory]))
    exporter.export(bdb_at(source.port), MountPointLocation(path=str(directory)), _ignore)
    (rdb,) = directory.glob("*.rdb")
    return rdb, content


def _ignore(percent: int) -> None:
    pass


def import_file(target: RedisServer, path: Path, *, flush: bool = False) -> list[int]:
    seen: list[int] = []
    RdbImporter(progress_interval=0).import_rdb(
        bdb_at(target.port), MountPointLocation(path=str(path)), flush=flush, progress=seen.append
    )
    return seen


def test_every_type_ttl_and_database_arrives_whole(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer
) -> None:
    rdb, expected = exported
    assert any(kind == b"stream" for kind, _, _ in expected.values())
    assert any(expires > 0 for _, _, expires in expected.values())
    assert {db for db, _ in expected} == set(DATABASES)

    copying = time.monotonic()
    progress = import_file(target, rdb)

    assert_same_content(expected, content_of(target.port), since=copying)
    assert progress == sorted(progress)
    assert progress
    assert all(0 <= percent < 100 for percent in progress)


def test_without_flush_the_file_is_merged_and_wins_on_shared_keys(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer
) -> None:
    rdb, expected = exported
    client = client_of(target)
    client.set("only-in-target", "kept")
    client.set("string:1", "overwritten by the file")

    import_file(target, rdb, flush=False)

    assert client.get("only-in-target") == b"kept"
    assert client.get("string:1") == expected[(0, b"string:1")][1]
    client.close()


def test_with_flush_the_target_holds_exactly_the_file(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer
) -> None:
    rdb, expected = exported
    client = client_of(target)
    client.set("only-in-target", "gone")
    client.close()
    with redis.Redis(port=target.port, db=7) as other:
        other.set("other-database", "gone too")

    copying = time.monotonic()
    import_file(target, rdb, flush=True)

    assert_same_content(expected, content_of(target.port), since=copying)


@pytest.mark.parametrize("flush", [False, True])
def test_a_cancelled_import_leaves_the_target_exactly_as_before(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer, flush: bool
) -> None:
    rdb, _ = exported
    client = client_of(target)
    client.set("string:1", "mine")
    client.set("with-ttl", "mine", px=800_000)
    client.hset("hash:2", mapping={"mine": "yes"})
    client.set("only-in-target", "kept")
    client.close()
    before = content_of(target.port)

    def cancel_midway(percent: int) -> None:
        if percent >= 40:  # in the copy phase: some keys are already written
            raise CancelledError

    with pytest.raises(CancelledError):
        RdbImporter(progress_interval=0, batch=50).import_rdb(
            bdb_at(target.port),
            MountPointLocation(path=str(rdb)),
            flush=flush,
            progress=cancel_midway,
        )

    assert_same_content(before, content_of(target.port))


def failure_of(target_port: int, path: str) -> ImportFailedError:
    with pytest.raises(ImportFailedError) as caught:
        RdbImporter().import_rdb(
            bdb_at(target_port), MountPointLocation(path=path), flush=False, progress=_ignore
        )
    return caught.value


def test_a_missing_file_is_a_wrong_file_path(target: RedisServer, tmp_path: Path) -> None:
    failure = failure_of(target.port, str(tmp_path / "nowhere.rdb"))
    assert failure.reason is ImportFailureReason.WRONG_FILE_PATH
    assert failure_of(target.port, str(tmp_path)).reason is ImportFailureReason.WRONG_FILE_PATH


UNPRIVILEGED_IMPORT = """
import sys
from bdbexport.adapters.importing import RdbImporter
from bdbexport.domain.bdb import Bdb, Endpoint
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import MountPointLocation
bdb = Bdb(uid=1, name="db", endpoints=(Endpoint(addr=("127.0.0.1",), port=int(sys.argv[1])),))
try:
    RdbImporter().import_rdb(
        bdb, MountPointLocation(path=sys.argv[2]), flush=False, progress=lambda percent: None
    )
except ImportFailedError as failure:
    print(failure.reason.value)
"""


def test_an_unreadable_file_is_no_permission(target: RedisServer) -> None:
    # Root reads every file: as root, the importer runs without the capabilities that
    # let root ignore permission bits (setpriv), still as root, so it can read the
    # test's virtualenv (tox makes .tox 0700, which `nobody` could not traverse).
    directory = Path(tempfile.mkdtemp(prefix="bdbexport-unreadable-"))
    try:
        directory.chmod(0o755)
        secret = directory / "secret.rdb"
        secret.write_bytes(b"REDIS0010")
        secret.chmod(0)
        if os.geteuid() != 0:
            assert failure_of(target.port, str(secret)).reason is ImportFailureReason.NO_PERMISSION
            return
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop privileges")
        done = subprocess.run(
            [setpriv, "--bounding-set", "-dac_override,-dac_read_search", sys.executable,
             "-c", UNPRIVILEGED_IMPORT, str(target.port), str(secret)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.stdout.strip() == "no-permission", done.stderr
    finally:
        shutil.rmtree(directory)


def test_a_file_that_is_not_an_rdb_is_file_corrupted(target: RedisServer, tmp_path: Path) -> None:
    text = tmp_path / "notes.rdb"
    text.write_text("these are not the bytes you are looking for\n")
    failure = failure_of(target.port, str(text))
    assert failure.reason is ImportFailureReason.FILE_CORRUPTED
    assert "not an RDB file" in failure.detail


def test_an_rdb_newer_than_the_target_accepts_is_file_corrupted(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer, tmp_path: Path
) -> None:
    rdb, _ = exported
    newer = tmp_path / "newer.rdb"
    newer.write_bytes(b"REDIS0099" + rdb.read_bytes()[9:])
    failure = failure_of(target.port, str(newer))
    assert failure.reason is ImportFailureReason.FILE_CORRUPTED
    assert "RDB format version 99 is newer than the target" in failure.detail


def test_a_truncated_rdb_is_file_corrupted_in_redis_words(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer, tmp_path: Path
) -> None:
    rdb, _ = exported
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(rdb.read_bytes()[: rdb.stat().st_size // 2])
    failure = failure_of(target.port, str(cut))
    assert failure.reason is ImportFailureReason.FILE_CORRUPTED
    assert "Redis could not load the file" in failure.detail
    client = client_of(target)
    assert client.dbsize() == 0
    client.close()


def test_an_unreachable_target_is_a_general_error(
    exported: tuple[Path, dict[Any, Any]],
) -> None:
    rdb, _ = exported
    failure = failure_of(free_port(), str(rdb))
    assert failure.reason is ImportFailureReason.GENERAL_ERROR
    assert "cannot reach the database" in failure.detail


def test_a_target_refusing_the_password_is_a_general_error(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer
) -> None:
    rdb, _ = exported
    client = client_of(target)
    client.config_set("requirepass", "right")
    client.close()
    with pytest.raises(ImportFailedError) as caught:
        RdbImporter().import_rdb(
            bdb_at(target.port, password="wrong"),
            MountPointLocation(path=str(rdb)),
            flush=False,
            progress=_ignore,
        )
    assert caught.value.reason is ImportFailureReason.GENERAL_ERROR
    assert "refused us" in caught.value.detail
    assert "wrong" not in caught.value.detail


def test_a_path_the_deployment_forbids_is_no_permission(
    exported: tuple[Path, dict[Any, Any]], target: RedisServer
) -> None:
    rdb, _ = exported

    def only_under_backups(path: str) -> Path:
        raise ExportPathNotAllowedError()

    with pytest.raises(ImportFailedError) as caught:
        RdbImporter(resolve_path=only_under_backups).import_rdb(
            bdb_at(target.port), MountPointLocation(path=str(rdb)), flush=False, progress=_ignore
        )
    assert caught.value.reason is ImportFailureReason.NO_PERMISSION
    client = client_of(target)
    assert client.dbsize() == 0
    client.close()
