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

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.doc_session import answers, require_tools, run_session, wait_closed
from tests.support.server_process import free_port

pytestmark = pytest.mark.slow
README = Path(__file__).parents[2] / "README.md"
CONSOLE = re.compile(r"^```console\n(.*?)^```", re.DOTALL | re.MULTILINE)
INSTALL = "python3 -m venv .venv && . .venv/bin/activate\npip install '.[server]'\n"


def walkthrough() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Try it") : text.index("### As a library")]
    return CONSOLE.findall(section)


def stop_redis(redis_port: int) -> None:
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


def test_the_first_run_exports_for_real_and_cleans_up(tmp_path: Path) -> None:
    require_tools("redis-server", "redis-cli", "curl")
    script = "".join(walkthrough()[1:])
    assert "$REDIS_PORT" in script
    assert "$API_PORT" in script
    redis_port, api_port = free_port(), free_port()

    def finished_and_stopped_what_it_started(code: int, output: str) -> None:
        assert code == 0, output
        assert wait_closed(api_port), f"the server still answers\n{output}"
        assert wait_closed(redis_port), f"redis still answers\n{output}"

    home, output = run_session(
        script,
        tmp_path=tmp_path,
        drop=("BDBEXPORT_", "XDG_", "REDIS_", "API_"),
        variables={"REDIS_PORT": str(redis_port), "API_PORT": str(api_port)},
        check=finished_and_stopped_what_it_started,
        cleanup=lambda: stop_redis(redis_port),
    )

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
    assert "admin@example.com" in output  # the first start's users
    # Issue 27, 6: no secret in any log line. The generated passwords went to a 0600
    # file beside the store, which the log names; the admin's is never repeated.
    passwords = workdirs[0] / "demo-passwords.txt"
    assert passwords.stat().st_mode & 0o777 == 0o600
    lines = passwords.read_text().splitlines()
    generated = [line.split()[-1] for line in lines if not line.startswith("#")]
    secrets = [*(g for g in generated if not g.endswith(")")), "change-me"]
    assert len(secrets) >= 3, passwords.read_text()
    log = (workdirs[0] / "serve.log").read_text()
    assert str(passwords) in log
    for secret in secrets:
        assert secret not in output
        for written in workdirs[0].rglob("*.log"):
            assert secret not in written.read_text(errors="replace"), (secret, written)
    assert "database 1 (orders): export succeeded" in output
    assert '"uid":1,' in output
    assert '"export_status":"idle"' in output
    assert '{"error_code":"export_in_progress"' in output
