"""Exports to and imports from Google Cloud Storage (fake-gcs-server) through the
google-cloud-storage adapter: a resumable upload that appears only complete, with its
SHA-256 sidecar; an abort cancels the session; a missing bucket is wrong-file-path; the
key is used as a self-signed JWT (nothing reaches Google's token endpoint, which is not
reachable from here). fake-gcs-server accepts any credentials, so `no-permission` for
`gs` is untested here (docs/exports.md)."""

from __future__ import annotations

import hashlib
import io
import os
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.object_stores.gcs import GcsSink, gcs_download
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.locations import GcsLocation
from tests.support.object_stores import FakeGcs

MIB = 1024 * 1024
LOOPBACK = EgressPolicy.build(["127.0.0.1"])


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def location(fake: FakeGcs, private_key: str, **changes: str) -> GcsLocation:
    fields = {
        "bucket_name": fake.account.bucket,
        "subdir": f"gs-{uuid.uuid4().hex[:8]}",
        "client_id": "1234",
        "client_email": "exporter@bdbexport-tests.iam.gserviceaccount.com",
        "private_key_id": "0123abcd",
        "private_key": private_key,
        **changes,
    }
    return GcsLocation.model_validate(fields)


def settings(fake: FakeGcs) -> RemoteSettings:
    return RemoteSettings(gs_url=fake.account.endpoint, timeout=20, part_size=MIB)


def names(fake: FakeGcs, prefix: str) -> list[str]:
    listed = httpx.get(
        f"{fake.account.endpoint}/storage/v1/b/{fake.account.bucket}/o", params={"prefix": prefix}
    ).json()
    return sorted(item["name"] for item in listed.get("items", []))


def test_an_export_appears_whole_with_its_sha256(fake_gcs: FakeGcs, private_key: str) -> None:
    where = location(fake_gcs, private_key)
    key = f"{where.subdir}/db1.rdb"
    data = os.urandom(3 * MIB + 99)
    sink = GcsSink(where, key, settings(fake_gcs), LOOPBACK)
    for start in range(0, len(data), 500_000):
        sink.write(data[start : start + 500_000])
    assert names(fake_gcs, str(where.subdir)) == []
    sink.commit()
    assert names(fake_gcs, str(where.subdir)) == [key, key + ".sha256"]
    copy = io.BytesIO()
    source = where.model_copy(update={"filename": "db1.rdb"})
    assert gcs_download(source, copy, settings(fake_gcs), LOOPBACK) == len(data)
    assert copy.getvalue() == data
    assert (
        hashlib.sha256(copy.getvalue()).hexdigest()
        in httpx.get(
            f"{fake_gcs.account.endpoint}/storage/v1/b/{fake_gcs.account.bucket}/o/"
            + f"{key}.sha256".replace("/", "%2F"),
            params={"alt": "media"},
        ).text
    )


def test_an_aborted_export_leaves_nothing(fake_gcs: FakeGcs, private_key: str) -> None:
    where = location(fake_gcs, private_key)
    sink = GcsSink(where, f"{where.subdir}/db1.rdb", settings(fake_gcs), LOOPBACK)
    sink.write(os.urandom(2 * MIB + 5))
    sink.abort()
    sink.abort()
    assert names(fake_gcs, str(where.subdir)) == []


def test_a_missing_bucket_is_wrong_file_path(fake_gcs: FakeGcs, private_key: str) -> None:
    where = location(fake_gcs, private_key, bucket_name="no-such-bucket")
    with pytest.raises(ExportFailedError) as failed:
        GcsSink(where, "x.rdb", settings(fake_gcs), LOOPBACK)
    assert failed.value.reason == "wrong-file-path"
    assert "BEGIN" not in str(failed.value)


def test_the_egress_policy_judges_the_endpoint(fake_gcs: FakeGcs, private_key: str) -> None:
    with pytest.raises(ExportFailedError) as failed:
        GcsSink(location(fake_gcs, private_key), "x.rdb", settings(fake_gcs), EgressPolicy.build())
    assert failed.value.reason == "no-permission"


def test_an_import_differing_from_its_sha256_is_file_corrupted(
    fake_gcs: FakeGcs, private_key: str
) -> None:
    where = location(fake_gcs, private_key)
    key = f"{where.subdir}/db1.rdb"
    sink = GcsSink(where, key, settings(fake_gcs), LOOPBACK)
    sink.write(b"REDIS0011" + os.urandom(100))
    sink.commit()
    httpx.post(
        f"{fake_gcs.account.endpoint}/upload/storage/v1/b/{fake_gcs.account.bucket}/o",
        params={"uploadType": "media", "name": key},
        content=b"REDIS0011 replaced",
    ).raise_for_status()
    source = where.model_copy(update={"filename": "db1.rdb"})
    with pytest.raises(ImportFailedError) as failed:
        gcs_download(source, io.BytesIO(), settings(fake_gcs), LOOPBACK)
    assert failed.value.reason == "file-corrupted"
    missing = where.model_copy(update={"filename": "absent.rdb"})
    with pytest.raises(ImportFailedError) as absent:
        gcs_download(missing, io.BytesIO(), settings(fake_gcs), LOOPBACK)
    assert absent.value.reason == "wrong-file-path"


def test_the_family_adapter_writes_and_reads_gs(fake_gcs: FakeGcs, private_key: str) -> None:
    """`RemoteLocations` takes `gs` already: serving it is listing it in its types."""
    from bdbexport.adapters.object_stores.remote import RemoteLocations

    remote = RemoteLocations(settings(fake_gcs), LOOPBACK)
    assert "gs" not in remote.types
    where = location(fake_gcs, private_key)
    data = b"REDIS0011" + os.urandom(2 * MIB)
    sink = remote.sink(where, "db1.rdb")
    sink.write(data)
    sink.commit()
    copy = io.BytesIO()
    remote.fetch(where.model_copy(update={"filename": "db1.rdb"}), copy, lambda _: None)
    assert copy.getvalue() == data
