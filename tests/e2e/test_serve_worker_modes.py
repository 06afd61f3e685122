"""`serve --worker-mode child` and `serve --no-worker` over HTTP, real processes: an
export accepted by the API runs in the worker child (or in a worker started apart),
`GET /v1/workers` shows the worker and the queue, and stopping `serve` stops its child."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve import ADMIN, BOOTSTRAP
from tests.support.server_process import ServerProcess
from tests.support.worker_processes import WorkerProcess, wait_until

pytestmark = pytest.mark.slow


def start(store: str, tmp_path: Path, *extra: str) -> ServerProcess:
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(BOOTSTRAP))
    args = ["--bootstrap", str(bootstrap), "--exporter", "simulated"]
    args += ["--simulated-duration", "0.5", *extra]
    return ServerProcess(store, args=args, workdir=tmp_path).start()


def get(server: ServerProcess, path: str) -> Any:
    response = httpx.get(f"{server.url}{path}", auth=ADMIN, timeout=10)
    assert response.is_success, response.text
    return response.json()


def export(server: ServerProcess, uid: int) -> None:
    body = {"export_location": {"type": "mount_point", "path": "backups"}}
    response = httpx.post(
        f"{server.url}/v1/bdbs/{uid}/actions/export", json=body, auth=ADMIN, timeout=10
    )
    assert response.status_code == 200, response.text


def niceness(pid: int) -> int:
    """The process's nice value (field 19 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    return int(stat.rsplit(")", 1)[1].split()[16])


def metrics(server: ServerProcess) -> str:
    response = httpx.get(f"{server.url}/metrics", auth=ADMIN, timeout=10)
    assert response.is_success, response.text
    return response.text


def succeeded(server: ServerProcess, uid: int) -> bool:
    return bool(get(server, f"/v1/bdbs/{uid}")["export_status"] == "succeeded")


def test_serve_runs_its_actions_in_a_worker_child(tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    with start(store, tmp_path, "--worker-mode", "child") as server:
        wait_until(lambda: len(get(server, "/v1/workers")["workers"]) == 1, what="the child")
        (worker,) = get(server, "/v1/workers")["workers"]
        export(server, 1)
        wait_until(lambda: succeeded(server, 1), what="the export succeeded")
        queue = get(server, "/v1/workers")["queue"]
        assert queue["counters"]["completions"] == 1
        assert queue["queued"] == {}
        wait_until(
            lambda: "bdbexport_queue_completions_total 1.0" in metrics(server),
            what="the queue's figures in /metrics",
        )
        assert "bdbexport_queue_workers 1.0" in metrics(server)
        assert server.process is not None
        assert worker["pid"] != server.process.pid
        assert niceness(worker["pid"]) == min(niceness(server.process.pid) + 10, 19)
        server.stop()  # SIGTERM: the child drains and goes with it
    deadline = time.monotonic() + 30
    while Path(f"/proc/{worker['pid']}").exists():
        assert time.monotonic() < deadline, "the worker child outlived serve"
        time.sleep(0.05)


def test_an_api_only_replica_queues_for_workers_run_apart(redis_url: str, tmp_path: Path) -> None:
    with start(redis_url, tmp_path, "--no-worker") as server:
        export(server, 1)
        time.sleep(1.0)  # nothing runs it yet: it waits in the queue
        assert get(server, "/v1/workers")["queue"]["queued"] == {"export": 1}
        assert get(server, "/v1/bdbs/1")["export_status"] == "exporting"
        worker = WorkerProcess(
            redis_url, "apart", tmp_path, "--exporter", "simulated", "--simulated-duration", "0.5"
        )
        try:
            wait_until(lambda: succeeded(server, 1), what="the worker apart ran it")
        finally:
            worker.stop()
