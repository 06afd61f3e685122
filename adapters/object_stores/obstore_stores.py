"""`s3` and `abs` locations as obstore stores: explicit credentials and endpoints only
(no environment, no instance metadata is ever consulted), every call bounded by the
timeout, transient failures retried with bounded exponential backoff.

Egress: obstore connects from Rust and exposes no socket hook, so before a store is
used every address its endpoint's host resolves to must be permitted by the policy
(`check_endpoint`). A name that resolves differently between that check and obstore's
own resolution is not caught here (docs/exports.md says so); address literals and the
cloud metadata address are.
"""

from __future__ import annotations

import ipaddress
import socket
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bdbexport.domain.errors import EgressNotAllowedError
from bdbexport.domain.locations import AbsLocation, S3Location

from .settings import Egress, RemoteSettings

if TYPE_CHECKING:
    from obstore.store import AzureStore, ClientConfig, RetryConfig, S3Store


def _client_options(settings: RemoteSettings, url: str | None) -> ClientConfig:
    options: ClientConfig = {
        "timeout": timedelta(seconds=settings.timeout),
        "connect_timeout": timedelta(seconds=min(settings.timeout, 30.0)),
        "allow_http": url is not None and url.startswith("http://"),
    }
    return options


def _retry(settings: RemoteSettings) -> RetryConfig:
    return {
        "max_retries": settings.retries,
        "retry_timeout": timedelta(seconds=settings.timeout),
        "backoff": {
            "init_backoff": timedelta(milliseconds=200),
            "max_backoff": timedelta(seconds=5),
            "base": 2,
        },
    }


def s3_endpoint(location: S3Location, settings: RemoteSettings) -> str:
    if settings.s3_url is not None:
        return settings.s3_url.rstrip("/")
    return f"https://s3.{location.region_name or 'us-east-1'}.amazonaws.com"


def abs_endpoint(location: AbsLocation, settings: RemoteSettings) -> str:
    if settings.abs_url is not None:
        return settings.abs_url.rstrip("/")
    return f"https://{location.account_name}.blob.core.windows.net"


def check_endpoint(url: str, egress: Egress) -> None:
    """`EgressNotAllowedError` unless every address of `url`'s host is permitted;
    `OSError` if the host does not resolve."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = {ipaddress.ip_address(info[4][0]) for info in found}
    if not addresses or not all(egress.permits(host, address) for address in addresses):
        raise EgressNotAllowedError()


def s3_store(location: S3Location, settings: RemoteSettings) -> S3Store:
    from obstore.store import S3Store

    endpoint = s3_endpoint(location, settings)
    options = _client_options(settings, endpoint)
    if settings.s3_ca_cert is not None:
        options["root_certificate"] = settings.s3_ca_cert
    config: dict[str, str | bool] = {}
    if location.encryption is not None:
        config["server_side_encryption"] = "sse-c"
        config["sse_customer_key_base64"] = location.encryption.sse_customer_key.get_secret_value()
    return S3Store(
        location.bucket_name,
        endpoint=endpoint,
        region=location.region_name or "us-east-1",
        access_key_id=location.access_key_id,
        secret_access_key=location.secret_access_key.get_secret_value(),
        # Path-style for a custom endpoint: S3-compatible stores rarely have the
        # wildcard DNS and certificate virtual-hosted buckets need.
        virtual_hosted_style_request=settings.s3_url is None,
        client_options=options,
        retry_config=_retry(settings),
        **config,  # type: ignore[arg-type]
    )


def abs_store(location: AbsLocation, settings: RemoteSettings) -> AzureStore:
    from obstore.store import AzureStore

    endpoint = abs_endpoint(location, settings)
    credentials: dict[str, str] = {}
    if location.account_key is not None:
        credentials["access_key"] = location.account_key.get_secret_value()
    elif location.sas_token is not None:
        credentials["sas_key"] = location.sas_token.get_secret_value()
    return AzureStore(
        location.container,
        account_name=location.account_name,
        endpoint=endpoint,
        client_options=_client_options(settings, endpoint),
        retry_config=_retry(settings),
        **credentials,  # type: ignore[arg-type]
    )
