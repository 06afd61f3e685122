"""The installed `bdbexport` script takes its global options after the subcommand too."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bdbexport.adapters.cli.main import package_version
from bdbexport.composition.bootstrap_file import apply_bootstrap
from bdbexport.composition.demo_data import demo_document
from bdbexport.composition.stores import open_store
from tests.support.server_process import bdbexport_command

pytestmark = pytest.mark.slow


def bdbexport(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"BDBEXPORT_STORE", "BDBEXPORT_URL", "BDBEXPORT_USER", "BDBEXPORT_PROFILE"}
    }
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_the_console_script_takes_options_after_the_subcommand(tmp_path: Path) -> None:
    store_url = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    store = open_store(store_url)
    apply_bootstrap(demo_document()[0], store)
    store.close()
    shown = bdbexport("db", "show", "1", "--json", "--store", store_url)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == "orders"
    listed = bdbexport("db", "list", f"--store={store_url}", "-o", "json")
    assert [bdb["uid"] for bdb in json.loads(listed.stdout)][:2] == [1, 2]
    version = bdbexport("db", "show", "1", "--version")
    assert (version.returncode, version.stdout) == (0, f"bdbexport {package_version()}\n")
    helped = bdbexport("export", "start", "-h")
    assert helped.returncode == 0
    assert "bdbexport export start [OPTIONS]" in helped.stdout
    unknown = bdbexport("db", "show", "1", "--store", store_url, "--bogus")
    assert unknown.returncode == 2
    assert "No such option: --bogus" in unknown.stderr
