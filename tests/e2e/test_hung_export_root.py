"""A real `bdbexport serve` whose export root's file system hangs (a stale NFS mount,
here a FUSE file system whose lookups never return, tests/support/hanging_fs.py).

Resolving a client's path follows it component by component; on that file system the
lookup never returns. The server resolves paths off its event loop
(composition/off_loop.py), so the export request against that root waits, and only it:
`GET /v1/openapi.json` and the other requests keep answering meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hanging_fs import hanging_mount
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

ADMIN = ("hang-admin@example.com", "hang-admin-password")
DEADLINE = 20.0
"""Generous: how long a request that needs no file system may take on a loaded host."""


def test_openapi_answers_while_an_export_root_hangs(tmp_path: Path) -> None:
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(
        json.dumps(
            {
                "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
                "bdbs": [{"uid": 1, "name": "orders"}],
            }
        )
    )
    bootstrap.chmod(0o600)
    answers: list[httpx.Response | BaseException] = []
    with contextlib.ExitStack() as mounted:
        mountpoint = mounted.enter_context(hanging_mount())
        server = ServerProcess(
            f"sqlite://{tmp_path / 'store.sqlite3'}",
            args=[
                "--bootstrap",
                str(bootstrap),
                "--export-root",
                str(mountpoint),
                "--access-log",
                "off",
            ],
            workdir=tmp_path,
        )
        # The file system goes first, whatever happens: a process waiting on one of
        # its lookups cannot even be killed until it answers.
        with server.start(), contextlib.closing(mounted):

            def export_into_the_hung_root() -> None:
                try:
                    answers.append(
                        httpx.post(
                            f"{server.url}/v1/bdbs/1/actions/export?dry_run=true",
                            json={"export_location": {"type": "mount_point", "path": "stale"}},
                            auth=ADMIN,
                            timeout=120.0,
                        )
                    )
                except BaseException as error:  # the mount is gone at the end of the test
                    answers.append(error)

            hung = threading.Thread(target=export_into_the_hung_root, daemon=True)
            hung.start()
            with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
                # Signed in once (a slow KDF on a loaded host is not what is shown here).
                assert client.get("/v1/bdbs/1", auth=ADMIN).status_code == 200
                time.sleep(1.0)  # the export request reaches the lookup meanwhile
                for _ in range(5):
                    openapi = client.get("/v1/openapi.json")
                    assert openapi.status_code == 200
                    assert openapi.json()["openapi"].startswith("3.")
                    bdb = client.get("/v1/bdbs/1", auth=ADMIN)
                    assert bdb.status_code == 200
                    assert bdb.json()["name"] == "orders"
                # Still hung: the lookup has not returned, the request has no answer.
                assert hung.is_alive()
                assert answers == []
            # The file system goes away (its lookups fail), so the request ends and the
            # server can stop gracefully.
            mounted.close()
            hung.join(60.0)
    assert answers, "the export request never ended once the file system was gone"
