"""`serve`'s edge options as the command line takes them: the server's bounds refused
with a clear line (exit 2), and the deprecated per-address connection cap warned about."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.server_process import bdbexport_command


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), "serve", "--store", "memory://", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--header-timeout", "61"], "--header-timeout must be positive and at most 60 seconds."),
        (["--header-timeout", "0"], "--header-timeout must be positive and at most 60 seconds."),
        (["--max-header-bytes", "4096"], "--max-header-bytes must be at least 8192."),
        (["--write-timeout", "0"], "--body-timeout and --write-timeout must be positive."),
        (["--max-requests-per-address", "-1"], "--max-requests-per-address must be at least 0"),
    ],
)
def test_values_the_server_cannot_take_are_refused_before_it_starts(
    args: list[str], message: str
) -> None:
    result = serve(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_deprecated_connection_cap_is_warned_about_and_ignored() -> None:
    # A value refused after it (the header timeout) stops the start before it serves.
    result = serve("--max-connections-per-address", "5", "--header-timeout", "0")
    assert "--max-connections-per-address is deprecated and ignored" in result.stderr
    assert "docs/security.md" in result.stderr
    assert result.returncode == 2
