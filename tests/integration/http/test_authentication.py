"""Basic auth and JWT: every malformed header, identical refusals, the cache and tokens."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time

import httpx
import jwt
import pytest

from bdbexport.adapters.http import Authenticator
from bdbexport.adapters.http.authentication import AuthSettings
from bdbexport.adapters.memory.login_attempts import AsyncInMemoryLoginAttempts
from bdbexport.domain import Role, User
from bdbexport.domain.auth.events import (
    AccountLocked,
    AccountUnlocked,
    AuthenticationEvent,
    LoginFailed,
    TokenIssued,
)
from bdbexport.domain.auth.lockout import LockoutPolicy
from bdbexport.domain.auth.passwords import hash_password
from tests.integration.http.test_reset_endpoint import assert_error
from tests.support.http import ADMIN, MEMBER, PASSWORDS, VIEWER, HttpWorld, basic, email

pytestmark = pytest.mark.anyio
UNLOCK = "/v1/users/unlock"


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
        # No grace: the cache is keyed on the stored hash each request reads.
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


# --- lockout, throttling, audit (issue 12) ---------------------------------------------


def with_settings(http_world: HttpWorld, settings: AuthSettings) -> Authenticator:
    """The world's app, its authenticator replaced by one with `settings`."""
    context = http_world.app.state.bdbexport
    assert http_world.store.open_async is not None
    authenticator = Authenticator(
        http_world.store.open_async().users,
        attempts=AsyncInMemoryLoginAttempts(),
        token_key=http_world.store.secret("jwt"),
        settings=settings,
        publish=http_world.events.publish,
    )
    http_world.app.state.bdbexport = dataclasses.replace(context, authenticator=authenticator)
    http_world.authenticator = authenticator
    return authenticator


def audit_of(http_world: HttpWorld, kind: type[AuthenticationEvent]) -> list[dict[str, object]]:
    return [event.to_record() for event in http_world.events.of_type(kind)]


async def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    for attempt in range(4):
        response = await client.get("/v1/bdbs/1", headers=basic(Role.ADMIN, f"guess {attempt}"))
        assert_error(response, 401, "unauthenticated")
    locking = await client.get("/v1/bdbs/1", headers=basic(Role.ADMIN, "guess 4"))
    assert_error(locking, 401, "account_locked")
    right = await client.get("/v1/bdbs/1", headers=ADMIN)
    assert_error(right, 401, "account_locked")
    description = right.json()["description"]
    assert "locked" in description
    assert "until 20" in description  # an ISO 8601 UTC time, 30 minutes from now
    assert right.headers["www-authenticate"].startswith("Basic")
    failed = audit_of(http_world, LoginFailed)
    assert [event["reason"] for event in failed] == ["bad_credentials"] * 5 + ["locked"]
    assert {event["actor"] for event in failed} == {email(Role.ADMIN)}
    assert all(event["client"] == "127.0.0.1" and event["request_id"] for event in failed)
    assert "guess" not in repr(http_world.events.events)  # never a password
    (locked,) = audit_of(http_world, AccountLocked)
    assert locked["actor"] == email(Role.ADMIN)
    assert locked["locked_until"]


async def test_an_unknown_name_locks_like_a_known_one(client: httpx.AsyncClient) -> None:
    answers = [
        (await client.get("/v1/bdbs/1", headers=raw_basic(f"ghost@x.io:pw{i}".encode()))).json()
        for i in range(6)
    ]
    known = [
        (await client.get("/v1/bdbs/1", headers=basic(Role.DB_VIEWER, f"pw{i}"))).json()
        for i in range(6)
    ]
    assert [a["error_code"] for a in answers] == [k["error_code"] for k in known]
    assert answers[-1]["error_code"] == "account_locked"


