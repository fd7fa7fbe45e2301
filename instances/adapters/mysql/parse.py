"""Pure functions: MySQL/MariaDB catalog rows → frozen dataclasses (no driver, no ORM).

Rows are dicts keyed by the column names of the queries in ``sql.py``.
Privileges are read from the privilege TABLES (``mysql.user``/``db``/
``tables_priv``/``columns_priv``), never by parsing SHOW GRANTS text.

Definitions (also in docs/adapters.md):

- An account is a ``mysql.user`` row that is not a role. MariaDB roles have
  ``is_role='Y'``; MySQL 8 roles are the accounts that appear as the granted
  side of ``mysql.role_edges`` (a role never granted to anyone is listed as a
  locked account, MySQL stores no other marker).
- ``roles``: every role the account holds, directly or through other roles.
- ``privileges``: grants made to the account itself (roles' grants are not
  copied in; they are reachable through ``roles``).
- ``is_superuser``: ``Super_priv='Y'`` at global level, held directly or by a
  role the account holds (a granted role can be enabled with SET ROLE at any time).
- ``can_grant``: ``Grant_priv``/``Grant`` at any level (global, database,
  table; column grants carry the table's), a dynamic privilege WITH GRANT
  OPTION, or a role held WITH ADMIN OPTION — directly or through a role.
- ``is_locked``: ``ACCOUNT LOCK`` (MariaDB global_priv JSON ``account_locked``,
  MySQL ``account_locked='Y'``); ``can_login`` is its negation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, Privilege, TableSize

Row = Mapping[str, Any]
Key = tuple[str, str]  # (user, host)

# Privilege column → GRANT name. Grant_priv is not a privilege: it is the grant option.
_PRIV_NAMES = {
    "Create_tmp_table_priv": "CREATE TEMPORARY TABLES",
    "Show_db_priv": "SHOW DATABASES",
    "Repl_slave_priv": "REPLICATION SLAVE",
    "Repl_client_priv": "REPLICATION CLIENT",
    "Delete_history_priv": "DELETE HISTORY",
}
_NOT_PRIVILEGES = {"Grant_priv"}
_LEVEL_ORDER = {"global": 0, "database": 1, "object": 2, "column": 3}


def privilege_name(column: str) -> str:
    """``Create_view_priv`` → ``CREATE VIEW``; the few irregular names come from ``_PRIV_NAMES``."""
    return _PRIV_NAMES.get(column) or column.removesuffix("_priv").replace("_", " ").upper()


def _yes(value: Any) -> bool:
    return str(value).strip().upper() in {"Y", "TRUE", "1"}


def _set_items(value: Any) -> list[str]:
    """A SET column ('Select,Insert,Grant') as its items; PyMySQL may return str or set."""
    if isinstance(value, set | frozenset | list | tuple):
        return sorted(str(item) for item in value if item)
    return [item for item in str(value or "").split(",") if item]


def _priv_columns(row: Row) -> list[str]:
    return [name for name in row if name.endswith("_priv") and name not in _NOT_PRIVILEGES and _yes(row[name])]


@dataclass
class _Grants:
    """Per (user, host) facts gathered from all privilege tables."""

    privileges: list[Privilege] = field(default_factory=list)
    has_grant_option: bool = False


def _collect_grants(users, db_privs, table_privs, column_privs, dynamic_privs) -> dict[Key, _Grants]:
    grants: dict[Key, _Grants] = defaultdict(_Grants)
    for row in users:
        entry, grantable = grants[(row["User"], row["Host"])], _yes(row.get("Grant_priv"))
        entry.has_grant_option |= grantable
        entry.privileges += [Privilege("global", privilege_name(c), "", grantable) for c in _priv_columns(row)]
    for row in dynamic_privs:
        entry, grantable = grants[(row["USER"], row["HOST"])], _yes(row["WITH_GRANT_OPTION"])
        entry.has_grant_option |= grantable
        entry.privileges.append(Privilege("global", str(row["PRIV"]).upper(), "", grantable))
    for row in db_privs:
        entry, grantable = grants[(row["User"], row["Host"])], _yes(row.get("Grant_priv"))
        entry.has_grant_option |= grantable
        entry.privileges += [Privilege("database", privilege_name(c), row["Db"], grantable) for c in _priv_columns(row)]
    table_grant_option: set[tuple[str, str, str, str]] = set()
    for row in table_privs:
        items = _set_items(row["Table_priv"])
        grantable = "Grant" in items
        if grantable:
            table_grant_option.add((row["User"], row["Host"], row["Db"], row["Table_name"]))
        entry, target = grants[(row["User"], row["Host"])], f"{row['Db']}.{row['Table_name']}"
        entry.has_grant_option |= grantable
        entry.privileges += [Privilege("object", i.upper(), target, grantable) for i in items if i != "Grant"]
    for row in column_privs:
        grantable = (row["User"], row["Host"], row["Db"], row["Table_name"]) in table_grant_option
        target = f"{row['Db']}.{row['Table_name']}.{row['Column_name']}"
        grants[(row["User"], row["Host"])].privileges += [
            Privilege("column", item.upper(), target, grantable) for item in _set_items(row["Column_priv"])
        ]
    return grants


@dataclass(frozen=True)
class RoleGrant:
    """``grantee`` holds ``role`` (both (user, host) keys); engine-neutral form of both role tables."""

    grantee: Key
    role: Key
    admin_option: bool


def mariadb_role_grants(rows: Iterable[Row]) -> list[RoleGrant]:
    """``mysql.roles_mapping`` rows; roles are keyed (name, '') as in ``mysql.user``."""
    return [RoleGrant((r["User"], r["Host"]), (r["Role"], ""), _yes(r["Admin_option"])) for r in rows]


def mysql_role_grants(rows: Iterable[Row]) -> list[RoleGrant]:
    """``mysql.role_edges`` rows: FROM is the role, TO the grantee."""
    return [
        RoleGrant((r["TO_USER"], r["TO_HOST"]), (r["FROM_USER"], r["FROM_HOST"]), _yes(r["WITH_ADMIN_OPTION"]))
        for r in rows
    ]


def role_label(key: Key, *, mariadb: bool) -> str:
    """A role's display name: MariaDB roles are host-less; MySQL 8 adds ``@host`` unless it is '%'."""
    user, host = key
    return user if mariadb or host in ("", "%") else f"{user}@{host}"


