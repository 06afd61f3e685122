"""The cage of the scratch loader (adapters/importing/cage.py) on the real kernel: the
limits a child starts with, the parent-death signal tied to the starting thread, and
the reaping of leftovers whose server is gone."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from bdbexport.adapters.importing.cage import (
    ADDRESS_SPACE_HEADROOM,
    caged,
    reap_leftovers,
    started_at,
    write_owner,
)

MIB = 1024 * 1024


def test_a_caged_child_starts_with_the_memory_cpu_and_core_limits() -> None:
    said = subprocess.run(
        ["sh", "-c", "ulimit -v; ulimit -t; ulimit -c"],
        preexec_fn=caged(memory=64 * MIB, cpu_seconds=7),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert said == [str((64 * MIB + ADDRESS_SPACE_HEADROOM) // 1024), "7", "0"]


def test_a_caged_child_dies_when_the_thread_that_started_it_ends() -> None:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        started.append(
            subprocess.Popen(
                ["sleep", "60"],
                preexec_fn=caged(memory=64 * MIB, cpu_seconds=5),  # noqa: PLW1509
            )
        )

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert started[0].wait(10) == -9


def test_leftovers_of_a_gone_server_are_reaped_and_a_live_servers_are_not(
    tmp_path: Path,
) -> None:
    gone = subprocess.Popen(["sleep", "60"])
    gone_start = started_at(gone.pid)
    gone.kill()
    gone.wait()
    orphan = subprocess.Popen(["sleep", "60"])
    try:
        leftover = tmp_path / "bdbexport-import-gone"
        leftover.mkdir()
        (leftover / "owner").write_text(
            f"{gone.pid} {gone_start}\n{orphan.pid} {started_at(orphan.pid)}\n"
        )
        mine = tmp_path / "bdbexport-import-mine"
        mine.mkdir()
        write_owner(mine, orphan.pid)  # this process is alive: not a leftover
        unowned = tmp_path / "bdbexport-import-unowned"
        unowned.mkdir()
        elsewhere = tmp_path / "something-else"
        elsewhere.mkdir()

        assert reap_leftovers(tmp_path) == 1
        assert orphan.wait(10) == -9
        assert sorted(path.name for path in tmp_path.iterdir()) == [
            "bdbexport-import-mine",
            "bdbexport-import-unowned",
            "something-else",
        ]
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()


def test_a_reused_pid_is_not_taken_for_the_loader(tmp_path: Path) -> None:
    """The owner file names processes by pid *and* start time."""
    gone = subprocess.Popen(["sleep", "60"])
    gone_start = started_at(gone.pid)
    gone.kill()
    gone.wait()
    leftover = tmp_path / "bdbexport-import-gone"
    leftover.mkdir()
    # This process's pid, with a start time that is not its own: some other process.
    (leftover / "owner").write_text(f"{gone.pid} {gone_start}\n{os.getpid()} 1\n")
    assert reap_leftovers(tmp_path) == 0
    assert not leftover.exists()
