"""The remote location types as one family member's adapter: `sink` for exports and
backups, `fetch` for imports, `check` for the refusals due when an action starts. The
composition root hands them to the exporter and the importer, which know nothing of
the providers."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import urlsplit

from bdbexport.domain.export_outcome import ExportFailedError, ImportFailedError
from bdbexport.domain.locations import (
    AbsLocation,
    ExportLocation,
    GcsLocation,
    S3Location,
    SftpLocation,
)
from bdbexport.domain.statuses import ExportFailureReason, ImportFailureReason

from .failures import classify
from .gcs import GcsSink, gcs_download, gs_endpoint
from .gunzip import GunzipWriter, is_gzip_name
from .object_sink import ObjectSink
from .object_source import download
from .obstore_stores import abs_endpoint, abs_store, check_endpoint, s3_endpoint, s3_store
from .settings import Egress, RemoteSettings
from .sftp import SftpSink, parts_of, sftp_download

if TYPE_CHECKING:
    from obstore.store import ObjectStore

REMOTE_TYPES = frozenset({"s3", "abs", "sftp"})
"""The types served. `gs` has its adapter here (`sink` and `fetch` take it) but is not
listed yet: serving it is adding it to this set, once the start-time tests that use `gs`
as the type no adapter serves use another case (docs/exports.md)."""
PROVIDERS = {"s3": "S3", "abs": "Azure Blob Storage", "sftp": "SFTP", "gs": "Google Cloud Storage"}


class Sink(Protocol):
    final_name: str

    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class HostCheck(Protocol):
    def check_host(self, host: str) -> None: ...


def _source_name(source: ExportLocation) -> str:
    if isinstance(source, SftpLocation):
        return parts_of(source)[4]
    return getattr(source, "filename", None) or ""


def _key(subdir: str | None, name: str) -> str:
    return posixpath.join(subdir, name) if subdir else name


class RemoteLocations:
    types = REMOTE_TYPES

    def __init__(self, settings: RemoteSettings, egress: Egress) -> None:
        self.settings = settings
        self.egress = egress

    def endpoint_host(self, location: ExportLocation) -> str:
        if isinstance(location, S3Location):
            return urlsplit(s3_endpoint(location, self.settings)).hostname or ""
        if isinstance(location, AbsLocation):
            return urlsplit(abs_endpoint(location, self.settings)).hostname or ""
        if isinstance(location, SftpLocation):
            return parts_of(location)[0]
        if isinstance(location, GcsLocation):
            return urlsplit(gs_endpoint(self.settings)).hostname or ""
        return ""

    def check(self, location: ExportLocation, policy: HostCheck) -> None:
        """At the start, without touching the network: the host is no address literal
        (or `localhost`) the policy refuses (`EgressNotAllowedError`)."""
        if location.type in self.types:
            policy.check_host(self.endpoint_host(location))

    def sink(self, location: ExportLocation, name: str) -> Sink:
        """Where an export or backup named `name` is written; `ExportFailedError`."""
        settings = self.settings
        if isinstance(location, SftpLocation):
            return SftpSink(location, name, settings, self.egress)
        if isinstance(location, GcsLocation):
            return GcsSink(location, _key(location.subdir, name), settings, self.egress)
        provider = PROVIDERS.get(location.type, location.type)
        store: ObjectStore
        try:
            if isinstance(location, S3Location):
                check_endpoint(s3_endpoint(location, settings), self.egress)
                store = s3_store(location, settings)
                key = _key(location.subdir, name)
            elif isinstance(location, AbsLocation):
                check_endpoint(abs_endpoint(location, settings), self.egress)
                store = abs_store(location, settings)
                key = _key(location.subdir, name)
            else:
                raise ExportFailedError(
                    ExportFailureReason.GENERAL_ERROR, f"no exporter for {location.type}"
                )
        except ExportFailedError:
            raise
        except Exception as error:
            raise classify(provider, error).for_export() from None
        return ObjectSink(
            store,
            key,
            provider=provider,
            part_size=settings.part_size,
            concurrency=settings.concurrency,
        )

    def fetch(
        self, source: ExportLocation, writer: BinaryIO, fraction: Callable[[float], None]
    ) -> int:
        """The file `source` names into `writer`, decompressed if its name ends in `.gz`;
        the size fetched; `ImportFailedError`."""
        if not is_gzip_name(_source_name(source)):
            return self._fetch(source, writer, fraction)
        inflating = GunzipWriter(writer)
        fetched = self._fetch(source, inflating, fraction)  # type: ignore[arg-type]
        inflating.finish()
        return fetched

    def _fetch(
        self, source: ExportLocation, writer: BinaryIO, fraction: Callable[[float], None]
    ) -> int:
        settings = self.settings
        if isinstance(source, SftpLocation):
            return sftp_download(source, writer, settings, self.egress, fraction)
        if isinstance(source, GcsLocation):
            return gcs_download(source, writer, settings, self.egress, fraction)
        provider = PROVIDERS.get(source.type, source.type)
        if not isinstance(source, S3Location | AbsLocation) or source.filename is None:
            raise ImportFailedError(
                ImportFailureReason.WRONG_FILE_PATH,
                f"a {source.type} import source names its object in `filename`",
            )
        store: ObjectStore
        try:
            if isinstance(source, S3Location):
                check_endpoint(s3_endpoint(source, settings), self.egress)
                store = s3_store(source, settings)
            else:
                check_endpoint(abs_endpoint(source, settings), self.egress)
                store = abs_store(source, settings)
        except Exception as error:
            raise classify(provider, error).for_import() from None
        key = _key(source.subdir, source.filename)
        return download(store, key, writer, provider=provider, fraction=fraction)
