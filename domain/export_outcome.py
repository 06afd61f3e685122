"""How an exporter (or importer) says its copy failed: a reason from the API's vocabulary plus a
free-text detail for people: kept on the bdb (`export_failure_detail`) and in the audit
trail."""

from __future__ import annotations

from .statuses import ExportFailureReason, ImportFailureReason, MemLimitReason


class ExportFailedError(Exception):
    """Raised by an `Exporter` when the copy cannot be completed."""

    def __init__(self, reason: ExportFailureReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class ImportFailedError(Exception):
    """Raised by an `Importer` when the load cannot be completed."""

    def __init__(self, reason: ImportFailureReason | MemLimitReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail
