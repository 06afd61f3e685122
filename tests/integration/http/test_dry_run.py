"""`?dry_run=true`: the decision with every reason, the real call's status, nothing done."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.http.test_reset_endpoint import RESET, assert_error
from tests.support.http import ADMIN, MEMBER, VIEWER, HttpWorld

pytestmark = pytest.mark.anyio
EXPORT = "/v1/bdbs/{}/actions/export"
MOUNT = {"export_location": {"type": "mount_point", "path": "/backups"}}


async def test_an_allowed_dry_run_answers_200_with_every_check_passed_and_changes_nothing(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    before = http_world.store.bdbs.get(2)
    response = await client.put(RESET.format(2) + "?dry_run=true", headers=MEMBER)
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True
    assert body["allowed"] is True
    assert body["action"] == "reset"
    assert {check["outcome"] for check in body["checks"]} == {"passed"}
    assert http_world.store.bdbs.get(2) == before
    assert http_world.events.events == []


@pytest.mark.parametrize(
    ("uid", "headers", "status", "code"),
    [
        (2, VIEWER, 403, "forbidden"),
        (999, MEMBER, 404, "db_not_exist"),
        (5, MEMBER, 406, "unsupported_module_capabilities"),
        (4, MEMBER, 409, "export_in_progress"),
        (2, {}, 401, "unauthenticated"),
    ],
)
async def test_a_refused_dry_run_answers_the_real_calls_status_and_every_reason(
    client: httpx.AsyncClient,
    http_world: HttpWorld,
    uid: int,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    dry = await client.put(RESET.format(uid) + "?dry_run=true", headers=headers)
    assert_error(dry, status, code)
    body = dry.json()
    assert body["allowed"] is False
    assert body["error"]["error_code"] == code
    assert [check["check"] for check in body["checks"]][:2] == ["authenticated", "permitted"]
    if status == 409:
        assert dry.headers["retry-after"]
    if status == 401:
        assert dry.headers["www-authenticate"].startswith("Basic")
    real = await client.put(RESET.format(uid), headers=headers)
    assert real.status_code == status
    assert real.json()["error_code"] == code


async def test_a_dry_run_export_validates_the_body_and_starts_nothing(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    allowed = await client.post(EXPORT.format(1) + "?dry_run=1", json=MOUNT, headers=ADMIN)
    assert allowed.status_code == 200
    assert allowed.json()["action"] == "start"
    assert http_world.launched == []
    stored = http_world.store.bdbs.get(1)
    assert stored is not None
    assert stored.export_status == "idle"
    bad = await client.post(EXPORT.format(1) + "?dry_run=true", json={}, headers=ADMIN)
    assert_error(bad, 400, "invalid_schema")


async def test_dry_run_false_is_the_real_call_and_anything_unclear_is_400_and_no_change(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    before = http_world.store.bdbs.get(7)
    for query in ("maybe", "", "yes", "on", "true&dry_run=false", "false&dry_run=true"):
        assert_error(
            await client.put(RESET.format(7) + f"?dry_run={query}", headers=MEMBER),
            400,
            "invalid_request",
        )
    bare = await client.put(RESET.format(7) + "?dry_run", headers=MEMBER)
    assert_error(bare, 400, "invalid_request")
    assert http_world.store.bdbs.get(7) == before  # nothing was reset by a typo
    real = await client.put(RESET.format(2) + "?dry_run=false", headers=MEMBER)
    assert real.status_code == 200
    assert real.json()["export_status"] == "idle"
