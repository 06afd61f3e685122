"""Basic auth and JWT: every malformed header, identical refusals, the cache and tokens."""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import jwt
import pytest

from bdbexport.domain import Role, User
from bdbexport.domain.passwords import hash_password
from tests.integration.http.test_reset_endpoint import assert_error
from tests.support.http import ADMIN, PASSWORDS, HttpWorld, basic, email

pytestmark = pytest.mark.anyio


def raw_basic(payload: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(payload).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic"},
        {"Authorization": "Basic not*base64"},
        raw_basic(b"no-colon-here"),
        raw_basic(b":password-without-user"),
        raw_basic(b"admin@example.com:\xff\xfe"),
        {"Authorization": "Digest username=admin"},
        {"Authorization": "JWT not.a.token"},
        basic(Role.ADMIN, "wrong password"),
    ],
)
async def test_missing_malformed_or_wrong_credentials_are_401_with_a_challenge(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/bdbs/1", headers=headers)
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"].startswith('Basic realm="bdbexport"')


async def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    unknown = await client.get("/v1/bdbs/1", headers=raw_basic(b"ghost@example.com:pw"))
    wrong = await client.get("/v1/bdbs/1", headers=basic(Role.ADMIN, "pw"))
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    # Both ran the KDF: the unknown user against a dummy hash.
    assert http_world.authenticator.kdf_runs == 2


async def test_verified_credentials_are_cached(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    for _ in range(5):
        assert (await client.get("/v1/bdbs/1", headers=ADMIN)).status_code == 200
    assert http_world.authenticator.kdf_runs == 1


async def test_a_rejected_credential_is_refused_from_memory_when_repeated(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    for _ in range(5):
        assert_error(
            await client.get("/v1/bdbs/1", headers=basic(Role.ADMIN, "wrong")),
            401,
            "unauthenticated",
        )
    assert http_world.authenticator.kdf_runs == 1
    assert (await client.get("/v1/bdbs/1", headers=ADMIN)).status_code == 200


async def test_a_stampede_of_cold_requests_runs_the_kdf_once(http_world: HttpWorld) -> None:
    async with http_world.client() as client:
        responses = await asyncio.gather(
            *(client.get("/v1/bdbs/1", headers=ADMIN) for _ in range(20))
        )
    assert {response.status_code for response in responses} == {200}
    assert http_world.authenticator.kdf_runs == 1


async def test_a_cached_entry_is_dropped_when_the_user_changes(http_world: HttpWorld) -> None:
    from bdbexport.adapters.memory import InMemoryUserDirectory

    users = http_world.store.users
    assert isinstance(users, InMemoryUserDirectory)
    async with http_world.client() as client:
        assert (await client.get("/v1/bdbs/1", headers=ADMIN)).status_code == 200
        # The admin's password changes (as an operator would, in the store).
        users._by_email[email(Role.ADMIN)] = User(
            email=email(Role.ADMIN), role="admin", password_hash=hash_password("new password")
        )
        await asyncio.sleep(1.1)  # a cached entry re-reads its user at most once a second
        assert_error(await client.get("/v1/bdbs/1", headers=ADMIN), 401, "unauthenticated")
        ok = await client.get("/v1/bdbs/1", headers=basic(Role.ADMIN, "new password"))
        assert ok.status_code == 200


async def token(client: httpx.AsyncClient, **body: object) -> str:
    response = await client.post("/v1/users/authorize", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    value = response.json()["access_token"]
    assert isinstance(value, str)
    return value


async def test_a_token_from_authorize_is_accepted_as_jwt_auth(client: httpx.AsyncClient) -> None:
    access = await token(client)
    response = await client.put(
        "/v1/bdbs/2/actions/export_reset_status", headers={"Authorization": f"JWT {access}"}
    )
    assert response.status_code == 200
    claims = jwt.decode(access, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300
    assert claims["sub"] == "admin@example.com"


async def test_authorize_takes_credentials_in_the_body_and_a_ttl(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/users/authorize",
        json={"username": email(Role.DB_VIEWER), "password": PASSWORDS[Role.DB_VIEWER], "ttl": 60},
    )
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 60
    assert claims["sub"] == email(Role.DB_VIEWER)


@pytest.mark.parametrize("ttl", [0, -5, 86401, "soon"])
async def test_authorize_refuses_a_ttl_out_of_range(client: httpx.AsyncClient, ttl: object) -> None:
    response = await client.post("/v1/users/authorize", json={"ttl": ttl}, headers=ADMIN)
    assert_error(response, 400, "invalid_schema")
    assert "ttl" in response.json()["description"]


async def test_authorize_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/v1/users/authorize"), 401, "unauthenticated")
    response = await client.post(
        "/v1/users/authorize", json={"username": email(Role.ADMIN), "password": "nope"}
    )
    assert_error(response, 401, "unauthenticated")


async def test_expired_tampered_and_foreign_tokens_are_401(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    key = http_world.store.secret("jwt")
    now = int(time.time())
    expired = jwt.encode(
        {"sub": email(Role.ADMIN), "iss": "bdbexport", "iat": now - 100, "exp": now - 10},
        key,
        algorithm="HS256",
    )
    foreign = jwt.encode(
        {"sub": email(Role.ADMIN), "iss": "bdbexport", "iat": now, "exp": now + 60},
        b"another server's key, long enough",
        algorithm="HS256",
    )
    good = await token(client)
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    ghost = jwt.encode(
        {"sub": "ghost@example.com", "iss": "bdbexport", "iat": now, "exp": now + 60},
        key,
        algorithm="HS256",
    )
    for bad in (expired, foreign, tampered, ghost):
        response = await client.get("/v1/bdbs/1", headers={"Authorization": f"JWT {bad}"})
        assert_error(response, 401, "unauthenticated")
    expired_answer = await client.get("/v1/bdbs/1", headers={"Authorization": f"JWT {expired}"})
    assert "expired" in expired_answer.json()["description"]
