"""The demo answers the same on any day: database 4's export, which no worker runs,
stays `exporting` long after the first start, however short the server's lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bdbexport.adapters.memory.clock import ManualClock
from bdbexport.composition import bootstrap
from bdbexport.composition.stores import open_store
from bdbexport.domain import Action, ExportStatus, Principal, Role
from bdbexport.domain.errors import ExportInProgressError
from bdbexport.entrypoints.server import ServerConfig, seed_store
from tests.support.server_process import ServerProcess


def test_the_demo_export_of_db_4_is_still_running_years_after_the_first_start(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    store = open_store(url)
    try:
        assert "First start" in seed_store(store, ServerConfig(url, export_lease_ttl=1))
        clock = ManualClock(datetime.now(UTC) + timedelta(days=365 * 50))
        application = bootstrap(store, clock=clock, lease_ttl=timedelta(seconds=1))
        admin = Principal("admin@example.com", Role.ADMIN)
        service = application.service
        try:
            decision = service.evaluate(admin, Action.RESET, 4)
            assert not decision.allowed
            assert decision.error is not None
            assert decision.error.code == "export_in_progress"
            with pytest.raises(ExportInProgressError):
                service.reset_export_status(admin, 4)
            assert service.get_bdb(admin, 4).export_status is ExportStatus.EXPORTING
        finally:
            application.pool.shutdown(grace=0)
    finally:
        store.close()


def test_a_bootstrap_file_export_still_gets_a_lease_from_the_start(tmp_path: Path) -> None:
    document = tmp_path / "bootstrap.json"
    document.write_text(
        '{"bdbs": [{"uid": 1, "name": "a", "export_status": "exporting", "action_uid": "x-1"}]}',
        encoding="utf-8",
    )
    url = f"sqlite://{tmp_path / 'boot.sqlite3'}"
    store = open_store(url)
    try:
        before = datetime.now(UTC)
        seed_store(store, ServerConfig(url, bootstrap=document, export_lease_ttl=60))
        seeded = store.bdbs.get(1)
        assert seeded is not None
        assert seeded.action_lease_expires is not None
        assert before < seeded.action_lease_expires <= datetime.now(UTC) + timedelta(seconds=60)
    finally:
        store.close()


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_the_demo_export_of_db_4_has_its_action_record_for_pollers_and_cancel(
    tmp_path: Path, store: str
) -> None:
    """db 4 names `demo-export-4`: a real server answers for that action (not 404), in
    the bdb's list too, and a cancel of it works (on this throwaway store only: the
    docs' examples never cancel it, so db 4 stays `exporting` for them)."""
    url = store if store == "memory://" else f"sqlite://{tmp_path / 'demo.sqlite3'}"
    env = {"BDBEXPORT_ADMIN_PASSWORD": "demo-admin-password"}
    auth = ("admin@example.com", "demo-admin-password")
    with (
        ServerProcess(url, env=env, workdir=tmp_path).start() as server,
        httpx.Client(base_url=server.url, auth=auth, timeout=10) as client,
    ):
        action = client.get("/v1/actions/demo-export-4")
        assert action.status_code == 200, action.text
        assert action.json()["status"] == "running"
        assert action.json()["object_name"] == "bdb:4"
        listed = client.get("/v1/actions/bdb/4")
        assert [a["action_uid"] for a in listed.json()] == ["demo-export-4"]
        assert client.get("/v1/bdbs/4").json()["export_status"] == "exporting"
        cancelled = client.delete("/v1/actions/demo-export-4")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert client.get("/v1/bdbs/4").json()["export_status"] == "failed"
