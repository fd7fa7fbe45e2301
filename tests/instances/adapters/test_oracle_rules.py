"""Every rule of ``instances/adapters/oracle/parse.py`` decides a test on its own.

Each test starts from a baseline "nothing special" user (OPEN, password
authenticated, not Oracle-maintained, CREATE SESSION granted directly, no roles),
checks the flag on it, adds exactly the one dictionary row (or changes the one
field) the rule is about, and checks the flag flipped. Rows are built from the
statements' SELECT lists (upper-case names, as Oracle reports them) with values
of the types python-oracledb returns (``sqlcheck.driver_row``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from instances.adapters.base import AccountFacts, PasswordPolicy, Privilege
from instances.adapters.matching import holds
from instances.adapters.oracle import parse
from tests.instances.adapters import sqlcheck
from tests.instances.adapters.sqlcheck import ORACLE

USER = "ALICE"
GRANT_ANY = ["GRANT ANY PRIVILEGE", "GRANT ANY ROLE", "GRANT ANY OBJECT PRIVILEGE"]


def _row(tag: str, **values: Any) -> dict[str, Any]:
    return sqlcheck.driver_row(ORACLE, sqlcheck.by_tag(ORACLE, tag), **values)


def user(**changes: Any) -> dict[str, Any]:
    values = dict(
        USERNAME=USER, USER_ID=120, ACCOUNT_STATUS="OPEN", LOCK_DATE=None, EXPIRY_DATE=datetime(2030, 1, 1),
        DEFAULT_TABLESPACE="USERS", TEMPORARY_TABLESPACE="TEMP", PROFILE="DEFAULT", AUTHENTICATION_TYPE="PASSWORD",
        CREATED=datetime(2024, 1, 2, 3, 4), ORACLE_MAINTAINED="N",
    )  # fmt: skip
    values.update(changes)
    return _row("dba_users", **values)


def role(grantee: str, granted_role: str, admin: str = "NO") -> dict[str, Any]:
    return _row("dba_role_privs", GRANTEE=grantee, GRANTED_ROLE=granted_role, ADMIN_OPTION=admin, DEFAULT_ROLE="YES")


def system(grantee: str, privilege: str, admin: str = "NO") -> dict[str, Any]:
    return _row("dba_sys_privs", GRANTEE=grantee, PRIVILEGE=privilege, ADMIN_OPTION=admin)


def on_table(privilege: str = "SELECT", grantable: str = "NO") -> dict[str, Any]:
    return _row("dba_tab_privs", GRANTEE=USER, OWNER="APP", TABLE_NAME="ORDERS", PRIVILEGE=privilege,
                GRANTABLE=grantable)  # fmt: skip


def on_column(privilege: str = "UPDATE", grantable: str = "NO") -> dict[str, Any]:
    return _row("dba_col_privs", GRANTEE=USER, OWNER="APP", TABLE_NAME="CUSTOMERS", COLUMN_NAME="EMAIL",
                PRIVILEGE=privilege, GRANTABLE=grantable)  # fmt: skip


def pwfile(sysdba: str = "FALSE", sysoper: str = "FALSE") -> dict[str, Any]:
    return _row("v$pwfile_users", USERNAME=USER, SYSDBA=sysdba, SYSOPER=sysoper)


@dataclasses.dataclass
class Database:
    users: list[dict]
    role_privs: list[dict]
    sys_privs: list[dict]
    tab_privs: list[dict]
    col_privs: list[dict]
    pwfile: list[dict]

    def plus(self, **rows: dict) -> Database:
        """A copy with one more row in each named list (``role_privs=role(...)``)."""
        return dataclasses.replace(self, **{name: [*getattr(self, name), row] for name, row in rows.items()})

    def accounts(self) -> list[AccountFacts]:
        return parse.build_accounts(
            self.users, self.role_privs, self.sys_privs, self.tab_privs, self.col_privs, self.pwfile
        )

    def account(self) -> AccountFacts:
        (account,) = self.accounts()
        return account


def baseline(**user_changes: Any) -> Database:
    return Database([user(**user_changes)], [], [system(USER, "CREATE SESSION")], [], [], [])


def with_role(name: str) -> Callable[[], Database]:
    """Baseline plus a role ``name`` (holding nothing) granted to the user."""
    return lambda: baseline().plus(role_privs=role(USER, name))


def with_public_role() -> Database:
    """Baseline plus a role PUB (holding nothing) granted to PUBLIC."""
    return baseline().plus(role_privs=role("PUBLIC", "PUB"))


def without_create_session() -> Database:
    return Database([user()], [], [], [], [], [])


def _flips(base: Database, changed: Database, flag: str, before: bool) -> None:
    assert getattr(base.account(), flag) is before
    assert getattr(changed.account(), flag) is (not before)


def test_baseline_is_an_ordinary_user():
    account = baseline().account()
    assert not account.is_superuser and not account.can_grant and not account.is_locked and account.can_login
    assert account.roles == () and account.privileges == (Privilege("global", "CREATE SESSION"),)


# --- is_superuser -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "rows"),
    [
        pytest.param(baseline, {"role_privs": role(USER, "DBA")}, id="dba-role"),
        pytest.param(with_role("APP_ADMIN"), {"role_privs": role("APP_ADMIN", "DBA")}, id="dba-through-nested-role"),
        pytest.param(baseline, {"pwfile": pwfile(sysdba="TRUE")}, id="sysdba-in-password-file"),
    ],
)
def test_one_row_makes_a_superuser(base, rows):
    _flips(base(), base().plus(**rows), "is_superuser", before=False)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param({"pwfile": pwfile(sysoper="TRUE")}, id="sysoper-only"),
        pytest.param({"sys_privs": system(USER, "SELECT ANY TABLE")}, id="any-privilege-alone"),
        pytest.param({"role_privs": role(USER, "DBA_READER")}, id="other-role"),
    ],
)
def test_rows_that_do_not_make_a_superuser(rows):
    account = baseline().plus(**rows).account()
    assert not account.is_superuser


# --- can_grant --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "rows"),
    [
        pytest.param(baseline, {"role_privs": role(USER, "DBA")}, id="superuser"),
        pytest.param(baseline, {"role_privs": role(USER, "APP_READ", admin="YES")}, id="role-with-admin-option"),
        pytest.param(baseline, {"sys_privs": system(USER, "CREATE TABLE", admin="YES")},
                     id="system-privilege-with-admin-option"),
        pytest.param(baseline, {"tab_privs": on_table(grantable="YES")}, id="grantable-object-privilege"),
        pytest.param(baseline, {"col_privs": on_column(grantable="YES")}, id="grantable-column-privilege"),
        *[pytest.param(baseline, {"sys_privs": system(USER, p)}, id=f"{p}-directly") for p in GRANT_ANY],
        *[pytest.param(with_role("GRANTERS"), {"sys_privs": system("GRANTERS", p)}, id=f"{p}-through-a-role")
          for p in GRANT_ANY],
        *[pytest.param(baseline, {"sys_privs": system("PUBLIC", p)}, id=f"{p}-through-public") for p in GRANT_ANY],
        *[pytest.param(with_public_role, {"sys_privs": system("PUB", p)}, id=f"{p}-through-a-role-of-public")
          for p in GRANT_ANY],
    ],
)  # fmt: skip
def test_one_row_lets_the_user_grant(base, rows):
    _flips(base(), base().plus(**rows), "can_grant", before=False)


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param({"role_privs": role(USER, "APP_READ")}, id="role-without-admin-option"),
        pytest.param({"sys_privs": system(USER, "CREATE TABLE")}, id="system-privilege-without-admin-option"),
        pytest.param({"tab_privs": on_table()}, id="object-privilege-not-grantable"),
        pytest.param({"col_privs": on_column()}, id="column-privilege-not-grantable"),
        pytest.param({"sys_privs": system("OTHER_ROLE", "GRANT ANY ROLE")}, id="grant-any-of-an-unrelated-role"),
    ],
)
def test_rows_that_do_not_let_the_user_grant(rows):
    assert not baseline().plus(**rows).account().can_grant


# --- is_locked --------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    ["LOCKED", "LOCKED(TIMED)", "EXPIRED & LOCKED", "EXPIRED & LOCKED(TIMED)", "EXPIRED(GRACE) & LOCKED",
     "EXPIRED(GRACE) & LOCKED(TIMED)"],
)  # fmt: skip
def test_every_locked_status_locks(status):
    _flips(baseline(), baseline(ACCOUNT_STATUS=status, LOCK_DATE=datetime(2024, 5, 1)), "is_locked", before=False)


@pytest.mark.parametrize(("status", "in_grace"), [("EXPIRED", False), ("EXPIRED(GRACE)", True)])
def test_expiry_does_not_lock_and_is_noted(status, in_grace):
    account = baseline(ACCOUNT_STATUS=status).account()
    assert not account.is_locked
    assert account.snapshot["expired"] is True and account.snapshot["in_grace"] is in_grace
    assert baseline().account().snapshot["expired"] is False


# --- can_login --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "rows"),
    [
        pytest.param(without_create_session, {"sys_privs": system(USER, "CREATE SESSION")}, id="directly"),
        pytest.param(lambda: without_create_session().plus(role_privs=role(USER, "CONNECT")),
                     {"sys_privs": system("CONNECT", "CREATE SESSION")}, id="through-a-role"),
        pytest.param(lambda: without_create_session().plus(role_privs=role(USER, "APP")).plus(
                         role_privs=role("APP", "CONNECT_ROLE")),
                     {"sys_privs": system("CONNECT_ROLE", "CREATE SESSION")}, id="through-a-nested-role"),
        pytest.param(without_create_session, {"sys_privs": system("PUBLIC", "CREATE SESSION")}, id="through-public"),
        pytest.param(lambda: without_create_session().plus(role_privs=role("PUBLIC", "PUB")),
                     {"sys_privs": system("PUB", "CREATE SESSION")}, id="through-a-role-of-public"),
    ],
)  # fmt: skip
def test_create_session_lets_the_user_log_in(base, rows):
    _flips(base(), base().plus(**rows), "can_login", before=False)


def test_schema_only_account_cannot_log_in():
    _flips(baseline(), baseline(AUTHENTICATION_TYPE="NONE"), "can_login", before=True)


# --- which accounts, roles and privileges -------------------------------------------


def test_oracle_maintained_accounts_are_excluded():
    assert [a.username for a in baseline().accounts()] == [USER]
    assert baseline(ORACLE_MAINTAINED="Y").accounts() == []


def test_roles_are_the_transitive_closure():
    database = with_role("APP_READ")().plus(role_privs=role("APP_READ", "APP_BASE"))
    assert database.account().roles == ("APP_BASE", "APP_READ")
    assert database.account().snapshot["granted_roles"] == [
        {"role": "APP_READ", "admin_option": False, "default_role": True}
    ]


# --- effective privileges -----------------------------------------------------------


def role_chain(default: str = "YES") -> Database:
    """Baseline plus ALICE → APP_RW (default role or not) → APP_BASE."""
    granted = _row("dba_role_privs", GRANTEE=USER, GRANTED_ROLE="APP_RW", ADMIN_OPTION="NO", DEFAULT_ROLE=default)
    return baseline().plus(role_privs=granted).plus(role_privs=role("APP_RW", "APP_BASE"))


def test_a_system_privilege_of_a_role_of_a_role_is_effective_with_its_path():
    database = role_chain().plus(sys_privs=system("APP_BASE", "CREATE VIEW"), tab_privs=on_table("INSERT", "YES"))
    assert database.account().privileges == (
        Privilege("global", "CREATE SESSION"),
        Privilege("global", "CREATE VIEW", via=("APP_RW", "APP_BASE")),
        Privilege("object", "INSERT", "APP.ORDERS", grantable=True),
    )


def test_object_privileges_of_a_role_reach_the_user():
    grant = _row("dba_tab_privs", GRANTEE="APP_BASE", OWNER="APP", TABLE_NAME="ORDERS", PRIVILEGE="DELETE",
                 GRANTABLE="NO")  # fmt: skip
    account = role_chain().plus(tab_privs=grant).account()
    assert Privilege("object", "DELETE", "APP.ORDERS", via=("APP_RW", "APP_BASE")) in account.privileges


def test_admin_option_held_through_a_role_lets_the_user_grant():
    base = role_chain().plus(sys_privs=system("APP_BASE", "CREATE TABLE"))
    _flips(base, role_chain().plus(sys_privs=system("APP_BASE", "CREATE TABLE", admin="YES")), "can_grant", False)
    account = role_chain().plus(sys_privs=system("APP_BASE", "CREATE TABLE", admin="YES")).account()
    assert account.reasons["can_grant"] == ("CREATE TABLE on *.* WITH GRANT OPTION via APP_RW → APP_BASE",)


def test_admin_option_on_a_role_granted_to_a_held_role_lets_the_user_grant():
    _flips(role_chain(), role_chain().plus(role_privs=role("APP_RW", "OPS", admin="YES")), "can_grant", False)


def test_a_non_default_role_needs_set_role_and_is_not_counted():
    database = role_chain(default="NO").plus(sys_privs=system("APP_BASE", "GRANT ANY ROLE"))
    account = database.account()
    assert Privilege("global", "GRANT ANY ROLE", via=("APP_RW", "APP_BASE"), via_set_role=True) in account.privileges
    assert not account.can_grant
    assert role_chain().plus(sys_privs=system("APP_BASE", "GRANT ANY ROLE")).account().can_grant
    connect = _row("dba_role_privs", GRANTEE=USER, GRANTED_ROLE="CONNECT", ADMIN_OPTION="NO", DEFAULT_ROLE="NO")
    no_session = Database([user()], [connect], [system("CONNECT", "CREATE SESSION")], [], [], [])
    assert not no_session.account().can_login


def test_privileges_granted_to_public_reach_every_user_via_public():
    account = baseline().plus(sys_privs=system("PUBLIC", "CREATE SYNONYM")).account()
    assert Privilege("global", "CREATE SYNONYM", via=("PUBLIC",)) in account.privileges
    assert account.roles == ()


def test_reasons_for_superuser_and_lock():
    account = role_chain().plus(role_privs=role("APP_BASE", "DBA"), pwfile=pwfile(sysdba="TRUE")).account()
    assert account.reasons["is_superuser"] == ("role DBA via APP_RW → APP_BASE", "SYSDBA (password file)")
    assert baseline(ACCOUNT_STATUS="LOCKED").account().reasons == {"is_locked": ("ACCOUNT_STATUS LOCKED",)}


# --- implied privileges, asked through holds() (instances/adapters/matching/) -------------------
# Oracle Database SQL Language Reference, GRANT, "System Privileges": DELETE ANY TABLE "Delete rows
# from tables, table partitions, or views in any schema"; with O7_DICTIONARY_ACCESSIBILITY FALSE (the
# default) the ANY privileges do not reach objects in the SYS schema.
def delete_on(account: AccountFacts, target: str = "APP.ORDERS", **options: Any) -> list[Privilege]:
    return holds(account.privileges, "DELETE", "object", target, db_type="oracle", **options)


def test_delete_any_table_is_delete_on_every_table_but_sys_ones():
    account = baseline().plus(sys_privs=system(USER, "DELETE ANY TABLE")).account()
    assert Privilege("global", "DELETE", implied_by="any_privilege") in account.privileges
    assert delete_on(account) == [Privilege("global", "DELETE", implied_by="any_privilege")]
    assert delete_on(account, "SYS.AUD$") == []
    assert not delete_on(baseline().account())
    assert not account.can_grant  # an implied object privilege is not a grant option


def test_the_dba_role_implies_through_its_own_system_privileges():
    dba = baseline().plus(role_privs=role(USER, "DBA"), sys_privs=system("DBA", "DELETE ANY TABLE"))
    assert delete_on(dba.account()) == [Privilege("global", "DELETE", via=("DBA",), implied_by="any_privilege")]
    not_default = dataclasses.replace(dba, role_privs=[{**role(USER, "DBA"), "DEFAULT_ROLE": "NO"}])
    assert delete_on(not_default.account()) == []  # only after SET ROLE
    assert delete_on(not_default.account(), include_set_role=True)


@pytest.mark.parametrize(
    ("system_privilege", "object_privilege"),
    [("SELECT ANY TABLE", "SELECT"), ("INSERT ANY TABLE", "INSERT"), ("UPDATE ANY TABLE", "UPDATE"),
     ("ALTER ANY TABLE", "ALTER"), ("EXECUTE ANY PROCEDURE", "EXECUTE"), ("READ ANY TABLE", "READ")],
)  # fmt: skip
def test_any_privileges_imply_their_object_privilege(system_privilege, object_privilege):
    account = baseline().plus(sys_privs=system(USER, system_privilege)).account()
    assert holds(account.privileges, object_privilege, "column", "APP.ORDERS.ID", db_type="oracle")
    assert not holds(account.privileges, "DELETE", "object", "APP.ORDERS", db_type="oracle")


# --- password policy (DBA_PROFILES: PASSWORD_VERIFY_FUNCTION and the password limits) --------------
def profile(name: str, resource: str, limit: str) -> dict[str, Any]:
    return _row("dba_profiles", PROFILE=name, RESOURCE_NAME=resource, LIMIT=limit)


DEFAULT_PROFILE = [
    profile("DEFAULT", "PASSWORD_VERIFY_FUNCTION", "NULL"),
    profile("DEFAULT", "PASSWORD_LIFE_TIME", "180"),
    profile("DEFAULT", "FAILED_LOGIN_ATTEMPTS", "10"),
]


def policy_of(user_changes: dict, profiles: list[dict] | None) -> PasswordPolicy | None:
    base = baseline(**user_changes)
    (account,) = parse.build_accounts(base.users, base.role_privs, base.sys_privs, base.tab_privs, base.col_privs,
                                      base.pwfile, profiles=profiles)  # fmt: skip
    return account.password_policy


def test_a_profile_without_verify_function_does_not_enforce_a_policy():
    assert policy_of({}, DEFAULT_PROFILE) == PasswordPolicy(
        False, "profile DEFAULT has no PASSWORD_VERIFY_FUNCTION (PASSWORD_LIFE_TIME 180, FAILED_LOGIN_ATTEMPTS 10)")


def test_a_verify_function_enforces_it_and_default_limits_come_from_the_default_profile():
    strict = DEFAULT_PROFILE + [profile("APP", "PASSWORD_VERIFY_FUNCTION", "ORA12C_STRONG_VERIFY_FUNCTION"),
                                profile("APP", "PASSWORD_LIFE_TIME", "DEFAULT")]  # fmt: skip
    assert policy_of({"PROFILE": "APP"}, strict) == PasswordPolicy(
        True, "profile APP: PASSWORD_VERIFY_FUNCTION ORA12C_STRONG_VERIFY_FUNCTION; PASSWORD_LIFE_TIME 180, "
              "FAILED_LOGIN_ATTEMPTS 10")  # fmt: skip
    inherits = DEFAULT_PROFILE[1:] + [profile("DEFAULT", "PASSWORD_VERIFY_FUNCTION", "VERIFY_X"),
                                      profile("APP", "PASSWORD_VERIFY_FUNCTION", "DEFAULT")]  # fmt: skip
    assert policy_of({"PROFILE": "APP"}, inherits).enforced is True


@pytest.mark.parametrize(
    ("authentication", "reason"),
    [("EXTERNAL", "authenticated EXTERNAL: the password is not Oracle's"),
     ("GLOBAL", "authenticated GLOBAL: the password is not Oracle's"),
     ("NONE", "schema-only account (AUTHENTICATION_TYPE NONE): no password")],
)  # fmt: skip
def test_users_without_an_oracle_password_have_no_policy_to_tell(authentication, reason):
    assert policy_of({"AUTHENTICATION_TYPE": authentication}, DEFAULT_PROFILE) == PasswordPolicy(None, reason)


def test_profiles_not_read_leave_the_policy_unknown():
    assert policy_of({}, None) == PasswordPolicy(None, "DBA_PROFILES was not read")
