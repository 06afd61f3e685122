"""POST /v1/bdbs/{uid}/actions/export: validated locations, then the worker pool."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bdbexport.domain import UrlLocation
from tests.integration.http.test_reset_endpoint import assert_error
from tests.support.http import ADMIN, VIEWER, HttpWorld, make_http_world

pytestmark = pytest.mark.anyio
EXPORT = "/v1/bdbs/{}/actions/export"
MOUNT = {"export_location": {"type": "mount_point", "path": "/mnt/backups"}}


async def test_start_answers_the_exporting_bdb_and_hands_the_export_over(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    response = await client.post(EXPORT.format(1), json=MOUNT, headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["export_status"] == "exporting"
    assert body["export_progress"] == 0
    assert body["action_uid"] == "export-1"
    ((bdb, location),) = http_world.launched
    assert bdb.action_uid == "export-1"
    assert location.type == "mount_point"


@pytest.mark.parametrize(
    "location",
    [
        {"type": "url", "url": "ftp://user:pw@ftp.example.com:21/backups/"},
        {"type": "sftp", "sftp_url": "sftp://user@host/backups"},
        {"type": "s3", "bucket_name": "backups", "access_key_id": "AK", "secret_access_key": "SK"},
        {
            "type": "gs",
            "bucket_name": "backups",
            "client_id": "c",
            "client_email": "svc@example.com",
            "private_key_id": "k",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n",
        },
        {"type": "abs", "container": "ccc", "account_name": "aaa", "account_key": "a2V5"},
        {"type": "mount_point", "path": "/mnt"},
    ],
)
async def test_every_location_type_validates(
    client: httpx.AsyncClient, location: dict[str, Any]
) -> None:
    response = await client.post(
        EXPORT.format(3),
        json={"export_location": location, "email_notification": True},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text


async def test_a_bare_url_string_is_shorthand_for_a_url_location(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    response = await client.post(
        EXPORT.format(1),
        json={"export_location": "ftp://u:p@ftp.example.com/dumps/"},
        headers=ADMIN,
    )
    assert response.status_code == 200
    location = http_world.launched[0][1]
    assert isinstance(location, UrlLocation)
    assert location.url.get_secret_value() == "ftp://u:p@ftp.example.com/dumps/"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "export_location"),
        ({"export_location": {"type": "mount_point"}}, "export_location.mount_point.path"),
        ({"export_location": {"type": "tape"}}, "export_location"),
        ({"export_location": "http://not-ftp.example.com/"}, "export_location.url.url"),
        ({**MOUNT, "email_notification": "sometimes"}, "email_notification"),
        ({**MOUNT, "surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_body_is_400_naming_the_bad_field(
    client: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    response = await client.post(EXPORT.format(1), json=body, headers=ADMIN)
    assert_error(response, 400, "invalid_schema")
    assert named in response.json()["description"]


async def test_no_body_is_400(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(EXPORT.format(1), headers=ADMIN), 400, "invalid_schema")


async def test_secrets_in_a_refused_location_are_not_echoed(client: httpx.AsyncClient) -> None:
    body = {
        "export_location": {"type": "s3", "bucket_name": "backups", "secret_access_key": "hunter2"}
    }
    response = await client.post(EXPORT.format(1), json=body, headers=ADMIN)
    assert_error(response, 400, "invalid_schema")
    assert "hunter2" not in response.text


@pytest.mark.parametrize(
    ("uid", "headers", "status", "code"),
    [
        (1, VIEWER, 403, "forbidden"),
        (999, ADMIN, 404, "db_not_exist"),
        (5, ADMIN, 406, "unsupported_module_capabilities"),
        (4, ADMIN, 409, "busy"),
        (6, ADMIN, 409, "busy"),
    ],
)
async def test_refusals(
    client: httpx.AsyncClient,
    http_world: HttpWorld,
    uid: int,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    assert_error(await client.post(EXPORT.format(uid), json=MOUNT, headers=headers), status, code)
    assert http_world.launched == []


async def test_a_second_start_while_exporting_is_409(client: httpx.AsyncClient) -> None:
    assert (await client.post(EXPORT.format(1), json=MOUNT, headers=ADMIN)).status_code == 200
    assert_error(await client.post(EXPORT.format(1), json=MOUNT, headers=ADMIN), 409, "busy")


async def test_location_types_the_server_cannot_serve_are_refused_at_start() -> None:
    world = make_http_world(location_types=frozenset({"mount_point", "url"}))
    async with world.client() as client:
        body = {
            "export_location": {
                "type": "s3",
                "bucket_name": "backups",
                "access_key_id": "AK",
                "secret_access_key": "SK",
            }
        }
        response = await client.post(EXPORT.format(1), json=body, headers=ADMIN)
    assert_error(response, 400, "unsupported_location_type")
    assert "mount_point, url" in response.json()["description"]
    assert world.store.bdbs.get(1).export_status == "idle"  # type: ignore[union-attr]
