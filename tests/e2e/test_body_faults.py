"""Bodies that break mid-way or hold numbers Python will not read: a 4xx with our JSON and
one access-log line, never a 500, a traceback or a 5xx counted in the metrics (an
anonymous client could otherwise trip the operators' 5xx alert at will)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server_process import ServerProcess

ADMIN = {"email": "admin@example.com", "password": "a long passphrase", "role": "admin"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    workdir = tmp_path_factory.mktemp("body-faults")
    access = workdir / "access.jsonl"
    bootstrap = workdir / "bootstrap.json"
    bootstrap.write_text(json.dumps({"users": [ADMIN], "bdbs": [{"uid": 1, "name": "orders"}]}))
    args = ["--exporter", "simulated", "--access-log", str(access), "--bootstrap", str(bootstrap)]
    with ServerProcess("memory://", args=args, workdir=workdir) as process:
        process.start()
        yield process, access


@pytest.mark.parametrize("path", ["/v1/users/authorize", "/v1/bdbs/1/actions/export_reset_status"])
def test_a_number_past_the_digit_limit_is_400(
    server: tuple[ServerProcess, Path], path: str
) -> None:
    process, _ = server
    body = '{"x": ' + "9" * 4400 + "}"
    method = "POST" if path.endswith("authorize") else "PUT"
    response = httpx.request(
        method,
        process.url + path,
        content=body,
        headers={"Content-Type": "application/json"},
        auth=(ADMIN["email"], ADMIN["password"]) if method == "PUT" else None,
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "invalid_schema"
    assert set(response.json()) == {"error_code", "description"}
    assert "Traceback" not in process.stderr()


def test_a_client_gone_mid_body_is_a_4xx_with_no_trace(
    server: tuple[ServerProcess, Path],
) -> None:
    process, access = server
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", process.port), timeout=10) as sock:
            sock.sendall(
                b"POST /v1/users/authorize HTTP/1.1\r\nHost: x\r\n"
                b'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"a'
            )
            time.sleep(0.1)
    deadline = time.monotonic() + 10
    statuses: list[int] = []
    while time.monotonic() < deadline:
        lines = access.read_text(encoding="utf-8").splitlines() if access.exists() else []
        statuses = [json.loads(line)["status"] for line in lines if '"/v1/users/authorize"' in line]
        if len(statuses) >= 5:
            break
        time.sleep(0.1)
    assert len(statuses) >= 5, statuses
    assert all(400 <= status < 500 for status in statuses), statuses
    assert "Traceback" not in process.stderr()
    assert "unexpected error" not in process.stderr()
    metrics = httpx.get(process.url + "/metrics", timeout=10).text
    assert 'status="500"' not in metrics
