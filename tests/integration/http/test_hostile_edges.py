"""Hostile requests at the HTTP edge end in our JSON error, never a 500 or a redirect."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.http.test_reset_endpoint import RESET, assert_error
from tests.support.http import ADMIN, MEMBER, VIEWER

pytestmark = pytest.mark.anyio
EXPORT = "/v1/bdbs/{}/actions/export"
JSON = {"Content-Type": "application/json"}


async def test_a_deeply_nested_body_is_400_not_500(client: httpx.AsyncClient) -> None:
    for body in (b"[" * 60_000, b'{"a":' * 40 + b"1" + b"}" * 40):
        response = await client.put(RESET.format(2), content=body, headers={**ADMIN, **JSON})
        assert_error(response, 400, "invalid_schema")
        assert "deeper than 32" in response.json()["description"]


async def test_brackets_inside_strings_do_not_count_as_nesting(client: httpx.AsyncClient) -> None:
    body = b'{"note": "' + b"[" * 100 + b'"}'
    response = await client.put(RESET.format(2), content=body, headers={**ADMIN, **JSON})
    assert response.status_code == 200


async def test_a_lone_surrogate_is_400_in_any_body(client: httpx.AsyncClient) -> None:
    authorize = await client.post(
        "/v1/users/authorize",
        content=b'{"username": "admin@example.com", "password": "\\ud800"}',
        headers=JSON,
    )
    assert_error(authorize, 400, "invalid_schema")
    export = await client.post(
        EXPORT.format(1),
        content=b'{"export_location": {"type": "mount_point", "path": "/m\\udc00"}}',
        headers={**ADMIN, **JSON},
    )
    assert_error(export, 400, "invalid_schema")


async def test_a_trailing_slash_is_a_json_404_not_a_redirect_built_from_host(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/bdbs/1/", headers={**ADMIN, "Host": "evil.example"})
    assert_error(response, 404, "not_found")
    assert "location" not in response.headers


async def test_an_anonymous_bad_body_is_401_before_the_body_is_judged(
    client: httpx.AsyncClient,
) -> None:
    for path, method in ((RESET.format(2), "PUT"), (EXPORT.format(1), "POST")):
        response = await client.request(method, path, content=b"not json", headers=JSON)
        assert_error(response, 401, "unauthenticated")


async def test_a_role_without_the_permission_gets_403_before_its_body_is_judged(
    client: httpx.AsyncClient,
) -> None:
    for path, method in ((RESET.format(2), "PUT"), (EXPORT.format(1), "POST")):
        for body in (b"not json", b'{"export_location": 5}', b"[" * 100):
            response = await client.request(method, path, content=body, headers={**VIEWER, **JSON})
            assert_error(response, 403, "forbidden")
    # A member may: its bad body is judged (400), its dry run still answers the decision.
    response = await client.post(EXPORT.format(1), content=b"nope", headers={**MEMBER, **JSON})
    assert_error(response, 400, "invalid_schema")
