"""The role table: property tests over every role and permission."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bdbexport.domain import BUILTIN_ROLE_PERMISSIONS, Permission, Principal, Role, RoleTablePolicy

POLICY = RoleTablePolicy()
OPERATORS = {Role.ADMIN, Role.CLUSTER_MEMBER, Role.DB_MEMBER}
CHANGING = {Permission.START_BDB_EXPORT, Permission.RESET_BDB_CURRENT_EXPORT_STATUS}


@given(role=st.sampled_from(Role), permission=st.sampled_from(sorted(CHANGING)))
def test_exactly_admin_cluster_member_and_db_member_may_reset_or_start(
    role: Role, permission: Permission
) -> None:
    assert POLICY.permits(Principal("u", role), permission) == (role in OPERATORS)


@given(role=st.sampled_from(sorted(set(Role) - {Role.NONE})))
def test_every_role_but_none_may_view(role: Role) -> None:
    for permission in (
        Permission.VIEW_BDB_INFO,
        Permission.VIEW_ALL_BDBS_INFO,
        Permission.VIEW_CLUSTER_MODULES,
    ):
        assert POLICY.permits(Principal("u", role), permission)


@given(permission=st.sampled_from(Permission))
def test_role_none_has_no_permission(permission: Permission) -> None:
    assert not POLICY.permits(Principal("u", Role.NONE), permission)


@given(role=st.text().filter(lambda r: r not in set(Role)), permission=st.sampled_from(Permission))
def test_unknown_roles_fail_closed(role: str, permission: Permission) -> None:
    assert not POLICY.permits(Principal("u", role), permission)


@given(permission=st.text().filter(lambda p: p not in set(Permission)))
def test_unknown_permissions_are_never_granted(permission: str) -> None:
    assert not POLICY.permits(Principal("u", Role.ADMIN), permission)


def test_the_builtin_table_names_all_seven_roles() -> None:
    assert set(BUILTIN_ROLE_PERMISSIONS) == set(Role)
    assert POLICY.roles() == {role.value for role in Role}


def test_an_embedder_can_supply_its_own_roles() -> None:
    policy = RoleTablePolicy({"exporter": ["start_bdb_export"], "auditor": []})
    assert policy.permits(Principal("u", "exporter"), "start_bdb_export")
    assert not policy.permits(Principal("u", "exporter"), "reset_bdb_current_export_status")
    assert not policy.permits(Principal("u", "admin"), "start_bdb_export")
    assert policy.permissions_of("exporter") == {"start_bdb_export"}
    assert policy.permissions_of("nobody") == frozenset()
