"""Exports to and imports from S3 (moto) and Azure Blob Storage (Azurite) through the
obstore adapters: complete objects with their SHA-256 sidecar, nothing left by a failed
or aborted transfer, Redis's failure reasons, no secret in any detail."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import obstore
import pytest
from obstore.store import ObjectStore

from bdbexport.adapters.exporting.egress import EgressPolicy
from bdbexport.adapters.object_stores.checksum import sidecar_name
from bdbexport.adapters.object_stores.object_sink import ObjectSink
from bdbexport.adapters.object_stores.object_source import download
from bdbexport.adapters.object_stores.obstore_stores import (
    abs_store,
    check_endpoint,
    s3_endpoint,
    s3_store,
)
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.locations import AbsLocation, S3Location
from tests.support.object_stores import Azurite, MotoS3

MIB = 1024 * 1024
PART = 5 * MIB
"""S3's smallest part: the tests' multipart uploads have several."""


@dataclass
class Target:
    provider: str
    store: Callable[..., ObjectStore]
    """The store, with the location's fields overridden by keyword."""
    settings: RemoteSettings
    secret: str


@pytest.fixture(params=["s3", "abs"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "s3":
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        account = moto.account
        settings = RemoteSettings(s3_url=account.endpoint, timeout=20, retries=0, part_size=PART)

        def s3(**changes: Any) -> ObjectStore:
            fields = {
                "bucket_name": account.bucket,
                "access_key_id": account.access_key_id,
                "secret_access_key": account.secret_access_key,
                "region_name": account.region,
                **changes,
            }
            return s3_store(S3Location.model_validate(fields), settings)

        return Target("S3", s3, settings, account.secret_access_key)
    azurite: Azurite = request.getfixturevalue("azurite")
    blob = azurite.account
    settings = RemoteSettings(abs_url=blob.endpoint, timeout=20, retries=0, part_size=PART)

    def azure(**changes: Any) -> ObjectStore:
        fields = {
            "container": blob.container,
            "account_name": blob.account_name,
            "account_key": blob.account_key,
            **changes,
        }
        return abs_store(AbsLocation.model_validate(fields), settings)

    return Target("Azure Blob Storage", azure, settings, blob.account_key)


def sink(target: Target, key: str, **changes: Any) -> ObjectSink:
    return ObjectSink(
        target.store(**changes),
        key,
        provider=target.provider,
        part_size=target.settings.part_size,
        concurrency=2,
    )


def names(target: Target) -> set[str]:
    return {entry["path"] for batch in obstore.list(target.store()) for entry in batch}


def unique(prefix: str) -> str:
    return f"{prefix}/{os.urandom(6).hex()}.rdb"


def test_an_export_appears_whole_with_its_sha256(target: Target) -> None:
    data = os.urandom(12 * MIB + 123)
    key = unique("whole")
    written = sink(target, key)
    for start in range(0, len(data), 300_000):
        written.write(memoryview(data)[start : start + 300_000])
    assert key not in names(target)
    written.commit()
    stored = bytes(obstore.get(target.store(), key).bytes())
    assert stored == data
    sidecar = bytes(obstore.get(target.store(), sidecar_name(key)).bytes()).decode()
    assert sidecar == f"{hashlib.sha256(data).hexdigest()}  {key.rpartition('/')[2]}\n"
    copy = io.BytesIO()
    assert download(target.store(), key, copy, provider=target.provider) == len(data)
    assert copy.getvalue() == data


def test_an_aborted_export_leaves_nothing(target: Target) -> None:
    key = unique("aborted")
    written = sink(target, key)
    for _ in range(8):
        written.write(os.urandom(MIB))
    written.abort()
    written.abort()
    assert not {name for name in names(target) if name.startswith(key)}


def test_a_stream_failing_midway_leaves_nothing(moto_s3: MotoS3, target: Target) -> None:
    key = unique("failing")
    written = sink(target, key)

    def export() -> None:
        for count in range(20):
            written.write(os.urandom(MIB))
            if count == 11:
                raise RuntimeError("the snapshot broke")

    with pytest.raises(RuntimeError):
        export()
    written.abort()
    assert not {name for name in names(target) if name.startswith(key)}
    if target.provider == "S3":
        account = moto_s3.account
        client = moto_s3.client(account.access_key_id, account.secret_access_key)
        assert not client.list_multipart_uploads(Bucket=account.bucket).get("Uploads")


def test_wrong_credentials_are_no_permission_without_the_secret(target: Target) -> None:
    wrong = (
        {"secret_access_key": "not-the-secret-1234"}
        if target.provider == "S3"
        else {"account_key": "bm90LXRoZS1rZXk="}
    )
    written = sink(target, unique("refused"), **wrong)
    written.write(b"x" * 100)
    with pytest.raises(ExportFailedError) as failed:
        written.commit()
    assert failed.value.reason == "no-permission"
    assert "HTTP 403" in failed.value.detail
    for secret in (target.secret, "not-the-secret-1234", "bm90LXRoZS1rZXk="):
        assert secret not in str(failed.value)


def test_a_missing_bucket_or_container_is_wrong_file_path(target: Target) -> None:
    missing = (
        {"bucket_name": "no-such-bucket"}
        if target.provider == "S3"
        else {"container": "no-such-container"}
    )
    written = sink(target, unique("missing"), **missing)
    written.write(b"x" * 100)
    with pytest.raises(ExportFailedError) as failed:
        written.commit()
    assert failed.value.reason == "wrong-file-path"
    assert "HTTP 404" in failed.value.detail


def test_an_object_that_differs_from_its_sha256_is_file_corrupted(target: Target) -> None:
    key = unique("corrupt")
    written = sink(target, key)
    written.write(b"REDIS0011" + os.urandom(1000))
    written.commit()
    obstore.put(target.store(), key, b"REDIS0011" + os.urandom(1000))
    with pytest.raises(ImportFailedError) as failed:
        download(target.store(), key, io.BytesIO(), provider=target.provider)
    assert failed.value.reason == "file-corrupted"


def test_an_object_without_a_sidecar_is_imported_as_it_is(target: Target) -> None:
    key = unique("foreign")
    obstore.put(target.store(), key, b"REDIS0011 written by someone else")
    copy = io.BytesIO()
    download(target.store(), key, copy, provider=target.provider)
    assert copy.getvalue() == b"REDIS0011 written by someone else"


def test_a_missing_object_is_wrong_file_path_on_import(target: Target) -> None:
    with pytest.raises(ImportFailedError) as failed:
        download(target.store(), unique("absent"), io.BytesIO(), provider=target.provider)
    assert failed.value.reason == "wrong-file-path"


def test_the_egress_policy_judges_the_endpoint(moto_s3: MotoS3) -> None:
    location = S3Location(bucket_name="b-1", access_key_id="AK", secret_access_key="SK")
    loopback = RemoteSettings(s3_url=moto_s3.account.endpoint)
    with pytest.raises(EgressNotAllowedError):
        check_endpoint(s3_endpoint(location, loopback), EgressPolicy.build())
    metadata = RemoteSettings(s3_url="http://169.254.169.254")
    with pytest.raises(EgressNotAllowedError):
        check_endpoint(s3_endpoint(location, metadata), EgressPolicy.build(["127.0.0.1"]))
    check_endpoint(s3_endpoint(location, loopback), EgressPolicy.build(["127.0.0.1"]))
