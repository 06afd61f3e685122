"""The four remote location types as Redis Software takes them: every field checked when
the request is read (400 naming the field), secrets never shown."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from bdbexport.domain import AbsLocation, Bdb, ExportLocation, GcsLocation, S3Location
from bdbexport.domain.locations import SftpLocation, for_storage

LOCATIONS: TypeAdapter[ExportLocation] = TypeAdapter(ExportLocation)
KEY_BODY = base64.b64encode(bytes(range(48))).decode()
PEM = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n"
OPENSSH = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----"
AES_KEY = base64.b64encode(b"k" * 32).decode()
S3 = {"type": "s3", "bucket_name": "backups", "access_key_id": "AKIA", "secret_access_key": "s3"}
GS = {
    "type": "gs",
    "bucket_name": "backups",
    "client_id": "1234",
    "client_email": "exporter@project.iam.gserviceaccount.com",
    "private_key_id": "0123abcd",
    "private_key": PEM,
}
ABS = {"type": "abs", "container": "backups", "account_name": "store1", "account_key": "a2V5"}


def refusal(document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        LOCATIONS.validate_python(document)
    return str(refused.value)


@pytest.mark.parametrize(
    "document",
    [
        S3,
        {**S3, "subdir": "/nightly/db1/", "region_name": "eu-west-1"},
        {**S3, "encryption": {"type": "sse-c", "sse_customer_key": AES_KEY}},
        GS,
        {**GS, "subdir": "a/b"},
        ABS,
        {**{k: v for k, v in ABS.items() if k != "account_key"}, "sas_token": "?sv=1&sig=x%3D"},
        {"type": "sftp", "sftp_url": "sftp://u:p@h.example.com:2222/dir/", "key": OPENSSH},
        {"type": "sftp", "sftp_url": "sftp://u@h.example.com"},
    ],
)
def test_well_formed_remote_locations_are_accepted(document: dict[str, Any]) -> None:
    assert LOCATIONS.validate_python(document).type == document["type"]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({**S3, "bucket_name": "a/b"}, "bucket_name"),
        ({**S3, "access_key_id": ""}, "access_key_id"),
        ({**S3, "secret_access_key": ""}, "secret_access_key"),
        ({**S3, "subdir": "a/../b"}, "subdir"),
        ({**S3, "subdir": "a\nb"}, "subdir"),
        ({**S3, "region_name": "EU West"}, "region_name"),
        ({**S3, "encryption": {"type": "sse-c", "sse_customer_key": "c2hvcnQ="}}, "encryption"),
        ({**S3, "encryption": {"type": "sse-c", "sse_customer_key": "not base64!"}}, "encryption"),
        ({**S3, "encryption": {"type": "sse-kms"}}, "encryption"),
        ({**GS, "private_key": "pk"}, "private_key"),
        ({**GS, "private_key": PEM.replace(KEY_BODY, "!!not-base64!!")}, "private_key"),
        ({**GS, "private_key": PEM.replace("PRIVATE KEY", "CERTIFICATE")}, "private_key"),
        ({**GS, "client_email": "nobody"}, "client_email"),
        ({**GS, "bucket_name": "Upper"}, "bucket_name"),
        ({**ABS, "account_key": "not base64!"}, "account_key"),
        ({**ABS, "account_name": "Has-Caps"}, "account_name"),
        ({**ABS, "container": "a"}, "container"),
        ({**ABS, "sas_token": "sv=1&sig=x"}, "not both"),
        ({k: v for k, v in ABS.items() if k != "account_key"}, "account_key or sas_token"),
        ({**ABS, "account_key": None, "sas_token": "sv=1"}, "sig="),
        ({"type": "sftp", "sftp_url": "sftp://u@h/", "key": "ssh-ed25519 AAAA"}, "key"),
    ],
)
def test_a_bad_field_is_refused_by_name(document: dict[str, Any], field: str) -> None:
    assert field in refusal(document)


def test_refusals_never_repeat_a_secret() -> None:
    for document in (
        {**S3, "encryption": {"type": "sse-c", "sse_customer_key": "SECRETc2hvcnQ="}},
        {**GS, "private_key": "SECRET-not-a-pem"},
        {**ABS, "account_key": "SECRET!!"},
        {**ABS, "sas_token": "SECRET&sig=1"},
    ):
        with pytest.raises(ValidationError) as refused:
            LOCATIONS.validate_python(document)
        errors = refused.value.errors(include_url=False, include_input=False)
        assert "SECRET" not in repr(errors)


def test_secrets_are_masked_in_reprs_and_dumps() -> None:
    locations = [
        S3Location.model_validate(
            {**S3, "encryption": {"type": "sse-c", "sse_customer_key": AES_KEY}}
        ),
        GcsLocation.model_validate(GS),
        AbsLocation.model_validate(ABS),
        SftpLocation.model_validate({"type": "sftp", "sftp_url": "sftp://u:pw@h/", "key": PEM}),
    ]
    for location in locations:
        shown = repr(location) + location.model_dump_json()
        for secret in (AES_KEY, KEY_BODY, "a2V5", "u:pw@"):
            assert secret not in shown


def test_a_customer_key_is_never_kept_in_a_backup_location() -> None:
    encrypted = S3Location.model_validate(
        {**S3, "encryption": {"type": "sse-c", "sse_customer_key": AES_KEY}}
    )
    with pytest.raises(ValueError, match="export and import requests only"):
        for_storage(encrypted)
    with pytest.raises(ValidationError, match="export and import requests only"):
        Bdb(uid=1, name="db", backup_location=encrypted)
    for_storage(S3Location.model_validate(S3))
    assert Bdb(uid=1, name="db", backup_location=S3Location.model_validate(S3)).backup_location


def test_subdir_is_normalised_and_a_sas_token_loses_its_question_mark() -> None:
    s3 = S3Location.model_validate({**S3, "subdir": "//nightly//db1/"})
    assert s3.subdir == "nightly/db1"
    assert S3Location.model_validate({**S3, "subdir": "/"}).subdir is None
    sas = AbsLocation.model_validate(
        {"type": "abs", "container": "abc", "account_name": "acct", "sas_token": "?sv=1&sig=2"}
    )
    assert sas.sas_token is not None
    assert sas.sas_token.get_secret_value() == "sv=1&sig=2"
