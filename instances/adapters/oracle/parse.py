"""Pure functions: Oracle catalog rows (dicts keyed by upper-case column name) → dataclasses.

No driver and no ORM here, so every rule is testable from recorded rows.

Account summary rules (documented in docs/adapters_sqlserver_oracle.md):

- ``privileges``: effective privileges — system (global), object and column
  privileges granted to the user and to every role it reaches (DBA_ROLE_PRIVS
  role → role chains, and PUBLIC, which every user holds), each with its path
  (``via``). Roles granted to the user count when they are DEFAULT roles
  (enabled at login); a non-default role needs ``SET ROLE``: its privileges are
  listed with ``via_set_role`` and not counted. A role granted to a role is
  enabled with it. ADMIN OPTION (system privileges) and GRANTABLE (object
  privileges) make a privilege ``grantable``, through roles too. Object
  privileges of Oracle-maintained roles, and PUBLIC's on Oracle-maintained users'
  objects (the dictionary), are not read (the role names show in ``roles``); their
  system privileges are. PUBLIC's on other users' objects are.
- Implied privileges: an "… ANY …" system privilege that acts as an object
  privilege on every table or procedure (``ANY_PRIVILEGES``: DELETE ANY TABLE →
  DELETE, …) adds that privilege globally, ``implied_by`` ``any_privilege``,
  held like the system privilege (directly or through roles: the DBA role's
  come through its own system privileges). ``instances.adapters.matching.holds``
  keeps them off SYS's objects.
- Ownership: a user that owns objects (DBA_OBJECTS) holds ``ALL`` on its own schema
  (``schema`` level, target the user name, grantable, ``implied_by`` ``owner``): an object's
  owner has every object privilege on it and may grant it. ``ALL`` below the global level gives
  object privileges only (``instances.adapters.matching.ORACLE_OBJECT_PRIVILEGES``), never a
  system privilege. Not counted for ``can_grant``.
- ``is_superuser``: holds the DBA role (directly or through nested roles,
  default roles) or SYSDBA in the password file (V$PWFILE_USERS). "… ANY …"
  system privileges alone do not make a superuser; they are listed.
- ``can_grant``: superuser; ADMIN OPTION on a role held by the user or by a
  role it holds; any counted privilege that is grantable; or GRANT ANY
  PRIVILEGE / GRANT ANY ROLE / GRANT ANY OBJECT PRIVILEGE counted.
- ``is_locked``: ACCOUNT_STATUS contains LOCKED (LOCKED, LOCKED(TIMED),
  EXPIRED & LOCKED, …). Expiry is noted in the snapshot (``expired``,
  ``in_grace``), it does not lock.
- ``can_login``: CREATE SESSION counted and AUTHENTICATION_TYPE is not NONE
  (18c+ schema-only accounts).
- ``password_policy``: enforced when the user's profile (DBA_PROFILES; a
  ``DEFAULT`` limit is the DEFAULT profile's) has a PASSWORD_VERIFY_FUNCTION,
  the reason naming it and the password limits; null for EXTERNAL, GLOBAL and
  schema-only (NONE) users.
- ``roles``: every role granted to the user directly or inherited through
  role→role grants (default or not; not the roles of PUBLIC).

Oracle-maintained accounts (ORACLE_MAINTAINED='Y') are excluded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, PasswordPolicy, Privilege, TableSize
from instances.adapters.parsing import (
    RoleEdge,
    RoleGraph,
    counted,
    effective_privileges,
    json_safe,
    privilege_label,
    reasons_dict,
    sorted_privileges,
    via_label,
)

Row = Mapping[str, Any]

# Tablespaces that belong to the engine, not to applications.
SYSTEM_TABLESPACES = frozenset({"SYSTEM", "SYSAUX"})
_GRANT_ANY = {"GRANT ANY PRIVILEGE", "GRANT ANY ROLE", "GRANT ANY OBJECT PRIVILEGE"}
PUBLIC = "PUBLIC"
ANY_PRIVILEGE = "any_privilege"
OWNER = "owner"
# Oracle Database SQL Language Reference, GRANT, "System Privileges": the ANY privileges that act as
# an object privilege on every table, view or procedure of every schema (except SYS's, while
# O7_DICTIONARY_ACCESSIBILITY is FALSE, the default: instances/adapters/matching/). Targets carry
# no object type, so the sequence and type variants (SELECT ANY SEQUENCE, EXECUTE ANY TYPE, …) are
# not mapped: they would answer for tables and procedures too.
ANY_PRIVILEGES = {
    "SELECT ANY TABLE": "SELECT", "INSERT ANY TABLE": "INSERT", "UPDATE ANY TABLE": "UPDATE",
    "DELETE ANY TABLE": "DELETE", "ALTER ANY TABLE": "ALTER", "READ ANY TABLE": "READ",
    "FLASHBACK ANY TABLE": "FLASHBACK", "CREATE ANY INDEX": "INDEX", "EXECUTE ANY PROCEDURE": "EXECUTE",
    "DEBUG ANY PROCEDURE": "DEBUG",
}  # fmt: skip


@dataclass(frozen=True)
class TablespaceSize(DatabaseSize):
    """A tablespace's size in bytes and where it was read.

    ``source="dba"``: ``size_bytes``/``data_bytes`` = allocated data-file bytes
    (DBA_DATA_FILES), ``used_bytes`` = bytes in segments (DBA_SEGMENTS).
    ``source="user_segments"`` (DBA views denied): all three are the bytes of
    the connected user's own segments only, and ``complete`` is False.
    ``log_bytes`` is None: redo logs belong to the instance, not a tablespace.
    """

    used_bytes: int | None = None
    source: str = "dba"
    complete: bool = True


@dataclass(frozen=True)
class SegmentTableSize(TableSize):
    """A table's segment bytes in one tablespace (table + its index and LOB segments there).

    ``source`` is ``dba_segments`` or ``user_segments`` (fallback: the
    connected user's tables only, ``complete`` False).
    """

    lob_bytes: int | None = None
    source: str = "dba_segments"
    complete: bool = True






def parse_version(rows: Iterable[Row], driver_version: str | None = None) -> str:
    """``<product> <version>`` from PRODUCT_COMPONENT_VERSION, else the driver-reported version."""
    for row in rows:
        return f"{row['PRODUCT'].strip()} {row['VERSION']}"
    return driver_version or ""


def _yes(value: Any) -> bool:
    return str(value or "").strip().upper() in {"YES", "Y", "TRUE"}


def parse_tablespaces(rows: Iterable[Row]) -> list[DatabaseInfo]:
    """PERMANENT tablespaces except SYSTEM/SYSAUX (UNDO and TEMPORARY are not data)."""
    return [
        DatabaseInfo(name=row["TABLESPACE_NAME"])
        for row in rows
        if row["CONTENTS"] == "PERMANENT" and row["TABLESPACE_NAME"] not in SYSTEM_TABLESPACES
    ]


def parse_tablespace_sizes(
    tablespaces: Iterable[DatabaseInfo],
    data_files: Iterable[Row] | None,
    segments: Iterable[Row],
    *,
    source: str = "dba",
) -> list[TablespaceSize]:
    """Bytes per inventoried tablespace; ``data_files`` None on the user_segments fallback."""
    used = {row["TABLESPACE_NAME"]: int(row["BYTES"] or 0) for row in segments}
    allocated = None if data_files is None else {row["TABLESPACE_NAME"]: int(row["BYTES"] or 0) for row in data_files}
    sizes = []
    for tablespace in tablespaces:
        used_bytes = used.get(tablespace.name, 0)
        size = used_bytes if allocated is None else allocated.get(tablespace.name, 0)
        sizes.append(
            TablespaceSize(
                name=tablespace.name,
                size_bytes=size,
                data_bytes=size,
                log_bytes=None,
                used_bytes=used_bytes,
                source=source,
                complete=allocated is not None,
            )
        )
    return sizes


def parse_table_sizes(rows: Iterable[Row], *, source: str = "dba_segments") -> list[SegmentTableSize]:
    """Per-table segment bytes (schema = owner); ``row_count`` is NUM_ROWS (None if never analysed)."""
    return [
        SegmentTableSize(
            schema=row["OWNER"],
            table=row["TABLE_NAME"],
            size_bytes=int(row["BYTES"] or 0),
            data_bytes=int(row["DATA_BYTES"] or 0),
            index_bytes=int(row["INDEX_BYTES"] or 0),
            lob_bytes=int(row["LOB_BYTES"] or 0),
            row_count=None if row.get("NUM_ROWS") is None else int(row["NUM_ROWS"]),
            source=source,
            complete=source == "dba_segments",
        )
        for row in rows
    ]


def grants_by_grantee(sys_privs: Iterable[Row], tab_privs: Iterable[Row], col_privs: Iterable[Row]):
    """Grantee (user, role or PUBLIC) → the privileges granted to it directly; an ``… ANY …``
    system privilege also gives its object privilege on every object (``ANY_PRIVILEGES``)."""
    grants: dict[str, list[Privilege]] = defaultdict(list)
    for row in sys_privs:
        grants[row["GRANTEE"]].append(Privilege("global", row["PRIVILEGE"], grantable=_yes(row["ADMIN_OPTION"])))
        implied = ANY_PRIVILEGES.get(row["PRIVILEGE"])
        if implied:
            grants[row["GRANTEE"]].append(Privilege("global", implied, implied_by=ANY_PRIVILEGE))
    for row in tab_privs:
        target = f"{row['OWNER']}.{row['TABLE_NAME']}"
        grants[row["GRANTEE"]].append(Privilege("object", row["PRIVILEGE"], target, _yes(row["GRANTABLE"])))
    for row in col_privs:
        target = f"{row['OWNER']}.{row['TABLE_NAME']}.{row['COLUMN_NAME']}"
        grants[row["GRANTEE"]].append(Privilege("column", row["PRIVILEGE"], target, _yes(row["GRANTABLE"])))
    return grants


def role_graph(role_privs: Iterable[Row], usernames: set[str]) -> RoleGraph:
    """A user holds a granted role when it is a DEFAULT role, else may SET ROLE to it; a role
    (and PUBLIC) holds the roles granted to it; every user holds PUBLIC."""
    edges = [RoleEdge(name, PUBLIC) for name in usernames]
    for row in role_privs:
        grantee, admin = row["GRANTEE"], _yes(row["ADMIN_OPTION"])
        if grantee in usernames:
            edges.append(RoleEdge(grantee, row["GRANTED_ROLE"], _yes(row["DEFAULT_ROLE"]), True, admin))
        else:
            edges.append(RoleEdge(grantee, row["GRANTED_ROLE"], True, False, admin))
    return RoleGraph(edges)


def _status_snapshot(user: Row) -> dict[str, Any]:
    status = str(user["ACCOUNT_STATUS"] or "")
    keys = (
        "USER_ID", "ACCOUNT_STATUS", "LOCK_DATE", "EXPIRY_DATE", "DEFAULT_TABLESPACE", "TEMPORARY_TABLESPACE",
        "PROFILE", "AUTHENTICATION_TYPE", "CREATED",
    )  # fmt: skip
    snapshot = {key.lower(): json_safe(user.get(key)) for key in keys}
    snapshot["expired"] = "EXPIRED" in status
    snapshot["in_grace"] = "GRACE" in status
    snapshot["locked"] = "LOCKED" in status
    return snapshot


def _granted_roles_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {"role": r["GRANTED_ROLE"], "admin_option": _yes(r["ADMIN_OPTION"]), "default_role": _yes(r["DEFAULT_ROLE"])}
        for r in sorted(rows, key=lambda r: r["GRANTED_ROLE"])
    ]


def _by_grantee(rows: Iterable[Row]) -> dict[str, list[Row]]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["GRANTEE"]].append(row)
    return grouped


# the password limits named in a policy's reason (DBA_PROFILES, RESOURCE_TYPE PASSWORD), in this order
PASSWORD_LIMITS = (
    "PASSWORD_LIFE_TIME", "PASSWORD_GRACE_TIME", "PASSWORD_REUSE_TIME", "PASSWORD_REUSE_MAX",
    "FAILED_LOGIN_ATTEMPTS", "PASSWORD_LOCK_TIME", "INACTIVE_ACCOUNT_TIME", "PASSWORD_ROLLOVER_TIME",
)  # fmt: skip


def profile_limits(rows: Iterable[Row]) -> dict[str, dict[str, str]]:
    """DBA_PROFILES rows → profile → {resource: limit}."""
    profiles: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        profiles[row["PROFILE"]][row["RESOURCE_NAME"]] = str(row["LIMIT"]) if row["LIMIT"] is not None else "NULL"
    return profiles


def password_policy(user: Row, profiles: Mapping[str, Mapping[str, str]] | None) -> PasswordPolicy:
    """The user's profile checks new passwords when it has a PASSWORD_VERIFY_FUNCTION (a value of
    DEFAULT is the DEFAULT profile's); the reason names the function and the password limits.
    Users without a password Oracle checks (EXTERNAL, GLOBAL, schema-only NONE): null."""
    authentication = str(user.get("AUTHENTICATION_TYPE") or "PASSWORD")
    if authentication == "NONE":
        return PasswordPolicy(None, "schema-only account (AUTHENTICATION_TYPE NONE): no password")
    if authentication != "PASSWORD":
        return PasswordPolicy(None, f"authenticated {authentication}: the password is not Oracle's")
    if not profiles:
        return PasswordPolicy(None, "DBA_PROFILES was not read")
    profile = str(user.get("PROFILE") or "DEFAULT")

    def limit(resource: str) -> str | None:
        value = profiles.get(profile, {}).get(resource)
        return profiles.get("DEFAULT", {}).get(resource) if value in (None, "DEFAULT") else value

    limits = ", ".join(f"{resource} {value}" for resource in PASSWORD_LIMITS if (value := limit(resource)))
    verify = limit("PASSWORD_VERIFY_FUNCTION")
    if verify and verify.upper() not in ("NULL", "DEFAULT"):
        return PasswordPolicy(True, f"profile {profile}: PASSWORD_VERIFY_FUNCTION {verify}; {limits}")
    return PasswordPolicy(False, f"profile {profile} has no PASSWORD_VERIFY_FUNCTION ({limits})")


def build_accounts(
    users: Iterable[Row],
    role_privs: Iterable[Row],
    sys_privs: Iterable[Row],
    tab_privs: Iterable[Row],
    col_privs: Iterable[Row],
    pwfile_users: Iterable[Row],
    *,
    profiles: Iterable[Row] | None = None,
    owners: Iterable[str] = (),
) -> list[AccountFacts]:
    """One AccountFacts per non-Oracle-maintained user (see module doc for the rules);
    ``profiles``: DBA_PROFILES rows (None: not read, the password policy is null); ``owners``: the
    users that own objects (``OBJECT_OWNERS``)."""
    users = [user for user in users if str(user.get("ORACLE_MAINTAINED") or "N") != "Y"]
    role_privs = list(role_privs)
    role_rows = _by_grantee(role_privs)
    graph = role_graph(role_privs, {user["USERNAME"] for user in users})
    grants = grants_by_grantee(sys_privs, tab_privs, col_privs)
    pwfile = {row["USERNAME"]: row for row in pwfile_users}
    limits = None if profiles is None else profile_limits(profiles)
    owning = frozenset(owners)
    return [_account(user, graph, grants, role_rows.get(user["USERNAME"], []), pwfile, password_policy(user, limits),
                     owner=user["USERNAME"] in owning)
            for user in users]  # fmt: skip


def _account(user: Row, graph: RoleGraph, grants, own_roles: list[Row], pwfile: Mapping[str, Row],
             policy: PasswordPolicy | None = None, *, owner: bool = False) -> AccountFacts:  # fmt: skip
    name = user["USERNAME"]
    reach = graph.reach(name)
    privileges = effective_privileges(name, graph, grants, reach)
    if owner:  # every object privilege on the objects of its own schema, which it may grant
        privileges.append(Privilege("schema", "ALL", name, True, implied_by=OWNER))
    held = counted(privileges)
    held_roles = [r for r in reach if not r.set_role]
    sysdba = _yes(pwfile.get(name, {}).get("SYSDBA"))
    superuser = [f"role DBA{via_label(r.via[:-1])}" for r in held_roles if r.role == "DBA"]
    superuser += ["SYSDBA (password file)"] * sysdba
    grant_reasons = list(superuser)
    grant_reasons += graph.admin_reasons(name, reach)
    # what ownership implies is not counted (every owner could grant on its own objects)
    grant_reasons += [privilege_label(p) for p in held
                      if (p.grantable and p.implied_by != OWNER) or p.privilege in _GRANT_ANY]  # fmt: skip
    session = [privilege_label(p) for p in held if p.level == "global" and p.privilege == "CREATE SESSION"]
    snapshot = _status_snapshot(user)
    snapshot.update(
        sysdba=sysdba, sysoper=_yes(pwfile.get(name, {}).get("SYSOPER")), granted_roles=_granted_roles_json(own_roles)
    )
    return AccountFacts(
        username=name,
        host="",
        is_superuser=bool(superuser),
        can_grant=bool(grant_reasons),
        is_locked=snapshot["locked"],
        can_login=bool(session) and user.get("AUTHENTICATION_TYPE") != "NONE",
        roles=tuple(sorted({r.role for r in reach if r.via[0] != PUBLIC})),
        privileges=sorted_privileges(privileges),
        snapshot=snapshot,
        reasons=reasons_dict(
            is_superuser=superuser,
            can_grant=grant_reasons,
            is_locked=[f"ACCOUNT_STATUS {user['ACCOUNT_STATUS']}"] * snapshot["locked"],
        ),
        password_policy=policy,
    )
