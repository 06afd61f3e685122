"""Issue 22, finding 9: a browser's cross-site request cannot change anything.

Against a real `bdbexport serve`: what `navigator.sendBeacon` sends from another site
(a POST with no body and no `Content-Type`, `Origin: https://evil.example`,
`Sec-Fetch-Site: cross-site`, with the user's cached Basic credentials) is 403
`cross_site_request` and starts nothing; so is a foreign or `null` `Origin` from a
browser without Fetch Metadata, and a sibling site. Reads, same-origin requests and
clients that are not browsers are untouched, and `serve --allowed-origin` lets a
named origin through. On today's main the beacon answered 200 and a backup started.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow

ADMIN = ("site-admin@example.com", "site-admin-password")
EVIL = "https://evil.example"
BACKUP = "/v1/bdbs/1/actions/backup"


def serve(tmp_path: Path, *extra: str) -> ServerProcess:
    backups = tmp_path / "exports" / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [
            {
                "uid": 1,
                "name": "orders",
                "backup_location": {"type": "mount_point", "path": str(backups)},
            }
        ],
    }
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(document))
    args = ["--bootstrap", str(path), "--exporter", "simulated", "--simulated-duration", "0.2"]
    return ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}", args=[*args, *extra], workdir=tmp_path
    )


def beacon(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    """A POST with no body and no Content-Type, as `sendBeacon` sends it."""
    return client.post(BACKUP, headers=headers, auth=ADMIN)


def actions(client: httpx.Client) -> list[Any]:
    response = client.get("/v1/actions", auth=ADMIN)
    assert response.status_code == 200, response.text
    listed: list[Any] = response.json()["actions"]
    return listed


def assert_cross_site_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, (response.status_code, response.text)
    body = response.json()
    assert body["error_code"] == "cross_site_request", body
    assert "--allowed-origin" in body["description"]


def test_cross_site_requests_that_change_things_are_refused_and_start_nothing(
    tmp_path: Path,
) -> None:
    with serve(tmp_path).start() as server, httpx.Client(base_url=server.url) as client:
        before = actions(client)
        for headers in (
            {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},  # the finding's beacon
            {"Origin": EVIL},  # a browser without Fetch Metadata
            {"Origin": "null"},  # a sandboxed frame, a file
            {"Origin": "https://other.127.0.0.1.example", "Sec-Fetch-Site": "same-site"},
            {"Sec-Fetch-Site": "cross-site"},  # a beacon without Origin
        ):
            assert_cross_site_refused(beacon(client, headers))
        assert actions(client) == before, "a refused request started something"

        # Reads stay open to any page (CORS keeps their answers from it).
        read = client.get("/v1/bdbs/1", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
        assert read.status_code == 401  # no credentials: refused for that, not for the site
        read = client.get(
            "/v1/bdbs/1", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}, auth=ADMIN
        )
        assert read.status_code == 200, read.text

        # The server's own pages and clients that are not browsers go on as before.
        same = beacon(client, {"Origin": server.url, "Sec-Fetch-Site": "same-origin"})
        assert same.status_code == 200, same.text
        assert len(actions(client)) == len(before) + 1


def test_a_client_that_is_not_a_browser_is_untouched(tmp_path: Path) -> None:
    with serve(tmp_path).start() as server, httpx.Client(base_url=server.url) as client:
        started = beacon(client, {})
        assert started.status_code == 200, started.text


def test_an_allowed_origin_may_change_things_and_only_it(tmp_path: Path) -> None:
    with (
        serve(tmp_path, "--allowed-origin", "HTTPS://Evil.Example:443/").start() as server,
        httpx.Client(base_url=server.url) as client,
    ):
        other = beacon(client, {"Origin": "https://else.example", "Sec-Fetch-Site": "cross-site"})
        assert_cross_site_refused(other)
        allowed = beacon(client, {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
        assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize("origin", ["ftp://evil.example", "https://evil.example/path", "evil"])
def test_an_allowed_origin_that_is_not_an_origin_stops_the_start(
    tmp_path: Path, origin: str
) -> None:
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    finished = subprocess.run(
        [*bdbexport_command(), "serve", "--store", store, "--allowed-origin", origin],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode != 0
    assert "--allowed-origin" in finished.stderr, finished.stderr
    assert "Traceback" not in finished.stderr
