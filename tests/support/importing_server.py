"""A real `bdbexport serve` whose bdb 2 imports into a given redis-server, for the
tests of hostile import files and sources (issue 22)."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_serve import ADMIN
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess

__all__ = [
    "ADMIN",
    "IMPORTING",
    "MIB",
    "ended",
    "serve",
    "start_ftp_import",
    "start_import",
    "work_directories",
]

IMPORTING = 2
MIB = 1024 * 1024


def serve(tmp_path: Path, target: RedisServer, *extra: str) -> ServerProcess:
    """Bdb 2 imports into `target`; files go in `exports` (the default export root next
    to the store) and work directories in `tmp`, where the test can see them."""
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {
                "uid": IMPORTING,
                "name": "target",
                "endpoints": [{"addr": ["127.0.0.1"], "port": target.port}],
            }
        ],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(document))
    (tmp_path / "exports").mkdir(exist_ok=True)
    scratch_tmp(tmp_path).mkdir(exist_ok=True)
    return ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=["--bootstrap", str(tmp_path / "bootstrap.json"), *extra],
        workdir=tmp_path,
        env={"TMPDIR": str(scratch_tmp(tmp_path))},
    )


def scratch_tmp(tmp_path: Path) -> Path:
    """The TMPDIR of a test's server: short, so the scratch loader's Unix socket path
    stays under the kernel's 107 bytes (pytest-xdist's `tmp_path` alone can pass it),
    and named after `tmp_path`, so each test has its own."""
    digest = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"bdbx-{digest}"


def start_import(server: ServerProcess, tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / "exports" / name
    path.write_bytes(content)
    started = httpx.post(
        f"{server.url}/v1/bdbs/{IMPORTING}/actions/import",
        json={"dataset_import_sources": [{"type": "mount_point", "path": str(path)}]},
        auth=ADMIN,
    )
    assert started.status_code == 200, started.text
    action: str = started.json()["action_uid"]
    return action


def ended(server: ServerProcess, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        bdb: dict[str, Any] = httpx.get(f"{server.url}/v1/bdbs/{IMPORTING}", auth=ADMIN).json()
        if bdb["import_status"] not in {"importing", "initializing"}:
            return bdb
        assert time.monotonic() < deadline, f"the import still runs after {within}s: {bdb}"
        time.sleep(0.2)


def start_ftp_import(server: ServerProcess, url: str) -> None:
    started = httpx.post(
        f"{server.url}/v1/bdbs/{IMPORTING}/actions/import",
        json={"dataset_import_sources": [{"type": "url", "url": url}]},
        auth=ADMIN,
    )
    assert started.status_code == 200, started.text


def work_directories(tmp_path: Path) -> list[Path]:
    return list(scratch_tmp(tmp_path).glob("bdbexport-import-*"))
