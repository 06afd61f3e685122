"""What the CLI prints: Rich tables for people, stable JSON for scripts, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from .errors import CliError

BDB_COLUMNS = (
    ("uid", "UID"),
    ("name", "NAME"),
    ("export_status", "EXPORT"),
    ("export_progress", "PROGRESS"),
    ("export_failure_reason", "FAILURE REASON"),
    ("last_export_time", "LAST EXPORT"),
    ("action_uid", "ACTION"),
)


class Output:
    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()

    def bdb(self, bdb: dict[str, Any]) -> None:
        if self.as_json:
            self.json(bdb)
            return
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in bdb.items():
            shown = value
            if key == "module_list":
                shown = ", ".join(m["module_name"] for m in value) or "-"
            elif key == "endpoints":
                shown = ", ".join(f"{e['addr'][0]}:{e['port']}" for e in value) or "-"
            table.add_row(key, _cell(shown))
        self.console.print(table)

    def bdbs(self, bdbs: Iterable[dict[str, Any]]) -> None:
        rows = list(bdbs)
        if self.as_json:
            self.json(rows)
            return
        table = Table(box=None, pad_edge=False, header_style="bold")
        for _, title in BDB_COLUMNS:
            table.add_column(title)
        for bdb in rows:
            table.add_row(*(_cell(bdb.get(key)) for key, _ in BDB_COLUMNS))
        self.console.print(table)

    def records(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        if self.as_json:
            self.json(rows)
            return
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column.upper().replace("_", " "))
        for row in rows:
            table.add_row(*(_cell(row.get(column)) for column in columns))
        self.console.print(table)

    def decision(self, decision: dict[str, Any]) -> None:
        if self.as_json:
            self.json(decision)
            return
        principal = decision["principal"] or {"name": "anonymous", "role": "-"}
        verdict = "allowed" if decision["allowed"] else "refused"
        self.console.print(
            f"{decision['action']} on database {decision['uid']} as {principal['name']}"
            f" ({principal['role']}): [bold]{verdict}[/bold]"
        )
        table = Table(box=None, pad_edge=False, header_style="bold")
        for title in ("CHECK", "OUTCOME", "REASON"):
            table.add_column(title)
        for check in decision["checks"]:
            error = check["error"]
            reason = f"{error['error_code']}: {error['description']}" if error else ""
            table.add_row(check["check"], check["outcome"], reason)
        self.console.print(table)

    def line(self, text: str) -> None:
        if not self.as_json:
            self.console.print(text)

    def error(self, error: CliError) -> None:
        if self.as_json:
            sys.stderr.write(json.dumps(error.as_dict()) + "\n")
        else:
            sys.stderr.write(f"error: {error.code}: {error.description}\n")
            if error.hint:
                sys.stderr.write(f"hint: {error.hint}\n")
        sys.stderr.flush()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return str(value)
