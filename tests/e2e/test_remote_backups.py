"""A backup now of a bdb whose stored `backup_location` is remote (S3 on moto, through a
real serve): the backup is written there under its own name with its SHA-256, and the
stored location's secret never shows on the wire."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import obstore
import pytest

from bdbexport.adapters.object_stores.obstore_stores import s3_store
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.locations import S3Location
from tests.e2e.test_serve import ADMIN
from tests.support.object_stores import MotoS3
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow


def test_a_backup_goes_to_the_stored_s3_location(
    tmp_path: Path, redis_server: RedisServer, moto_s3: MotoS3
) -> None:
    account = moto_s3.account
    location: dict[str, Any] = {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": f"backups-{tmp_path.name}",
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    endpoint = {"addr": ["127.0.0.1"], "port": redis_server.port}
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [{"uid": 1, "name": "db1", "endpoints": [endpoint], "backup_location": location}],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(document))
    args = ["--bootstrap", str(tmp_path / "bootstrap.json"), "--allow-egress", "127.0.0.1"]
    args += ["--s3-url", account.endpoint]
    with ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}", args=args, workdir=tmp_path
    ).start() as server:
        shown = httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN)
        assert shown.json()["backup_location"]["bucket_name"] == account.bucket
        assert account.secret_access_key not in shown.text
        started = httpx.post(f"{server.url}/v1/bdbs/1/actions/backup", json={}, auth=ADMIN)
        assert started.status_code == 200, started.text
        deadline = time.monotonic() + 120
        while (bdb := httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json())[
            "backup_status"
        ] not in {"succeeded", "failed"}:
            assert time.monotonic() < deadline, bdb
            time.sleep(0.1)
        assert bdb["backup_status"] == "succeeded", bdb
    store = s3_store(S3Location.model_validate(location), RemoteSettings(s3_url=account.endpoint))
    names = sorted(e["path"] for e in obstore.list(store, prefix=location["subdir"]).collect())
    assert len(names) == 2, names
    assert names[0].endswith(".rdb")
    assert names[1] == names[0] + ".sha256"
    assert "-db1-" in names[0]
