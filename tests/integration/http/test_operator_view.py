"""/healthz, /readyz, /metrics and /dashboard on the real app (in process)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bdbexport.adapters.http import create_app
from bdbexport.adapters.http.metrics import ServerMetrics
from bdbexport.adapters.http.operator_view import MetricsAccess, OperatorView
from bdbexport.adapters.http.request_metrics import UNMATCHED
from tests.support.http import ADMIN, NOBODY, VIEWER, HttpWorld, ListSink, make_http_world

pytestmark = pytest.mark.anyio


def app_with(world: HttpWorld, view: OperatorView, lines: list[str]) -> httpx.AsyncClient:
    app = create_app(world.app.state.bdbexport, access_log=ListSink(lines), operator=view)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops.test")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_healthz_answers_alive_and_stays_out_of_the_access_log() -> None:
    lines: list[str] = []
    async with app_with(make_http_world(), OperatorView(), lines) as client:
        alive = await client.get("/healthz")
        head = await client.head("/healthz")
        posted = await client.post("/healthz")
        await client.get("/v1/openapi.json")
    assert alive.status_code == 200
    assert alive.json() == {"status": "alive"}
    assert head.status_code == 200
    assert head.content == b""
    assert posted.status_code == 405
    assert posted.json()["error_code"] == "method_not_allowed"
    assert posted.headers["allow"] == "GET, HEAD"
    assert len(lines) == 1
    assert "/v1/openapi.json" in lines[0]


async def test_readyz_is_ready_when_the_store_answers() -> None:
    async def answers() -> object:
        return None

    async with app_with(make_http_world(), OperatorView(readiness=answers), []) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readyz_is_503_within_its_bound_when_the_store_hangs_or_fails() -> None:
    async def hangs() -> object:
        await asyncio.sleep(30)
        return None

    async def fails() -> object:
        raise ConnectionRefusedError("10.0.0.9:6379 refused")

    world = make_http_world()
    async with app_with(world, OperatorView(readiness=hangs, readiness_bound=0.2), []) as client:
        hung = await asyncio.wait_for(client.get("/readyz"), timeout=5)
    async with app_with(world, OperatorView(readiness=fails), []) as client:
        failed = await client.get("/readyz")
    for answer in (hung, failed):
        assert answer.status_code == 503
        assert answer.json()["error_code"] == "store_unavailable"
        assert answer.headers["retry-after"] == "1"
        assert "10.0.0.9" not in answer.text
    assert "0.2 s" in hung.json()["description"]


async def test_metrics_count_requests_by_route_template_never_by_raw_path() -> None:
    view = OperatorView(metrics_access=MetricsAccess.OPEN)
    async with app_with(make_http_world(), view, []) as client:
        await client.get("/v1/bdbs/1", headers=ADMIN)
        await client.get("/v1/bdbs/2", headers=ADMIN)
        await client.get("/v1/bdbs/999", headers=ADMIN)
        await client.get("/hostile/path-12345", headers=ADMIN)
        await client.request("BREW", "/v1/bdbs/1", headers=ADMIN)
        await client.get("/healthz")
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    values = samples(scraped.text)
    by_template = frozenset({"method": "GET", "route": "/v1/bdbs/{uid}", "status": "200"}.items())
    assert values[("bdbexport_http_requests_total", by_template)] == 2
    missing = frozenset({"method": "GET", "route": "/v1/bdbs/{uid}", "status": "404"}.items())
    assert values[("bdbexport_http_requests_total", missing)] == 1
    unmatched = frozenset({"method": "GET", "route": UNMATCHED, "status": "404"}.items())
    assert values[("bdbexport_http_requests_total", unmatched)] == 1
    other = frozenset({"method": "other", "route": "/v1/bdbs/{uid}", "status": "405"}.items())
    assert values[("bdbexport_http_requests_total", other)] == 1
    assert values[("bdbexport_http_request_duration_seconds_count", by_template)] == 2
    assert "12345" not in scraped.text
    assert "BREW" not in scraped.text
    assert "healthz" not in scraped.text


async def test_metrics_need_credentials_with_view_permission_when_authenticated() -> None:
    view = OperatorView(metrics_access=MetricsAccess.AUTHENTICATED)
    async with app_with(make_http_world(), view, []) as client:
        anonymous = await client.get("/metrics")
        no_role = await client.get("/metrics", headers=NOBODY)
        viewer = await client.get("/metrics", headers=VIEWER)
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "unauthenticated"
    assert no_role.status_code == 403
    assert no_role.json()["error_code"] == "forbidden"
    assert viewer.status_code == 200
    assert "bdbexport_actions_started_total" in viewer.text


async def test_two_apps_in_one_process_keep_their_own_figures() -> None:
    first, second = ServerMetrics(), ServerMetrics()
    world = make_http_world()
    async with app_with(world, OperatorView(metrics=first), []) as client:
        await client.get("/v1/bdbs/1", headers=ADMIN)
    labels = {"method": "GET", "route": "/v1/bdbs/{uid}", "status": "200"}
    assert first.registry.get_sample_value("bdbexport_http_requests_total", labels) == 1
    assert second.registry.get_sample_value("bdbexport_http_requests_total", labels) is None


async def test_the_dashboard_is_served_from_package_data_with_a_strict_policy() -> None:
    async with app_with(make_http_world(), OperatorView(), []) as client:
        page = await client.get("/dashboard")
        script = await client.get("/dashboard/app.js")
        style = await client.get("/dashboard/style.css")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="login-form"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert script.headers["content-type"].startswith("text/javascript")
    assert "sessionStorage" in script.text
    assert style.status_code == 200
    for body in (page.text, script.text):
        assert "password-" not in body  # no credential of any kind in what is served
