"""`.rdb.gz` import sources from S3 (moto): decompressed as they stream; a damaged or
truncated archive is file-corrupted."""

from __future__ import annotations

import gzip
import io
import os
import uuid

import obstore
import pytest

from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.object_stores.obstore_stores import s3_store
from bdbexport.adapters.object_stores.remote import RemoteLocations
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import S3Location
from tests.support.object_stores import MotoS3


def source(moto: MotoS3, filename: str) -> S3Location:
    account = moto.account
    return S3Location(
        bucket_name=account.bucket,
        subdir="gz",
        filename=filename,
        access_key_id=account.access_key_id,
        secret_access_key=account.secret_access_key,
    )


def remote(moto: MotoS3) -> RemoteLocations:
    settings = RemoteSettings(s3_url=moto.account.endpoint, timeout=20)
    return RemoteLocations(settings, EgressPolicy.build(["127.0.0.1"]))


def test_a_gzipped_source_arrives_decompressed(moto_s3: MotoS3) -> None:
    data = b"REDIS0011" + os.urandom(3 * 1024 * 1024) + b"\x00" * 5_000_000
    name = f"{uuid.uuid4().hex}.rdb.gz"
    where = source(moto_s3, name)
    obstore.put(s3_store(where, remote(moto_s3).settings), f"gz/{name}", gzip.compress(data))
    copy = io.BytesIO()
    remote(moto_s3).fetch(where, copy, lambda _: None)
    assert copy.getvalue() == data


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_archive_is_file_corrupted(moto_s3: MotoS3, damage: str) -> None:
    packed = gzip.compress(b"REDIS0011" + os.urandom(100_000))
    body = packed[: len(packed) // 2] if damage == "truncated" else b"not gzip at all"
    name = f"{uuid.uuid4().hex}.rdb.gz"
    where = source(moto_s3, name)
    obstore.put(s3_store(where, remote(moto_s3).settings), f"gz/{name}", body)
    with pytest.raises(ImportFailedError) as failed:
        remote(moto_s3).fetch(where, io.BytesIO(), lambda _: None)
    assert failed.value.reason == "file-corrupted"
