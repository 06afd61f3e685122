"""A cancelled export to a remote location ends promptly and leaves nothing: no object,
no open multipart upload, no temporary SFTP file. The source is slowed with Redis's own
`rdb-key-save-delay`, so the transfer is under way when the cancel comes; the end is
waited for with a generous deadline (the figure belongs in benchmarks)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import obstore
import pytest
import redis

from bdbexport.adapters.object_stores.obstore_stores import s3_store
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.locations import S3Location
from tests.e2e.test_serve import ADMIN
from tests.support.object_stores import MotoS3, OpenSshSftp
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
DEADLINE = 60.0


@pytest.fixture
def slow_source(tmp_path: Path) -> Iterator[RedisServer]:
    source = RedisServer(tmp_path / "source").start()
    client = redis.Redis(port=source.port)
    pipe = client.pipeline(transaction=False)
    for index in range(3000):
        pipe.set(f"key:{index}", b"x" * 20_000)
    pipe.execute()
    client.config_set("rdb-key-save-delay", 5000)  # microseconds per key: about 15 s
    yield source
    source.stop()


def serving(tmp_path: Path, source: RedisServer, *extra: str) -> ServerProcess:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {"uid": 1, "name": "db1", "endpoints": [{"addr": ["127.0.0.1"], "port": source.port}]}
        ],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(document))
    args = ["--bootstrap", str(tmp_path / "bootstrap.json"), "--allow-egress", "127.0.0.1"]
    return ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}", args=[*args, *extra], workdir=tmp_path
    )


def cancel_mid_transfer(
    server: ServerProcess, location: dict[str, Any], under_way: Callable[[], bool]
) -> dict[str, Any]:
    """Start the export, wait until `under_way` sees the transfer in the store, cancel."""
    started = httpx.post(
        f"{server.url}/v1/bdbs/1/actions/export", json={"export_location": location}, auth=ADMIN
    )
    assert started.status_code == 200, started.text
    action = started.json()["action_uid"]
    deadline = time.monotonic() + DEADLINE
    while not under_way():
        assert time.monotonic() < deadline, "the export never got under way"
        time.sleep(0.05)
    cancelled = httpx.delete(f"{server.url}/v1/actions/{action}", auth=ADMIN, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    while True:
        record: dict[str, Any] = httpx.get(f"{server.url}/v1/actions/{action}", auth=ADMIN).json()
        if record["status"] in {"cancelled", "failed", "completed"}:
            return record
        assert time.monotonic() < deadline, f"the cancelled export still runs: {record}"
        time.sleep(0.1)


def test_a_cancelled_s3_export_leaves_nothing(
    tmp_path: Path, slow_source: RedisServer, moto_s3: MotoS3
) -> None:
    account = moto_s3.account
    location = {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": f"cancel-{tmp_path.name}",
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    client = moto_s3.client(account.access_key_id, account.secret_access_key)

    def open_uploads() -> list[Any]:
        uploads = client.list_multipart_uploads(Bucket=account.bucket).get("Uploads") or []
        return [u for u in uploads if u["Key"].startswith(location["subdir"])]

    with serving(tmp_path, slow_source, "--s3-url", account.endpoint).start() as server:
        record = cancel_mid_transfer(server, location, lambda: bool(open_uploads()))
    assert record["status"] == "cancelled", record
    store = s3_store(S3Location.model_validate(location), RemoteSettings(s3_url=account.endpoint))
    assert obstore.list(store, prefix=location["subdir"]).collect() == []
    assert open_uploads() == []


def test_a_cancelled_sftp_export_leaves_nothing(
    tmp_path: Path, slow_source: RedisServer, sftp_server: OpenSshSftp
) -> None:
    account = sftp_server.account
    folder = account.root / f"cancel-{tmp_path.name}"
    folder.mkdir()
    location = {
        "type": "sftp",
        "sftp_url": f"sftp://{account.user}@{account.host}:{account.port}{folder}/",
        "key": account.key_path.read_text(),
    }
    known = ["--sftp-known-hosts", str(account.known_hosts)]
    with serving(tmp_path, slow_source, *known).start() as server:
        record = cancel_mid_transfer(server, location, lambda: any(folder.iterdir()))
    assert record["status"] == "cancelled", record
    assert list(folder.iterdir()) == []
