"""Exports to and imports from OpenSSH's sftp server through the asyncssh adapter: the
file appears only complete (renamed from a temporary name), with its SHA-256 sidecar;
an abort leaves nothing; host keys are pinned; Redis's failure reasons, no secret."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import pytest

from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.adapters.object_stores.sftp import SftpSink, sftp_download
from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.locations import SftpLocation
from tests.support.object_stores import OpenSshSftp

MIB = 1024 * 1024
LOOPBACK = EgressPolicy.build(["127.0.0.1"])


def location(server: OpenSshSftp, path: str, key: Path | None = None) -> SftpLocation:
    chosen = key or server.account.key_path
    return SftpLocation(sftp_url=server.account.url(path), key=chosen.read_text())


def settings(server: OpenSshSftp, known_hosts: Path | None = None) -> RemoteSettings:
    return RemoteSettings(sftp_known_hosts=known_hosts or server.account.known_hosts, timeout=20)


@pytest.fixture
def folder(sftp_server: OpenSshSftp) -> str:
    name = f"out-{uuid.uuid4().hex[:8]}"
    (sftp_server.account.root / name).mkdir()
    return name


def test_an_export_appears_whole_with_its_sha256(sftp_server: OpenSshSftp, folder: str) -> None:
    data = os.urandom(5 * MIB + 17)
    sink = SftpSink(location(sftp_server, folder), "db1.rdb", settings(sftp_server), LOOPBACK)
    directory = sftp_server.account.root / folder
    for start in range(0, len(data), 700_000):
        sink.write(memoryview(data)[start : start + 700_000])
    assert not (directory / "db1.rdb").exists()
    sink.commit()
    assert (directory / "db1.rdb").read_bytes() == data
    sidecar = (directory / "db1.rdb.sha256").read_text()
    assert sidecar == f"{hashlib.sha256(data).hexdigest()}  db1.rdb\n"
    assert sorted(path.name for path in directory.iterdir()) == ["db1.rdb", "db1.rdb.sha256"]
    copy = io.BytesIO()
    source = location(sftp_server, f"{folder}/db1.rdb")
    assert sftp_download(source, copy, settings(sftp_server), LOOPBACK) == len(data)
    assert copy.getvalue() == data


def test_an_aborted_export_leaves_nothing(sftp_server: OpenSshSftp, folder: str) -> None:
    sink = SftpSink(location(sftp_server, folder), "db1.rdb", settings(sftp_server), LOOPBACK)
    sink.write(os.urandom(2 * MIB))
    sink.abort()
    sink.abort()
    assert list((sftp_server.account.root / folder).iterdir()) == []


def test_another_key_is_no_permission(sftp_server: OpenSshSftp, folder: str) -> None:
    import asyncssh

    other = sftp_server.directory / f"other-{uuid.uuid4().hex[:8]}"
    other.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    with pytest.raises(ExportFailedError) as failed:
        SftpSink(location(sftp_server, folder, other), "x.rdb", settings(sftp_server), LOOPBACK)
    assert failed.value.reason == "no-permission"
    assert "PRIVATE" not in str(failed.value)


def test_an_unknown_host_key_is_no_permission(
    sftp_server: OpenSshSftp, folder: str, tmp_path: Path
) -> None:
    import asyncssh

    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sftp_server.port} {stranger}")
    with pytest.raises(ExportFailedError) as failed:
        SftpSink(location(sftp_server, folder), "x.rdb", settings(sftp_server, known), LOOPBACK)
    assert failed.value.reason == "no-permission"
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(ExportFailedError) as unknown:
        SftpSink(location(sftp_server, folder), "x.rdb", settings(sftp_server, empty), LOOPBACK)
    assert unknown.value.reason == "no-permission"


def test_a_missing_directory_is_wrong_file_path(sftp_server: OpenSshSftp) -> None:
    with pytest.raises(ExportFailedError) as failed:
        SftpSink(location(sftp_server, "absent"), "x.rdb", settings(sftp_server), LOOPBACK)
    assert failed.value.reason == "wrong-file-path"


def test_the_egress_policy_decides_the_address_connected(
    sftp_server: OpenSshSftp, folder: str
) -> None:
    with pytest.raises(ExportFailedError) as failed:
        SftpSink(
            location(sftp_server, folder), "x.rdb", settings(sftp_server), EgressPolicy.build()
        )
    assert failed.value.reason == "no-permission"
    assert "egress" in failed.value.detail


def test_an_import_differing_from_its_sha256_is_file_corrupted(
    sftp_server: OpenSshSftp, folder: str
) -> None:
    sink = SftpSink(location(sftp_server, folder), "db1.rdb", settings(sftp_server), LOOPBACK)
    sink.write(b"REDIS0011" + os.urandom(1000))
    sink.commit()
    (sftp_server.account.root / folder / "db1.rdb").write_bytes(b"REDIS0011" + os.urandom(10))
    source = location(sftp_server, f"{folder}/db1.rdb")
    with pytest.raises(ImportFailedError) as failed:
        sftp_download(source, io.BytesIO(), settings(sftp_server), LOOPBACK)
    assert failed.value.reason == "file-corrupted"


def test_an_import_without_a_sidecar_and_a_missing_file(
    sftp_server: OpenSshSftp, folder: str
) -> None:
    (sftp_server.account.root / folder / "foreign.rdb").write_bytes(b"REDIS0011 theirs")
    copy = io.BytesIO()
    source = location(sftp_server, f"{folder}/foreign.rdb")
    sftp_download(source, copy, settings(sftp_server), LOOPBACK)
    assert copy.getvalue() == b"REDIS0011 theirs"
    missing = location(sftp_server, f"{folder}/absent.rdb")
    with pytest.raises(ImportFailedError) as failed:
        sftp_download(missing, io.BytesIO(), settings(sftp_server), LOOPBACK)
    assert failed.value.reason == "wrong-file-path"
