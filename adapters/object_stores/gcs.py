"""`gs` locations through google-cloud-storage: exports and backups as a resumable
upload (the object exists only once the final chunk is accepted; an abort deletes the
upload session), imports streamed in chunks, both beside a SHA-256 sidecar.

The service account key is used as a self-signed JWT (google-auth's
`with_always_use_jwt_access`): no token is ever fetched from Google's token endpoint, and
no other credential source (environment, metadata server) is consulted. The client is
built on `requests`, which offers no socket hook: as for `s3` and `abs`, every address of
the endpoint's host must be permitted just before the transfer (docs/exports.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from bdbexport.domain.export_outcome import ImportFailedError
from bdbexport.domain.locations import GcsLocation
from bdbexport.domain.statuses import ImportFailureReason

from .checksum import digest_in, sidecar_body, sidecar_name
from .failures import Failure, Kind, classify
from .obstore_stores import check_endpoint
from .settings import Egress, RemoteSettings

if TYPE_CHECKING:
    from google.cloud.storage import Bucket

PROVIDER = "Google Cloud Storage"
GOOGLE = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
QUANTUM = 256 * 1024
"""Every chunk but the last is a multiple of this (the resumable protocol's rule)."""


def gs_endpoint(settings: RemoteSettings) -> str:
    return (settings.gs_url or GOOGLE).rstrip("/")


def _classified(error: BaseException) -> Failure:
    name = type(error).__name__
    code = getattr(error, "code", None)
    if name in {"Forbidden", "Unauthorized"} or code in {401, 403}:
        return Failure(Kind.PERMISSION, f"{PROVIDER} answered HTTP {code or 403} {name}")
    if name == "NotFound" or code == 404:
        return Failure(Kind.PATH, f"{PROVIDER} answered HTTP 404 NotFound")
    if isinstance(error, ValueError) and "key" in str(error).lower():
        return Failure(Kind.PERMISSION, f"{PROVIDER}: the private_key does not parse")
    if name in {"ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout"}:
        return Failure(Kind.TRANSFER, f"{PROVIDER}: could not connect, or the connection broke")
    return classify(PROVIDER, error)


class _Client:
    """Credentials, a session that signs requests with them, and the bucket."""

    def __init__(self, location: GcsLocation, settings: RemoteSettings, egress: Egress) -> None:
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import storage
        from google.oauth2 import service_account

        endpoint = gs_endpoint(settings)
        check_endpoint(endpoint, egress)
        info = {
            "type": "service_account",
            "client_email": location.client_email,
            "client_id": location.client_id,
            "private_key_id": location.private_key_id,
            "private_key": location.private_key.get_secret_value(),
            # Required by google-auth, never contacted: the JWT is self-signed.
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[SCOPE]
        ).with_always_use_jwt_access(True)
        project = location.client_email.partition("@")[2].partition(".")[0] or "bdbexport"
        client = storage.Client(
            project=project, credentials=credentials, client_options={"api_endpoint": endpoint}
        )
        self.bucket: Bucket = client.bucket(location.bucket_name)
        self.session = AuthorizedSession(credentials)
        self.timeout = settings.timeout
        self.retries = settings.retries

    def put(self, url: str, data: bytes, content_range: str, done: set[int]) -> Any:
        """One chunk, retried on throttling and 5xx with bounded backoff."""
        for attempt in range(self.retries + 1):
            answer = self.session.put(
                url, data=data, headers={"Content-Range": content_range}, timeout=self.timeout
            )
            if answer.status_code in done:
                return answer
            if answer.status_code not in {429, 500, 502, 503, 504} or attempt == self.retries:
                break
            time.sleep(min(0.2 * 2**attempt, 5.0))
        code = answer.status_code
        kind = Kind.PERMISSION if code in {401, 403} else Kind.PATH if code == 404 else Kind.GENERAL
        raise _GcsAnswerError(Failure(kind, f"{PROVIDER} answered HTTP {code}"))


class _GcsAnswerError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


class GcsSink:
    def __init__(
        self, location: GcsLocation, key: str, settings: RemoteSettings, egress: Egress
    ) -> None:
        self.final_name = key
        self._chunk = max(QUANTUM, settings.part_size // QUANTUM * QUANTUM)
        self._pending = bytearray()
        self._sent = 0
        self._hash = hashlib.sha256()
        self._done = False
        try:
            self._client = _Client(location, settings, egress)
            self._url = self._client.bucket.blob(key).create_resumable_upload_session(
                content_type="application/octet-stream", timeout=settings.timeout
            )
        except Exception as error:
            raise _classified(error).for_export() from None

    def _send(self, data: bytes, final: bool) -> None:
        total = self._sent + len(data)
        if final:
            where = f"bytes {self._sent}-{total - 1}/{total}" if data else f"bytes */{total}"
            done = {200, 201}
        else:
            where = f"bytes {self._sent}-{total - 1}/*"
            done = {308}
        try:
            self._client.put(self._url, data, where, done)
        except _GcsAnswerError as answer:
            raise answer.failure.for_export() from None
        except Exception as error:
            raise _classified(error).for_export() from None
        self._sent = total

    def write(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self._pending += data
        while len(self._pending) >= self._chunk:
            chunk = bytes(self._pending[: self._chunk])
            del self._pending[: self._chunk]
            self._send(chunk, final=False)

    def commit(self) -> None:
        self._send(bytes(self._pending), final=True)
        self._pending = bytearray()
        self._done = True
        body = sidecar_body(self._hash.hexdigest(), self.final_name)
        try:
            self._client.bucket.blob(sidecar_name(self.final_name)).upload_from_string(
                body, content_type="text/plain", timeout=self._client.timeout
            )
        except Exception as error:
            failure = _classified(error)
            with contextlib.suppress(Exception):
                self._client.bucket.blob(self.final_name).delete(timeout=self._client.timeout)
            raise failure.for_export() from None

    def abort(self) -> None:
        """Cancel the upload session: nothing is left. Idempotent."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self._client.session.delete(self._url, timeout=self._client.timeout)


def gcs_download(
    location: GcsLocation,
    writer: BinaryIO,
    settings: RemoteSettings,
    egress: Egress,
    fraction: Callable[[float], None] = lambda _: None,
) -> int:
    """The object `subdir/filename` into `writer`, checked against its sidecar."""
    if location.filename is None:
        raise ImportFailedError(
            ImportFailureReason.WRONG_FILE_PATH, "a gs import source names its object in filename"
        )
    key = f"{location.subdir}/{location.filename}" if location.subdir else location.filename
    try:
        client = _Client(location, settings, egress)
        expected: str | None = None
        try:
            sidecar = client.bucket.blob(sidecar_name(key)).download_as_bytes(
                timeout=settings.timeout
            )
        except Exception as error:
            if _classified(error).kind is not Kind.PATH:
                raise
        else:
            expected = digest_in(sidecar[:4096])
            if expected is None:
                raise ImportFailedError(
                    ImportFailureReason.FILE_CORRUPTED, f"{sidecar_name(key)} holds no SHA-256"
                )
        blob = client.bucket.get_blob(key, timeout=settings.timeout)
        if blob is None:
            raise ImportFailedError(ImportFailureReason.WRONG_FILE_PATH, f"no object {key}")
        size = blob.size or 1
        digest = hashlib.sha256()
        copied = 0
        with blob.open("rb", chunk_size=4 * 1024 * 1024) as reader:
            while chunk := reader.read(1024 * 1024):
                digest.update(chunk)
                writer.write(chunk)
                copied += len(chunk)
                fraction(min(copied / size, 1.0))
    except ImportFailedError:
        raise
    except Exception as error:
        raise _classified(error).for_import() from None
    if expected is not None and digest.hexdigest() != expected:
        raise ImportFailedError(
            ImportFailureReason.FILE_CORRUPTED, f"{key}: its SHA-256 differs from its sidecar"
        )
    return copied
