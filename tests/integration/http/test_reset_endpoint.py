"""The seed: PUT /v1/bdbs/{uid}/actions/export_reset_status, every status it can answer."""

from __future__ import annotations

import httpx
import pytest
from starlette.types import Message

from bdbexport.domain import Role
from tests.support.http import ADMIN, MEMBER, NOBODY, VIEWER, HttpWorld, basic

pytestmark = pytest.mark.anyio
RESET = "/v1/bdbs/{}/actions/export_reset_status"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error_code"] == code
    assert body["description"]


async def test_reset_of_a_failed_export_answers_200_with_the_idle_bdb(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    response = await client.put(RESET.format(2), headers=MEMBER)
    assert response.status_code == 200
    body = response.json()
    assert body["uid"] == 2
    assert body["export_status"] == "idle"
    assert body["export_failure_reason"] is None
    stored = http_world.store.bdbs.get(2)
    assert stored is not None
    assert stored.export_status == "idle"


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (None, {}),  # the generated OpenAPI client: no body at all
        (b"{}", {"Content-Type": "application/json"}),  # the widely used client
        (b'{"ignored": true}', {"Content-Type": "application/json; charset=utf-8"}),
    ],
)
async def test_both_real_client_body_styles_are_accepted(
    client: httpx.AsyncClient, content: bytes | None, headers: dict[str, str]
) -> None:
    response = await client.put(RESET.format(7), content=content, headers={**ADMIN, **headers})
    assert response.status_code == 200
    assert response.json()["export_status"] == "idle"


async def test_reset_of_an_idle_export_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.put(RESET.format(1), headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["export_status"] == "idle"


@pytest.mark.parametrize(
    ("uid", "status", "code"),
    [
        (999, 404, "db_not_exist"),
        (5, 406, "unsupported_module_capabilities"),
        (4, 409, "export_in_progress"),
        (6, 409, "busy"),
    ],
)
async def test_domain_refusals_map_to_their_status(
    client: httpx.AsyncClient, uid: int, status: int, code: str
) -> None:
    response = await client.put(RESET.format(uid), headers=ADMIN)
    assert_error(response, status, code)
    if status == 409:
        assert response.headers["retry-after"] == "1"


async def test_a_role_without_the_permission_gets_403(client: httpx.AsyncClient) -> None:
    for headers in (VIEWER, NOBODY, basic(Role.CLUSTER_VIEWER), basic(Role.USER_MANAGER)):
        assert_error(await client.put(RESET.format(2), headers=headers), 403, "forbidden")


async def test_permission_is_checked_before_existence(client: httpx.AsyncClient) -> None:
    assert_error(await client.put(RESET.format(999), headers=VIEWER), 403, "forbidden")


@pytest.mark.parametrize("uid", ["abc", "0", "-1", "1.5", "99999999999999999999999", "%20"])
async def test_uids_that_are_not_positive_64_bit_integers_are_404(
    client: httpx.AsyncClient, uid: str
) -> None:
    response = await client.put(RESET.format(uid), headers=ADMIN)
    assert_error(response, 404, "db_not_exist")
    assert "Database 0" not in response.json()["description"]
    assert_error(await client.get(f"/v1/bdbs/{uid}", headers=ADMIN), 404, "db_not_exist")


@pytest.mark.parametrize(
    ("content", "content_type", "code"),
    [
        (b"[]", "application/json", "invalid_schema"),
        (b'"text"', "application/json", "invalid_schema"),
        (b"42", "application/json", "invalid_schema"),
        (b"{not json", "application/json", "invalid_schema"),
        (b"\xff\xfe", "application/json", "invalid_schema"),
        (b"{}", "text/plain", "invalid_header"),
        # What a form on another origin sends (CSRF): refused even when empty.
        (b"", "application/x-www-form-urlencoded", "invalid_header"),
        (b"", "multipart/form-data; boundary=x", "invalid_header"),
        (b"", "text/plain", "invalid_header"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    client: httpx.AsyncClient, content: bytes, content_type: str, code: str
) -> None:
    response = await client.put(
        RESET.format(2), content=content, headers={**ADMIN, "Content-Type": content_type}
    )
    assert_error(response, 400, code)


async def test_refusals_change_nothing(client: httpx.AsyncClient, http_world: HttpWorld) -> None:
    before = http_world.store.bdbs.get(4)
    await client.put(RESET.format(4), headers=ADMIN)
    await client.put(RESET.format(2), headers=VIEWER)
    await client.put(RESET.format(2), content=b"[]", headers=ADMIN)
    assert http_world.store.bdbs.get(4) == before
    assert http_world.store.bdbs.get(2).export_status == "failed"  # type: ignore[union-attr]


async def _asgi_reset(
    http_world: HttpWorld, headers: list[tuple[bytes, bytes]], query: bytes = b""
) -> tuple[int, int]:
    """The status of one reset sent straight to the app, and how often it read the body."""
    reads: list[int] = []
    statuses: list[int] = []

    async def receive() -> Message:
        reads.append(1)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    authorization = ADMIN["Authorization"].encode()
    path = RESET.format(1)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bdbexport.test"), (b"authorization", authorization), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    await http_world.app(scope, receive, send)
    assert len(statuses) == 1
    return statuses[0], len(reads)


async def test_a_reset_without_a_body_reads_nothing(http_world: HttpWorld) -> None:
    """No Content-Length, or `Content-Length: 0`, announces no body: nothing is read."""
    assert await _asgi_reset(http_world, []) == (200, 0)
    assert await _asgi_reset(http_world, [(b"content-length", b"0")]) == (200, 0)
    assert await _asgi_reset(http_world, [(b"content-length", b"2")]) == (200, 1)
    assert await _asgi_reset(http_world, [(b"transfer-encoding", b"chunked")]) == (200, 1)


async def test_a_bodiless_reset_still_refuses_a_form_content_type(http_world: HttpWorld) -> None:
    """The CSRF rule holds on the fast path: the Content-Type alone is refused."""
    form = (b"content-type", b"text/plain")
    assert await _asgi_reset(http_world, [(b"content-length", b"0"), form]) == (400, 0)
    json_type = (b"content-type", b"Application/JSON ; charset=utf-8")
    assert await _asgi_reset(http_world, [(b"content-length", b"0"), json_type]) == (200, 0)


async def test_an_empty_query_is_no_dry_run_and_a_query_is_still_read(
    http_world: HttpWorld,
) -> None:
    assert await _asgi_reset(http_world, [], b"") == (200, 0)
    assert await _asgi_reset(http_world, [], b"dry_run=maybe") == (400, 0)
    assert await _asgi_reset(http_world, [], b"dry_run=true") == (200, 0)
