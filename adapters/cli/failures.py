"""Why an action failed, in words: the bdb's failure reason (Redis Software's enum), the
detail its worker gave (`*_failure_detail`, ours), and a hint that fits that detail."""

from __future__ import annotations

from typing import Any

from bdbexport.domain.statuses import MemLimitReason

KINDS = ("export", "import", "backup")
"""The lifecycles of a bdb, each with `<kind>_status`, `_failure_reason`, `_failure_detail`."""


def failure_hint(kind: str, uid: Any, reason: str | None, detail: str | None) -> str | None:
    """What to do about it, only when the reason or detail says so (no guessing)."""
    said = (detail or "").lower()
    if "no data endpoint" in said:
        return f"set one with: bdbexport db set {uid} --endpoint HOST:PORT"
    if "refused the credentials" in said:
        return "the database's Redis refused the password the control plane has for it"
    if said.startswith("source failed"):
        return "check that the database's data endpoint is up and reachable from the exporter"
    if "lease expired" in said:
        return f"its worker stopped reporting (a crash or a restart): start the {kind} again"
    worker = "importer" if kind == "import" else "exporter"
    if "server shutdown" in said:
        return f"the {worker} was stopped during the {kind}: start it again"
    if "simulated exporter" in said:
        return "the simulated exporter is configured to fail (serve --simulated-outcome)"
    numbered = _mem_limit(reason)
    if numbered is not None:
        return (
            f"the file ({numbered.size} bytes) is larger than the database's memory limit"
            f" ({numbered.limit} bytes): raise its memory limit or import a smaller file"
        )
    if reason == "no-permission" and kind == "import":
        return (
            "the importer may not read the source: it must be a readable file inside an"
            " export root (locally: bdbexport --export-root DIR)"
        )
    place = {"import": "the file to import", "backup": "the backup location"}.get(
        kind, "the export location"
    )
    if reason == "no-permission":
        return f"the {worker} may not write to {place}: check its permissions"
    if reason == "wrong-file-path" and kind == "import":
        return "the file to import does not exist: check the path or URL"
    if reason == "wrong-file-path":
        return f"{place} does not exist: check the path or URL"
    return None


def failure_line(bdb: dict[str, Any], kind: str = "export") -> str | None:
    """`export of database 1 failed: general-error: no data endpoint (hint: ...)`, or None
    when that lifecycle of `bdb` has not failed."""
    if bdb.get(f"{kind}_status") != "failed":
        return None
    reason = bdb.get(f"{kind}_failure_reason")
    detail = bdb.get(f"{kind}_failure_detail")
    text = f"{kind} of database {bdb.get('uid')} failed: {reason or 'unknown reason'}"
    if detail:
        text += f": {' '.join(str(detail).split())}"
    hint = failure_hint(kind, bdb.get("uid"), reason, detail)
    if hint:
        text += f" (hint: {hint})"
    return text


def failure_lines(bdb: dict[str, Any]) -> list[str]:
    """One line per failed lifecycle of `bdb` (export, import, backup)."""
    return [line for kind in KINDS if (line := failure_line(bdb, kind)) is not None]


def _mem_limit(reason: str | None) -> MemLimitReason | None:
    """The numbered `file-larger-than-mem-limit:<n>:<m>`, or None for anything else."""
    try:
        return MemLimitReason(reason) if reason else None
    except ValueError:
        return None
