"""docs/tls.md: its ```sh blocks, run in order in one bash session, as a reader would.

They make a self-signed certificate with `openssl`, serve HTTPS with it in the
background, and talk to it with `curl --cacert` and `bdbexport --ca-file`, and without
trusting it. The port comes from `API_PORT` (a free one here), TMPDIR and HOME are
throwaway, and the shell's process group (the backgrounded server) is stopped here even
when the page fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.docs.test_readme_walkthrough import wait_closed
from tests.support.server_process import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("openssl", "curl")),
        reason="needs openssl and curl",
    ),
]
PAGE = Path(__file__).parents[2] / "docs" / "tls.md"
SH = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_self_signed_walkthrough_serves_https_to_clients_that_trust_it(
    tmp_path: Path,
) -> None:
    script = "".join(SH.findall(PAGE.read_text(encoding="utf-8")))
    assert "$API_PORT" in script
    assert "--ca-file cert.pem" in script
    bdbexport = shutil.which("bdbexport")
    assert bdbexport is not None, "the bdbexport console script is not installed"
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BDBEXPORT_", "XDG_", "API_", "SSL_", "CURL_", "REQUESTS_"))
    }
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp_path),
        PATH=f"{Path(bdbexport).parent}{os.pathsep}{env.get('PATH', '')}",
        API_PORT=str(port),
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
        assert wait_closed(port), f"the server still answers\n{output}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(session.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5 if sig is signal.SIGTERM else 0)
        if session.poll() is None:
            session.communicate()

    assert f"serving https://127.0.0.1:{port}" in output
    assert '{"uid":2,"export_status":"failed"}' in output  # curl --cacert
    assert "database 4 (analytics): export exporting, 35%" in output  # --ca-file
    assert "CERTIFICATE_VERIFY_FAILED" in output
    assert "exit code 7" in output
    assert not (home / ".local").exists(), "the page touched the default store"
