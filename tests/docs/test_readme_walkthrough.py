"""README.md "Try it": the first run a newcomer copies, run exactly as written.

The ```console blocks from "## Try it" up to "### As a library" run in order in one bash
session (`set -euo pipefail`), with a throwaway HOME and TMPDIR (the README's
`mktemp -d` lands in them) and the ports the README takes from `REDIS_PORT` and
`API_PORT` set to free ones. The first block, the install, is not run (it would install
into the test's own environment): it is checked word for word instead, and the
`bdbexport` under test is the one on this environment's PATH. Whatever the README starts
is stopped here too, even when it fails: the shell's process group (the backgrounded
server) and the Redis on `REDIS_PORT`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.server_process import free_port

pytestmark = pytest.mark.slow
README = Path(__file__).parents[2] / "README.md"
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
INSTALL = "python3 -m venv .venv && . .venv/bin/activate\npip install '.[server]'\n"


def walkthrough() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Try it") : text.index("### As a library")]
    return CONSOLE.findall(section)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_closed(port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not answers(port):
            return True
        time.sleep(0.1)
    return False


def stop_everything(session: subprocess.Popen[str], redis_port: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(session.pid, sig)
        except ProcessLookupError:
            break
        time.sleep(0.5 if sig is signal.SIGTERM else 0)
    if answers(redis_port):
        subprocess.run(
            ["redis-cli", "-p", str(redis_port), "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
            check=False,
        )


def test_the_install_block_is_the_one_that_works_from_the_checkout() -> None:
    blocks = walkthrough()
    assert blocks[0] == INSTALL
    assert "pip install bdbexport" not in README.read_text(encoding="utf-8")


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("redis-server", "redis-cli", "curl")),
    reason="needs redis-server, redis-cli and curl",
)
def test_the_first_run_exports_for_real_and_cleans_up(tmp_path: Path) -> None:
    script = "".join(walkthrough()[1:])
    assert "$REDIS_PORT" in script
    assert "$API_PORT" in script
    bdbexport = shutil.which("bdbexport")
    assert bdbexport is not None, "the bdbexport console script is not installed"
    redis_port, api_port = free_port(), free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BDBEXPORT_", "XDG_", "REDIS_", "API_"))
    }
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp_path),
        PATH=f"{Path(bdbexport).parent}{os.pathsep}{env.get('PATH', '')}",
        REDIS_PORT=str(redis_port),
        API_PORT=str(api_port),
        COLUMNS="200",
    )
    session = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = session.communicate(timeout=120)
        assert session.returncode == 0, output
        # The README stops what it started.
        assert wait_closed(api_port), f"the server still answers\n{output}"
        assert wait_closed(redis_port), f"redis still answers\n{output}"
    finally:
        stop_everything(session, redis_port)
        if session.poll() is None:
            session.communicate()

    workdirs = [path.parent for path in tmp_path.glob("*/bdbexport.sqlite3")]
    assert len(workdirs) == 1, "the walkthrough keeps its store in its own directory"
    assert not (home / ".local").exists(), "the walkthrough touched the default store"
    exported = list((workdirs[0] / "backups").glob("orders-*.rdb"))
    assert len(exported) == 1, output
    snapshot = exported[0].read_bytes()
    assert snapshot.startswith(b"REDIS")
    assert b"greeting" in snapshot
    assert b"hello" in snapshot
    assert exported[0].name in output  # `ls` showed it
    assert "admin@example.com" in output  # the first start's passwords
    assert "database 1 (orders): export succeeded" in output
    assert '"uid":1,' in output
    assert '"export_status":"idle"' in output
    assert '{"error_code":"export_in_progress"' in output
