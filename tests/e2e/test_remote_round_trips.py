"""The done-when of the remote location types, through a real `bdbexport serve`: export
a live redis-server to S3 (moto), Azure Blob Storage (Azurite) and SFTP (OpenSSH), find
the object under a unique name with its SHA-256, import it into a second redis-server,
and every key, type, value and TTL is equal."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import obstore
import pytest
import redis

from bdbexport.adapters.object_stores.obstore_stores import abs_store, s3_store
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.locations import AbsLocation, S3Location
from tests.e2e.test_real_exports import SOURCE_PASSWORD, SourceRedis, bdb_on, snapshot_of
from tests.e2e.test_serve import ADMIN
from tests.support.object_stores import Azurite, MotoS3, OpenSshSftp
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
TARGET = 2


def expiries(client: redis.Redis) -> dict[bytes, int]:
    """Every key's absolute expiry in ms (PEXPIRETIME; -1: none)."""
    return {key: client.pexpiretime(key) for key in client.scan_iter(count=1000)}


SLACK_MS = 10_000
"""The importer restores each key with the TTL it had left when it was copied, so an
absolute expiry moves by the copy's few milliseconds; generous, as CPU is shared."""


def write_dataset(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(500):
        pipe.set(f"string:{i}", f"value-{i}" * (i % 30 + 1))
    for i in range(50):
        pipe.hset(f"hash:{i}", mapping={f"f{j}": j for j in range(8)})
        pipe.rpush(f"list:{i}", *range(12))
        pipe.sadd(f"set:{i}", *range(9))
        pipe.zadd(f"zset:{i}", {f"m{j}": j / 2 for j in range(7)})
        pipe.set(f"expiring:{i}", i, ex=3600 + i)
    pipe.set("large", b"\x07" * 3_000_000)
    pipe.execute()


@pytest.fixture
def source(tmp_path: Path) -> Iterator[SourceRedis]:
    server = SourceRedis(tmp_path / "source").start()
    yield server
    server.stop()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "target").start()
    yield server
    server.stop()


def serve(tmp_path: Path, source: SourceRedis, target: RedisServer, *extra: str) -> ServerProcess:
    into = {
        "uid": TARGET,
        "name": "target",
        "endpoints": [{"addr": ["127.0.0.1"], "port": target.port}],
    }
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [bdb_on(source.port), into],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(document))
    args = ["--bootstrap", str(tmp_path / "bootstrap.json"), "--allow-egress", "127.0.0.1"]
    return ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}", args=[*args, *extra], workdir=tmp_path
    )


