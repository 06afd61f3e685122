"""What the CLI prints: tables for people, stable JSON for scripts, errors on stderr.

At a terminal, tables are Rich tables that wrap between words, never inside one; when
the words alone are too wide, the last columns are left out and named under the table.
Timestamps show in UTC to the second (JSON keeps the full precision). Anywhere else —
a pipe, a file, a test runner — they are plain columns padded to the widest value: one
row per line, nothing wrapped or cut, no colour, so `grep` and `awk` see every value
whole.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import CliError
from .failures import failure_lines

BDB_COLUMNS = (
    ("uid", "UID"),
    ("name", "NAME"),
    ("export_status", "EXPORT"),
    ("export_progress", "PROGRESS"),
    ("export_failure_reason", "FAILURE REASON"),
    ("last_export_time", "LAST EXPORT"),
    ("action_uid", "ACTION"),
)
GAP = "  "


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def plain_table(rows: Sequence[Sequence[str]], headers: Sequence[str] | None = None) -> str:
    """`rows` (and `headers`) as columns padded to the widest cell, two spaces apart; the
    last column is not padded, so no line ends in blanks."""
    lines = [list(headers)] if headers is not None else []
    lines += [[_one_line(cell) for cell in row] for row in rows]
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        GAP.join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


class Output:
    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    @property
    def plain(self) -> bool:
        """Whether tables are printed as plain columns: stdout is not a terminal."""
        return not stdout_is_terminal()

    def json(self, document: Any) -> None:
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()

    def bdb(self, bdb: dict[str, Any]) -> None:
        """The bdb object, one field a line, then a line for each failed lifecycle: its
        reason, what the worker said, and a hint."""
        if self.as_json:
            self.json(bdb)
            return
        rows = []
        for key, value in bdb.items():
            shown = value
            if key == "module_list":
                shown = ", ".join(m["module_name"] for m in value) or "-"
            elif key == "endpoints":
                shown = ", ".join(_endpoint(e) for e in value) or "-"
            rows.append([key, _cell(shown)])
        self.table(rows, None, bold_first_column=True)
        for line in failure_lines(bdb):
            self.line(line)

    def bdbs(self, bdbs: Iterable[dict[str, Any]]) -> None:
        rows = list(bdbs)
        if self.as_json:
            self.json(rows)
            return
        self.table(
            [[_cell(bdb.get(key)) for key, _ in BDB_COLUMNS] for bdb in rows],
            [title for _, title in BDB_COLUMNS],
        )

    def records(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        if self.as_json:
            self.json(rows)
            return
        self.table(
            [[_cell(row.get(column)) for column in columns] for row in rows],
            [column.upper().replace("_", " ") for column in columns],
        )

    def decision(self, decision: dict[str, Any]) -> None:
        if self.as_json:
            self.json(decision)
            return
        principal = decision["principal"] or {"name": "anonymous", "role": "-"}
        verdict = "allowed" if decision["allowed"] else "refused"
        head = (
            f"{decision['action']} on database {decision['uid']} as {principal['name']}"
            f" ({principal['role']}): "
        )
        if self.plain:
            self.line(head + verdict)
        else:
            self.console.print(head, end="", markup=False)
            self.console.print(verdict, style="bold", markup=False)
        rows = []
        for check in decision["checks"]:
            error = check["error"]
            reason = f"{error['error_code']}: {error['description']}" if error else ""
            rows.append([check["check"], check["outcome"], reason])
        self.table(rows, ["CHECK", "OUTCOME", "REASON"])

    def table(
        self,
        rows: Sequence[Sequence[str]],
        headers: Sequence[str] | None,
        *,
        bold_first_column: bool = False,
    ) -> None:
        """Rich at a terminal (long values fold, never cut), plain columns elsewhere."""
        if self.plain:
            text = plain_table(rows, headers)
            if text:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            return
        width = len(headers) if headers is not None else len(rows[0]) if rows else 0
        # A column is never narrower than its longest word (a status, a reason, a
        # timestamp, an action uid): Rich wraps between words, and would otherwise fold
        # a word in two to fit. When the words are too wide for the terminal, the last
        # columns are left out (and named below the table) rather than cut.
        least = [
            max(
                (_longest_word(line[i]) for line in [*rows, *([headers] if headers else [])]),
                default=1,
            )
            for i in range(width)
        ]
        shown = width
        while shown > 2 and sum(least[:shown]) + len(GAP) * (shown - 1) > self.console.width:
            shown -= 1
        if sum(least[:shown]) + len(GAP) * (shown - 1) > self.console.width:
            self.console.print(Text(plain_table(rows, headers)))  # whole, the terminal wraps
            return
        left_out = list(headers[shown:]) if headers is not None else []
        rows = [row[:shown] for row in rows]
        headers = headers[:shown] if headers is not None else None
        width = shown
        table = Table(
            show_header=headers is not None, box=None, pad_edge=False, header_style="bold"
        )
        for i in range(width):
            table.add_column(
                headers[i] if headers is not None else "",
                overflow="fold",
                min_width=least[i],
                style="bold" if bold_first_column and i == 0 else None,
            )
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # Text: a `[` in a name is no markup
        self.console.print(table)
        if left_out:
            self.console.print(
                f"({', '.join(left_out)}: not shown at this width; -o json shows every field)",
                markup=False,
            )

    def line(self, text: str) -> None:
        if not self.as_json:
            self.console.print(text, markup=False)

    def error(self, error: CliError) -> None:
        report_error(error, as_json=self.as_json)


def report_error(error: CliError, *, as_json: bool) -> None:
    """The one way an error is printed: `error: <code>: <description>` (and `hint: ...`)
    on stderr, or `{"error_code", "description"}` with --json."""
    if as_json:
        sys.stderr.write(json.dumps(error.as_dict()) + "\n")
    else:
        sys.stderr.write(f"error: {error.code}: {error.description}\n")
        if error.hint:
            sys.stderr.write(f"hint: {error.hint}\n")
    sys.stderr.flush()


def _endpoint(endpoint: dict[str, Any]) -> str:
    host = str(endpoint["addr"][0])
    return f"[{host}]:{endpoint['port']}" if ":" in host else f"{host}:{endpoint['port']}"


def _one_line(value: str) -> str:
    return value.replace("\r", "\\r").replace("\n", "\\n")


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=1)


_MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00:00)$")


def shown_time(value: Any) -> str:
    """A UTC timestamp as people read it, to the second (`2026-12-07T16:40:01Z`); any
    other value as it is. `-o json` keeps the full precision."""
    text = str(value)
    moment = _MOMENT.match(text)
    return f"{moment[1]}Z" if moment else text


def _cell(value: Any) -> str:
    """A value as a table shows it: `-` for none, timestamps to the second."""
    if value is None:
        return "-"
    return shown_time(value)
