"""A real `bdbexport serve` process, driven over real HTTP and HTTPS."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.support.passwords import with_cheap_hashes
from tests.support.server_process import ServerProcess, bdbexport_command, free_port

pytestmark = pytest.mark.slow

ADMIN = ("ops@example.com", "ops-password")
VIEWER = ("viewer@example.com", "viewer-password")
MOUNT = {"export_location": {"type": "mount_point", "path": "backups"}}

BOOTSTRAP: dict[str, Any] = {
    "users": [
        {"email": ADMIN[0], "password": ADMIN[1], "role": "admin"},
        {"email": VIEWER[0], "password": VIEWER[1], "role": "db_viewer"},
    ],
    "modules": [
        {"module_name": "search", "semantic_version": "2.8.4", "capabilities": ["backup_restore"]},
        {"module_name": "graph", "semantic_version": "2.10.12", "capabilities": ["types"]},
    ],
    "bdbs": [
        {"uid": 1, "name": "orders", "module_list": [{"module_name": "search"}]},
        {
            "uid": 2,
            "name": "sessions",
            "export_status": "failed",
            "export_failure_reason": "wrong-file-path",
        },
        {"uid": 3, "name": "social", "module_list": [{"module_name": "graph"}]},
        {"uid": 4, "name": "cache", "action_uid": "resharding-4"},
    ],
}


@pytest.fixture
def bootstrap_file(tmp_path: Path) -> Path:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(with_cheap_hashes(BOOTSTRAP)))
    return path


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ssl.SSLContext]:
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = folder / "server.pem", folder / "server.key"
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return certfile, keyfile, context


def wait_for(client: httpx.Client, uid: int, status: str, timeout: float = 20.0) -> list[int]:
    """Poll the bdb until its export status is `status`; the progress values seen."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bdb = client.get(f"/v1/bdbs/{uid}", auth=ADMIN).json()
        seen.append(bdb["export_progress"])
        if bdb["export_status"] == status:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"bdb {uid} never reached {status}; progress seen {seen}")


def full_story(client: httpx.Client) -> None:
    # start -> poll progress -> succeeded -> reset -> idle
    started = client.post("/v1/bdbs/1/actions/export", json=MOUNT, auth=ADMIN)
    assert started.status_code == 200, started.text
    assert started.json()["export_status"] == "exporting"
    busy = client.post("/v1/bdbs/1/actions/export", json=MOUNT, auth=ADMIN)
    assert busy.status_code == 409
    assert busy.json()["error_code"] == "busy"
    in_progress = client.put("/v1/bdbs/1/actions/export_reset_status", auth=ADMIN)
    assert in_progress.status_code == 409
    assert in_progress.headers["retry-after"] == "1"
    progress = wait_for(client, 1, "succeeded")
    assert progress == sorted(progress), "progress went backwards"
    assert any(0 < value < 100 for value in progress), progress
    done = client.get("/v1/bdbs/1", auth=ADMIN).json()
    assert done["export_progress"] == 100
    assert done["last_export_time"] is not None
    reset = client.put("/v1/bdbs/1/actions/export_reset_status", json={}, auth=ADMIN)
    assert reset.status_code == 200
    assert reset.json()["export_status"] == "idle"
    assert reset.json()["last_export_time"] == done["last_export_time"]
    # failed -> reset clears the reason (the generated client's style: no body)
    failed_reset = client.put("/v1/bdbs/2/actions/export_reset_status", auth=ADMIN)
    assert failed_reset.json()["export_failure_reason"] is None
    # 406 and 409 from the domain, 403 before 404
    assert client.put("/v1/bdbs/3/actions/export_reset_status", auth=ADMIN).status_code == 406
    assert client.put("/v1/bdbs/4/actions/export_reset_status", auth=ADMIN).status_code == 409
    assert client.put("/v1/bdbs/999/actions/export_reset_status", auth=VIEWER).status_code == 403
    assert client.put("/v1/bdbs/999/actions/export_reset_status", auth=ADMIN).status_code == 404


