"""With an unreadable `$HOME` the CLI says what it cannot read and exits with a code of
the table (docs/cli.md), never a traceback (issue 22, finding 12): the config file it
looks for there is exit 2 `config_error`, the default store there exit 8
`store_unreadable`. Run as the real console script; as root (CI) it runs without the
capabilities that let root read any directory (`setpriv --bounding-set`), and stays root
otherwise, so it can still read its own installation wherever that lives (tox's `.tox` is
its owner's only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server_process import bdbexport_command

pytestmark = pytest.mark.slow


@pytest.fixture
def home() -> Iterator[Path]:
    """A home directory nobody may read, in a folder everyone may cross (pytest's own
    folders are their owner's only)."""
    with tempfile.TemporaryDirectory() as parent:
        Path(parent).chmod(0o755)
        locked = Path(parent) / "home"
        (locked / ".config" / "bdbexport").mkdir(parents=True)
        (locked / ".config" / "bdbexport" / "config.toml").write_text('default_profile = "x"\n')
        locked.chmod(0o000)
        yield locked
        locked.chmod(0o700)


def as_a_user(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) drops root's read-anything power"
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    environment = {key: value for key, value in os.environ.items() if "BDBEXPORT" not in key}
    environment.pop("XDG_CONFIG_HOME", None)
    return subprocess.run(
        [*prefix, *bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env={**environment, **env},
        cwd="/",
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_an_unreadable_home_is_a_config_error_not_a_traceback(home: Path) -> None:
    result = as_a_user("--store", "memory://", "db", "list", env={"HOME": str(home)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: config_error: cannot read the config file: ")
    assert "hint: point --config or BDBEXPORT_CONFIG" in result.stderr


def test_the_default_store_in_an_unreadable_home_is_exit_8(home: Path) -> None:
    # A config directory the user may read (pytest's own folders are the owner's only).
    with tempfile.TemporaryDirectory() as config:
        Path(config).chmod(0o755)
        env = {"HOME": str(home), "XDG_CONFIG_HOME": config}
        result = as_a_user("db", "list", env=env)
    assert result.returncode == 8, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: store_unreadable: cannot open the store: ")
