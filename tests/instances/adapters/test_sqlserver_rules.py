"""Every rule of ``instances/adapters/sqlserver/parse.py`` decides a test on its own.

Each test starts from a baseline "nothing special" login (a SQL login with
CONNECT SQL, mapped by SID to a user with CONNECT in one database), checks the
flag on it, adds exactly the one catalog row (or changes the one field) the rule
is about, and checks the flag flipped. Rows are built from the statements'
SELECT lists with values of the types pymssql returns (``sqlcheck.driver_row``),
so they cannot use a column the SQL does not return.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from instances.adapters.base import AccountFacts, PasswordPolicy, Privilege
from instances.adapters.matching import holds
from instances.adapters.sqlserver import parse
from tests.instances.adapters import sqlcheck
from tests.instances.adapters.sqlcheck import SQLSERVER

LOGIN, SID = "alice", "0A1B2C3D4E5F60718293A4B5C6D7E8F9"
DATABASE, USER = "sales", "alice_user"

_STATES = {"G": "GRANT", "W": "GRANT_WITH_GRANT_OPTION", "D": "DENY", "R": "REVOKE"}
_SERVER_CLASSES = {100: "SERVER", 101: "SERVER_PRINCIPAL", 105: "ENDPOINT", 108: "AVAILABILITY GROUP"}
_DATABASE_CLASSES = {0: "DATABASE", 1: "OBJECT_OR_COLUMN", 3: "SCHEMA", 4: "DATABASE_PRINCIPAL", 25: "CERTIFICATE"}


def _row(tag: str, **values: Any) -> dict[str, Any]:
    return sqlcheck.driver_row(SQLSERVER, sqlcheck.by_tag(SQLSERVER, tag), **values)


def principal(**changes: Any) -> dict[str, Any]:
    values = dict(
        principal_id=300, name=LOGIN, type="S", type_desc="SQL_LOGIN", is_disabled=0, sid=SID,
        default_database_name="master", create_date=datetime(2024, 1, 2, 3, 4), modify_date=datetime(2024, 1, 2, 3, 4),
        is_locked_out=0, is_expired=0, is_policy_checked=True, is_expiration_checked=False,
    )  # fmt: skip
    values.update(changes)
    return _row("server_principals", **values)


def member(role: str, name: str, member_type: str = "S") -> dict[str, Any]:
    return _row("server_role_members", role_name=role, member_name=name, member_type=member_type)


def server_permission(grantee: str, permission: str, state: str = "G", klass: int = 100, **target: Any):
    return _row(
        "server_permissions", grantee_name=grantee, grantee_type="S" if grantee == LOGIN else "R", **{"class": klass},
        class_desc=_SERVER_CLASSES[klass], major_id=target.pop("major_id", 0), permission_name=permission,
        state=state, state_desc=_STATES[state], **target,
    )  # fmt: skip


def db_principal(name: str, sid: str | None, kind: str = "S", principal_id: int = 5) -> dict[str, Any]:
    type_desc = {"S": "SQL_USER", "R": "DATABASE_ROLE"}[kind]
    return _row(
        "database_principals", principal_id=principal_id, name=name, type=kind, type_desc=type_desc, sid=sid,
        default_schema_name="dbo" if kind == "S" else None, is_fixed_role=False,
    )  # fmt: skip


def db_member(role: str, name: str, member_type: str = "S") -> dict[str, Any]:
    return _row("database_role_members", role_name=role, member_name=name, member_type=member_type)


def db_permission(grantee: str, permission: str, state: str = "G", klass: int = 0, **target: Any):
    return _row(
        "database_permissions", grantee_name=grantee, **{"class": klass}, class_desc=_DATABASE_CLASSES[klass],
        major_id=target.pop("major_id", 0), minor_id=target.pop("minor_id", 0), permission_name=permission,
        state=state, state_desc=_STATES[state], **target,
    )  # fmt: skip


@dataclasses.dataclass
class Server:
    """The catalog rows of one instance with one user database."""

    principals: list[dict]
    members: list[dict]
    permissions: list[dict]
    db_principals: list[dict]
    db_members: list[dict]
    db_permissions: list[dict]

    def plus(self, **rows: dict) -> Server:
        """A copy with one more row in each named list (``members=member(...)``)."""
        return dataclasses.replace(self, **{name: [*getattr(self, name), row] for name, row in rows.items()})

    def account(self) -> AccountFacts:
        security = parse.DatabaseSecurityRows(self.db_principals, self.db_members, self.db_permissions)
        accounts = parse.build_accounts(self.principals, self.members, self.permissions, {DATABASE: security})
        (account,) = [a for a in accounts if a.username == LOGIN]
        return account


def baseline(**principal_changes: Any) -> Server:
    return Server(
        principals=[principal(**principal_changes)],
        members=[],
        permissions=[server_permission(LOGIN, "CONNECT SQL")],
        db_principals=[db_principal("dbo", "01", principal_id=1), db_principal(USER, SID)],
        db_members=[db_member("db_owner", "dbo")],
        db_permissions=[db_permission(USER, "CONNECT")],
    )


def in_role_ops() -> Server:
    """Baseline plus membership of a user-defined server role ``ops`` that holds nothing."""
    return baseline().plus(members=member("ops", LOGIN))


def in_db_role_app() -> Server:
    """Baseline plus membership of a user-defined database role ``app`` that holds nothing."""
    return baseline().plus(
        db_principals=db_principal("app", None, kind="R", principal_id=9), db_members=db_member("app", USER)
    )


def with_control_server() -> Server:
    return in_role_ops().plus(permissions=server_permission(LOGIN, "CONTROL SERVER"))


def test_baseline_is_an_ordinary_login():
    account = baseline().account()
    assert not account.is_superuser and not account.can_grant and not account.is_locked and account.can_login
    assert account.roles == ()
    assert account.privileges == (Privilege("global", "CONNECT SQL"), Privilege("database", "CONNECT", DATABASE))


def _flips(base: Server, changed: Server, flag: str, before: bool) -> None:
    assert getattr(base.account(), flag) is before
    assert getattr(changed.account(), flag) is (not before)


# --- is_superuser -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "row"),
    [
        pytest.param(baseline, {"members": member("sysadmin", LOGIN)}, id="sysadmin-member"),
        pytest.param(in_role_ops, {"members": member("sysadmin", "ops", "R")}, id="sysadmin-through-nested-role"),
        pytest.param(baseline, {"permissions": server_permission(LOGIN, "CONTROL SERVER")}, id="control-server-login"),
        pytest.param(baseline, {"permissions": server_permission(LOGIN, "CONTROL SERVER", "W")},
                     id="control-server-with-grant-option"),
        pytest.param(in_role_ops, {"permissions": server_permission("ops", "CONTROL SERVER")},
                     id="control-server-to-a-role"),
        pytest.param(baseline, {"permissions": server_permission("public", "CONTROL SERVER")},
                     id="control-server-to-public"),
    ],
)  # fmt: skip
def test_one_row_makes_a_superuser(base, row):
    _flips(base(), base().plus(**row), "is_superuser", before=False)


@pytest.mark.parametrize("grantee", [LOGIN, "ops", "public"])
def test_deny_control_server_anywhere_cancels_the_grant(grantee):
    _flips(with_control_server(), with_control_server().plus(
        permissions=server_permission(grantee, "CONTROL SERVER", "D")), "is_superuser", before=True)  # fmt: skip


def test_control_server_of_an_unrelated_role_does_not_count():
    assert not baseline().plus(permissions=server_permission("ops", "CONTROL SERVER")).account().is_superuser


# --- can_grant --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "row"),
    [
        pytest.param(baseline, {"members": member("securityadmin", LOGIN)}, id="securityadmin"),
        pytest.param(in_role_ops, {"members": member("securityadmin", "ops", "R")},
                     id="securityadmin-through-nested-role"),
        pytest.param(baseline, {"members": member("sysadmin", LOGIN)}, id="superuser"),
        pytest.param(baseline, {"db_members": db_member("db_owner", USER)}, id="db_owner"),
        pytest.param(baseline, {"db_members": db_member("db_securityadmin", USER)}, id="db_securityadmin"),
        pytest.param(in_db_role_app, {"db_members": db_member("db_owner", "app", "R")},
                     id="db_owner-through-nested-database-role"),
        pytest.param(baseline, {"permissions": server_permission(LOGIN, "VIEW ANY DEFINITION", "W")},
                     id="server-permission-with-grant-option"),
        pytest.param(baseline, {"db_permissions": db_permission(USER, "SELECT", "W", klass=3, major_id=5,
                                                                schema_name="reports")},
                     id="database-permission-with-grant-option"),
    ],
)  # fmt: skip
def test_one_row_lets_the_login_grant(base, row):
    _flips(base(), base().plus(**row), "can_grant", before=False)


def test_db_owner_of_a_user_not_mapped_to_the_login_does_not_count():
    server = baseline().plus(db_principals=db_principal("bob", "FFFF", principal_id=6))
    assert not server.plus(db_members=db_member("db_owner", "bob")).account().can_grant


def test_a_plain_grant_does_not_let_the_login_grant():
    assert not baseline().plus(permissions=server_permission(LOGIN, "VIEW ANY DEFINITION")).account().can_grant


# --- is_locked and can_login ------------------------------------------------------


@pytest.mark.parametrize("field", ["is_disabled", "is_locked_out"])
def test_disabled_or_locked_out_locks(field):
    _flips(baseline(), baseline(**{field: 1}), "is_locked", before=False)


def test_expired_password_alone_does_not_lock():
    assert not baseline(is_expired=1).account().is_locked


@pytest.mark.parametrize(("base", "grantee"), [(baseline, LOGIN), (in_role_ops, "ops"), (baseline, "public")])
def test_deny_connect_sql_blocks_login(base, grantee):
    _flips(base(), base().plus(permissions=server_permission(grantee, "CONNECT SQL", "D")), "can_login", before=True)


def test_other_denials_do_not_block_login():
    server = baseline().plus(permissions=server_permission(LOGIN, "CONNECT", "D", klass=105, major_id=4,
                                                           endpoint_target="TSQL Default TCP"))  # fmt: skip
    assert server.plus(permissions=server_permission(LOGIN, "VIEW ANY DATABASE", "D")).account().can_login


# --- privilege targets ------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "privilege"),
    [
        pytest.param(server_permission(LOGIN, "VIEW SERVER STATE"), Privilege("global", "VIEW SERVER STATE"),
                     id="server"),
        pytest.param(server_permission(LOGIN, "IMPERSONATE", klass=101, major_id=1, principal_target="sa"),
                     Privilege("object", "IMPERSONATE", "SERVER_PRINCIPAL::sa"), id="server-principal"),
        pytest.param(server_permission(LOGIN, "CONNECT", klass=105, major_id=4, endpoint_target="TSQL Default TCP"),
                     Privilege("object", "CONNECT", "ENDPOINT::TSQL Default TCP"), id="endpoint"),
        pytest.param(server_permission(LOGIN, "ALTER", klass=108, major_id=65536),
                     Privilege("object", "ALTER", "AVAILABILITY GROUP::65536"), id="other-class"),
        pytest.param(server_permission(LOGIN, "ALTER ANY LOGIN", "D"),
                     Privilege("global", "ALTER ANY LOGIN", state="DENY"), id="deny"),
    ],
)  # fmt: skip
def test_server_permission_targets(row, privilege):
    assert privilege not in baseline().account().privileges
    assert privilege in baseline().plus(permissions=row).account().privileges


@pytest.mark.parametrize(
    ("row", "privilege"),
    [
        pytest.param(db_permission(USER, "CREATE TABLE"), Privilege("database", "CREATE TABLE", DATABASE),
                     id="database"),
        pytest.param(db_permission(USER, "SELECT", klass=1, major_id=581577110, object_schema="dbo",
                                   object_name="orders"),
                     Privilege("object", "SELECT", "sales.dbo.orders"), id="object"),
        pytest.param(db_permission(USER, "UPDATE", klass=1, major_id=613577224, minor_id=3, object_schema="dbo",
                                   object_name="customers", column_name="email"),
                     Privilege("column", "UPDATE", "sales.dbo.customers.email"), id="column"),
        pytest.param(db_permission(USER, "EXECUTE", klass=3, major_id=5, schema_name="reports"),
                     Privilege("schema", "EXECUTE", "sales.reports"), id="schema"),
        pytest.param(db_permission(USER, "IMPERSONATE", klass=4, major_id=7),
                     Privilege("object", "IMPERSONATE", "sales.DATABASE_PRINCIPAL::7"), id="other-class"),
        pytest.param(db_permission(USER, "DELETE", "D", klass=1, major_id=581577110, object_schema="dbo",
                                   object_name="orders"),
                     Privilege("object", "DELETE", "sales.dbo.orders", state="DENY"), id="deny"),
    ],
)  # fmt: skip
def test_database_permission_targets(row, privilege):
    assert privilege not in baseline().account().privileges
    assert privilege in baseline().plus(db_permissions=row).account().privileges


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param({"permissions": server_permission(LOGIN, "CONTROL SERVER", "R")}, id="server"),
        pytest.param({"db_permissions": db_permission(USER, "SELECT", "R", klass=3, major_id=5,
                                                      schema_name="reports")}, id="database"),
    ],
)  # fmt: skip
def test_legacy_revoke_rows_are_skipped(rows):
    base, changed = baseline().account(), baseline().plus(**rows).account()
    assert changed.privileges == base.privileges
    assert (changed.is_superuser, changed.can_grant) == (False, False)


# --- roles ----------------------------------------------------------------------


def test_roles_include_inherited_server_and_database_roles():
    server = in_role_ops().plus(members=member("processadmin", "ops", "R"))
    assert server.account().roles == ("ops", "processadmin")
    server = in_db_role_app().plus(db_members=db_member("db_datareader", "app", "R"))
    assert server.account().roles == ("sales.app", "sales.db_datareader")


# --- effective permissions -------------------------------------------------------

REPORTS = {"klass": 3, "major_id": 5, "schema_name": "reports"}
ORDERS = {"klass": 1, "major_id": 581577110, "object_schema": "dbo", "object_name": "orders"}
EMAIL = {"klass": 1, "major_id": 581577110, "minor_id": 3, "object_schema": "dbo", "object_name": "orders",
         "column_name": "email"}  # fmt: skip


def in_nested_db_roles() -> Server:
    """Baseline plus user → app → reporting (database roles)."""
    return in_db_role_app().plus(
        db_principals=db_principal("reporting", None, kind="R", principal_id=10),
        db_members=db_member("reporting", "app", "R"),
    )


def test_a_permission_of_a_nested_database_role_is_effective_with_its_path():
    server = in_nested_db_roles().plus(db_permissions=db_permission("reporting", "SELECT", **REPORTS))
    assert Privilege("schema", "SELECT", "sales.reports", via=("sales.app", "sales.reporting")) in (
        server.account().privileges
    )
    assert "sales.reports" not in {p.target for p in in_nested_db_roles().account().privileges}


def test_a_server_role_permission_is_effective_with_its_path():
    server = in_role_ops().plus(permissions=server_permission("ops", "VIEW SERVER STATE"))
    assert Privilege("global", "VIEW SERVER STATE", via=("ops",)) in server.account().privileges


@pytest.mark.parametrize(
    ("deny", "grant"),
    [
        pytest.param(db_permission(USER, "SELECT", "D", **ORDERS), db_permission("reporting", "SELECT", **ORDERS),
                     id="deny-to-the-user-beats-a-roles-grant"),
        pytest.param(db_permission("app", "SELECT", "D", **ORDERS), db_permission(USER, "SELECT", **ORDERS),
                     id="deny-to-a-role-beats-the-users-grant"),
        pytest.param(db_permission("app", "SELECT", "D", **REPORTS | {"major_id": 1, "schema_name": "dbo"}),
                     db_permission(USER, "SELECT", **ORDERS), id="schema-deny-beats-object-grant"),
        pytest.param(db_permission(USER, "SELECT", "D"), db_permission("reporting", "SELECT", **EMAIL),
                     id="database-deny-beats-column-grant"),
        pytest.param(db_permission("app", "CONTROL", "D"), db_permission(USER, "CONTROL", "G", 25, major_id=7),
                     id="database-deny-beats-a-certificates-grant"),
        pytest.param(db_permission("app", "SELECT", "D", **REPORTS | {"major_id": 1, "schema_name": "dbo"}),
                     db_permission(USER, "SELECT", **ORDERS | {"object_name": "a::b"}),
                     id="schema-deny-beats-the-grant-on-an-object-whose-name-holds-::"),
    ],
)  # fmt: skip
def test_deny_beats_grant(deny, grant):
    granted = in_nested_db_roles().plus(db_permissions=grant)
    target_of = database_privilege_target(grant)
    assert any(p.state == "GRANT" and p.target == target_of for p in granted.account().privileges)
    denied = granted.plus(db_permissions=deny).account()
    name = grant["permission_name"]
    assert not any(p.state == "GRANT" and p.privilege == name and p.target == target_of for p in denied.privileges)
    assert any(p.state == "DENY" and p.privilege == name for p in denied.privileges)
    level = parse.database_privilege(DATABASE, grant).level
    assert not holds(denied.privileges, name, level, target_of, db_type="sqlserver")  # the rule agrees


def database_privilege_target(row) -> str:
    return parse.database_privilege(DATABASE, row).target


def test_an_object_deny_does_not_beat_a_column_grant_nor_another_permission():
    server = in_nested_db_roles().plus(db_permissions=db_permission("reporting", "SELECT", **EMAIL))
    denied = server.plus(db_permissions=db_permission(USER, "SELECT", "D", **ORDERS)).plus(
        db_permissions=db_permission(USER, "UPDATE", "D")
    )
    assert Privilege("column", "SELECT", "sales.dbo.orders.email", via=("sales.app", "sales.reporting")) in (
        denied.account().privileges
    )


# --- the guest user: a login without a user of its own enters as it, when guest may connect --------


def without_user(*, guest_connects: bool) -> Server:
    """The login has no user in the database; guest is there (as in every database), granted SELECT
    on orders, a member of role ``readers`` (UPDATE on orders); public may DELETE on orders; CONNECT
    granted to guest or not (a new user database's default: guest disabled)."""
    server = baseline()
    server = dataclasses.replace(server, db_principals=[db_principal("dbo", "01", principal_id=1),
                                                        db_principal("guest", "00", principal_id=2)],
                                 db_permissions=[])  # fmt: skip
    server = server.plus(db_principals=db_principal("readers", None, kind="R", principal_id=9),
                         db_members=db_member("readers", "guest"))  # fmt: skip
    server = server.plus(db_permissions=db_permission("guest", "SELECT", **ORDERS))
    server = server.plus(db_permissions=db_permission("readers", "UPDATE", **ORDERS))
    server = server.plus(db_permissions=db_permission("public", "DELETE", **ORDERS))
    return server.plus(db_permissions=db_permission("guest", "CONNECT")) if guest_connects else server


def _holds(account: AccountFacts, permission: str, target: str = "sales.dbo.orders") -> bool:
    return bool(holds(account.privileges, permission, "object", target, db_type="sqlserver"))


def test_a_login_without_a_user_holds_what_guest_holds_where_guest_may_connect():
    account = without_user(guest_connects=True).account()
    assert Privilege("object", "SELECT", "sales.dbo.orders", via=("sales.guest",)) in account.privileges
    assert Privilege("object", "UPDATE", "sales.dbo.orders", via=("sales.guest", "sales.readers")) in (
        account.privileges)  # fmt: skip
    assert _holds(account, "DELETE") and _holds(account, "SELECT") and _holds(account, "UPDATE")
    assert bool(holds(account.privileges, "CONNECT", "database", "sales", db_type="sqlserver"))
    assert account.snapshot["databases"]["sales"]["guest"] is True


def test_guest_without_connect_gives_nothing_and_a_user_of_its_own_is_not_guest():
    assert not any(p.target.startswith("sales") for p in without_user(guest_connects=False).account().privileges)
    denied = without_user(guest_connects=True).plus(db_permissions=db_permission("guest", "CONNECT", "D"))
    assert not _holds(denied.account(), "SELECT")
    own = without_user(guest_connects=True).plus(db_principals=db_principal(USER, SID, principal_id=5),
                                                 db_permissions=db_permission(USER, "CONNECT"))  # fmt: skip
    assert not _holds(own.account(), "SELECT") and _holds(own.account(), "DELETE")  # public's, as its own user


def test_a_certificate_login_never_enters_as_guest():
    server = without_user(guest_connects=True)
    certificate = dataclasses.replace(server, principals=[principal(type="C", type_desc="CERTIFICATE_MAPPED_LOGIN")])
    assert not _holds(certificate.account(), "SELECT")


def test_a_server_deny_applies_to_the_same_securable_only():
    server = in_role_ops().plus(permissions=server_permission("ops", "CONNECT", klass=105, major_id=4,
                                                              endpoint_target="TSQL Default TCP"))  # fmt: skip
    other = server.plus(permissions=server_permission(LOGIN, "CONNECT", "D", klass=105, major_id=5,
                                                       endpoint_target="Mirroring"))  # fmt: skip
    assert Privilege("object", "CONNECT", "ENDPOINT::TSQL Default TCP", via=("ops",)) in other.account().privileges
    same = server.plus(permissions=server_permission(LOGIN, "CONNECT", "D", klass=105, major_id=4,
                                                      endpoint_target="TSQL Default TCP"))  # fmt: skip
    assert [p.state for p in same.account().privileges if p.target == "ENDPOINT::TSQL Default TCP"] == ["DENY"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("db_datareader", {("GRANT", "SELECT")}),
        ("db_datawriter", {("GRANT", "INSERT"), ("GRANT", "UPDATE"), ("GRANT", "DELETE")}),
        ("db_owner", {("GRANT", "CONTROL"), ("GRANT", "ALL")}),
        ("db_denydatareader", {("DENY", "SELECT")}),
        ("db_denydatawriter", {("DENY", "INSERT"), ("DENY", "UPDATE"), ("DENY", "DELETE")}),
        ("db_accessadmin", {("GRANT", "ALTER ANY USER"), ("GRANT", "CREATE SCHEMA"), ("GRANT", "CONNECT")}),
        ("db_backupoperator", {("GRANT", "BACKUP DATABASE"), ("GRANT", "BACKUP LOG"), ("GRANT", "CHECKPOINT")}),
        ("db_securityadmin", {("GRANT", "ALTER ANY APPLICATION ROLE"), ("GRANT", "ALTER ANY ROLE"),
                              ("GRANT", "CREATE SCHEMA"), ("GRANT", "VIEW DEFINITION")}),
    ],
)  # fmt: skip
def test_fixed_database_roles_carry_their_documented_permissions(role, expected):
    """Microsoft Learn, "Database-level roles" (the permissions of the fixed database roles)."""
    account = baseline().plus(db_members=db_member(role, USER)).account()
    held = {(p.state, p.privilege) for p in account.privileges if p.via == (f"{DATABASE}.{role}",)}
    assert held == expected and all(p.target == DATABASE for p in account.privileges if p.via)
    assert all(p.implied_by == role for p in account.privileges if p.via == (f"{DATABASE}.{role}",))


