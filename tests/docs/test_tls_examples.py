"""docs/tls.md: its ```sh blocks, run in order in one bash session, as a reader would.

They make a self-signed certificate with `openssl`, serve HTTPS with it in the
background, and talk to it with `curl --cacert` and `bdbexport --ca-file`, and without
trusting it. The port comes from `API_PORT` (a free one here), TMPDIR and HOME are
throwaway, and the shell's process group (the backgrounded server) is stopped here even
when the page fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.doc_session import require_tools, run_session, wait_closed
from tests.support.server_process import free_port

pytestmark = pytest.mark.slow
PAGE = Path(__file__).parents[2] / "docs" / "tls.md"
SH = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_self_signed_walkthrough_serves_https_to_clients_that_trust_it(
    tmp_path: Path,
) -> None:
    require_tools("openssl", "curl")
    script = "".join(SH.findall(PAGE.read_text(encoding="utf-8")))
    assert "$API_PORT" in script
    assert "--ca-file cert.pem" in script
    port = free_port()

    def finished_and_stopped_its_server(code: int, output: str) -> None:
        assert code == 0, output
        assert wait_closed(port), f"the server still answers\n{output}"

    home, output = run_session(
        script,
        tmp_path=tmp_path,
        drop=("BDBEXPORT_", "XDG_", "API_", "SSL_", "CURL_", "REQUESTS_"),
        variables={"API_PORT": str(port)},
        check=finished_and_stopped_its_server,
    )

    assert f"serving https://127.0.0.1:{port}" in output
    assert '{"uid":2,"export_status":"failed"}' in output  # curl --cacert
    assert "database 4 (analytics): export exporting, 35%" in output  # --ca-file
    assert "CERTIFICATE_VERIFY_FAILED" in output
    assert "exit code 7" in output
    assert not (home / ".local").exists(), "the page touched the default store"
