"""Import and backup actions, and the Actions API, over the app: both import body forms,
backups to the bdb's location, action records every replica could read, and cancel."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bdbexport.domain import Bdb, MountPointLocation
from tests.integration.http.test_reset_endpoint import assert_error
from tests.support.http import ADMIN, MEMBER, VIEWER, HttpWorld

pytestmark = pytest.mark.anyio
IMPORT = "/v1/bdbs/{}/actions/import"
BACKUP = "/v1/bdbs/{}/actions/backup"
SOURCE = {"type": "mount_point", "path": "/mnt/backups/db.rdb"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"dataset_import_sources": [SOURCE], "email_notification": True}, SOURCE["path"]),
        ({"import_location": SOURCE, "flush": True}, SOURCE["path"]),
        ({"import_location": "/mnt/x.rdb", "flush": False}, "/mnt/x.rdb"),
        ({"import_location": "ftp://u:p@ftp.example.com/d/x.rdb"}, None),
    ],
)
async def test_both_import_forms_start_an_import(
    client: httpx.AsyncClient, http_world: HttpWorld, body: dict[str, Any], path: str | None
) -> None:
    response = await client.post(IMPORT.format(2), json=body, headers=MEMBER)
    assert response.status_code == 200, response.text
    assert response.json()["import_status"] == "initializing"
    ((bdb, location),) = http_world.launched
    assert bdb.action_uid == response.json()["action_uid"]
    if path is not None:
        assert isinstance(location, MountPointLocation)
        assert location.path == path
    else:
        assert location.type == "url"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"dataset_import_sources": [SOURCE], "import_location": SOURCE},
        {"dataset_import_sources": []},
        {"dataset_import_sources": [SOURCE, SOURCE]},
        {"import_location": "relative/path.rdb"},
        {"import_location": None},
        {"import_location": SOURCE, "flush": "yes"},
        {"import_location": SOURCE, "surprise": 1},
    ],
)
async def test_bad_import_bodies_are_400_before_anything_starts(
    client: httpx.AsyncClient, http_world: HttpWorld, body: dict[str, Any]
) -> None:
    assert_error(
        await client.post(IMPORT.format(2), json=body, headers=ADMIN), 400, "invalid_schema"
    )
    assert http_world.launched == []


async def test_import_and_backup_follow_the_seed_rules(client: httpx.AsyncClient) -> None:
    body = {"import_location": SOURCE}
    assert_error(await client.post(IMPORT.format(2), json=body), 401, "unauthenticated")
    assert_error(await client.post(IMPORT.format(2), json=body, headers=VIEWER), 403, "forbidden")
    assert_error(
        await client.post(IMPORT.format(99), json=body, headers=ADMIN), 404, "db_not_exist"
    )
    assert_error(
        await client.post(IMPORT.format(5), json=body, headers=ADMIN),
        406,
        "unsupported_module_capabilities",
    )
    assert_error(await client.post(IMPORT.format(4), json=body, headers=ADMIN), 409, "busy")
    dry = await client.post(IMPORT.format(2) + "?dry_run=true", json=body, headers=ADMIN)
    assert dry.status_code == 200
    assert dry.json()["allowed"] is True
    for reset in ("import_reset_status", "backup_reset_status"):
        path = f"/v1/bdbs/7/actions/{reset}"
        assert_error(await client.put(path, headers=VIEWER), 403, "forbidden")
        answer = await client.put(path, json={}, headers=MEMBER)
        assert answer.status_code == 200
        assert answer.json()[reset.split("_")[0] + "_status"] == "idle"


async def test_a_backup_goes_to_the_bdb_backup_location(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    assert_error(
        await client.post(BACKUP.format(2), json={}, headers=ADMIN), 400, "no_backup_location"
    )
    bdb = http_world.store.bdbs.get(2)
    assert bdb is not None
    where = MountPointLocation(path="/mnt/backups")
    http_world.store.bdbs.save(
        Bdb.model_validate(
            {**bdb.model_dump(), "backup_location": where, "revision": bdb.revision + 1}
        ),
        expected_revision=bdb.revision,
    )
    # An empty form post, what a page on another origin can make a browser send with
    # the Basic credentials it holds (CSRF): refused, nothing starts.
    form = {**ADMIN, "Content-Type": "application/x-www-form-urlencoded"}
    assert_error(
        await client.post(BACKUP.format(2), content=b"", headers=form), 400, "invalid_header"
    )
    assert http_world.launched == []
    response = await client.post(BACKUP.format(2), headers=ADMIN)  # no body, as clients do
    assert response.status_code == 200, response.text
    assert response.json()["backup_status"] == "exporting"
    assert response.json()["backup_location"] == {"type": "mount_point", "path": "/mnt/backups"}
    ((_, location),) = http_world.launched
    assert location == where
    assert_error(await client.post(BACKUP.format(2), json={}, headers=ADMIN), 409, "busy")


async def test_actions_are_listed_read_and_cancelled(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    started = await client.post(IMPORT.format(2), json={"import_location": SOURCE}, headers=ADMIN)
    action_uid = started.json()["action_uid"]
    for version in ("v1", "v2"):
        one = await client.get(f"/{version}/actions/{action_uid}", headers=VIEWER)
        assert one.status_code == 200
        assert one.json() == {
            "action_uid": action_uid,
            "name": "import",
            "status": "queued",
            "progress": "0",
            "object_name": "bdb:2",
            "start_time": one.json()["start_time"],
        }
    listed_v1 = (await client.get("/v1/actions", headers=VIEWER)).json()
    assert [a["action_uid"] for a in listed_v1["actions"]] == [action_uid]
    assert listed_v1["state-machines"] == []
    listed_v2 = (await client.get("/v2/actions", headers=VIEWER)).json()
    assert [a["action_uid"] for a in listed_v2] == [action_uid]
    assert (await client.get("/v1/actions/bdb/2", headers=VIEWER)).json() == listed_v2
    assert (await client.get("/v1/actions/bdb/1", headers=VIEWER)).json() == []
    assert_error(await client.get("/v1/actions/bdb/99", headers=VIEWER), 404, "db_not_exist")
    for odd in ("abc", "-1", "1.5", "99999999999999999999999"):
        response = await client.get(f"/v1/actions/bdb/{odd}", headers=VIEWER)
        assert_error(response, 404, "db_not_exist")
        assert repr(odd) in response.json()["description"]  # what was sent, not "0"
    assert_error(await client.get("/v1/actions/nope", headers=VIEWER), 404, "action_not_exist")
    assert_error(await client.get("/v2/actions"), 401, "unauthenticated")

    assert_error(await client.delete(f"/v1/actions/{action_uid}", headers=VIEWER), 403, "forbidden")
    for asked in ("true", "1", "false", "yes"):  # never ignored: no cancel by accident
        dry = await client.delete(f"/v1/actions/{action_uid}?dry_run={asked}", headers=MEMBER)
        assert_error(dry, 400, "invalid_request")
    assert_error(
        await client.delete(f"/v1/actions/{action_uid}?dry_run=true"), 401, "unauthenticated"
    )
    assert (await client.get(f"/v1/actions/{action_uid}", headers=VIEWER)).json()[
        "status"
    ] == "queued"
    cancelled = await client.delete(f"/v1/actions/{action_uid}", headers=MEMBER)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["error"] == "general-error: cancelled by db_member@example.com"
    bdb = (await client.get("/v1/bdbs/2", headers=VIEWER)).json()
    assert (bdb["import_status"], bdb["import_failure_reason"]) == ("failed", "general-error")
    assert_error(
        await client.delete(f"/v1/actions/{action_uid}", headers=MEMBER), 409, "invalid_transition"
    )
    assert_error(await client.delete("/v1/actions/nope", headers=MEMBER), 404, "action_not_exist")


async def test_the_document_has_every_new_route_and_marks_the_extension(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/v1/openapi.json")).json()["paths"]
    for path, method in [
        ("/v1/bdbs/{uid}/actions/import_reset_status", "put"),
        ("/v1/bdbs/{uid}/actions/import", "post"),
        ("/v1/bdbs/{uid}/actions/backup_reset_status", "put"),
        ("/v1/bdbs/{uid}/actions/backup", "post"),
        ("/v1/actions", "get"),
        ("/v2/actions", "get"),
        ("/v1/actions/bdb/{bdb_uid}", "get"),
        ("/v1/actions/{action_uid}", "get"),
        ("/v2/actions/{action_uid}", "get"),
    ]:
        assert "x-bdbexport-extension" not in paths[path][method], path
    cancel = paths["/v1/actions/{action_uid}"]["delete"]
    assert cancel["x-bdbexport-extension"] is True
    assert cancel["parameters"][0]["name"] == "action_uid"
    allowed = await client.request("PATCH", "/v1/actions/x", headers=ADMIN)
    assert allowed.status_code == 405
    assert allowed.headers["allow"] == "DELETE, GET, HEAD"