def test_db_ddladmin_carries_its_create_and_alter_any_permissions():
    account = baseline().plus(db_members=db_member("db_ddladmin", USER)).account()
    held = {p.privilege for p in account.privileges if p.via == (f"{DATABASE}.db_ddladmin",)}
    assert {"CREATE TABLE", "ALTER ANY SCHEMA", "CREATE PROCEDURE", "REFERENCES"} <= held and len(held) == 27


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("serveradmin", {"ALTER ANY ENDPOINT", "ALTER RESOURCES", "ALTER SERVER STATE", "ALTER SETTINGS", "SHUTDOWN",
                         "VIEW SERVER STATE"}),
        ("setupadmin", {"ALTER ANY LINKED SERVER"}),
        ("processadmin", {"ALTER ANY CONNECTION", "ALTER SERVER STATE"}),
        ("diskadmin", {"ALTER RESOURCES"}),
        ("dbcreator", {"CREATE ANY DATABASE"}),
        ("bulkadmin", {"ADMINISTER BULK OPERATIONS"}),
        ("securityadmin", {"ALTER ANY LOGIN"}),
    ],
)  # fmt: skip
def test_fixed_server_roles_carry_their_documented_permissions(role, expected):
    """Microsoft Learn, "Server-level roles" (the permissions of the fixed server roles)."""
    account = baseline().plus(members=member(role, LOGIN)).account()
    held = [p for p in account.privileges if p.via == (role,)]
    assert {p.privilege for p in held} == expected and {(p.level, p.implied_by) for p in held} == {("global", role)}


