"""GET /v1/bdbs, /v1/bdbs/{uid} (with `fields`) and /v1/modules."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.http.test_reset_endpoint import assert_error
from tests.support.http import ADMIN, NOBODY, VIEWER

pytestmark = pytest.mark.anyio
BDB_KEYS = {
    "uid",
    "name",
    "status",
    "module_list",
    "export_status",
    "export_progress",
    "export_failure_reason",
    "export_failure_detail",
    "last_export_time",
    "import_status",
    "import_progress",
    "import_failure_reason",
    "import_failure_detail",
    "backup_status",
    "backup_progress",
    "backup_failure_reason",
    "backup_failure_detail",
    "last_backup_time",
    "backup",
    "backup_interval",
    "backup_interval_offset",
    "backup_location",
    "action_uid",
    "endpoints",
}


async def test_a_bdb_object_has_every_documented_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/bdbs/2", headers=VIEWER)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == BDB_KEYS
    assert body["export_status"] == "failed"
    assert body["export_failure_reason"] == "wrong-file-path"


async def test_fields_selects_a_subset_and_ignores_unknown_names(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/bdbs/3",
        params={"fields": "uid,export_status, last_export_time,memory_size"},
        headers=VIEWER,
    )
    assert response.json() == {
        "uid": 3,
        "export_status": "succeeded",
        "last_export_time": "2026-11-01T03:00:00Z",
    }


async def test_the_list_streams_every_bdb_in_uid_order(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/bdbs", headers=VIEWER)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert [bdb["uid"] for bdb in response.json()] == [1, 2, 3, 4, 5, 6, 7]
    short = await client.get("/v1/bdbs", params={"fields": "uid,name"}, headers=VIEWER)
    assert short.json()[0] == {"uid": 1, "name": "orders"}


async def test_modules_list_their_capabilities(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/modules", headers=VIEWER)
    modules = {module["module_name"]: module for module in response.json()}
    assert "backup_restore" in modules["search"]["capabilities"]
    assert "backup_restore" not in modules["graph"]["capabilities"]


async def test_reads_need_a_role_with_view_permissions(client: httpx.AsyncClient) -> None:
    for path in ("/v1/bdbs", "/v1/bdbs/1", "/v1/modules"):
        assert_error(await client.get(path, headers=NOBODY), 403, "forbidden")
        assert_error(await client.get(path), 401, "unauthenticated")


async def test_the_data_password_is_never_returned(client: httpx.AsyncClient) -> None:
    from bdbexport.domain import Bdb
    from tests.support.http import make_http_world

    world = make_http_world(
        bdbs=(
            Bdb(
                uid=1,
                name="secret",
                endpoints=[{"addr": ["127.0.0.1"], "port": 12000}],
                authentication_redis_pass="hunter2",
            ),
        )
    )
    async with world.client() as other:
        one = await other.get("/v1/bdbs/1", headers=ADMIN)
        many = await other.get("/v1/bdbs", headers=ADMIN)
    assert one.json()["endpoints"][0]["port"] == 12000
    for response in (one, many):
        assert "hunter2" not in response.text
        assert "authentication_redis_pass" not in response.text
