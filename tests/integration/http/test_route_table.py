"""The compiled route table picks what Starlette's router picks, or leaves the request
to it: never another route, never other path parameters."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Match, Route

from bdbexport.adapters.http.app import operation_routes
from bdbexport.adapters.http.route_table import RouteTable
from bdbexport.domain.action_kind import ActionKind
from bdbexport.domain.locations import ExportLocation
from tests.support.http import ADMIN, HttpWorld, make_http_world
from tests.support.thoroughness import examples

MOUNT = {"export_location": {"type": "mount_point", "path": "/mnt/backups"}}
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "FOO")


async def _never(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the table's own tests never fall through")


def _table(routes: list[Route]) -> RouteTable:
    return RouteTable(_never, routes=routes, handlers={})


def _router_pick(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[Route, Any] | None:
    """What `Router.app` runs for `scope`: the first full match, in order."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            assert isinstance(route, Route)
            return route, child["path_params"]
    return None


def _words() -> list[str]:
    words = {"", "1", "42", "abc", "0", "-1", "%20", "bdb", "1\n", "x y", "é"}
    for route in operation_routes():
        words.update(part for part in route.path.split("/") if "{" not in part)
    return sorted(words)


PATHS = st.lists(st.sampled_from(_words()), min_size=1, max_size=7).map(
    lambda parts: "/" + "/".join(parts)
)


@settings(max_examples=examples(6))
@given(PATHS, st.sampled_from(METHODS))
def test_the_table_never_disagrees_with_the_router(path: str, method: str) -> None:
    routes = operation_routes()
    table = _table(routes)
    scope: dict[str, Any] = {"type": "http", "path": path, "method": method, "root_path": ""}
    found = table.match(scope)
    if found is None:
        return  # the router answers: the same as without the table
    entry, params = found
    picked = _router_pick(list(routes), scope)
    assert picked is not None, path
    assert entry.route is picked[0]
    assert params == picked[1]


def test_the_table_answers_every_operation_path() -> None:
    """Not vacuous: each template, filled in, is found by the table itself."""
    routes = operation_routes()
    table = _table(routes)
    for route in routes:
        path = route.path.replace("{uid}", "7").replace("{bdb_uid}", "7")
        path = path.replace("{action_uid}", "a-1")
        for method in sorted(route.methods or ()):
            found = table.match({"type": "http", "path": path, "method": method})
            assert found is not None, (method, path)
            assert found[0].route is route


def test_what_the_table_leaves_to_the_router() -> None:
    table = _table(operation_routes())
    reset = "/v1/bdbs/1/actions/export_reset_status"
    assert table.match({"type": "http", "path": reset, "method": "PUT"}) is not None
    assert table.match({"type": "http", "path": reset, "method": "GET"}) is None  # 405
    assert table.match({"type": "http", "path": reset + "/", "method": "PUT"}) is None
    assert table.match({"type": "http", "path": reset + "\n", "method": "PUT"}) is None
    assert table.match({"type": "http", "path": "/v1/bdbs//actions/x", "method": "PUT"}) is None
    mounted = {"type": "http", "path": "/api" + reset, "method": "PUT", "root_path": "/api"}
    assert table.match(mounted) is None


def test_only_the_leading_plain_routes_are_compiled() -> None:
    async def endpoint(request: Any) -> Any:
        raise AssertionError

    typed = Route("/a/{n:int}", endpoint, methods=["GET"])
    later = Route("/a/{name}", endpoint, methods=["GET"])
    table = _table([typed, later])
    # `/a/5` is the typed route's for the router; the table compiled neither.
    assert table.match({"type": "http", "path": "/a/5", "method": "GET"}) is None
    inside = Route("/b/x{n}", endpoint, methods=["GET"])
    assert _table([inside]).match({"type": "http", "path": "/b/x1", "method": "GET"}) is None


@pytest.fixture
def world() -> HttpWorld:
    return make_http_world()


@pytest.mark.anyio
async def test_requests_the_table_answers_look_as_from_the_router(world: HttpWorld) -> None:
    async with world.client() as client:
        got = await client.get("/v1/bdbs/1", headers=ADMIN)
        head = await client.head("/v1/bdbs/1", headers=ADMIN)
        missing = await client.get("/v1/bdbs/999", headers=ADMIN)
        refused = await client.put(
            "/v1/bdbs/1/actions/export_reset_status", content=b"[", headers=ADMIN
        )
        wrong_method = await client.patch("/v1/bdbs/1", headers=ADMIN)
        unknown = await client.get("/v1/bdbs/1/nothing", headers=ADMIN)
    assert got.status_code == 200
    assert got.json()["uid"] == 1
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == got.headers["content-length"]
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "db_not_exist"
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "invalid_schema"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error_code"] == "method_not_allowed"
    assert wrong_method.headers["allow"] == "GET, HEAD"
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "not_found"
    for response in (got, head, missing, refused, wrong_method, unknown):
        assert response.headers["x-request-id"]


@pytest.mark.anyio
async def test_an_unexpected_error_is_left_to_the_server_error_handler(world: HttpWorld) -> None:
    """An exception no handler knows goes on up: the pipeline logs a 500 and Starlette's
    outermost handler answers the JSON 500 (with the request id), as from the router."""

    async def broken(location: ExportLocation, kind: ActionKind) -> None:
        raise RuntimeError("a bug, not a refusal")

    context = world.app.state.bdbexport
    world.app.state.bdbexport = dataclasses.replace(context, check_location=broken)
    transport = httpx.ASGITransport(app=world.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://bdbexport.test") as client:
        response = await client.post("/v1/bdbs/1/actions/export", json=MOUNT, headers=ADMIN)
    assert response.status_code == 500
    assert response.json()["error_code"] == "internal_error"
    assert response.headers["x-request-id"] in response.json()["description"]
    assert json.loads(world.access_log[-1])["status"] == 500
