"""`bdbexport_transferred_bytes_total` on a real `bdbexport serve`: a real export of a live
redis-server adds the written file's size to the export series, and importing that file
into a second redis-server adds the same size to the import series."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.test_operations import sample
from tests.e2e.test_real_imports import bdb_on, wait_until_done
from tests.e2e.test_serve import ADMIN
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow
METRIC = "bdbexport_transferred_bytes_total"


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    source = RedisServer(tmp_path / "source").start()
    try:
        target = RedisServer(tmp_path / "target").start()
        try:
            yield source, target
        finally:
            target.stop()
    finally:
        source.stop()


def scrape(server: ServerProcess) -> str:
    scraped = httpx.get(f"{server.url}/metrics")
    assert scraped.status_code == 200, scraped.text
    return scraped.text


def test_an_export_and_an_import_count_the_file_size(
    tmp_path: Path, databases: tuple[RedisServer, RedisServer]
) -> None:
    source, target = databases
    with redis.Redis(port=source.port) as client:
        client.mset({f"key:{i}": f"value-{i}-" + "x" * (i % 300) for i in range(2000)})
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(
        json.dumps(
            {
                "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
                "bdbs": [bdb_on(1, source.port), bdb_on(2, target.port)],
            }
        )
    )
    exports = tmp_path / "exports"
    with ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=["--bootstrap", str(bootstrap), "--audit-log", "off"],
        workdir=tmp_path,
    ) as server:
        server.start()
        before = scrape(server)
        assert sample(before, METRIC, kind="export") == 0
        assert sample(before, METRIC, kind="import") == 0

        started = httpx.post(
            f"{server.url}/v1/bdbs/1/actions/export",
            json={"export_location": {"type": "mount_point", "path": str(exports)}},
            auth=ADMIN,
        )
        assert started.status_code == 200, started.text
        assert wait_until_done(server, 1, "export")["export_status"] == "succeeded"
        (rdb,) = exports.glob("*.rdb")
        size = rdb.stat().st_size
        assert size > 20_000  # the keys above, not an empty snapshot
        exported = scrape(server)
        assert sample(exported, METRIC, kind="export") == size
        assert sample(exported, METRIC, kind="import") == 0

        imported = httpx.post(
            f"{server.url}/v1/bdbs/2/actions/import",
            json={"dataset_import_sources": [{"type": "mount_point", "path": str(rdb)}]},
            auth=ADMIN,
        )
        assert imported.status_code == 200, imported.text
        assert wait_until_done(server, 2, "import")["import_status"] == "succeeded"
        after = scrape(server)
        assert sample(after, METRIC, kind="import") == size
        assert sample(after, METRIC, kind="export") == size
