"""Where an export goes: Redis Software's `export_location` object, one model per `type`.

Credentials are `SecretStr`, so a location can be logged or put in an event without
leaking them; adapters that need the secret ask for it explicitly.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# Spaces and control characters are spelled out (`\x00-\x20`, `\x7f`) rather than `\s`:
# Python's `\s` also matches \x1c-\x1f and other code points, so a client generating
# strings from the published JSON Schema pattern would disagree with this validator.
_NOT_URL = r"\x00-\x20\x7f"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"({_OCTET}\.){{3}}{_OCTET}"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = (
    rf"(({_H}:){{7}}{_H}|({_H}:){{1,7}}:|({_H}:){{1,6}}:{_H}|({_H}:){{1,5}}(:{_H}){{1,2}}"
    rf"|({_H}:){{1,4}}(:{_H}){{1,3}}|({_H}:){{1,3}}(:{_H}){{1,4}}|({_H}:){{1,2}}(:{_H}){{1,5}}"
    rf"|{_H}:(:{_H}){{1,6}}|:((:{_H}){{1,7}}|:)|::([Ff]{{4}}(:0{{1,4}})?:)?{_IPV4}"
    rf"|({_H}:){{1,4}}:{_IPV4})"
)
"""The usual forms of an IPv6 address (RFC 4291 2.2), in the pattern itself so a
client generating URLs from the JSON Schema never writes a bracketed host the server
refuses."""
_HOST = rf"([A-Za-z0-9][A-Za-z0-9.-]*|\[{_IPV6}\])"
"""A name, an IPv4 address or a bracketed IPv6 literal (`[2001:db8::1]`, RFC 3986)."""
_PORT = r"0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
"""1 to 65535: in the published pattern itself, so a client generating URLs from the
JSON Schema never produces one the server refuses."""


def _host_and_path(port: str) -> str:
    return (
        rf"([^{_NOT_URL}/@:]+(:[^{_NOT_URL}/@]*)?@)?{_HOST}(:{port})?"
        rf"(/[^{_NOT_URL}]*)?$"
    )


FTP_URL_PATTERN = r"^ftps?://" + _host_and_path(_PORT)
SFTP_URL_PATTERN = r"^sftp://" + _host_and_path(_PORT)
_ANY_PORT = _host_and_path("[0-9]+")


def _require_type(schema: dict[str, Any]) -> None:
    # `type` has a default so models can be built in code without it, but on the wire
    # it is the discriminator and always required.
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class _Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_require_type)


def _matching(value: SecretStr, pattern: str, what: str) -> SecretStr:
    """The pattern (a port is 1 to 65535; none means the scheme's default, `:0` is
    refused rather than silently the default), then what it cannot say: a bracketed
    host must be a real IPv6 address."""
    text = value.get_secret_value()
    if not re.fullmatch(pattern, text):
        scheme = pattern.partition("://")[0] + "://"
        if re.fullmatch(scheme + _ANY_PORT, text):
            raise ValueError("must name a port from 1 to 65535 (or none, for the default)")
        raise ValueError(f"must be {what}")
    host = text.split("/", 3)[2].rpartition("@")[2]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1 : host.index("]")])
        except ValueError:
            raise ValueError("must put only an IPv6 address in brackets") from None
    return value


class UrlLocation(_Location):
    """FTP or FTPS: `ftp://user:password@host:port/path/`."""

    type: Literal["url"] = "url"
    url: SecretStr = Field(json_schema_extra={"pattern": FTP_URL_PATTERN})

    @field_validator("url")
    @classmethod
    def _ftp_url(cls, value: SecretStr) -> SecretStr:
        return _matching(value, FTP_URL_PATTERN, "an ftp:// or ftps:// URL with a host")


class SftpLocation(_Location):
    type: Literal["sftp"] = "sftp"
    sftp_url: SecretStr = Field(json_schema_extra={"pattern": SFTP_URL_PATTERN})
    key: SecretStr | None = None

    @field_validator("sftp_url")
    @classmethod
    def _sftp_url(cls, value: SecretStr) -> SecretStr:
        return _matching(value, SFTP_URL_PATTERN, "an sftp:// URL with a host")


class S3Location(_Location):
    type: Literal["s3"] = "s3"
    bucket_name: str = Field(min_length=1)
    subdir: str | None = None
    region_name: str | None = None
    access_key_id: str = Field(min_length=1)
    secret_access_key: SecretStr
    encryption: Literal["sse-c"] | None = None


class GcsLocation(_Location):
    """Google Cloud Storage, as Redis Software's `gs` location type."""

    type: Literal["gs"] = "gs"
    bucket_name: str = Field(min_length=1)
    subdir: str | None = None
    client_id: str = Field(min_length=1)
    client_email: str = Field(min_length=1)
    private_key_id: str = Field(min_length=1)
    private_key: SecretStr


class AbsLocation(_Location):
    """Azure Blob Storage, as Redis Software's `abs` location type."""

    type: Literal["abs"] = "abs"
    container: str = Field(min_length=1)
    subdir: str | None = None
    account_name: str = Field(min_length=1)
    account_key: SecretStr | None = None
    sas_token: SecretStr | None = None


class MountPointLocation(_Location):
    """A directory mounted on the cluster's nodes (NAS or local storage)."""

    type: Literal["mount_point"] = "mount_point"
    path: str = Field(min_length=1)


ExportLocation = Annotated[
    UrlLocation | SftpLocation | S3Location | GcsLocation | AbsLocation | MountPointLocation,
    Field(discriminator="type"),
]
"""Any export location, told apart by its `type` field."""
