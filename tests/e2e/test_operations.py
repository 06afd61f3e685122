"""The operators' view of a real `bdbexport serve`: /healthz, /readyz and /metrics over
HTTP, fed by a real export, the real store and the real access log."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_serve import ADMIN, BOOTSTRAP, MOUNT, VIEWER
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


READY_BOUND = 1.0
SLACK = 1.5
"""A loaded CI host may add this much to the server's own 1 s bound."""


def serve(tmp_path: Path, *args: str, store_url: str | None = None) -> ServerProcess:
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(BOOTSTRAP))
    access_log = tmp_path / "access.log"
    return ServerProcess(
        store_url or f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=[
            "--bootstrap",
            str(bootstrap),
            "--exporter",
            "simulated",
            "--simulated-duration",
            "0.3",
            "--access-log",
            str(access_log),
            "--audit-log",
            "off",
            *args,
        ],
        workdir=tmp_path,
    )


def test_a_real_export_shows_in_the_metrics_and_probes_stay_out_of_the_access_log(
    tmp_path: Path,
) -> None:
    with serve(tmp_path) as server:
        server.start()
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert client.get("/healthz").json() == {"status": "alive"}
            assert client.get("/readyz").json() == {"status": "ready"}
            started = client.post("/v1/bdbs/1/actions/export", json=MOUNT, auth=ADMIN)
            assert started.status_code == 200
            deadline = time.monotonic() + 20
            status = "exporting"
            while status == "exporting" and time.monotonic() < deadline:
                time.sleep(0.1)
                status = client.get("/v1/bdbs/1", auth=ADMIN).json()["export_status"]
            assert status == "succeeded"
            # Open on loopback by default: no credentials needed.
            scraped = client.get("/metrics")
        assert scraped.status_code == 200
        text = scraped.text
        assert sample(text, "bdbexport_actions_started_total", kind="export") == 1
        assert sample(text, "bdbexport_actions_succeeded_total", kind="export") == 1
        assert sample(text, "bdbexport_actions_running", kind="export") == 0
        route = {"method": "POST", "route": "/v1/bdbs/{uid}/actions/export", "status": "200"}
        assert sample(text, "bdbexport_http_requests_total", **route) == 1
        gets = sample(text, "bdbexport_store_call_duration_seconds_count", operation="bdbs.get")
        assert gets is not None
        assert gets >= 2  # the readiness probe and the requests, on the loop's SQLite connection
    logged = (tmp_path / "access.log").read_text(encoding="utf-8")
    assert '"path":"/v1/bdbs/1"' in logged
    assert "/healthz" not in logged
    assert "/readyz" not in logged


def test_metrics_ask_for_credentials_when_told_to(tmp_path: Path) -> None:
    with serve(tmp_path, "--metrics-access", "authenticated") as server:
        server.start()
        with httpx.Client(base_url=server.url, timeout=5) as client:
            anonymous = client.get("/metrics")
            viewer = client.get("/metrics", auth=VIEWER)
    assert anonymous.status_code == 401
    assert anonymous.json()["error_code"] == "unauthenticated"
    assert viewer.status_code == 200
    assert "bdbexport_http_requests_total" in viewer.text


def test_readyz_says_503_within_its_bound_while_the_redis_store_is_frozen(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path / "redis").start()
    try:
        assert redis_server.process is not None
        pid = redis_server.process.pid
        with serve(tmp_path, store_url=redis_server.url) as server:
            server.start()
            with httpx.Client(base_url=server.url, timeout=10) as client:
                assert client.get("/readyz").status_code == 200
                os.kill(pid, signal.SIGSTOP)
                try:
                    started = time.monotonic()
                    frozen = client.get("/readyz")
                    waited = time.monotonic() - started
                    alive = client.get("/healthz")
                finally:
                    os.kill(pid, signal.SIGCONT)
                deadline = time.monotonic() + 10
                thawed = client.get("/readyz")
                while thawed.status_code != 200 and time.monotonic() < deadline:
                    time.sleep(0.1)
                    thawed = client.get("/readyz")
                scraped = client.get("/metrics").text
        assert frozen.status_code == 503
        assert frozen.json() == {
            "error_code": "store_unavailable",
            "description": "The store did not answer within 1 s.",
        }
        assert str(redis_server.port) not in frozen.text
        assert waited < READY_BOUND + SLACK
        assert alive.status_code == 200
        assert thawed.status_code == 200
        errors = sample(
            scraped, "bdbexport_store_errors_total", operation="bdbs.get", error="cancelled"
        )
        assert errors == 1  # the probe's read, cut at the bound
    finally:
        redis_server.stop()


def test_failed_sign_ins_and_a_lockout_are_counted(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        server.start()
        with httpx.Client(base_url=server.url, timeout=5) as client:
            # Each try a different wrong password: a repeated one is refused from a cache.
            answers = [
                client.get("/v1/bdbs/1", auth=(ADMIN[0], f"wrong-{attempt}")).status_code
                for attempt in range(6)
            ]
            scraped = client.get("/metrics").text
    assert set(answers) == {401}
    assert sample(scraped, "bdbexport_login_lockouts_total", subject="user") == 1
    assert sample(scraped, "bdbexport_login_failures_total", reason="bad_credentials") == 5
    assert sample(scraped, "bdbexport_login_failures_total", reason="locked") == 1
