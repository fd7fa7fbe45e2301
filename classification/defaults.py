"""The default rule set (loaded by migration 0004, ``no_password_policy`` by 0010; editable
afterwards): one classification per risk, one rule per engine. Plain data: the migrations and
the tests read it."""

from __future__ import annotations


def _any_privilege(*names: str) -> dict:
    rules = [{"fn": "has_privilege", "privilege": name} for name in names]
    return rules[0] if len(rules) == 1 else {"op": "or", "args": rules}


_LOCKED_OR_NO_LOGIN = {"op": "or", "args": [{"fn": "is_locked"}, {"op": "not", "args": [{"fn": "can_login"}]}]}
_NOT_PUBLIC = {"op": "not", "args": [{"fn": "username_matches", "pattern": "PUBLIC"}]}

#: code → (name, risk level, colour (whalefall.charts.PALETTE: told apart on the charts), priority,
#: description, {db_type: rule})
CLASSIFICATIONS: dict[str, tuple[str, str, str, int, str, dict[str, dict]]] = {
    "superuser": (
        "Superuser", "critical", "#D55E00", 100,
        "Bypasses every permission check (MySQL SUPER/ALL on *.*, PostgreSQL rolsuper, SQL Server sysadmin "
        "or CONTROL SERVER, Oracle DBA or SYSDBA).",
        {db: {"fn": "is_superuser"} for db in ("mysql", "postgresql", "sqlserver", "oracle")},
    ),
    "can_grant": (
        "Can grant", "high", "#E69F00", 90,
        "Can give privileges or roles to others (grant/admin option, CREATEROLE, securityadmin, GRANT ANY …).",
        {db: {"fn": "can_grant"} for db in ("mysql", "postgresql", "sqlserver", "oracle")},
    ),
    "ddl_anywhere": (
        "DDL anywhere", "high", "#CC79A7", 80,
        "Can create, alter or drop objects (at any level).",
        {
            "mysql": _any_privilege("CREATE", "ALTER", "DROP"),
            "postgresql": {"op": "and", "args": [_NOT_PUBLIC, _any_privilege("CREATE")]},
            "sqlserver": _any_privilege(
                "CONTROL", "ALTER", "ALTER ANY DATABASE", "CREATE ANY DATABASE", "ALTER ANY SCHEMA", "CREATE TABLE"
            ),
            "oracle": _any_privilege(
                "CREATE ANY TABLE", "ALTER ANY TABLE", "DROP ANY TABLE", "CREATE ANY PROCEDURE", "DROP ANY PROCEDURE"
            ),
        },
    ),
    "write_delete": (
        "Write or delete data", "medium", "#0072B2", 70,
        "Can insert, update or delete rows in some database.",
        {
            "mysql": _any_privilege("INSERT", "UPDATE", "DELETE"),
            "postgresql": {"op": "and", "args": [_NOT_PUBLIC, _any_privilege("INSERT", "UPDATE", "DELETE")]},
            "sqlserver": _any_privilege("INSERT", "UPDATE", "DELETE", "CONTROL"),
            "oracle": _any_privilege(
                "INSERT ANY TABLE", "UPDATE ANY TABLE", "DELETE ANY TABLE", "INSERT", "UPDATE", "DELETE"
            ),
        },
    ),
    "public_grants": (
        "Granted to PUBLIC", "medium", "#56B4E9", 60,
        "Privileges every role holds through PUBLIC beyond PostgreSQL's defaults (CONNECT, TEMPORARY): "
        "the PUBLIC pseudo-account may create or write.",
        {
            "postgresql": {
                "op": "and",
                "args": [
                    {"fn": "username_matches", "pattern": "PUBLIC"},
                    _any_privilege("CREATE", "INSERT", "UPDATE", "DELETE", "TRUNCATE"),
                ],
            },
        },
    ),
    "no_password_policy": (
        "No password policy", "medium", "#009E73", 50,
        "A login whose new passwords the engine does not check against a policy, where the engine says so "
        "(SQL Server CHECK_POLICY OFF, an Oracle profile without PASSWORD_VERIFY_FUNCTION, MySQL without "
        "validate_password, MariaDB without a password-check plugin, PostgreSQL without passwordcheck); "
        "logins the engine cannot tell about (no password, Windows or external) never match.",
        {db: {"op": "and", "args": [{"fn": "can_login"}, {"fn": "password_policy", "enforced": False}]}
         for db in ("mysql", "postgresql", "sqlserver", "oracle")},
    ),
    "locked_or_no_login": (
        "Locked or cannot log in", "low", "#6c757d", 20,
        "Locked, or unable to log in (an expired password where the engine reports it so, CONNECT SQL denied).",
        {
            "mysql": _LOCKED_OR_NO_LOGIN,
            "postgresql": {"op": "and", "args": [_NOT_PUBLIC, _LOCKED_OR_NO_LOGIN]},
            "sqlserver": _LOCKED_OR_NO_LOGIN,
            "oracle": _LOCKED_OR_NO_LOGIN,
        },
    ),
}