def test_db_denydatawriter_beats_db_datawriter():
    writer = baseline().plus(db_members=db_member("db_datawriter", USER))
    assert any(p.privilege == "DELETE" and p.state == "GRANT" for p in writer.account().privileges)
    account = writer.plus(db_members=db_member("db_denydatawriter", USER)).account()
    assert {p.state for p in account.privileges if p.privilege == "DELETE"} == {"DENY"}


def test_sysadmin_carries_control_server():
    account = in_role_ops().plus(members=member("sysadmin", "ops", "R")).account()
    assert Privilege("global", "CONTROL SERVER", "", True, via=("ops", "sysadmin"), implied_by="sysadmin") in (
        account.privileges)  # fmt: skip
    assert Privilege("global", "ALL", "", True, via=("ops", "sysadmin"), implied_by="sysadmin") in account.privileges
    assert account.reasons["is_superuser"] == ("member of sysadmin via ops",)


def test_public_is_held_by_every_login_and_user_but_not_its_system_object_grants():
    server = baseline().plus(permissions=server_permission("public", "VIEW ANY DATABASE"),
                             db_permissions=db_permission("public", "SELECT", **ORDERS))  # fmt: skip
    privileges = server.account().privileges
    assert Privilege("global", "VIEW ANY DATABASE", via=("public",)) in privileges
    assert Privilege("object", "SELECT", "sales.dbo.orders", via=("sales.public",)) in privileges
    system = baseline().plus(db_permissions=db_permission("public", "SELECT", klass=1, major_id=-1073624922,
                                                          object_schema="sys", object_name="objects"))  # fmt: skip
    assert system.account().privileges == baseline().account().privileges
    assert "public" not in server.account().roles


