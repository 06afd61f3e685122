"""No secret in any log line (issue 27, 6). A real `bdbexport serve` on a fresh store,
its output redirected to a file as a service manager would, with its access and audit
logs in files; then a walkthrough that uses every kind of secret: the bootstrap admin
password (BDBEXPORT_ADMIN_PASSWORD), the generated demo passwords, Basic credentials, a
JWT and an FTP location's password, through the API and the
remote CLI, with one failure that names the location. Every file the server wrote
(stdout, stderr, access log, audit log) is grepped for every one of them; the generated
passwords are in a 0600 file beside the store, which the output names."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.test_real_exports import ftp_server, write_dataset
from tests.support.redis_server import RedisServer
from tests.support.server_process import ServerProcess, bdbexport_command

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "bootstrap-admin-secret-7f3a"
FTP_PASSWORD = "ftp-password"
ADMIN = "admin@example.com"


def wait_end(client: httpx.Client, uid: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        bdb: dict[str, object] = client.get(f"/v1/bdbs/{uid}").json()
        if bdb["export_status"] in {"succeeded", "failed"}:
            return bdb
        assert time.monotonic() < deadline, bdb
        time.sleep(0.1)


def bdbexport(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "BDBEXPORT_PASSWORD": ADMIN_PASSWORD},
        timeout=60,
        check=False,
    )


def test_a_walkthrough_leaves_no_secret_in_any_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    source = RedisServer(tmp_path / "source").start()
    endpoint = f"127.0.0.1:{source.port}"
    access_log, audit_log = tmp_path / "access.log", tmp_path / "audit.log"
    env = {"BDBEXPORT_ADMIN_PASSWORD": ADMIN_PASSWORD, "BDBEXPORT_HOME": str(home)}
    args = ["--access-log", str(access_log), "--audit-log", str(audit_log)]
    args += ["--allow-egress", "127.0.0.1", "--exporter", "rdb"]
    server = ServerProcess(
        f"sqlite://{home / 'bdbexport.sqlite3'}", args=args, env=env, workdir=tmp_path
    )
    ftp = ftp_server(tmp_path)
    try:
        write_dataset(redis.Redis(port=source.port))
        with ftp as (port, _root), server.start():
            passwords = home / "demo-passwords.txt"
            assert str(passwords) in server.stdout()
            assert passwords.stat().st_mode & 0o777 == 0o600
            generated = [
                line.split()[-1]
                for line in passwords.read_text().splitlines()
                if not line.startswith("#") and not line.endswith(")")
            ]
            assert len(generated) >= 3
            with httpx.Client(base_url=server.url, auth=(ADMIN, ADMIN_PASSWORD), timeout=10) as api:
                token = api.post("/v1/users/authorize", json={}).json()["access_token"]
                with httpx.Client(
                    base_url=server.url, headers={"Authorization": f"JWT {token}"}, timeout=10
                ) as by_token:
                    assert by_token.get("/v1/bdbs").status_code == 200
                store = f"sqlite://{home / 'bdbexport.sqlite3'}"
                local = bdbexport("--store", store, "db", "set", "1", "--endpoint", endpoint)
                assert local.returncode == 0, local.stderr
                remote = bdbexport("--url", server.url, "--user", ADMIN, "export", "status", "1")
                assert remote.returncode == 0, remote.stderr
                assert ADMIN_PASSWORD not in remote.stdout + remote.stderr
                ftp_url = f"ftp://backup:{FTP_PASSWORD}@127.0.0.1:{port}/dumps/"
                started = api.post(
                    "/v1/bdbs/1/actions/export",
                    json={"export_location": {"type": "url", "url": ftp_url}},
                )
                assert started.status_code == 200, started.text
                wait_end(api, 1)
                api.put("/v1/bdbs/1/actions/export_reset_status")
                # A failure that names the location: a wrong FTP password.
                wrong = ftp_url.replace(FTP_PASSWORD, "wrong-ftp-secret")
                api.post(
                    "/v1/bdbs/1/actions/export",
                    json={"export_location": {"type": "url", "url": wrong}},
                )
                assert wait_end(api, 1)["export_status"] == "failed"
                # Signing in with a generated password, and failing to, are logged too.
                httpx.get(f"{server.url}/v1/bdbs", auth=(ADMIN, "not-the-password"), timeout=10)
        written = {
            "stdout": server.stdout(),
            "stderr": server.stderr(),
            "access log": access_log.read_text(),
            "audit log": audit_log.read_text(),
        }
        assert written["audit log"]
        assert written["access log"]
        secrets = [ADMIN_PASSWORD, *generated, token, FTP_PASSWORD]
        secrets += ["wrong-ftp-secret", "not-the-password"]
        leaks = [
            (name, secret) for name, text in written.items() for secret in secrets if secret in text
        ]
        assert not leaks, leaks
    finally:
        server.stop()
        source.stop()
