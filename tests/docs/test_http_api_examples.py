"""The curl examples of docs/http-api.md, run in order against a live demo server started
as the README starts it (`bdbexport serve` in a throwaway `BDBEXPORT_HOME`: the demo
cluster, the real exporter, the default export root).

Each ```sh block runs in bash; the ```json block right after it is the expected output:
objects match when every key they name has the same value ("..." matches anything);
lists match item by item.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.default_serve import default_serve

pytestmark = pytest.mark.slow
PAGE = Path(__file__).parents[2] / "docs" / "http-api.md"
EXAMPLE = re.compile(r"^```sh\n(.*?)^```\n(?:^```json\n(.*?)^```)?", re.DOTALL | re.MULTILINE)


def matches(expected: Any, actual: Any) -> bool:
    if expected == "...":
        return True
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def test_every_curl_example_gives_the_documented_answer(tmp_path: Path) -> None:
    examples = EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(examples) >= 12
    env = {"BDBEXPORT_ADMIN_PASSWORD": "docs-admin-password"}
    with default_serve(tmp_path / "home", None, env=env) as server:
        # Not a terminal: the generated demo passwords are in the 0600 file beside the
        # store that serve's output names (docs/http-api.md, README).
        passwords = server.home / "demo-passwords.txt"
        assert str(passwords) in server.server.stdout()
        viewer = next(
            line.split()[-1]
            for line in passwords.read_text().splitlines()
            if "db-viewer@example.com" in line
        )
        shell_env = {
            **os.environ,
            **env,
            "BDBEXPORT_URL": server.url,
            "VIEWER_PASSWORD": viewer,
        }
        for script, expected in examples:
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                capture_output=True,
                text=True,
                env=shell_env,
                timeout=30,
                check=False,
            )
            assert result.returncode == 0, f"{script}\n{result.stderr}"
            if expected:
                actual = json.loads(result.stdout)
                assert matches(json.loads(expected), actual), f"{script}\ngot {actual}"


def test_the_error_table_lists_every_code_the_server_answers() -> None:
    from bdbexport.adapters.http.errors import STATUS_OF_CODE

    text = PAGE.read_text(encoding="utf-8")
    for code, status in STATUS_OF_CODE.items():
        assert re.search(rf"^\| {status} \| [^|]*`{code}`", text, re.MULTILINE), code
