"""The remote location types through the CLI, local and against a server: export a live
redis-server to S3 (moto), import the object into a second redis-server, every key equal;
the local CLI takes serve's location options, a remote one refuses them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import obstore
import pytest
import redis

from bdbexport.adapters.object_stores.obstore_stores import s3_store
from bdbexport.adapters.object_stores.settings import RemoteSettings
from bdbexport.domain.locations import S3Location
from tests.e2e.test_one_order_of_checks import cli
from tests.e2e.test_real_exports import snapshot_of
from tests.e2e.test_serve import ADMIN
from tests.support.object_stores import MotoS3
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    source = RedisServer(tmp_path / "source").start()
    target = RedisServer(tmp_path / "target").start()
    client = redis.Redis(port=source.port)
    for i in range(300):
        client.set(f"k:{i}", "v" * i)
        client.hset(f"h:{i}", mapping={"a": i, "b": -i})
    client.set("expiring", 1, ex=7200)
    yield source, target
    source.stop()
    target.stop()


def s3(moto: MotoS3, subdir: str) -> dict[str, Any]:
    account = moto.account
    return {
        "type": "s3",
        "bucket_name": account.bucket,
        "subdir": subdir,
        "region_name": account.region,
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
    }


def exported_object(moto: MotoS3, location: dict[str, Any]) -> str:
    store = s3_store(
        S3Location.model_validate(location), RemoteSettings(s3_url=moto.account.endpoint)
    )
    listed = obstore.list(store, prefix=location["subdir"]).collect()
    (name,) = [e["path"].rpartition("/")[2] for e in listed if e["path"].endswith(".rdb")]
    return name


def files(tmp_path: Path, location: dict[str, Any], name: str) -> tuple[str, str]:
    out, into = tmp_path / "export.json", tmp_path / "import.json"
    out.write_text(json.dumps(location))
    into.write_text(json.dumps({**location, "filename": name}))
    return str(out), str(into)


def test_a_local_cli_round_trip_through_s3(
    tmp_path: Path, pair: tuple[RedisServer, RedisServer], moto_s3: MotoS3
) -> None:
    source, target = pair
    env = {"BDBEXPORT_STORE": f"sqlite://{tmp_path / 'cli.sqlite3'}"}
    for uid, server in ((1, source), (2, target)):
        assert cli("db", "add", str(uid), f"db{uid}", env=env).returncode == 0
        endpoint = f"127.0.0.1:{server.port}"
        assert cli("db", "set", str(uid), "--endpoint", endpoint, env=env).returncode == 0
    location = s3(moto_s3, f"cli-{tmp_path.name}")
    (tmp_path / "export.json").write_text(json.dumps(location))
    options = ["--allow-egress", "127.0.0.1", "--s3-url", moto_s3.account.endpoint]
    exported = cli(
        *options, "export", "start", "1", "--location-file", str(tmp_path / "export.json"), env=env
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    name = exported_object(moto_s3, location)
    _, into = files(tmp_path, location, name)
    imported = cli(*options, "import", "start", "2", "--location-file", into, "--flush", env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert snapshot_of(redis.Redis(port=target.port)) == snapshot_of(redis.Redis(port=source.port))
    assert moto_s3.account.secret_access_key not in exported.stdout + exported.stderr
    refused = cli(
        "--s3-url", moto_s3.account.endpoint, "export", "start", "1",
        "--location-file", str(tmp_path / "export.json"), env=env,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "egress_not_allowed" in refused.stderr


def test_a_remote_cli_round_trip_through_s3(
    tmp_path: Path, pair: tuple[RedisServer, RedisServer], moto_s3: MotoS3
) -> None:
    source, target = pair
    bdbs = [
        {"uid": uid, "name": f"db{uid}", "endpoints": [{"addr": ["127.0.0.1"], "port": s.port}]}
        for uid, s in ((1, source), (2, target))
    ]
    document = {"users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}], "bdbs": bdbs}
    (tmp_path / "bootstrap.json").write_text(json.dumps(document))
    args = ["--bootstrap", str(tmp_path / "bootstrap.json"), "--allow-egress", "127.0.0.1"]
    args += ["--s3-url", moto_s3.account.endpoint]
    location = s3(moto_s3, f"remote-cli-{tmp_path.name}")
    (tmp_path / "export.json").write_text(json.dumps(location))
    with ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}", args=args, workdir=tmp_path
    ).start() as server:
        remote = ["--url", server.url, "--user", ADMIN[0]]
        env = {"BDBEXPORT_PASSWORD": ADMIN[1]}
        watch = ["--watch", "--interval", "0.1"]
        exported = cli(
            *remote, "export", "start", "1",
            "--location-file", str(tmp_path / "export.json"), *watch, env=env,
        )  # fmt: skip
        assert exported.returncode == 0, exported.stdout + exported.stderr
        name = exported_object(moto_s3, location)
        _, into = files(tmp_path, location, name)
        imported = cli(
            *remote, "import", "start", "2", "--location-file", into, "--flush", *watch, env=env
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        refused = cli(*remote, "--s3-url", "http://x", "db", "list", env=env)
        assert refused.returncode == 2
        assert "local-only" in refused.stderr
    assert snapshot_of(redis.Redis(port=target.port)) == snapshot_of(redis.Redis(port=source.port))
