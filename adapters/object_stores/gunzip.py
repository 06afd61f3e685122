"""`.rdb.gz` import sources (Redis Software takes them): the object is decompressed as it
streams, before the importer's size caps see it, so a small archive that inflates past
`--import-max-bytes` stops there like any other large file."""

from __future__ import annotations

import zlib
from typing import BinaryIO

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason

CHUNK = 1024 * 1024


def is_gzip_name(name: str) -> bool:
    return name.lower().endswith(".gz")


class GunzipWriter:
    """Writes the decompressed bytes of what it is given to `target`; `finish` checks the
    archive ended (a truncated or damaged one is `file-corrupted`)."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)

    def _corrupted(self) -> ImportFailedError:
        return ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED, "the .gz file is not a complete gzip archive"
        )

    def write(self, data: bytes | memoryview) -> int:
        try:
            out = self._inflate.decompress(data, CHUNK)
            while out:
                self._target.write(out)
                pending = self._inflate.unconsumed_tail
                out = self._inflate.decompress(pending, CHUNK) if pending else b""
        except zlib.error:
            raise self._corrupted() from None
        return len(data)

    def finish(self) -> None:
        try:
            rest = self._inflate.flush()
        except zlib.error:
            raise self._corrupted() from None
        if rest:
            self._target.write(rest)
        if not self._inflate.eof:
            raise self._corrupted()
