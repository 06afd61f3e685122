"""The help of every command as a person reads it on an 80-column terminal (issue 27,
2 and 5), through the real console script: nothing cut off (every option's name in
full, no `…`, no line past 80 columns), flags shown as flags, value types named for
people (`PATH`, `URL`, `SECONDS`, never `<str>`, `<list[Path]>`), and asking for help,
or giving no command, exits 0 as docs/cli.md says."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from bdbexport.adapters.cli.exit_codes import EXIT_CODE_OF_ERROR
from bdbexport.entrypoints.cli import app
from tests.support.server_process import bdbexport_command

pytestmark = pytest.mark.slow

CLI_DOC = Path(__file__).parents[2] / "docs" / "cli.md"
INTERNAL_TYPE = re.compile(r"<(str|int|float|bool|path|list\[[^\]]*\])[^>]*>")


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*bdbexport_command(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "BDBEXPORT_HOME": str(home)},
        timeout=60,
        check=False,
    )


def commands(group: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, typer.core.TyperGroup):
            yield from commands(command, (*path, name))


def option_names(path: tuple[str, ...]) -> list[str]:
    command = typer.main.get_command(app)
    for name in path:
        assert isinstance(command, typer.core.TyperGroup)
        command = command.commands[name]
    names: list[str] = []
    for param in command.params:
        if isinstance(param, typer.core.TyperOption) and not param.hidden:
            names.extend(
                name for name in param.opts + param.secondary_opts if name.startswith("--")
            )
    return names


ROOT = typer.main.get_command(app)
assert isinstance(ROOT, typer.core.TyperGroup)
PATHS = [(), *commands(ROOT)]


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "bdbexport" for p in PATHS])
def test_help_is_whole_at_80_columns(path: tuple[str, ...], tmp_path: Path) -> None:
    shown = run(*path, "-h", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "…" not in text
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, long
    cut = [line for line in text.splitlines()[1:] if line.rstrip().endswith("...")]
    assert not cut, cut  # a summary cut short (the usage line's `[ARGS]...` is fine)
    for name in option_names(path):
        assert re.search(rf"(^|[\s,/]){re.escape(name)}([\s,=]|$)", text, re.M), name
    options = text.partition("\nOptions:\n")[2]
    assert not INTERNAL_TYPE.search(options), INTERNAL_TYPE.findall(options)


def test_serve_help_names_values_for_people(tmp_path: Path) -> None:
    text = run("serve", "-h", home=tmp_path).stdout
    for shown in ("--store URL", "--bootstrap FILE", "--export-root DIR", "--port PORT"):
        assert shown in text
    assert "--simulated-duration SECONDS" in text
    assert "--insecure-http / --no-insecure-http" in text  # a flag, without a value


@pytest.mark.parametrize("args", [(), ("db",), ("export",), ("action",)])
def test_no_command_prints_the_help_and_exits_0(args: tuple[str, ...], tmp_path: Path) -> None:
    shown = run(*args, home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Usage: bdbexport")


def test_the_exit_code_table_names_every_error_code_and_the_help() -> None:
    table = CLI_DOC.read_text().partition("## Exit codes")[2].partition("\n## ")[0]
    rows = {int(match[1]): match[2] for match in re.finditer(r"^\| (\d+) \|(.*)$", table, re.M)}
    for code, exit_code in EXIT_CODE_OF_ERROR.items():
        assert f"`{code}`" in rows[int(exit_code)], (code, int(exit_code))
    assert "help" in rows[0]
