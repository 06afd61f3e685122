"""What an export or import start refuses before anything runs, through a real
`bdbexport serve`: FTP ports outside 1-65535 (they were accepted, then crashed the
worker with a traceback), hosts the egress policy refuses (imports used to accept
`127.0.0.1` and `localhost` and fail later), and bracketed IPv6 literals, which were
refused as malformed even when the policy allowed them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_serve import ADMIN
from tests.support.passwords import with_cheap_hashes
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow


def body(kind: str, url: str) -> dict[str, Any]:
    location = {"type": "url", "url": url}
    if kind == "export":
        return {"export_location": location}
    return {"dataset_import_sources": [location]}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {"uid": 1, "name": "one", "endpoints": [{"addr": ["127.0.0.1"], "port": 1}]},
        ],
    }
    (tmp_path / "bootstrap.json").write_text(json.dumps(with_cheap_hashes(document)))
    (tmp_path / "exports").mkdir()
    process = ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=[
            *("--bootstrap", str(tmp_path / "bootstrap.json")),
            *("--allow-egress", "2001:db8::/32"),
            *("--export-timeout", "2"),
        ],
        workdir=tmp_path,
    )
    with process.start():
        yield process


def start(server: ServerProcess, kind: str, url: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/bdbs/1/actions/{kind}", json=body(kind, url), auth=ADMIN, timeout=10
    )


@pytest.mark.parametrize("kind", ["export", "import"])
def test_refusals_at_start(server: ServerProcess, kind: str) -> None:
    for port in ("0", "65536", "99999"):
        refused = start(server, kind, f"ftp://u:p@ftp.example.com:{port}/dumps/a.rdb")
        assert refused.status_code == 400, (port, refused.text)
        assert refused.json()["error_code"] == "invalid_schema"
    for host in ("127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"):
        refused = start(server, kind, f"ftp://u:p@{host}:2121/dumps/a.rdb")
        assert refused.status_code == 400, (host, refused.text)
        assert refused.json()["error_code"] == "egress_not_allowed"
        assert "export destination's or import source's host" in refused.json()["description"]
    bdb = httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN).json()
    assert bdb[f"{kind}_status"] in {"idle", None}
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize("kind", ["export", "import"])
def test_an_allowed_ipv6_host_is_accepted(server: ServerProcess, kind: str) -> None:
    accepted = start(server, kind, "ftp://u:p@[2001:db8::1]:21/dumps/a.rdb")
    assert accepted.status_code == 200, accepted.text
