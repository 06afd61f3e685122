"""Where an export goes: Redis Software's `export_location` object, one model per `type`.

Credentials are `SecretStr`, so a location can be logged or put in an event without
leaking them; adapters that need the secret ask for it explicitly.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

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


# Each check below is a pattern, published in the JSON Schema as it is applied here, so
# a client generating requests from the schema never writes one the server refuses.
_B64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
BASE64_PATTERN = rf"^{_B64}$"
AES256_KEY_PATTERN = r"^[A-Za-z0-9+/]{43}=$"
"""Base64 of exactly 32 bytes (44 characters, one `=`)."""
_KEY_KIND = r"(RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY"
PRIVATE_KEY_PATTERN = (
    rf"^-----BEGIN {_KEY_KIND}-----\r?\n([A-Za-z0-9+/=]{{1,80}}\r?\n)+"
    rf"-----END {_KEY_KIND}-----\r?\n?$"
)
"""A PEM private key (PKCS#8, PKCS#1, SEC1, OpenSSH's own): the armour and a body in
base64. Whether the key itself parses is the adapter's check, when the action starts."""
_SAS_PART = r"[A-Za-z0-9%_.~+/=-]"
SAS_TOKEN_PATTERN = rf"^\??({_SAS_PART}+&)*sig={_SAS_PART}*(&{_SAS_PART}+)*$"
"""A SAS token: a URL query string with its signature (`sig=`), `?` first or not."""
_SEGMENT_CHAR = r"[^/\x00-\x1f\x7f\\]"
_SEGMENT = rf"([^./\x00-\x1f\x7f\\]|\.[^./\x00-\x1f\x7f\\]|\.\.{_SEGMENT_CHAR}){_SEGMENT_CHAR}*"
"""A path segment other than `.` and `..`, without control characters or backslashes."""
SUBDIR_PATTERN = rf"^/*({_SEGMENT}(/+{_SEGMENT})*)?/*$"


def _secret_matching(value: SecretStr | None, pattern: str, what: str) -> SecretStr | None:
    if value is not None and not re.fullmatch(pattern, value.get_secret_value()):
        raise ValueError(f"must be {what}")
    return value


def _subdir(value: str | None) -> str | None:
    """A folder inside the bucket or container: no `.`/`..` segments, no control
    characters; leading and trailing slashes dropped, empty means the top."""
    if value is None:
        return None
    if not re.fullmatch(SUBDIR_PATTERN, value):
        raise ValueError("must be a path without . or .. segments, control characters or \\")
    return "/".join(part for part in value.split("/") if part) or None


FILENAME_PATTERN = r"^[^/\x00-\x1f\x7f\\]+$"
Filename = Annotated[str | None, Field(pattern=FILENAME_PATTERN)]
"""On an import source (Redis Software's `dataset_import_sources`): the object to read
in `subdir`. Exports and backups always write a name of their own (unique per action)."""

Subdir = Annotated[
    str | None, AfterValidator(_subdir), Field(json_schema_extra={"pattern": SUBDIR_PATTERN})
]


class SftpLocation(_Location):
    """`sftp://user[:password]@host[:port][/path/]` (22 and `/` by default; for an import
    the URL names the file) and an optional SSH private `key` (PEM or OpenSSH); without
    one, the server's own key is used."""

    type: Literal["sftp"] = "sftp"
    sftp_url: SecretStr = Field(json_schema_extra={"pattern": SFTP_URL_PATTERN})
    key: SecretStr | None = Field(default=None, json_schema_extra={"pattern": PRIVATE_KEY_PATTERN})

    @field_validator("sftp_url")
    @classmethod
    def _sftp_url(cls, value: SecretStr) -> SecretStr:
        return _matching(value, SFTP_URL_PATTERN, "an sftp:// URL with a host")

    @field_validator("key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        return _secret_matching(value, PRIVATE_KEY_PATTERN, "a PEM private key")


class SseC(BaseModel):
    """S3 server-side encryption with a customer key (SSE-C): on an export or import
    request only, never in a stored backup location (the key would be kept with the
    data it opens)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["sse-c"]
    sse_customer_key: SecretStr = Field(json_schema_extra={"pattern": AES256_KEY_PATTERN})
    """The AES-256 key: base64 of exactly 32 bytes."""

    @field_validator("sse_customer_key")
    @classmethod
    def _aes256(cls, value: SecretStr) -> SecretStr | None:
        return _secret_matching(value, AES256_KEY_PATTERN, "base64 of 32 bytes (an AES-256 key)")


_S3_BUCKET = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$"
"""S3's rules (3-63 lowercase) loosened for S3-compatible stores and legacy buckets; no
slash, space or control character in any case."""


class S3Location(_Location):
    """Amazon S3, or the cluster's S3-compatible store (`s3_url` on the cluster)."""

    type: Literal["s3"] = "s3"
    bucket_name: str = Field(pattern=_S3_BUCKET)
    subdir: Subdir = None
    filename: Filename = None
    region_name: str | None = Field(default=None, pattern=r"^[a-z0-9-]{1,64}$")
    access_key_id: str = Field(min_length=1, pattern=r"^[\x21-\x7e]+$")
    secret_access_key: SecretStr = Field(min_length=1)
    encryption: SseC | None = None


class GcsLocation(_Location):
    """Google Cloud Storage, as Redis Software's `gs` location type: a service account's
    key, used as a self-signed JWT."""

    type: Literal["gs"] = "gs"
    bucket_name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
    subdir: Subdir = None
    filename: Filename = None
    client_id: str = Field(min_length=1, pattern=r"^[\x21-\x7e]+$")
    client_email: str = Field(pattern=r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$")
    private_key_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    private_key: SecretStr = Field(json_schema_extra={"pattern": PRIVATE_KEY_PATTERN})

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: SecretStr) -> SecretStr | None:
        return _secret_matching(value, PRIVATE_KEY_PATTERN, "a PEM private key")


def _one_credential_schema(schema: dict[str, Any]) -> None:
    _require_type(schema)
    for name in ("account_key", "sas_token"):
        field = schema["properties"][name]
        options = [option for option in field.pop("anyOf", []) if option != {"type": "null"}]
        field.pop("default", None)
        for option in options:
            field.update(option)
    schema["oneOf"] = [
        {"required": ["account_key"], "not": {"required": ["sas_token"]}},
        {"required": ["sas_token"], "not": {"required": ["account_key"]}},
    ]


class AbsLocation(_Location):
    """Azure Blob Storage, as Redis Software's `abs` location type: `account_key` or
    `sas_token`, never both."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_one_credential_schema)

    type: Literal["abs"] = "abs"
    container: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    subdir: Subdir = None
    filename: Filename = None
    account_name: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    account_key: SecretStr | None = Field(
        default=None, min_length=4, json_schema_extra={"pattern": BASE64_PATTERN}
    )
    sas_token: SecretStr | None = Field(
        default=None, json_schema_extra={"pattern": SAS_TOKEN_PATTERN}
    )

    @field_validator("account_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        return _secret_matching(value, BASE64_PATTERN, "the account key in base64")

    @field_validator("sas_token")
    @classmethod
    def _sas(cls, value: SecretStr | None) -> SecretStr | None:
        checked = _secret_matching(value, SAS_TOKEN_PATTERN, "a SAS token with its sig=")
        return None if checked is None else SecretStr(checked.get_secret_value().lstrip("?"))

    @model_validator(mode="after")
    def _one_credential(self) -> AbsLocation:
        if self.account_key is not None and self.sas_token is not None:
            raise ValueError("give account_key or sas_token, not both")
        if self.account_key is None and self.sas_token is None:
            raise ValueError("give account_key or sas_token")
        return self


class MountPointLocation(_Location):
    """A directory mounted on the cluster's nodes (NAS or local storage)."""

    type: Literal["mount_point"] = "mount_point"
    path: str = Field(min_length=1)


ExportLocation = Annotated[
    UrlLocation | SftpLocation | S3Location | GcsLocation | AbsLocation | MountPointLocation,
    Field(discriminator="type"),
]
"""Any export location, told apart by its `type` field."""


def for_storage(location: BaseModel | None) -> None:
    """`ValueError` for a location that may go with one request but not be kept: an S3
    location with a customer key (SSE-C)."""
    if isinstance(location, S3Location) and location.encryption is not None:
        raise ValueError(
            "encryption (SSE-C) is accepted on export and import requests only, never in a"
            " stored backup location"
        )