def test_the_full_story_over_plain_http(tmp_path: Path, bootstrap_file: Path) -> None:
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    args = [
        "--bootstrap",
        str(bootstrap_file),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "1.5",
    ]
    with ServerProcess(store, args=args, workdir=tmp_path).start() as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            full_story(client)
        # Graceful: the server drains, then exits (0 on granian; uvicorn re-raised SIGTERM).
        assert server.stop() in {0, -signal.SIGTERM}
    access = [json.loads(line) for line in server.stdout().splitlines() if line.startswith("{")]
    assert {"request_id", "method", "path", "status", "duration_ms", "principal"} <= set(access[0])
    audit = [json.loads(line) for line in server.stderr().splitlines() if line.startswith("{")]
    kinds = [event["event"] for event in audit]
    assert "ExportStarted" in kinds
    assert "ExportSucceeded" in kinds
    assert "ActionRefused" in kinds
    logs = server.stdout() + server.stderr()
    assert ADMIN[1] not in logs
    assert "Basic " not in logs


def test_the_full_story_over_tls(
    tmp_path: Path,
    bootstrap_file: Path,
    certificates: tuple[Path, Path, ssl.SSLContext],
) -> None:
    certfile, keyfile, trust = certificates
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    args = [
        "--bootstrap",
        str(bootstrap_file),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "1.5",
    ]
    server = ServerProcess(store, args=args, tls=(certfile, keyfile), workdir=tmp_path)
    with server.start(verify=trust):
        with httpx.Client(base_url=server.url, verify=trust, timeout=10) as client:
            token = client.post("/v1/users/authorize", json={"ttl": 60}, auth=ADMIN)
            assert token.status_code == 200
            jwt_auth = {"Authorization": f"JWT {token.json()['access_token']}"}
            assert client.get("/v1/bdbs/1", headers=jwt_auth).status_code == 200
            full_story(client)
        with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA
            httpx.get(f"{server.url}/v1/bdbs/1", auth=ADMIN)


def test_restarting_with_the_same_bootstrap_keeps_live_changes(
    tmp_path: Path, bootstrap_file: Path
) -> None:
    store = f"sqlite://{tmp_path / 'store.sqlite3'}"
    args = ["--bootstrap", str(bootstrap_file)]
    with ServerProcess(store, args=args, workdir=tmp_path).start() as server:
        reset = httpx.put(f"{server.url}/v1/bdbs/2/actions/export_reset_status", auth=ADMIN)
        assert reset.json()["export_status"] == "idle"
    with ServerProcess(store, args=args, workdir=tmp_path).start() as again:
        bdb = httpx.get(f"{again.url}/v1/bdbs/2", auth=ADMIN).json()
        assert bdb["export_status"] == "idle"
        assert "created 0 users, 0 modules, 0 bdbs" in again.stdout()


def test_first_start_seeds_the_demo_and_shows_passwords_once(tmp_path: Path) -> None:
    store = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    env = {"BDBEXPORT_ADMIN_PASSWORD": "demo-admin-pw"}
    with ServerProcess(store, env=env, workdir=tmp_path).start() as first:
        shown = first.stdout()
        # The operator's password is never repeated; the generated ones are in a 0600
        # file beside the store that the output names (its output is not a terminal).
        assert "demo-admin-pw" not in shown + first.stderr()
        passwords = tmp_path / "demo-passwords.txt"
        assert str(passwords) in shown
        assert passwords.stat().st_mode & 0o777 == 0o600
        bdbs = httpx.get(f"{first.url}/v1/bdbs", auth=("admin@example.com", "demo-admin-pw"))
        states = {bdb["export_status"] for bdb in bdbs.json()}
        assert states == {"idle", "exporting", "succeeded", "failed"}
        viewer_password = next(
            line.split()[-1]
            for line in passwords.read_text().splitlines()
            if "db-viewer@example.com" in line
        )
        assert viewer_password not in shown
        viewer = httpx.get(
            f"{first.url}/v1/modules", auth=("db-viewer@example.com", viewer_password)
        )
        assert viewer.status_code == 200
        assert any("backup_restore" not in m["capabilities"] for m in viewer.json())
    with ServerProcess(store, env=env, workdir=tmp_path).start() as second:
        assert "demo-admin-pw" not in second.stdout()
        assert "First start" not in second.stdout()


