"""`python -m benchmarks.asgi_in_process [N]`: the reset request through the ASGI app,
in one process, without sockets: microseconds of Python per request.

The server is built as `serve` builds it (in-memory store, Basic auth, access and
audit logs to files) and the warm reset is sent straight to the app. No network, no
load generator: the figure moves only with the work the app does per request, which
is what a change to the request path should be judged by on a shared machine
(docs/performance.md, issue 16). Under `cProfile` it gives the in-process profile.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bdbexport.entrypoints.server import ServerConfig, build_server

PATH = "/v1/bdbs/1/actions/export_reset_status"
ADMIN = ("admin@example.com", "bench-password")


def _scope(authorization: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", authorization),
            (b"content-length", b"0"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }


async def _measure(app: Any, count: int) -> list[float]:
    authorization = b"Basic " + base64.b64encode(":".join(ADMIN).encode())

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(_scope(authorization), receive, send)  # the one request that pays scrypt
    if statuses != [200]:
        raise RuntimeError(f"the warm-up reset answered {statuses}")
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(count):
            await app(_scope(authorization), receive, send)
        rounds.append((time.perf_counter() - started) / count)
    return rounds


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with tempfile.TemporaryDirectory(prefix="bdbexport-asgi-") as directory:
        work = Path(directory)
        bootstrap = work / "bootstrap.json"
        user = {"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}
        bootstrap.write_text(json.dumps({"users": [user], "bdbs": [{"uid": 1, "name": "o"}]}))
        server = build_server(
            ServerConfig(
                store_url="memory://",
                bootstrap=bootstrap,
                exporter="simulated",
                access_log=str(work / "access.log"),
                audit_log=str(work / "audit.log"),
            )
        )
        # The app as `serve` runs it, its edge rules outermost (composition/http_app.py).
        try:
            rounds = asyncio.run(_measure(server.app, count))
        finally:
            server.close()
    for name, figures in (("the app in its edge rules", rounds),):
        print(
            f"reset through {name}: {min(figures) * 1e6:.1f} µs a request (best of 5),"
            f" median {statistics.median(figures) * 1e6:.1f} µs"
        )


if __name__ == "__main__":
    main()