def test_reasons_name_the_path():
    server = in_db_role_app().plus(db_members=db_member("db_owner", "app", "R"))
    assert server.account().reasons["can_grant"] == ("member of sales.db_owner via sales.app",)
    grantable = baseline().plus(db_permissions=db_permission(USER, "SELECT", "W", **REPORTS)).account()
    assert grantable.reasons == {"can_grant": ("SELECT on schema sales.reports WITH GRANT OPTION",)}
    locked = baseline(is_disabled=1).account()
    assert locked.reasons == {"is_locked": ("disabled",)}


# --- implied permissions and DENY, asked through holds() (instances/adapters/matching/) ---------
# Microsoft Learn, "DENY (Transact-SQL)" (https://learn.microsoft.com/sql/t-sql/statements/deny-transact-sql):
# "DENY takes precedence over all permissions, except that DENY does not apply to object owners or members
# of the sysadmin fixed server role"; "A table-level DENY does not take precedence over a column-level
# GRANT". "Permissions hierarchy (Database Engine)": the permission check is bypassed for members of
# sysadmin and for the dbo user of the current database; CONTROL at a scope includes every permission
# under it. "Server-level roles" / "Database-level roles": sysadmin can perform any activity, db_owner
# holds CONTROL on the database.
def delete_on_orders(server: Server) -> list[Privilege]:
    return holds(server.account().privileges, "DELETE", "object", "sales.dbo.orders", db_type="sqlserver")


