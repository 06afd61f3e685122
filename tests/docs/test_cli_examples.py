"""docs/cli.md: its examples run against a demo store, and it documents every command,
option and exit code the real CLI has."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main

from bdbexport.adapters.cli.exit_codes import ExitCode
from bdbexport.composition.bootstrap_file import apply_bootstrap
from bdbexport.composition.demo_data import demo_document
from bdbexport.composition.stores import open_store
from bdbexport.entrypoints.cli import app
from tests.docs.test_http_api_examples import matches

PAGE = Path(__file__).parents[2] / "docs" / "cli.md"
EXAMPLE = re.compile(
    r"^```sh\n(.*?)^```\n(?:^```(text|json)\n(.*?)^```)?", re.DOTALL | re.MULTILINE
)


def commands(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += commands(sub, (*path, name))
    return found


@pytest.mark.slow
def test_the_worked_examples_print_what_the_page_says(tmp_path: Path) -> None:
    store_url = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    store = open_store(store_url)
    apply_bootstrap(demo_document()[0], store)
    store.close()
    env = {**os.environ, "BDBEXPORT_STORE": store_url, "COLUMNS": "200"}
    examples = EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(examples) >= 7
    for script, kind, expected in examples:
        result = subprocess.run(
            ["bash", "-uo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr}"
        output = result.stdout + result.stderr
        if kind == "json":
            assert matches(json.loads(expected), json.loads(result.stdout)), output
        elif kind == "text":
            squeezed = re.sub(r"[ \t]+", " ", output)
            for line in expected.splitlines():
                if line.strip():
                    assert re.sub(r"[ \t]+", " ", line.strip()) in squeezed, (
                        f"{line!r} not in\n{output}"
                    )


def test_every_command_and_option_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for path, command in commands(typer.main.get_command(app), ("bdbexport",)):
        if path[-1] == "serve":
            continue  # documented with the server, in http-api.md
        if len(path) > 1 and not getattr(command, "commands", None):
            assert f"`{' '.join(path)}" in text, path
        for parameter in command.params:
            for option in parameter.opts:
                if option.startswith("--") and option != "--help":
                    assert option in text, (path, option)


def test_every_serve_option_is_documented_with_the_server() -> None:
    text = (PAGE.parent / "http-api.md").read_text(encoding="utf-8")
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    for parameter in serve.params:
        for option in parameter.opts:
            if option.startswith("--") and option != "--help":
                assert f"`{option}" in text, option


def test_every_exit_code_is_in_the_table() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", text, re.MULTILINE), code
