"""Pure functions: SQL Server catalog rows (dicts keyed by column name) → dataclasses.

No driver and no ORM here, so every rule is testable from recorded rows.

Account summary rules (documented in docs/adapters_sqlserver_oracle.md):

- ``is_superuser``: member of ``sysadmin`` (directly or through nested server
  roles), or CONTROL SERVER granted to the login, one of its server roles or
  ``public`` and not denied to any of them.
- ``can_grant``: superuser, member of ``securityadmin``, member of
  ``db_owner``/``db_securityadmin`` in some database, or holding any
  permission WITH GRANT OPTION.
- ``is_locked``: ``is_disabled`` or LOGINPROPERTY ``IsLocked`` (lockout by
  password policy). ``can_login``: CONNECT SQL is not denied.
- ``roles``: server roles (``sysadmin``) and database roles as
  ``<database>.<role>``, both including roles inherited through nested roles.
- ``privileges``: permissions granted or denied *directly* to the login and to
  its mapped database users. Permissions held through roles are represented by
  the role names, not copied onto every member.

Not covered: membership of Windows groups (resolved by Active Directory, not
the catalog) and contained-database users without a login.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, Privilege, TableSize
from instances.adapters.parsing import json_safe, role_closure

Row = Mapping[str, Any]

_STATES = {"G": ("GRANT", False), "W": ("GRANT", True), "D": ("DENY", False)}
_GRANTING_DB_ROLES = {"db_owner", "db_securityadmin"}
_USER_TYPES = {"S", "U", "G", "E", "X", "C", "K"}


@dataclass(frozen=True)
class DatabaseSecurityRows:
    """The three per-database catalog reads for one database."""

    principals: list[Row]
    role_members: list[Row]
    permissions: list[Row]






def parse_version(row: Row) -> str:
    """``ProductVersion (Edition)``, e.g. ``15.0.2000.5 (Developer Edition (64-bit))``."""
    version = str(row["product_version"])
    return f"{version} ({row['edition']})" if row.get("edition") else version


def parse_databases(rows: Iterable[Row]) -> list[DatabaseInfo]:
    """ONLINE user databases, in catalog order."""
    return [DatabaseInfo(name=row["name"]) for row in rows]


def parse_database_sizes(rows: Iterable[Row]) -> list[DatabaseSize]:
    """Sizes in bytes: data (ROWS files) + log files = total; pages already × 8192 in SQL."""
    sizes = []
    for row in rows:
        data, log = int(row["data_bytes"] or 0), int(row["log_bytes"] or 0)
        sizes.append(DatabaseSize(name=row["name"], size_bytes=data + log, data_bytes=data, log_bytes=log))
    return sizes


def parse_table_sizes(rows: Iterable[Row]) -> list[TableSize]:
    """Per-table reserved size (bytes), data (heap/clustered), nonclustered index bytes, rows."""
    return [
        TableSize(
            schema=row["schema_name"],
            table=row["table_name"],
            size_bytes=int(row["reserved_bytes"] or 0),
            data_bytes=int(row["data_bytes"] or 0),
            index_bytes=int(row["index_bytes"] or 0),
            row_count=int(row["row_count"] or 0),
        )
        for row in rows
    ]


def _state(row: Row) -> tuple[str, bool] | None:
    # 'R' (REVOKE) is a legacy state that grants nothing; skip it.
    return _STATES.get(str(row["state"]).strip())


def server_privilege(row: Row) -> Privilege | None:
    """One sys.server_permissions row as a Privilege (None for legacy REVOKE rows)."""
    state = _state(row)
    if state is None:
        return None
    klass = int(row["class"])
    if klass == 100:
        level, target = "global", ""
    elif klass == 101:
        level, target = "object", f"SERVER_PRINCIPAL::{row['principal_target']}"
    elif klass == 105:
        level, target = "object", f"ENDPOINT::{row['endpoint_target']}"
    else:
        level, target = "object", f"{row['class_desc']}::{row['major_id']}"
    return Privilege(level=level, privilege=row["permission_name"], target=target, grantable=state[1], state=state[0])


def database_privilege(database: str, row: Row) -> Privilege | None:
    """One sys.database_permissions row as a Privilege with a ``db[.schema[.object[.column]]]`` target."""
    state = _state(row)
    if state is None:
        return None
    klass = int(row["class"])
    if klass == 0:
        level, target = "database", database
    elif klass == 1 and int(row["minor_id"] or 0) > 0:
        level = "column"
        target = f"{database}.{row['object_schema']}.{row['object_name']}.{row['column_name']}"
    elif klass == 1:
        level, target = "object", f"{database}.{row['object_schema']}.{row['object_name']}"
    elif klass == 3:
        level, target = "schema", f"{database}.{row['schema_name']}"
    else:
        level, target = "object", f"{database}.{row['class_desc']}::{row['major_id']}"
    return Privilege(level=level, privilege=row["permission_name"], target=target, grantable=state[1], state=state[0])


def _grouped(rows: Iterable[Row], key: str, value: str) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        grouped[row[key]].add(row[value])
    return grouped


def _privilege_json(privilege: Privilege) -> dict[str, Any]:
    return {
        "level": privilege.level,
        "privilege": privilege.privilege,
        "target": privilege.target,
        "state": privilege.state,
        "grantable": privilege.grantable,
    }


@dataclass(frozen=True)
class _DatabaseView:
    """One database's security catalog, indexed for mapping logins by SID."""

    name: str
    users_by_sid: dict[str, Row]
    direct_roles: dict[str, set[str]]
    roles: dict[str, set[str]]
    privileges: dict[str, list[Privilege]]