def ended(server: ServerProcess, uid: int, kind: str, within: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        bdb: dict[str, Any] = httpx.get(f"{server.url}/v1/bdbs/{uid}", auth=ADMIN).json()
        if bdb[f"{kind}_status"] not in {"exporting", "importing", "initializing"}:
            return bdb
        assert time.monotonic() < deadline, f"the {kind} still runs after {within}s: {bdb}"
        time.sleep(0.1)


def round_trip(
    server: ServerProcess, location: dict[str, Any], source_of: Any
) -> tuple[dict[str, Any], bytes, str]:
    """Export bdb 1 to `location`, find the new object (`source_of` lists names and
    reads one), import it into bdb 2; the import's bdb, the object and its sidecar."""
    started = httpx.post(
        f"{server.url}/v1/bdbs/1/actions/export", json={"export_location": location}, auth=ADMIN
    )
    assert started.status_code == 200, started.text
    exported = ended(server, 1, "export")
    assert exported["export_status"] == "succeeded", exported
    names, read, import_source = source_of
    (name,) = [n for n in names() if n.endswith(".rdb")]
    assert "-db1-" in name
    body, sidecar = read(name), read(name + ".sha256").decode()
    assert sidecar.split()[0] == hashlib.sha256(body).hexdigest()
    imported = httpx.post(
        f"{server.url}/v1/bdbs/{TARGET}/actions/import",
        json={"dataset_import_sources": [import_source(name)]},
        auth=ADMIN,
    )
    assert imported.status_code == 200, imported.text
    return ended(server, TARGET, "import"), body, sidecar


def check_equal(source: SourceRedis, target: RedisServer, bdb: dict[str, Any]) -> None:
    assert bdb["import_status"] == "succeeded", bdb
    copied, original = redis.Redis(port=target.port), source.client()
    assert snapshot_of(copied) == snapshot_of(original)
    after, before = expiries(copied), expiries(original)
    assert after.keys() == before.keys()
    for key, expiry in before.items():
        assert (expiry == -1) == (after[key] == -1), key
        assert abs(after[key] - expiry) <= SLACK_MS, key
    assert sum(expiry > 0 for expiry in after.values()) == 50


def object_store_round_trip(
    server: ServerProcess, location: dict[str, Any], store: Any, subdir: str
) -> dict[str, Any]:
    """`round_trip` through an obstore-backed destination (S3, Azure): its objects under
    `subdir`, listed and read with the same library the adapter writes with."""

    def names() -> list[str]:
        listed = obstore.list(store, prefix=subdir).collect()
        return [entry["path"].rpartition("/")[2] for entry in listed]

    def read(name: str) -> bytes:
        return bytes(obstore.get(store, f"{subdir}/{name}").bytes())

    bdb, _, _ = round_trip(server, location, (names, read, lambda n: {**location, "filename": n}))
    return bdb


def test_s3_round_trip(
    tmp_path: Path, source: SourceRedis, target: RedisServer, moto_s3: MotoS3
) -> None:
    write_dataset(source.client())
    account = moto_s3.account
    subdir = f"nightly-{tmp_path.name}"
    location = {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": subdir,
        "region_name": account.region,
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    store = s3_store(S3Location.model_validate(location), RemoteSettings(s3_url=account.endpoint))
    with serve(tmp_path, source, target, "--s3-url", account.endpoint).start() as server:
        bdb = object_store_round_trip(server, location, store, subdir)
    check_equal(source, target, bdb)


def test_abs_round_trip(
    tmp_path: Path, source: SourceRedis, target: RedisServer, azurite: Azurite
) -> None:
    write_dataset(source.client())
    blob = azurite.account
    subdir = f"nightly-{tmp_path.name}"
    location = {
        "type": "abs",
        "container": blob.container,
        "subdir": subdir,
        "account_name": blob.account_name,
        "account_key": blob.account_key,
    }
    store = abs_store(AbsLocation.model_validate(location), RemoteSettings(abs_url=blob.endpoint))
    with serve(tmp_path, source, target, "--abs-url", blob.endpoint).start() as server:
        bdb = object_store_round_trip(server, location, store, subdir)
    check_equal(source, target, bdb)


def test_sftp_round_trip(
    tmp_path: Path, source: SourceRedis, target: RedisServer, sftp_server: OpenSshSftp
) -> None:
    write_dataset(source.client())
    account = sftp_server.account
    folder = account.root / f"nightly-{tmp_path.name}"
    folder.mkdir()
    key = account.key_path.read_text()
    url = f"sftp://{account.user}@{account.host}:{account.port}{folder}/"
    location = {"type": "sftp", "sftp_url": url, "key": key}
    known = ["--sftp-known-hosts", str(account.known_hosts)]

    def names() -> list[str]:
        return [path.name for path in folder.iterdir()]

    def read(name: str) -> bytes:
        return (folder / name).read_bytes()

    def import_source(name: str) -> dict[str, Any]:
        return {"type": "sftp", "sftp_url": url + name, "key": key}

    with serve(tmp_path, source, target, *known).start() as server:
        bdb, body, _ = round_trip(server, location, (names, read, import_source))
        assert io.BytesIO(body).read(5) == b"REDIS"
    check_equal(source, target, bdb)
    assert SOURCE_PASSWORD not in (tmp_path / f"serve-{server.port}.err").read_text()


def test_an_rdb_gz_import_from_s3(
    tmp_path: Path, source: SourceRedis, target: RedisServer, moto_s3: MotoS3
) -> None:
    """Redis Software takes `.rdb.gz` import sources: our export, gzipped by hand, loads."""
    write_dataset(source.client())
    account = moto_s3.account
    subdir = f"gz-{tmp_path.name}"
    location = {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": subdir,
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    store = s3_store(S3Location.model_validate(location), RemoteSettings(s3_url=account.endpoint))
    with serve(tmp_path, source, target, "--s3-url", account.endpoint).start() as server:
        started = httpx.post(
            f"{server.url}/v1/bdbs/1/actions/export",
            json={"export_location": location},
            auth=ADMIN,
        )
        assert started.status_code == 200, started.text
        assert ended(server, 1, "export")["export_status"] == "succeeded"
        (name,) = [
            e["path"]
            for e in obstore.list(store, prefix=subdir).collect()
            if e["path"].endswith(".rdb")
        ]
        packed = gzip.compress(bytes(obstore.get(store, name).bytes()))
        obstore.put(store, name + ".gz", packed)
        imported = httpx.post(
            f"{server.url}/v1/bdbs/{TARGET}/actions/import",
            json={
                "dataset_import_sources": [
                    {**location, "filename": name.rpartition("/")[2] + ".gz"}
                ]
            },
            auth=ADMIN,
        )
        assert imported.status_code == 200, imported.text
        bdb = ended(server, TARGET, "import")
    check_equal(source, target, bdb)


def test_an_s3_export_runs_in_serves_worker_child(
    tmp_path: Path, source: SourceRedis, target: RedisServer, moto_s3: MotoS3
) -> None:
    """The child `bdbexport worker` gets serve's remote location settings (`--s3-url`):
    an export serve accepted is run there with the same S3 endpoint, not refused by
    the child as a location type it has no adapter for."""
    write_dataset(source.client())
    account = moto_s3.account
    subdir = f"child-{tmp_path.name}"
    location = {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": subdir,
        "region_name": account.region,
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    store = s3_store(S3Location.model_validate(location), RemoteSettings(s3_url=account.endpoint))
    extra = ("--s3-url", account.endpoint, "--worker-mode", "child")
    with serve(tmp_path, source, target, *extra).start() as server:
        started = httpx.post(
            f"{server.url}/v1/bdbs/1/actions/export",
            json={"export_location": location},
            auth=ADMIN,
        )
        assert started.status_code == 200, started.text
        exported = ended(server, 1, "export")
    assert exported["export_status"] == "succeeded", exported
    listed = obstore.list(store, prefix=subdir).collect()
    names = [entry["path"].rpartition("/")[2] for entry in listed]
    (name,) = [n for n in names if n.endswith(".rdb")]
    body = bytes(obstore.get(store, f"{subdir}/{name}").bytes())
    assert body.startswith(b"REDIS")
