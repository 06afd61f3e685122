"""Export locations: one model per type, secrets never shown."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from bdbexport.domain import ExportLocation, MountPointLocation, S3Location, UrlLocation

LOCATIONS: TypeAdapter[ExportLocation] = TypeAdapter(ExportLocation)
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "document",
    [
        {"type": "url", "url": "ftp://user:pw@ftp.example.com:21/backups/"},
        {"type": "url", "url": "ftps://ftp.example.com/backups/"},
        {"type": "sftp", "sftp_url": "sftp://user@host/path", "key": PEM},
        {"type": "s3", "bucket_name": "backups", "access_key_id": "AK", "secret_access_key": "SK"},
        {
            "type": "gs",
            "bucket_name": "backups",
            "client_id": "c",
            "client_email": "e@x",
            "private_key_id": "k",
            "private_key": PEM,
        },
        {"type": "abs", "container": "ccc", "account_name": "aaa", "account_key": "a2V5"},
        {"type": "mount_point", "path": "/mnt/backups"},
    ],
)
def test_every_location_type_is_accepted(document: dict[str, str]) -> None:
    assert LOCATIONS.validate_python(document).type == document["type"]


@pytest.mark.parametrize(
    "document",
    [
        {"type": "tape", "path": "/dev/st0"},
        {"type": "url", "url": "http://example.com/"},
        {"type": "sftp", "sftp_url": "ftp://host/"},
        {"type": "mount_point"},
        {"type": "mount_point", "path": ""},
        {"type": "s3", "bucket_name": "backups"},
        {"type": "mount_point", "path": "/x", "unexpected": 1},
    ],
)
def test_bad_locations_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LOCATIONS.validate_python(document)


def test_secrets_do_not_show_in_reprs_or_dumps() -> None:
    url = UrlLocation(url="ftp://user:hunter2@ftp.example.com/")
    s3 = S3Location(bucket_name="backups", access_key_id="AK", secret_access_key="hunter2")
    for location in (url, s3):
        assert "hunter2" not in repr(location)
        assert "hunter2" not in location.model_dump_json()
    assert url.url.get_secret_value().startswith("ftp://user:hunter2@")
    assert MountPointLocation(path="/m").type == "mount_point"


def test_a_url_with_control_characters_or_a_trailing_newline_is_refused() -> None:
    """The validator and the published JSON Schema pattern agree on these."""
    from pydantic import ValidationError

    from bdbexport.domain import UrlLocation

    for url in ("ftps://K2Tb:3000/\x1b\x16\xc7\x1d", "ftp://host/dir\n", "ftp://host/a b"):
        with pytest.raises(ValidationError):
            UrlLocation(url=url)
    assert UrlLocation(url="ftp://user:pw@host:21/dir/").type == "url"
