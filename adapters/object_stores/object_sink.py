"""An export or backup written to an object store (S3, S3-compatible, Azure Blob) as the
snapshot streams: the `Sink` of `adapters/exporting` (write, commit, abort) over
obstore's streaming multipart `put`.

`write` hands chunks to an upload thread through a bounded queue, so the snapshot
never runs ahead of the store by more than `QUEUE_DEPTH` chunks, and obstore holds at
most `concurrency` parts of `part_size` (docs/performance.md measures the whole). The
object exists only when the upload completes; `abort` makes the upload's own input
fail, and obstore then aborts the multipart upload (or uncommitted blocks are dropped),
so nothing is left. The SHA-256 of the bytes goes to a sidecar once the object is
complete; if the sidecar cannot be written the object is deleted and the export fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .checksum import sidecar_body, sidecar_name
from .failures import classify

if TYPE_CHECKING:
    from obstore.store import ObjectStore

QUEUE_DEPTH = 4
CHUNK = 1024 * 1024
"""Writes are gathered to this size before they are queued."""
_END = b""
_WAIT = 0.25


class _StoppedError(Exception):
    """The upload's input failed on purpose: the export was aborted."""


class ObjectSink:
    def __init__(
        self,
        store: ObjectStore,
        key: str,
        *,
        provider: str,
        part_size: int,
        concurrency: int,
    ) -> None:
        self.final_name = key
        self._store = store
        self._provider = provider
        self._part_size = part_size
        self._concurrency = concurrency
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_DEPTH)
        self._pending = bytearray()
        self._hash = hashlib.sha256()
        self._error: BaseException | None = None
        self._done = False
        self._thread = threading.Thread(target=self._upload, name="object-upload", daemon=True)
        self._thread.start()

    def _chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is None:
                raise _StoppedError()
            if item is _END:
                return
            yield item

    def _upload(self) -> None:
        import obstore

        try:
            obstore.put(
                self._store,
                self.final_name,
                self._chunks(),
                chunk_size=self._part_size,
                max_concurrency=self._concurrency,
            )
        except BaseException as error:
            self._error = error

    def _hand_over(self, item: bytes | None) -> None:
        while True:
            if not self._thread.is_alive():
                self._raise_failure()
            try:
                self._queue.put(item, timeout=_WAIT)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        error = self._error or RuntimeError("the upload stopped")
        raise classify(self._provider, error).for_export() from None

    def write(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self._pending += data
        if len(self._pending) >= CHUNK:
            chunk, self._pending = bytes(self._pending), bytearray()
            self._hand_over(chunk)

    def commit(self) -> None:
        import obstore

        if self._pending:
            self._hand_over(bytes(self._pending))
            self._pending = bytearray()
        self._hand_over(_END)
        self._thread.join()
        if self._error is not None:
            self._raise_failure()
        self._done = True
        try:
            obstore.put(
                self._store,
                sidecar_name(self.final_name),
                sidecar_body(self._hash.hexdigest(), self.final_name),
            )
        except Exception as error:
            failure = classify(self._provider, error)
            with contextlib.suppress(Exception):
                obstore.delete(self._store, self.final_name)
            raise failure.for_export() from None

    def abort(self) -> None:
        """Stop the upload; nothing is left in the store. Idempotent."""
        if self._done or not self._thread.is_alive():
            return
        # Make room if the queue is full (the uploader may be waiting on the store),
        # then tell the uploader's input to fail.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join()
