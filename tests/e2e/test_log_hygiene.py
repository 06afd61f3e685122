"""What a real `bdbexport serve` writes about itself, and who may read it
(docs/security.md, "Logs"): log files created 0600, a warning for a bootstrap file
other users can read, and throttled sign-ins audited as one summary line per address
and interval rather than one line each."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.slow

ADMIN = ("logs-admin@example.com", "logs-admin-password")
DEADLINE = 30.0


def write_bootstrap(path: Path, mode: int) -> Path:
    path.write_text(
        json.dumps(
            {
                "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
                "bdbs": [{"uid": 1, "name": "orders"}],
            }
        )
    )
    path.chmod(mode)
    return path


def test_log_files_are_created_0600_and_a_bootstrap_file_others_read_is_warned_about(
    tmp_path: Path,
) -> None:
    bootstrap = write_bootstrap(tmp_path / "bootstrap.json", 0o644)
    access, audit = tmp_path / "access.jsonl", tmp_path / "audit.jsonl"
    server = ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=[
            "--bootstrap",
            str(bootstrap),
            "--access-log",
            str(access),
            "--audit-log",
            str(audit),
            "--exporter",
            "simulated",
        ],
        workdir=tmp_path,
    )
    with server.start():
        assert httpx.get(f"{server.url}/v1/bdbs/1", auth=("nobody@x", "wrong")).status_code == 401
    assert stat.S_IMODE(access.stat().st_mode) == 0o600
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    assert f"warning: bootstrap file {bootstrap} is readable by other users" in server.stderr()
    assert "chmod 600" in server.stderr()


def test_a_bootstrap_file_only_its_owner_reads_starts_without_a_warning(tmp_path: Path) -> None:
    bootstrap = write_bootstrap(tmp_path / "bootstrap.json", 0o600)
    server = ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=["--bootstrap", str(bootstrap), "--exporter", "simulated", "--audit-log", "off"],
        workdir=tmp_path,
    )
    with server.start():
        pass
    assert "warning" not in server.stderr()


def test_throttled_sign_ins_are_audited_as_one_summary_line_per_address(tmp_path: Path) -> None:
    bootstrap = write_bootstrap(tmp_path / "bootstrap.json", 0o600)
    audit = tmp_path / "audit.jsonl"
    server = ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=[
            "--bootstrap",
            str(bootstrap),
            "--exporter",
            "simulated",
            "--audit-log",
            str(audit),
            "--access-log",
            "off",
            "--login-throttle-threshold",
            "2",
            "--login-throttle-window",
            "300",
            "--throttle-summary-interval",
            "1",
        ],
        workdir=tmp_path,
    )
    throttled = 0
    with server.start(), httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        statuses = []
        for attempt in range(40):
            response = client.get("/v1/bdbs/1", auth=(f"guess{attempt}@example.com", "wrong"))
            statuses.append(response.status_code)
        throttled = statuses.count(429)
        assert throttled >= 30, statuses
        deadline = time.monotonic() + DEADLINE
        summaries: list[dict[str, object]] = []
        while time.monotonic() < deadline and not summaries:
            time.sleep(0.2)
            summaries = [line for line in _records(audit) if line["event"] == "LoginsThrottled"]
    records = _records(audit)
    one_each = [r for r in records if r["event"] == "LoginFailed" and r["reason"] == "throttled"]
    assert one_each == []
    summaries = [r for r in records if r["event"] == "LoginsThrottled"]
    assert sum(int(str(s["attempts"])) for s in summaries) == throttled
    assert len(summaries) <= 3  # one per interval (at most a few in this test's seconds)
    assert {s["client"] for s in summaries} == {"127.0.0.1"}
    assert all(int(str(s["distinct_names"])) >= 1 for s in summaries)
    assert not any("guess" in json.dumps(s) for s in summaries)  # counted, never listed


def _records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_busy_bdb_s_skipped_backups_are_logged_once_not_at_every_due_moment(
    tmp_path: Path,
) -> None:
    """A one-second schedule behind a backup that runs for a minute: each due moment is
    refused (`busy`, the same running backup); the log says so once. The backups go
    inside the server's default export root (`exports` next to the store), as a
    scheduled start checks."""
    backups = tmp_path / "exports" / "backups"
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(
        json.dumps(
            {
                "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
                "bdbs": [
                    {
                        "uid": 1,
                        "name": "orders",
                        "backup": True,
                        "backup_interval": 1,
                        "backup_interval_offset": 0,
                        "backup_location": {"type": "mount_point", "path": str(backups)},
                    }
                ],
            }
        )
    )
    bootstrap.chmod(0o600)
    server = ServerProcess(
        f"sqlite://{tmp_path / 'store.sqlite3'}",
        args=[
            "--bootstrap",
            str(bootstrap),
            "--exporter",
            "simulated",
            "--simulated-duration",
            "120",
            "--access-log",
            "off",
            "--audit-log",
            "off",
        ],
        workdir=tmp_path,
    )
    with server.start():
        deadline = time.monotonic() + DEADLINE
        while "not started" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "not started" in server.stderr()
        time.sleep(5.0)  # five more due moments, each refused as busy
        refusals = [
            line
            for line in server.stderr().splitlines()
            if "scheduled backup of bdb 1" in line and "not started" in line
        ]
    assert len(refusals) == 1, refusals
    assert "busy" in refusals[0]