async def test_an_admin_unlocks_and_the_right_password_works_again(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    for attempt in range(5):
        await client.get("/v1/bdbs/1", headers=basic(Role.DB_MEMBER, f"guess {attempt}"))
    assert_error(await client.get("/v1/bdbs/1", headers=MEMBER), 401, "account_locked")
    body = {"email": email(Role.DB_MEMBER)}
    assert_error(await client.post(UNLOCK, json=body), 401, "unauthenticated")
    assert_error(await client.post(UNLOCK, json=body, headers=VIEWER), 403, "forbidden")
    assert_error(await client.post(UNLOCK, content=b"[", headers=VIEWER), 403, "forbidden")
    assert_error(
        await client.post(UNLOCK, json={"mail": "x"}, headers=ADMIN), 400, "invalid_schema"
    )
    unlocked = await client.post(UNLOCK, json=body, headers=ADMIN)
    assert unlocked.status_code == 200
    assert unlocked.json() == {"email": email(Role.DB_MEMBER), "was_locked": True}
    assert (await client.get("/v1/bdbs/1", headers=MEMBER)).status_code == 200
    again = await client.post(UNLOCK, json=body, headers=ADMIN)
    assert again.json()["was_locked"] is False
    (event, _) = audit_of(http_world, AccountUnlocked)
    assert event["actor"] == email(Role.ADMIN)
    assert event["subject"] == email(Role.DB_MEMBER)


async def test_failed_sign_ins_from_one_address_are_throttled_with_retry_after(
    http_world: HttpWorld,
) -> None:
    with_settings(
        http_world,
        AuthSettings(address_throttle=LockoutPolicy(threshold=3, duration=42, reset_after=60)),
    )
    async with http_world.client() as client:
        for name in ("a", "b", "c"):
            response = await client.get("/v1/bdbs/1", headers=raw_basic(f"{name}@x.io:pw".encode()))
            assert_error(response, 401, "unauthenticated")
        throttled = await client.get("/v1/bdbs/1", headers=ADMIN)
        assert_error(throttled, 429, "too_many_attempts")
        assert 40 <= int(throttled.headers["retry-after"]) <= 42
        assert throttled.json()["description"].startswith("Too many failed sign-ins")
    assert audit_of(http_world, LoginFailed)[-1]["reason"] == "throttled"


async def test_a_password_change_refuses_the_old_one_at_once(http_world: HttpWorld) -> None:
    """The cache is keyed on the stored hash it read: no second of grace."""
    users = http_world.store.users
    async with http_world.client() as client:
        assert (await client.get("/v1/bdbs/1", headers=ADMIN)).status_code == 200
        replaced = User(
            email=email(Role.ADMIN), role="admin", password_hash=hash_password("brand new")
        )
        assert users.replace(replaced)
        assert_error(await client.get("/v1/bdbs/1", headers=ADMIN), 401, "unauthenticated")


async def test_a_token_dies_with_a_password_or_role_change_and_a_re_created_user(
    http_world: HttpWorld,
) -> None:
    from bdbexport.adapters.memory import InMemoryUserDirectory

    users = http_world.store.users
    assert isinstance(users, InMemoryUserDirectory)
    viewer = email(Role.DB_VIEWER)
    async with http_world.client() as client:
        for change in ("password", "role", "re-create"):
            access = await token(client)  # the admin's
            jwt_header = {"Authorization": f"JWT {access}"}
            viewer_token = (await client.post("/v1/users/authorize", headers=VIEWER)).json()[
                "access_token"
            ]
            assert (await client.get("/v1/bdbs/1", headers=jwt_header)).status_code == 200
            current = users.get(viewer)
            assert current is not None
            if change == "password":
                users.replace(current.model_copy(update={"password_hash": hash_password("x")}))
            elif change == "role":
                users.replace(current.model_copy(update={"role": "db_member"}))
            else:
                del users._by_email[viewer]
                users.add(current.model_copy(update={"password_hash": hash_password("x")}))
            response = await client.get(
                "/v1/bdbs/1", headers={"Authorization": f"JWT {viewer_token}"}
            )
            assert_error(response, 401, "unauthenticated")
            assert (await client.get("/v1/bdbs/1", headers=jwt_header)).status_code == 200
            users.replace(
                User(
                    email=viewer,
                    role=Role.DB_VIEWER,
                    password_hash=hash_password(PASSWORDS[Role.DB_VIEWER]),
                )
            )


async def test_a_token_cannot_renew_itself_past_the_lifetime_of_the_sign_in(
    http_world: HttpWorld,
) -> None:
    clock = [1_900_000_000.0]
    authenticator = with_settings(http_world, AuthSettings(token_lifetime=600))
    authenticator._clock = lambda: clock[0]
    async with http_world.client() as client:
        first = await authenticator.issue_token(
            (await authenticator.verify_password(email(Role.ADMIN), PASSWORDS[Role.ADMIN])),
            300,
        )
        signed_in = jwt.decode(first, options={"verify_signature": False})
        clock[0] += 200
        renewed = await client.post(
            "/v1/users/authorize",
            json={"ttl": 500},
            headers={"Authorization": f"JWT {first}"},
        )
        assert renewed.status_code == 200, renewed.text
        claims = jwt.decode(renewed.json()["access_token"], options={"verify_signature": False})
        assert claims["auth_time"] == signed_in["auth_time"]
        assert claims["exp"] == signed_in["auth_time"] + 600  # capped by the sign-in
        clock[0] += 399
        last = await client.post(
            "/v1/users/authorize",
            headers={"Authorization": f"JWT {renewed.json()['access_token']}"},
        )
        assert last.status_code == 200
        clock[0] += 2
        late = await client.post(
            "/v1/users/authorize", headers={"Authorization": f"JWT {last.json()['access_token']}"}
        )
        assert_error(late, 401, "unauthenticated")
    issued = audit_of(http_world, TokenIssued)
    assert [event["renewal"] for event in issued] == [False, True, True]


async def test_the_access_log_records_the_principal_and_the_client_address(
    client: httpx.AsyncClient, http_world: HttpWorld
) -> None:
    assert (await client.get("/v1/bdbs/1", headers=VIEWER)).status_code == 200
    await client.post("/v1/users/authorize", json={"username": "ghost@x.io", "password": "no"})
    ok, refused = (json.loads(line) for line in http_world.access_log[-2:])
    assert ok["principal"] == email(Role.DB_VIEWER)
    assert ok["client"] == "127.0.0.1"
    assert refused["principal"] is None
    assert refused["status"] == 401
    assert "no" not in {str(value) for value in refused.values()}
