"""A real `bdbexport serve` refuses a bootstrap file whose backup settings are out of
range, with a configuration error naming the field: it used to start, and its backup
scheduler then failed on every tick, leaving bdbs with a higher uid without backups."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bdbexport.adapters.cli.exit_codes import ExitCode
from tests.e2e.test_serve import ADMIN
from tests.support.passwords import with_cheap_hashes
from tests.support.server_process import bdbexport_command, free_port


@pytest.mark.parametrize(
    "settings",
    [
        {"backup_interval": 99999999999999999999999},
        {"backup_interval": 10000000000000},
        {"backup_interval": 3600, "backup_interval_offset": 99999999999999999999999},
    ],
)
def test_serve_refuses_backup_settings_out_of_range(
    tmp_path: Path, settings: dict[str, int]
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    bdb = {
        "uid": 1,
        "name": "db1",
        "backup": True,
        "backup_location": {"type": "mount_point", "path": str(backups)},
        **settings,
    }
    document = {
        "users": [{"email": ADMIN[0], "password": ADMIN[1], "role": "admin"}],
        "bdbs": [bdb, {"uid": 2, "name": "db2"}],
    }
    bootstrap = tmp_path / "bootstrap.json"
    bootstrap.write_text(json.dumps(with_cheap_hashes(document)))
    done = subprocess.run(
        [*bdbexport_command(), "serve", "--port", str(free_port()),
         "--store", f"sqlite://{tmp_path / 'store.sqlite3'}",
         "--bootstrap", str(bootstrap), "--export-root", str(backups)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == ExitCode.USAGE, (done.stdout, done.stderr)
    assert "config_error" in done.stderr or "bootstrap" in done.stderr, done.stderr
    assert "backup_interval" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
