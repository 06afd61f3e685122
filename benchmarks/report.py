"""The one table every benchmark adds its rows to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        met = "" if self.met is None else ("yes" if self.met else "NO")
        return [
            self.figure,
            f"{self.value:,.2f} {self.unit}".strip(),
            "" if self.baseline is None else f"{self.baseline:,.2f} ({self.baseline_name})",
            "" if self.ratio is None else f"{self.ratio:.3f}",
            self.target,
            met,
        ]


class Report:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print("  " + " | ".join(row.cells()), flush=True)
        return row

    def ratio_at_most(
        self,
        figure: str,
        value: float,
        unit: str,
        baseline: float,
        baseline_name: str,
        limit: float,
    ) -> Row:
        ratio = value / baseline
        return self.add(
            Row(figure, value, unit, baseline, baseline_name, ratio, f"≤ {limit}", ratio <= limit)
        )

    def ratio_at_least(
        self,
        figure: str,
        value: float,
        unit: str,
        baseline: float,
        baseline_name: str,
        limit: float,
    ) -> Row:
        ratio = value / baseline
        return self.add(
            Row(figure, value, unit, baseline, baseline_name, ratio, f"≥ {limit}", ratio >= limit)
        )

    def info(self, figure: str, value: float, unit: str) -> Row:
        return self.add(Row(figure, value, unit))

    def markdown(self) -> str:
        header = ["figure", "value", "baseline", "ratio", "target", "met"]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row.cells()) + " |" for row in self.rows]
        return "\n".join(lines)
