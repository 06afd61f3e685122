"""An import read from an object store: the object streamed into the importer's writer
chunk by chunk (bounded memory), its SHA-256 computed on the way and checked against
the sidecar when there is one. A mismatch is `file-corrupted` and nothing is loaded
(the importer loads only a file that arrived whole)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.statuses import ImportFailureReason

from .checksum import digest_in, sidecar_name
from .failures import classify

if TYPE_CHECKING:
    from obstore.store import ObjectStore


def expected_digest(store: ObjectStore, key: str, provider: str) -> str | None:
    """The sidecar's digest; `None` when there is no sidecar (objects written by
    others). A sidecar that is there but unreadable is `file-corrupted`."""
    import obstore

    try:
        body = bytes(obstore.get(store, sidecar_name(key)).bytes())
    except FileNotFoundError:
        return None
    except Exception as error:
        failure = classify(provider, error)
        if failure.kind.value == "wrong-file-path":
            return None
        raise failure.for_import() from None
    digest = digest_in(body[:4096])
    if digest is None:
        raise ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED, f"{sidecar_name(key)} holds no SHA-256"
        )
    return digest


def download(
    store: ObjectStore,
    key: str,
    writer: BinaryIO,
    *,
    provider: str,
    fraction: Callable[[float], None] = lambda _: None,
) -> int:
    """Copy the object into `writer`; its size. `fraction` is told the share arrived and
    may raise to stop (cancel)."""
    import obstore

    expected = expected_digest(store, key, provider)
    digest = hashlib.sha256()
    copied = 0
    try:
        result = obstore.get(store, key)
        size = result.meta["size"] or 1
        for chunk in result.stream(min_chunk_size=1024 * 1024):
            data = memoryview(chunk)
            digest.update(data)
            writer.write(data)
            copied += len(data)
            fraction(min(copied / size, 1.0))
    except ImportFailedError:
        raise
    except Exception as error:
        raise classify(provider, error).for_import() from None
    if expected is not None and digest.hexdigest() != expected:
        raise ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED,
            f"{key}: its SHA-256 differs from {sidecar_name(key)}",
        )
    return copied