def _database_view(name: str, rows: DatabaseSecurityRows) -> _DatabaseView:
    users = {
        str(row["sid"]).upper(): row
        for row in rows.principals
        if row["type"] in _USER_TYPES and row.get("sid") and str(row["sid"]) != "00"
    }
    direct = _grouped(rows.role_members, "member_name", "role_name")
    privileges: dict[str, list[Privilege]] = defaultdict(list)
    for row in rows.permissions:
        privilege = database_privilege(name, row)
        if privilege is not None:
            privileges[row["grantee_name"]].append(privilege)
    return _DatabaseView(name, users, direct, role_closure(direct), privileges)


def _database_facts(sid: str, views: Iterable[_DatabaseView]) -> tuple[list[str], list[Privilege], dict, bool]:
    """Roles (``db.role``), direct privileges, snapshot and 'can grant in a database' for one login."""
    roles: list[str] = []
    privileges: list[Privilege] = []
    snapshot: dict[str, Any] = {}
    grants = False
    for view in views:
        user = view.users_by_sid.get(sid)
        if user is None:
            continue
        user_name = user["name"]
        user_roles = view.roles.get(user_name, set())
        user_privileges = view.privileges.get(user_name, [])
        roles.extend(f"{view.name}.{role}" for role in sorted(user_roles))
        privileges.extend(user_privileges)
        grants = grants or bool(user_roles & _GRANTING_DB_ROLES)
        snapshot[view.name] = {
            "user": user_name,
            "type": user["type"],
            "default_schema": user.get("default_schema_name"),
            "roles": sorted(view.direct_roles.get(user_name, set())),
            "permissions": [_privilege_json(p) for p in user_privileges],
        }
    return roles, privileges, snapshot, grants


def _has_effective(privileges: Iterable[Privilege], permission: str) -> bool:
    """Granted to at least one of the principals and denied to none of them."""
    states = {p.state for p in privileges if p.privilege == permission and p.level == "global"}
    return "GRANT" in states and "DENY" not in states


def _server_snapshot(principal: Row, direct_roles: set[str], own: list[Privilege]) -> dict[str, Any]:
    keys = (
        "principal_id", "type", "type_desc", "sid", "is_disabled", "is_locked_out", "is_expired",
        "is_policy_checked", "is_expiration_checked", "default_database_name", "create_date", "modify_date",
    )  # fmt: skip
    snapshot = {key: json_safe(principal.get(key)) for key in keys}
    snapshot["server_roles"] = sorted(direct_roles)
    snapshot["server_permissions"] = [_privilege_json(p) for p in own]
    return snapshot


def build_accounts(
    principals: Iterable[Row],
    role_members: Iterable[Row],
    server_permissions: Iterable[Row],
    databases: Mapping[str, DatabaseSecurityRows],
) -> list[AccountFacts]:
    """One AccountFacts per login, combining server and per-database catalog rows (see module doc)."""
    direct_server_roles = _grouped(role_members, "member_name", "role_name")
    server_roles = role_closure(direct_server_roles)
    server_privileges: dict[str, list[Privilege]] = defaultdict(list)
    for row in server_permissions:
        privilege = server_privilege(row)
        if privilege is not None:
            server_privileges[row["grantee_name"]].append(privilege)
    views = [_database_view(name, rows) for name, rows in sorted(databases.items())]

    accounts = []
    for principal in principals:
        name = principal["name"]
        roles = server_roles.get(name, set())
        effective = [p for grantee in {name, "public", *roles} for p in server_privileges.get(grantee, [])]
        own = server_privileges.get(name, [])
        db_roles, db_privileges, db_snapshot, grants_in_db = _database_facts(str(principal["sid"]).upper(), views)
        privileges = tuple(own + db_privileges)
        is_superuser = "sysadmin" in roles or _has_effective(effective, "CONTROL SERVER")
        connect_denied = any(p.privilege == "CONNECT SQL" and p.state == "DENY" for p in effective)
        snapshot = _server_snapshot(principal, direct_server_roles.get(name, set()), own)
        snapshot["databases"] = db_snapshot
        accounts.append(
            AccountFacts(
                username=name,
                host="",
                is_superuser=is_superuser,
                can_grant=is_superuser
                or "securityadmin" in roles
                or grants_in_db
                or any(p.grantable for p in privileges),
                is_locked=bool(principal["is_disabled"]) or bool(principal.get("is_locked_out")),
                can_login=not connect_denied,
                roles=tuple(sorted(roles)) + tuple(db_roles),
                privileges=privileges,
                snapshot=snapshot,
            )
        )
    return accounts