def _closure(start: Key, edges: Mapping[Key, list[RoleGrant]]) -> list[RoleGrant]:
    """Every role grant reachable from ``start`` (transitive membership), each once."""
    seen: set[Key] = set()
    reached: list[RoleGrant] = []
    todo = [start]
    while todo:
        for grant in edges.get(todo.pop(), []):
            if grant.role not in seen:
                seen.add(grant.role)
                reached.append(grant)
                todo.append(grant.role)
    return reached


def _is_role(row: Row, role_keys: set[Key]) -> bool:
    if "is_role" in row:
        return _yes(row["is_role"])
    return (row["User"], row["Host"]) in role_keys


def _sorted(privileges: list[Privilege]) -> tuple[Privilege, ...]:
    return tuple(sorted(set(privileges), key=lambda p: (_LEVEL_ORDER.get(p.level, 9), p.target, p.privilege)))


def parse_accounts(
    users: Iterable[Row],
    db_privs: Iterable[Row] = (),
    table_privs: Iterable[Row] = (),
    column_privs: Iterable[Row] = (),
    role_grants: Iterable[RoleGrant] = (),
    default_roles: Iterable[Row] = (),
    dynamic_privs: Iterable[Row] = (),
    *,
    mariadb: bool,
) -> list[AccountFacts]:
    """One ``AccountFacts`` per non-role account, sorted by (username, host). See the module docstring."""
    users = list(users)
    role_grants = list(role_grants)
    grants = _collect_grants(users, db_privs, table_privs, column_privs, dynamic_privs)
    edges: dict[Key, list[RoleGrant]] = defaultdict(list)
    for grant in role_grants:
        edges[grant.grantee].append(grant)
    role_keys = {grant.role for grant in role_grants}
    supers = {(row["User"], row["Host"]) for row in users if _yes(row.get("Super_priv"))}
    defaults: dict[Key, list[str]] = defaultdict(list)
    for row in default_roles:
        role = (row["DEFAULT_ROLE_USER"], row["DEFAULT_ROLE_HOST"])
        defaults[(row["USER"], row["HOST"])].append(role_label(role, mariadb=mariadb))
    accounts = []
    for row in users:
        if _is_role(row, role_keys):
            continue
        key = (row["User"], row["Host"])
        held = _closure(key, edges)
        holders = [key] + [grant.role for grant in held]
        locked = _yes(row.get("account_locked") or "N")
        accounts.append(
            AccountFacts(
                username=row["User"],
                host=row["Host"],
                is_superuser=any(k in supers for k in holders),
                can_grant=any(grants[k].has_grant_option for k in holders if k in grants)
                or any(g.admin_option for g in held),
                is_locked=locked,
                can_login=not locked,
                roles=tuple(sorted({role_label(g.role, mariadb=mariadb) for g in held})),
                privileges=_sorted(grants[key].privileges) if key in grants else (),
                snapshot=_snapshot(row, edges.get(key, []), defaults.get(key), mariadb=mariadb),
            )
        )
    return sorted(accounts, key=lambda a: (a.username, a.host))


