"""A provider's failure as Redis's failure reasons, with a detail that says what the
provider answered (HTTP status, error code) and nothing else: never a URL (a SAS token
rides in one), a key or a message the provider echoed.

Exports and backups fail `no-permission` (refused credentials or egress),
`wrong-file-path` (no such bucket, container or directory) or `general-error`; imports
fail the same first two, `download-error` for a transfer that broke or timed out, or
`general-error`. A connection refused and an unreachable host read the same ("could not
connect"), so a caller cannot use us to probe which ports are open behind us.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.statuses import ExportFailureReason, ImportFailureReason

_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>([A-Za-z0-9.]{1,64})</Code>")


MISSING_LIBRARY = "this server lacks the client library (install bdbexport[cloud])"


class Kind(Enum):
    PERMISSION = "no-permission"
    PATH = "wrong-file-path"
    TRANSFER = "transfer"
    GENERAL = "general-error"


@dataclass(frozen=True)
class Failure:
    kind: Kind
    detail: str

    def for_export(self) -> ExportFailedError:
        reason = {
            Kind.PERMISSION: ExportFailureReason.NO_PERMISSION,
            Kind.PATH: ExportFailureReason.WRONG_FILE_PATH,
        }.get(self.kind, ExportFailureReason.GENERAL_ERROR)
        return ExportFailedError(reason, self.detail)

    def for_import(self) -> ImportFailedError:
        reason = {
            Kind.PERMISSION: ImportFailureReason.NO_PERMISSION,
            Kind.PATH: ImportFailureReason.WRONG_FILE_PATH,
            Kind.TRANSFER: ImportFailureReason.DOWNLOAD_ERROR,
        }.get(self.kind, ImportFailureReason.GENERAL_ERROR)
        return ImportFailedError(reason, self.detail)


def http_answer(message: str) -> str:
    """`HTTP 403 SignatureDoesNotMatch`: the status and the error code, if any."""
    status = _STATUS.search(message)
    code = _CODE.search(message)
    parts = [f"HTTP {status.group(1)}" if status else "", code.group(1) if code else ""]
    return " ".join(part for part in parts if part)


def classify(provider: str, error: BaseException) -> Failure:
    """`provider` names the store for the detail ("S3", "Azure Blob Storage", ...)."""
    if isinstance(error, EgressNotAllowedError):
        return Failure(Kind.PERMISSION, f"{provider}: the egress policy refuses this address")
    if isinstance(error, ImportError):
        return Failure(Kind.GENERAL, f"{provider}: {MISSING_LIBRARY}")
    name = type(error).__name__
    answer = http_answer(str(error))
    said = f"{provider} answered {answer}" if answer else f"{provider}: {name}"
    if name in {"PermissionDeniedError", "UnauthenticatedError"} or answer.startswith(
        ("HTTP 401", "HTTP 403")
    ):
        return Failure(Kind.PERMISSION, said)
    if isinstance(error, FileNotFoundError) or name == "NotFoundError" or answer == "HTTP 404":
        return Failure(Kind.PATH, said)
    if isinstance(error, TimeoutError) or "timed out" in str(error).lower():
        return Failure(Kind.TRANSFER, f"{provider}: no answer within the timeout")
    if isinstance(error, ConnectionError | OSError) and not answer:
        return Failure(Kind.TRANSFER, f"{provider}: could not connect, or the connection broke")
    if "error sending request" in str(error) or "connect" in str(error).lower():
        return Failure(Kind.TRANSFER, f"{provider}: could not connect, or the connection broke")
    return Failure(Kind.GENERAL, said)
