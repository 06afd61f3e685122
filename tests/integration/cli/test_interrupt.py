"""Ctrl-C ends the real CLI with exit code 130 (128 + SIGINT) and one line, no trace."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time


def test_ctrl_c_while_watching_exits_130_with_one_line(store: str) -> None:
    script = shutil.which("bdbexport")
    assert script, "the bdbexport console script is installed with the package"
    # Demo db 4's export runs until 9999: --watch follows it until interrupted.
    with subprocess.Popen(
        [script, "--store", store, "export", "status", "4", "--watch", "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        # Not a terminal, so no progress lines to wait for: give it time to start
        # watching (it would end by itself only if the export ended, which it won't).
        time.sleep(2.0)
        assert process.poll() is None, "still watching the running export"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, (out, err)
    assert err.strip() == "interrupted"


def test_the_console_step_uses_the_tables_code() -> None:
    from bdbexport.adapters.cli.exit_codes import ExitCode
    from bdbexport.entrypoints.console import EXIT_INTERRUPTED

    assert EXIT_INTERRUPTED == int(ExitCode.INTERRUPTED) == 130