def _snapshot(row: Row, direct: list[RoleGrant], default_roles: list[str] | None, *, mariadb: bool) -> dict:
    """Engine-native, JSON-serialisable detail (never a password hash)."""
    snapshot: dict[str, Any] = {
        "engine": "mariadb" if mariadb else "mysql",
        "plugin": row.get("plugin") or "",
        "password_expired": _yes(row.get("password_expired") or "N"),
        "account_locked": _yes(row.get("account_locked") or "N"),
        "direct_roles": [{"role": role_label(g.role, mariadb=mariadb), "admin_option": g.admin_option} for g in direct],
    }
    if mariadb:
        snapshot["default_role"] = row.get("default_role") or ""
        if row.get("access") is not None:
            snapshot["access"] = int(row["access"])
    else:
        snapshot["default_roles"] = sorted(default_roles or [])
    return snapshot


def parse_databases(rows: Iterable[Row]) -> list[DatabaseInfo]:
    """``DATABASES`` rows → DatabaseInfo (system schemas already filtered by the query)."""
    return [DatabaseInfo(name=row["name"]) for row in rows]


def parse_database_sizes(rows: Iterable[Row]) -> list[DatabaseSize]:
    """``DATABASE_SIZES`` rows → bytes; size = data + index, data = DATA_LENGTH sum. No log on MySQL."""
    sizes = []
    for row in rows:
        data, index = int(row["data_bytes"] or 0), int(row["index_bytes"] or 0)
        sizes.append(DatabaseSize(name=row["name"], size_bytes=data + index, data_bytes=data))
    return sizes


def parse_table_sizes(rows: Iterable[Row]) -> list[TableSize]:
    """``TABLE_SIZES`` rows → bytes; schema = the database; row_count None where unknown."""
    tables = []
    for row in rows:
        data, index = int(row["data_bytes"] or 0), int(row["index_bytes"] or 0)
        rows_estimate = row.get("row_count")
        tables.append(
            TableSize(
                schema=row["table_schema"],
                table=row["table_name"],
                size_bytes=data + index,
                data_bytes=data,
                index_bytes=index,
                row_count=None if rows_estimate is None else int(rows_estimate),
            )
        )
    return tables
