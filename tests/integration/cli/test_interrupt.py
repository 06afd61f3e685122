"""Ctrl-C ends the real CLI with exit code 130 (128 + SIGINT) and one line, no trace."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

WITH_SIGINT = (
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
    " os.execv(sys.argv[1], sys.argv[1:])",
)
"""Runs the CLI with SIGINT's default action: a test runner started in the background
passes SIGINT on ignored, which a user's terminal never does."""


def test_ctrl_c_while_watching_exits_130_with_one_line(store: str) -> None:
    script = shutil.which("bdbexport")
    assert script, "the bdbexport console script is installed with the package"
    # Demo db 4's export runs until 9999: --watch follows it until interrupted.
    with subprocess.Popen(
        [
            *WITH_SIGINT,
            *(script, "--store", store, "export", "status", "4", "--watch", "--interval", "0.05"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        # Not a terminal, so no progress lines to wait for: it is watching once it has
        # the store open (it would end by itself only if the export ended, which it
        # won't). Waited for, not slept: a loaded machine starts the CLI in seconds.
        database = Path(store.removeprefix("sqlite://"))
        deadline = time.monotonic() + 60
        while not holds_open(process.pid, database):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the CLI never opened its store"
            time.sleep(0.05)
        time.sleep(0.2)  # a few polls of the watch loop
        assert process.poll() is None, "still watching the running export"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, (out, err)
    assert err.strip() == "interrupted"


def holds_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open (Linux's /proc)."""
    try:
        return any(
            os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd")
        )
    except OSError:  # the process or one of its descriptors went away meanwhile
        return False


def test_the_console_step_uses_the_tables_code() -> None:
    from bdbexport.adapters.cli.exit_codes import ExitCode
    from bdbexport.entrypoints.console import EXIT_INTERRUPTED

    assert EXIT_INTERRUPTED == int(ExitCode.INTERRUPTED) == 130