def test_sigterm_fails_running_exports_after_the_grace_period(
    tmp_path: Path, bootstrap_file: Path
) -> None:
    store_path = tmp_path / "store.sqlite3"
    args = [
        "--bootstrap",
        str(bootstrap_file),
        "--exporter",
        "simulated",
        "--simulated-duration",
        "60",
        "--shutdown-grace",
        "0.5",
    ]
    with ServerProcess(f"sqlite://{store_path}", args=args, workdir=tmp_path).start() as server:
        assert httpx.post(
            f"{server.url}/v1/bdbs/1/actions/export", json=MOUNT, auth=ADMIN
        ).is_success
        assert server.stop() in {0, -signal.SIGTERM}
    with ServerProcess(f"sqlite://{store_path}", workdir=tmp_path).start() as after:
        bdb = httpx.get(f"{after.url}/v1/bdbs/1", auth=ADMIN).json()
    assert bdb["export_status"] == "failed"
    assert bdb["export_failure_reason"] == "general-error"
    assert "server shutdown" in server.stderr()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_plain_http_on_a_public_address_is_refused(tmp_path: Path) -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--store", "memory://")
    assert result.returncode == 2
    assert "Refusing to serve plain HTTP on non-loopback address 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--store", "postgres://x"], "Unsupported store URL", 2),
        (["--store", "sqlite:///{tmp}/notes.txt"], "not a bdbexport SQLite store", 8),
        (["--store", "memory://", "--bootstrap", "{tmp}/missing.json"], "cannot read", 2),
        (["--store", "memory://", "--certfile", "{tmp}/x.pem"], "go together", 2),
    ],
)
def test_bad_settings_end_with_one_clear_line(
    tmp_path: Path, args: list[str], message: str, code: int
) -> None:
    (tmp_path / "notes.txt").write_text("plain text, not a database" * 50)
    port = str(free_port())
    result = run_cli("serve", "--port", port, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_fails_the_start_before_anything_is_seeded_or_shown(tmp_path: Path) -> None:
    """The one-time passwords are never burnt by a start that could not listen."""
    store_path = tmp_path / "first.sqlite3"
    env = {"BDBEXPORT_ADMIN_PASSWORD": "first-admin-pw"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [*bdbexport_command(), "serve", "--port", port, "--store", f"sqlite://{store_path}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, **env},
        )
    assert result.returncode == 7, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "First start" not in result.stdout
    assert "serving" not in result.stdout
    assert not store_path.exists()
    with ServerProcess(f"sqlite://{store_path}", env=env, workdir=tmp_path).start() as server:
        deadline = time.monotonic() + 10
        while "serving" not in server.stdout():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        shown = server.stdout()
    assert "First start" in shown
    assert shown.index("First start") < shown.index("serving")


def test_a_log_file_that_cannot_be_opened_is_named_and_nothing_is_left_open(
    tmp_path: Path,
) -> None:
    port = str(free_port())
    missing = tmp_path / "no-such-dir" / "audit.log"
    result = run_cli("serve", "--port", port, "--store", "memory://", "--audit-log", str(missing))
    assert result.returncode == 2, result.stderr
    assert f"Cannot open log file {missing}" in result.stderr
    assert "cannot listen" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_ipv6_host_is_announced_as_a_usable_url(tmp_path: Path) -> None:
    port = free_port()
    command = [*bdbexport_command(), "serve", "--host", "::1", "--port", str(port)]
    with subprocess.Popen(
        [*command, "--store", "memory://"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = ""
            deadline = time.monotonic() + 20
            while "serving" not in line:
                assert time.monotonic() < deadline, "no serving line"
                line = process.stdout.readline()
                assert line or process.poll() is None, "serve exited before serving"
            assert f"serving http://[::1]:{port} " in line
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
