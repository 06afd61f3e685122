"""`?dry_run=true` runs the real call's pre-checks, in its order, before the rules: a
location outside the export roots and a backup with no location answer the real call's
400, not 200 allowed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest

from bdbexport.adapters.exporting.export_roots import ExportRoots
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.locations import ExportLocation, MountPointLocation
from tests.support.http import ADMIN, MEMBER, VIEWER, HttpWorld

pytestmark = pytest.mark.anyio
EXPORT = "/v1/bdbs/{}/actions/export"
BACKUP = "/v1/bdbs/{}/actions/backup"


def with_roots(world: HttpWorld, root: Path) -> None:
    """The world's app, refusing mount_point paths outside `root` as a server does."""
    roots = ExportRoots([root])

    async def check(location: ExportLocation, kind: ActionKind) -> None:
        if isinstance(location, MountPointLocation):
            roots.resolve(location.path)

    context = world.app.state.bdbexport
    world.app.state.bdbexport = dataclasses.replace(context, check_location=check)


async def dry_and_real(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    dry = await client.post(path + "?dry_run=true", json=body, headers=headers)
    real = await client.post(path, json=body, headers=headers)
    return dry, real


async def test_a_dry_run_backup_without_a_location_answers_the_real_400(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    dry, real = await dry_and_real(client, BACKUP.format(2), {}, MEMBER)
    assert real.status_code == 400
    assert real.json()["error_code"] == "no_backup_location"
    assert dry.status_code == 400
    assert dry.json()["error_code"] == "no_backup_location"
    assert http_world.launched == []


async def test_a_dry_run_backup_still_answers_the_rules_first(
    client: httpx.AsyncClient,
) -> None:
    dry = await client.post(BACKUP.format(2) + "?dry_run=true", json={}, headers=VIEWER)
    assert dry.status_code == 403
    assert dry.json()["dry_run"] is True
    assert dry.json()["error_code"] == "forbidden"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (EXPORT, {"export_location": {"type": "mount_point", "path": "/etc"}}),
        (BACKUP, {"backup_location": {"type": "mount_point", "path": "/etc"}}),
    ],
)
async def test_a_dry_run_to_a_path_outside_the_roots_answers_the_real_400(
    client: httpx.AsyncClient,
    http_world: HttpWorld,
    tmp_path: Path,
    path: str,
    body: dict[str, Any],
) -> None:
    with_roots(http_world, tmp_path)
    dry, real = await dry_and_real(client, path.format(1), body, ADMIN)
    assert real.status_code == 400
    assert real.json()["error_code"] == "export_path_not_allowed"
    assert dry.status_code == 400
    assert dry.json() == real.json()
    assert http_world.launched == []


async def test_a_dry_run_inside_the_roots_is_still_allowed_and_starts_nothing(
    client: httpx.AsyncClient, http_world: HttpWorld, tmp_path: Path
) -> None:
    with_roots(http_world, tmp_path)
    body = {"export_location": {"type": "mount_point", "path": str(tmp_path)}}
    dry = await client.post(EXPORT.format(1) + "?dry_run=true", json=body, headers=ADMIN)
    assert dry.status_code == 200
    assert dry.json()["allowed"] is True
    backup = {"backup_location": {"type": "mount_point", "path": str(tmp_path)}}
    dry = await client.post(BACKUP.format(1) + "?dry_run=true", json=backup, headers=ADMIN)
    assert dry.status_code == 200
    assert http_world.launched == []


async def test_a_dry_run_import_from_a_path_outside_the_roots_answers_the_real_400(
    client: httpx.AsyncClient, http_world: HttpWorld, tmp_path: Path
) -> None:
    with_roots(http_world, tmp_path)
    body = {"import_location": "/etc/shadow"}
    dry, real = await dry_and_real(client, "/v1/bdbs/3/actions/import", body, ADMIN)
    assert real.status_code == 400
    assert real.json()["error_code"] == "export_path_not_allowed"
    assert dry.status_code == 400
    assert dry.json() == real.json()
    assert http_world.launched == []
