"""Running a page's shell examples as a reader would: one bash session, in order.

`set -euo pipefail`, a throwaway HOME and TMPDIR, the `bdbexport` under test first on
PATH, the caller's ports in the environment, and whatever the session started in the
background stopped afterwards (its whole process group), even when a step failed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def require_tools(*tools: str) -> None:
    """The page's tools; CI must have them (`.ci/run` installs them), a developer may not."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    message = f"needs {', '.join(missing)} (apt-get install them)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: .ci/run installs them")
    pytest.skip(message)


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


def run_session(
    script: str,
    *,
    tmp_path: Path,
    drop: tuple[str, ...],
    variables: dict[str, str],
    check: Callable[[int, str], None] = lambda code, output: None,
    cleanup: Callable[[], None] = lambda: None,
    timeout: float = 120.0,
) -> tuple[Path, str]:
    """Run `script`; returns its HOME and its output. Variables whose names start with one
    of `drop` are not inherited (a developer's settings must not leak in). `check` sees
    the exit code and the output before anything is stopped here (so it can tell what
    the script stopped itself); `cleanup` runs after the process group is stopped."""
    bdbexport = shutil.which("bdbexport")
    assert bdbexport is not None, "the bdbexport console script is not installed"
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp_path),
        PATH=f"{Path(bdbexport).parent}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS="200",
        **variables,
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
    output = ""
    try:
        output, _ = session.communicate(timeout=timeout)
        check(session.returncode, output)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(session.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5 if sig is signal.SIGTERM else 0)
        cleanup()
        if session.poll() is None:
            session.communicate()
    return home, output
