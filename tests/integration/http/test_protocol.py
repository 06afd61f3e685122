"""Bad requests that never reach the domain, and the app's behaviour as a component."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from bdbexport.adapters.http import Authenticator, HttpContext, create_app
from bdbexport.adapters.memory import AsyncInMemoryUserDirectory, InMemoryUserDirectory
from bdbexport.adapters.memory.login_attempts import AsyncInMemoryLoginAttempts
from bdbexport.composition import build_async_service
from bdbexport.domain import Bdb
from tests.integration.http.test_reset_endpoint import RESET, assert_error
from tests.support.http import ADMIN, PASSWORDS, HttpWorld, known_users

pytestmark = pytest.mark.anyio


async def test_an_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/nothing-here", headers=ADMIN), 404, "not_found")
    assert_error(await client.get("/", headers=ADMIN), 404, "not_found")


async def test_a_wrong_method_is_a_json_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/bdbs/1", headers=ADMIN)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD"
    response = await client.get(RESET.format(1), headers=ADMIN)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "PUT"


async def test_a_declared_oversized_body_is_413_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    body = b"{" + b" " * (70 * 1024) + b"}"
    response = await client.put(
        RESET.format(1), content=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "request_too_large")


async def test_a_chunked_oversized_body_is_cut_off_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):  # up to 8 MiB offered
            sent += 8192
            yield b" " * 8192

    response = await client.put(
        RESET.format(1), content=chunks(), headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "request_too_large")
    assert sent < 1024 * 1024


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        ("application/json", True),
        ("*/*", True),
        ("application/*", True),
        ("text/html, application/json;q=0.5", True),
        ("application/json; charset=utf-8", True),
        ("text/html", False),
        ("application/xml", False),
        ("application/json;q=0", False),
    ],
)
async def test_accept_must_admit_json(client: httpx.AsyncClient, accept: str, ok: bool) -> None:
    response = await client.get("/v1/bdbs/1", headers={**ADMIN, "Accept": accept})
    if ok:
        assert response.status_code == 200
    else:
        assert_error(response, 400, "invalid_header")


async def test_a_non_numeric_content_length_is_400(http_world: HttpWorld) -> None:
    sent: list[dict[str, object]] = []
    scope = {
        "type": "http",
        "method": "PUT",
        "path": RESET.format(1),
        "raw_path": RESET.format(1).encode(),
        "query_string": b"",
        "headers": [(b"content-length", b"lots"), (b"host", b"x")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("x", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await http_world.app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    body = json.loads(sent[1]["body"])  # type: ignore[arg-type]
    assert body["error_code"] == "invalid_header"


class BrokenRepository:
    """A repository whose storage fails in a way no rule foresees."""

    async def get(self, uid: int) -> Bdb | None:
        raise RuntimeError("disk on fire: password=hunter2")

    def list(self, *, after_uid: int = 0, limit: int | None = None) -> AsyncIterator[Bdb]:
        raise RuntimeError("disk on fire")

    async def add(self, bdb: Bdb) -> None:
        raise RuntimeError("disk on fire")

    async def save(self, bdb: Bdb, *, expected_revision: int) -> bool:
        raise RuntimeError("disk on fire")


def broken_app() -> Starlette:
    users = InMemoryUserDirectory(user.to_user() for user in known_users())
    context = HttpContext(
        service=build_async_service(bdbs=BrokenRepository()),
        authenticator=Authenticator(
            AsyncInMemoryUserDirectory(users),
            attempts=AsyncInMemoryLoginAttempts(),
            token_key=b"k" * 32,
        ),
        launch=lambda bdb, location, notify=False, **how: None,
    )
    return create_app(context)


async def test_an_unexpected_error_is_a_json_500_with_a_request_id_and_no_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=broken_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.get("/v1/bdbs/1", headers={**ADMIN, "X-Request-Id": "req-42"})
    assert_error(response, 500, "internal_error")
    assert "req-42" in response.json()["description"]
    assert response.headers["x-request-id"] == "req-42"
    assert "Traceback" not in response.text
    assert "hunter2" not in response.text
    assert any("req-42" in record.getMessage() for record in caplog.records)


async def test_the_app_mounts_under_a_prefix(http_world: HttpWorld) -> None:
    outer = Starlette(routes=[Mount("/cluster-api", app=http_world.app)])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        response = await client.put("/cluster-api" + RESET.format(2), headers=ADMIN)
        missing = await client.get("/cluster-api/v1/bdbs/999", headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["export_status"] == "idle"
    assert_error(missing, 404, "db_not_exist")


async def test_the_access_log_is_one_json_line_per_request_without_secrets(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    started = time.perf_counter()
    await client.put(RESET.format(2), headers={**ADMIN, "X-Request-Id": "abc-1"})
    elapsed_ms = (time.perf_counter() - started) * 1000
    await client.get("/v1/bdbs/1", headers={"Authorization": "Basic !!!"})
    first, second = (json.loads(line) for line in http_world.access_log)
    assert first["request_id"] == "abc-1"
    assert first["method"] == "PUT"
    assert first["path"] == RESET.format(2)
    assert first["status"] == 200
    assert first["principal"] == "admin@example.com"
    # Milliseconds the server spent, within what the client waited for the answer: a
    # figure in seconds, microseconds or from another clock would fall outside.
    assert isinstance(first["duration_ms"], float)
    assert 0 < first["duration_ms"] <= elapsed_ms
    assert second["status"] == 401
    assert second["principal"] is None
    everything = "".join(http_world.access_log)
    assert PASSWORDS_TEXT not in everything
    assert "Basic" not in everything


PASSWORDS_TEXT = next(iter(PASSWORDS.values()))


async def test_the_app_serves_the_same_over_a_real_sqlite_store(tmp_path: Path) -> None:
    from tests.support.http import make_http_world

    world = make_http_world(store_url=f"sqlite://{tmp_path / 'http.sqlite3'}")
    async with world.client() as client:
        reset = await client.put(RESET.format(2), headers=ADMIN)
        refused = await client.put(RESET.format(4), headers=ADMIN)
        shown = await client.get("/v1/bdbs/2", headers=ADMIN)
        started = await client.post(
            "/v1/bdbs/1/actions/export",
            json={"export_location": {"type": "mount_point", "path": "/m"}},
            headers=ADMIN,
        )
    assert reset.json()["export_status"] == "idle"
    assert_error(refused, 409, "export_in_progress")
    assert shown.json()["export_status"] == "idle"
    assert started.json()["export_status"] == "exporting"
