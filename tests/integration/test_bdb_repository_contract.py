"""The `BdbRepository` contract, run against every adapter that implements it.

Each store joins by adding its kind to `STORE_KINDS`; the assertions are shared, so
every store promises exactly the same thing. The Redis kind runs against a real
redis-server started by the session fixture.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdbexport.composition.stores import Store, open_store
from bdbexport.domain import (
    Bdb,
    BdbAlreadyExistsError,
    BdbRepository,
    CatalogModule,
    MountPointLocation,
    User,
    UserAlreadyExistsError,
)

STORE_KINDS = ["memory", "sqlite", "redis"]


def open_kind(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "memory":
        return open_store("memory://")
    if kind == "sqlite":
        return open_store(f"sqlite://{tmp_path / 'contract.sqlite3'}")
    return open_store(request.getfixturevalue("redis_url"))


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = open_kind(request.param, request, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def repository(store: Store) -> BdbRepository:
    return store.bdbs


def test_get_returns_none_for_a_missing_uid(repository: BdbRepository) -> None:
    assert repository.get(1) is None


def test_added_bdbs_read_back_equal(repository: BdbRepository) -> None:
    bdb = Bdb(uid=7, name="db")
    repository.add(bdb)
    assert repository.get(7) == bdb


def test_adding_a_taken_uid_is_refused_and_keeps_the_first(repository: BdbRepository) -> None:
    repository.add(Bdb(uid=7, name="first"))
    with pytest.raises(BdbAlreadyExistsError):
        repository.add(Bdb(uid=7, name="second"))
    assert repository.get(7).name == "first"  # type: ignore[union-attr]


def test_save_is_a_compare_and_set_on_the_revision(repository: BdbRepository) -> None:
    repository.add(Bdb(uid=1, name="db"))
    renamed = Bdb(uid=1, name="renamed", revision=1)
    assert repository.save(renamed, expected_revision=0)
    assert repository.get(1) == renamed
    stale = Bdb(uid=1, name="stale", revision=1)
    assert not repository.save(stale, expected_revision=0)
    assert repository.get(1) == renamed


def test_save_never_creates(repository: BdbRepository) -> None:
    assert not repository.save(Bdb(uid=9, name="ghost", revision=1), expected_revision=0)
    assert repository.get(9) is None


def test_every_field_survives_a_round_trip(repository: BdbRepository) -> None:
    from datetime import UTC, datetime

    from bdbexport.domain import ExportFailureReason, ExportStatus, ModuleRef

    bdb = Bdb(
        uid=3,
        name="full",
        module_list=(ModuleRef(module_name="search", semantic_version="2.8.4"),),
        export_status=ExportStatus.FAILED,
        export_progress=37,
        export_failure_reason=ExportFailureReason.NO_PERMISSION,
        last_export_time=datetime(2026, 5, 1, 12, 30, tzinfo=UTC),
        endpoints=[{"addr": ["10.0.0.5"], "port": 12000, "dns_name": "redis-12000.local"}],
        authentication_redis_pass="data-password",
        revision=9,
    )
    repository.add(bdb)
    stored = repository.get(3)
    assert stored == bdb
    assert stored is not None
    assert stored.authentication_redis_pass is not None
    assert stored.authentication_redis_pass.get_secret_value() == "data-password"


def test_list_is_in_uid_order_and_resumable(repository: BdbRepository) -> None:
    for uid in (5, 1, 3, 2, 4):
        repository.add(Bdb(uid=uid, name=f"db{uid}"))
    assert [bdb.uid for bdb in repository.list()] == [1, 2, 3, 4, 5]
    assert [bdb.uid for bdb in repository.list(after_uid=2)] == [3, 4, 5]
    assert [bdb.uid for bdb in repository.list(after_uid=1, limit=2)] == [2, 3]
    assert list(repository.list(after_uid=5)) == []
    assert list(repository.list(limit=0)) == []


def backing_up(uid: int, *, backup: bool = True, revision: int = 0) -> Bdb:
    return Bdb(
        uid=uid,
        name=f"db{uid}",
        backup=backup,
        backup_interval=3600,
        backup_location=MountPointLocation(path="/backups"),
        revision=revision,
    )


def test_scheduled_yields_the_bdbs_with_backups_on_in_uid_order(
    repository: BdbRepository,
) -> None:
    for uid in (4, 1, 3):
        repository.add(backing_up(uid))
    repository.add(backing_up(2, backup=False))
    repository.add(Bdb(uid=5, name="plain"))
    assert [bdb.uid for bdb in repository.scheduled()] == [1, 3, 4]
    assert list(repository.scheduled()) == [repository.get(1), repository.get(3), repository.get(4)]


def test_the_schedule_index_follows_every_saved_change(repository: BdbRepository) -> None:
    repository.add(backing_up(1))
    repository.add(backing_up(2, backup=False))
    assert repository.save(backing_up(1, backup=False, revision=1), expected_revision=0)
    assert repository.save(backing_up(2, revision=1), expected_revision=0)
    assert [bdb.uid for bdb in repository.scheduled()] == [2]
    on_again = backing_up(1, revision=2)
    assert repository.save(on_again, expected_revision=1)
    assert list(repository.scheduled()) == [on_again, repository.get(2)]


def test_a_refused_save_leaves_the_schedule_index_alone(repository: BdbRepository) -> None:
    repository.add(backing_up(1))
    repository.add(backing_up(2, backup=False))
    assert not repository.save(backing_up(1, backup=False, revision=1), expected_revision=5)
    assert not repository.save(backing_up(2, revision=1), expected_revision=5)
    assert not repository.save(backing_up(3, revision=1), expected_revision=0)  # no such uid
    assert [bdb.uid for bdb in repository.scheduled()] == [1]


def test_scheduled_pages_through_more_bdbs_than_a_page(
    repository: BdbRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bdbexport.adapters.sqlite.stores.LIST_PAGE", 2)
    monkeypatch.setattr("bdbexport.adapters.redis_store.repositories.LIST_PAGE", 2)
    for uid in range(1, 12):
        repository.add(backing_up(uid, backup=uid % 2 == 1))
    assert [bdb.uid for bdb in repository.scheduled()] == [1, 3, 5, 7, 9, 11]


def test_concurrent_compare_and_set_admits_exactly_one_winner_per_revision(
    repository: BdbRepository,
) -> None:
    repository.add(Bdb(uid=1, name="db"))
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        if repository.save(Bdb(uid=1, name=name, revision=1), expected_revision=0):
            wins.append(name)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert repository.get(1).name == wins[0]  # type: ignore[union-attr]


def test_the_catalog_replaces_a_module_by_name(store: Store) -> None:
    catalog = store.modules
    assert catalog.get("search") is None
    catalog.add(CatalogModule(module_name="search", semantic_version="1.0"))
    catalog.add(
        CatalogModule(module_name="search", semantic_version="2.0", capabilities=["backup_restore"])
    )
    entry = catalog.get("search")
    assert entry is not None
    assert entry.semantic_version == "2.0"
    assert entry.supports_backup_restore
    catalog.add(CatalogModule(module_name="graph", semantic_version="2.10"))
    assert [module.module_name for module in catalog.list()] == ["graph", "search"]


def test_users_are_unique_by_email(store: Store) -> None:
    user = User(email="a@example.com", role="admin", password_hash="scrypt$14$8$1$c2E=$aGE=")
    store.users.add(user)
    with pytest.raises(UserAlreadyExistsError):
        store.users.add(user.model_copy(update={"role": "none"}))
    store.users.add(user.model_copy(update={"email": "0@example.com"}))
    assert store.users.get("a@example.com") == user
    assert store.users.get("b@example.com") is None
    assert [u.email for u in store.users.list()] == ["0@example.com", "a@example.com"]


def test_a_user_is_replaced_only_if_it_exists(store: Store) -> None:
    user = User(email="a@example.com", role="admin", password_hash="scrypt$14$8$1$c2E=$aGE=")
    assert not store.users.replace(user)
    assert store.users.get("a@example.com") is None
    store.users.add(user)
    renewed = user.model_copy(update={"password_hash": "scrypt$14$8$1$c2E=$Yg=="})
    assert store.users.replace(renewed)
    assert store.users.get("a@example.com") == renewed


def test_secrets_are_stable_per_name(store: Store) -> None:
    first = store.secret("jwt")
    assert len(first) == 32
    assert store.secret("jwt") == first
    assert store.secret("other") != first


def test_use_cases_run_unchanged_on_the_store(store: Store) -> None:
    from bdbexport.composition import build_service
    from bdbexport.domain import MountPointLocation, Principal

    store.bdbs.add(Bdb(uid=1, name="db"))
    service = build_service(bdbs=store.bdbs, modules=store.modules)
    admin = Principal("a", "admin")
    started = service.start_export(admin, 1, MountPointLocation(path="/m"))
    assert started.action_uid is not None
    service.record_export_progress(1, started.action_uid, 50)
    service.record_export_success(1, started.action_uid)
    assert service.reset_export_status(admin, 1).export_status == "idle"
    assert store.bdbs.get(1).revision == 4  # type: ignore[union-attr]