DENY_DELETE_ORDERS = db_permission("public", "DELETE", "D", **ORDERS)


def test_sysadmin_bypasses_a_deny():
    sysadmin = baseline().plus(members=member("sysadmin", LOGIN))
    assert [p.implied_by for p in delete_on_orders(sysadmin)] == ["sysadmin", "sysadmin"]  # ALL, CONTROL SERVER
    denied = sysadmin.plus(db_permissions=DENY_DELETE_ORDERS, permissions=server_permission(LOGIN, "CONTROL SERVER",
                                                                                            "D"))  # fmt: skip
    assert {p.implied_by for p in delete_on_orders(denied)} == {"sysadmin"}
    assert denied.account().is_superuser


def test_the_dbo_user_bypasses_a_deny_in_its_database():
    owner = dataclasses.replace(baseline(), db_principals=[db_principal("dbo", SID, principal_id=1)])
    denied = owner.plus(db_permissions=DENY_DELETE_ORDERS)
    assert [(p.privilege, p.implied_by) for p in delete_on_orders(denied)] == [("ALL", "dbo")]  # not db_owner's
    assert not delete_on_orders(baseline().plus(db_permissions=DENY_DELETE_ORDERS))


def test_db_owner_members_are_denied_like_anyone():
    db_owner = baseline().plus(db_members=db_member("db_owner", USER))
    assert {(p.privilege, p.implied_by) for p in delete_on_orders(db_owner)} == {("ALL", "db_owner"),
                                                                                 ("CONTROL", "db_owner")}
    denied = db_owner.plus(db_permissions=DENY_DELETE_ORDERS)
    assert delete_on_orders(denied) == []
    assert holds(denied.account().privileges, "SELECT", "object", "sales.dbo.orders", db_type="sqlserver")


