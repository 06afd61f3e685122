"""Real Redis Software clients drive an export to S3 and an import back from it through
a real `bdbexport serve` (moto for S3, two live redis-servers): the `redis-enterprise`
bindings start the export and poll its action; the generated `redis-enterprise-python`
client starts the import with `dataset_import_sources`, as Redis Software takes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import obstore
import pytest

from bdbexport.adapters.object_stores.obstore_stores import s3_store
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.locations import S3Location
from tests.e2e.test_client_conformance import poll_action
from tests.e2e.test_serve import ADMIN
from tests.support.datasets import assert_same_content, content_of, write_every_type
from tests.support.object_stores import MotoS3
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

redis_enterprise = pytest.importorskip("redis_enterprise")
swagger_client = pytest.importorskip("swagger_client")


@pytest.fixture
def live_pair(
    tmp_path: Path, moto_s3: MotoS3
) -> Iterator[tuple[ServerProcess, RedisServer, RedisServer]]:
    source = RedisServer(tmp_path / "source").start()
    target = RedisServer(tmp_path / "target").start()
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {"uid": uid, "name": f"db{uid}", "endpoints": [{"addr": ["127.0.0.1"], "port": port}]}
            for uid, port in ((1, source.port), (2, target.port))
        ],
    }
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(document))
    args = ["--bootstrap", str(bootstrap), "--allow-egress", "127.0.0.1"]
    args += ["--s3-url", moto_s3.account.endpoint]
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    try:
        with ServerProcess(store, args=args, workdir=tmp_path) as server:
            yield server.start(), source, target
    finally:
        source.stop()
        target.stop()


def test_redis_software_clients_export_to_and_import_from_s3(
    live_pair: tuple[ServerProcess, RedisServer, RedisServer], moto_s3: MotoS3, tmp_path: Path
) -> None:
    server, source, target = live_pair
    write_every_type(source.port, 0)
    expected = content_of(source.port)
    account = moto_s3.account
    location: dict[str, Any] = {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": f"clients-{tmp_path.name}",
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }
    client = redis_enterprise.EnterpriseClient(server.url, ADMIN[0], ADMIN[1], insecure=True)
    started = client.post_sync("/v1/bdbs/1/actions/export", {"export_location": location})
    export, _ = poll_action(client, started["action_uid"])
    assert export["status"] == "completed", export
    store = s3_store(S3Location.model_validate(location), RemoteSettings(s3_url=account.endpoint))
    listed = obstore.list(store, prefix=location["subdir"]).collect()
    (name,) = [e["path"].rpartition("/")[2] for e in listed if e["path"].endswith(".rdb")]

    configuration = swagger_client.Configuration()
    configuration.host = server.url
    configuration.username, configuration.password = ADMIN
    api = swagger_client.ApiClient(configuration)
    try:
        body = swagger_client.ActionsImportBody(
            dataset_import_sources=[{**location, "filename": name}]
        )
        swagger_client.ActionsApi(api).post_v1_bdbs_uid_actions_import(2, body=body)
    finally:
        api.pool.close()
        api.pool.join()
    (action,) = client.get_sync("/v1/actions/bdb/2")
    done, _ = poll_action(client, action["action_uid"])
    assert done["status"] == "completed", done
    assert_same_content(expected, content_of(target.port))
