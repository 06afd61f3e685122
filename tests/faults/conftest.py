"""What the fault-injection cases share: a real `bdbexport serve` on a store they can
break, and the checks every fault must pass (503 `store_unavailable`, never 500, never
naming the file; reads still answered; one clear log line)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.passwords import with_cheap_hashes
from tests.support.server_process import ServerProcess

ADMIN = ("faults-admin@example.com", "faults-admin-password")
BOOTSTRAP: dict[str, Any] = {
    "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
    "modules": [],
    "bdbs": [
        {"uid": 1, "name": "orders"},
        {
            "uid": 2,
            "name": "sessions",
            "export_status": "failed",
            "export_failure_reason": "wrong-file-path",
        },
    ],
}
RESET = "/v1/bdbs/2/actions/export_reset_status"
BOUND = 10.0
"""Every request of a fault case answers within this (the store's own bound is 2 s)."""


def bootstrap_file(directory: Path, document: dict[str, Any] | None = None) -> Path:
    path = directory / "bootstrap.json"
    path.write_text(json.dumps(with_cheap_hashes(document or BOOTSTRAP)))
    return path


def server_on(store_url: str, workdir: Path, *args: str) -> ServerProcess:
    """A server whose exports run for a minute (still running at every fault) and whose
    stop does not wait the default 10 s for them: the grace is not under test here."""
    return ServerProcess(
        store_url,
        args=[
            "--exporter", "simulated",
            "--simulated-duration", "60",
            "--shutdown-grace", "0.5",
            *args,
        ],
        workdir=workdir,
    )  # fmt: skip


def request(server: ServerProcess, method: str, path: str, **body: Any) -> httpx.Response:
    return httpx.request(
        method, f"{server.url}{path}", auth=ADMIN, timeout=BOUND, json=body or None
    )


def assert_unavailable(response: httpx.Response, *, names: tuple[str, ...] = ()) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.json()["error_code"] == "store_unavailable"
    assert response.headers.get("retry-after", "").isdigit()
    for name in names:
        assert name not in response.json()["description"]


def wait_for_line(server: ServerProcess, text: str, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while text not in server.stderr():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.stderr()}"
        time.sleep(0.05)


def lines_with(server: ServerProcess, text: str) -> list[str]:
    return [line for line in server.stderr().splitlines() if text in line]