def test_control_server_grantees_are_denied_like_anyone():
    control = baseline().plus(permissions=server_permission(LOGIN, "CONTROL SERVER"))
    assert {p.implied_by for p in delete_on_orders(control)} == {None, "control_server"}
    assert delete_on_orders(control.plus(db_permissions=DENY_DELETE_ORDERS)) == []


def test_a_deny_on_the_schema_beats_a_grant_on_the_table_and_a_table_deny_not_a_column_grant():
    writer = baseline().plus(db_members=db_member("db_datawriter", USER))
    assert delete_on_orders(writer)
    schema_deny = db_permission(USER, "DELETE", "D", **REPORTS | {"major_id": 1, "schema_name": "dbo"})
    assert delete_on_orders(writer.plus(db_permissions=schema_deny)) == []
    column = baseline().plus(db_permissions=db_permission(USER, "UPDATE", **EMAIL)).plus(
        db_permissions=db_permission(USER, "UPDATE", "D", **ORDERS))  # fmt: skip
    privileges = column.account().privileges
    assert holds(privileges, "UPDATE", "column", "sales.dbo.orders.email", db_type="sqlserver")
    assert not holds(privileges, "UPDATE", "object", "sales.dbo.orders", db_type="sqlserver")


# --- password policy (sys.sql_logins.is_policy_checked / is_expiration_checked) -----------------
@pytest.mark.parametrize(
    ("changes", "enforced", "reason"),
    [
        ({}, True, "CHECK_POLICY ON (the host's Windows password policy), CHECK_EXPIRATION OFF"),
        ({"is_policy_checked": False}, False, "CHECK_POLICY OFF: the password is not checked (CHECK_EXPIRATION OFF)"),
        ({"is_expiration_checked": True}, True,
         "CHECK_POLICY ON (the host's Windows password policy), CHECK_EXPIRATION ON"),
        ({"type": "U", "type_desc": "WINDOWS_LOGIN", "is_policy_checked": None, "is_expiration_checked": None}, None,
         "Windows login: its password and policy are Windows' (Active Directory)"),
        ({"type": "G", "type_desc": "WINDOWS_GROUP", "is_policy_checked": None, "is_expiration_checked": None}, None,
         "Windows login: its password and policy are Windows' (Active Directory)"),
        ({"type": "E", "type_desc": "EXTERNAL_LOGIN", "is_policy_checked": None, "is_expiration_checked": None}, None,
         "Microsoft Entra ID login: its password and policy are Entra ID's"),
    ],
)  # fmt: skip
def test_password_policy_is_what_sys_sql_logins_reports(changes, enforced, reason):
    assert baseline(**changes).account().password_policy == PasswordPolicy(enforced, reason)
