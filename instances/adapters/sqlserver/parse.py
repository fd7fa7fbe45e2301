"""Pure functions: SQL Server catalog rows (dicts keyed by column name) → dataclasses.

No driver and no ORM here, so every rule is testable from recorded rows.

Account summary rules (documented in docs/adapters_sqlserver_oracle.md):

- ``privileges``: effective permissions — those granted or denied to the login,
  to its server roles (nested roles included, and ``public``, which every login
  holds), to its mapped database users (by SID) and to their database roles
  (nested, and the database's ``public``), each with its path (``via``; database
  roles as ``<database>.<role>``). Fixed roles carry the permissions their
  documentation gives them (``FIXED_SERVER_ROLES``, ``FIXED_DATABASE_ROLES``),
  each ``implied_by`` the role: ``sysadmin`` CONTROL SERVER and ``ALL`` (any
  activity, DENY never applies), ``db_owner`` CONTROL and ``ALL`` on the
  database (DENY applies), ``db_datareader`` SELECT, … An explicit CONTROL
  SERVER adds ``ALL`` global ``implied_by`` ``control_server`` (DENY applies);
  the database user ``dbo`` (the owner's login) holds ``ALL`` on its database
  ``implied_by`` ``dbo`` (DENY never applies). The owner of a schema, or of an object with an
  owner of its own (``sys.schemas`` / ``sys.objects.principal_id``), holds CONTROL on it,
  ``implied_by`` ``owner`` (DENY never applies); a role's ownership passes to its members like a
  grant; what dbo owns is left to its ``ALL``. Not modelled: a DENY on an object with an owner of
  its own does not reach its schema's owner through the schema's CONTROL (it is not that object's
  owner, and the DENY may apply); whether a DENY applies to the members of an owning role is not
  documented. **DENY beats GRANT**: a GRANT is not
  effective when the same permission is denied, through any path, on the same
  securable or on one containing it (database ⊃ schema ⊃ object ⊃ column; an
  object-level DENY does not beat a column-level GRANT, as documented); only
  the DENY is listed. ``public``'s permissions on system objects (negative
  object ids, granted in every database) are left out. SQL Server has no SET
  ROLE for these roles: every path counts.
- ``is_superuser``: member of ``sysadmin`` (directly or through nested server
  roles), or an effective CONTROL SERVER (granted to the login, one of its
  server roles or ``public`` and not denied to any of them).
- ``can_grant``: superuser, member of ``securityadmin``, member of
  ``db_owner``/``db_securityadmin`` in some database, or any effective
  permission WITH GRANT OPTION that was granted (not one a fixed role implies).
- ``is_locked``: ``is_disabled`` or LOGINPROPERTY ``IsLocked`` (lockout by
  password policy). ``can_login``: CONNECT SQL is not denied.
- ``password_policy``: SQL logins: ``sys.sql_logins.is_policy_checked``
  (CHECK_POLICY), the reason naming CHECK_EXPIRATION too; Windows and Entra ID
  logins: null (their passwords are not SQL Server's).
- ``roles``: server roles (``sysadmin``) and database roles as
  ``<database>.<role>``, both including roles inherited through nested roles
  (``public`` is implicit and not listed).

Not covered: membership of Windows groups (resolved by Active Directory, not
the catalog), contained-database users without a login, and permissions
implied by others than CONTROL / CONTROL SERVER (``ALTER ANY SCHEMA`` ⇒ ALTER
on each schema, …), owners of other securables than schemas and schema-contained objects
(certificates, assemblies, …), ownership chains. CONTROL
itself is listed once; ``instances.adapters.matching.holds`` counts it as every
permission on its securable, and applies DENY as SQL Server does.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, PasswordPolicy, Privilege, TableSize
from instances.adapters.matching import BYPASS_DENY, is_kind_named, target_parts
from instances.adapters.parsing import (
    RoleEdge,
    RoleGraph,
    effective_privileges,
    json_safe,
    privilege_label,
    reasons_dict,
    sorted_privileges,
    via_label,
)
from instances.adapters.sqlserver.roles import (
    CONTROL_SERVER,
    DBO,
    FIXED_DATABASE_ROLES,
    FIXED_SERVER_ROLES,
    GUEST,
    OWNER,
    PUBLIC,
)

Row = Mapping[str, Any]

_STATES = {"G": ("GRANT", False), "W": ("GRANT", True), "D": ("DENY", False)}
_GRANTING_DB_ROLES = {"db_owner", "db_securityadmin"}
_USER_TYPES = {"S", "U", "G", "E", "X", "C", "K"}
#: logins mapped to a certificate or an asymmetric key: they sign code, they never open a session
_NO_SESSION_TYPES = {"C", "K"}


@dataclass(frozen=True)
class DatabaseSecurityRows:
    """The four per-database catalog reads for one database."""

    principals: list[Row]
    role_members: list[Row]
    permissions: list[Row]
    ownerships: list[Row] = dataclasses.field(default_factory=list)


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


def _privilege_json(privilege: Privilege) -> dict[str, Any]:
    return {
        "level": privilege.level,
        "privilege": privilege.privilege,
        "target": privilege.target,
        "state": privilege.state,
        "grantable": privilege.grantable,
    }


def _edges(role_members: Iterable[Row], members: Iterable[str]) -> RoleGraph:
    """Role memberships (every one counts: no SET ROLE) plus the implicit ``public`` of each member."""
    edges = [RoleEdge(row["member_name"], row["role_name"], True, False) for row in role_members]
    return RoleGraph(edges + [RoleEdge(name, PUBLIC, True, False) for name in members])


@dataclass(frozen=True)
class _DatabaseView:
    """One database's security catalog: users by SID, role graph, grants by principal."""

    name: str
    users_by_sid: dict[str, Row]
    graph: RoleGraph
    grants: dict[str, list[Privilege]]
    guest: Row | None = None  # the guest user when it may CONNECT: a login without a user enters as it


def _database_view(name: str, rows: DatabaseSecurityRows) -> _DatabaseView:
    users = {
        str(row["sid"]).upper(): row
        for row in rows.principals
        if row["type"] in _USER_TYPES and row.get("sid") and str(row["sid"]) != "00"
    }
    grants: dict[str, list[Privilege]] = defaultdict(list)
    for row in rows.permissions:
        privilege = database_privilege(name, row)
        # public's grants on system objects (negative ids) come with every database
        if privilege is not None and not (row["grantee_name"] == PUBLIC and int(row["major_id"] or 0) < 0):
            grants[row["grantee_name"]].append(privilege)
    for role, implied in FIXED_DATABASE_ROLES.items():
        grants[role] += [Privilege("database", permission, name, grantable, state, implied_by=role)
                         for state, permission, grantable in implied]  # fmt: skip
    grants[DBO].append(Privilege("database", "ALL", name, True, implied_by=DBO))
    for row in rows.ownerships:
        target = ".".join(part for part in (name, row["schema_name"], row["object_name"]) if part)
        grants[row["owner_name"]].append(Privilege(row["level"], "CONTROL", target, True, implied_by=OWNER))
    guest = next((row for row in rows.principals if row["name"] == GUEST and row["type"] == "S"), None)
    connect = {p.state for p in grants.get(GUEST, ()) if p.level == "database" and p.privilege == "CONNECT"}
    if connect != {"GRANT"}:  # disabled: REVOKE CONNECT FROM guest (a new user database's default) or DENY
        guest = None
    graph = _edges(rows.role_members, [row["name"] for row in users.values()] + ([GUEST] if guest else []))
    return _DatabaseView(name, users, graph, grants, guest)


def _covers(deny: Privilege, grant: Privilege) -> bool:
    """Does ``deny`` (same permission) apply to ``grant``'s securable? Server permissions: the
    same target; database ones: the same or a containing securable, except object → column. A
    ``KIND::name`` securable (a certificate, a database principal …) contains nothing, and its
    database contains it (``matching.covers``, which ``holds`` applies to the same entries)."""
    if "global" in (deny.level, grant.level) or is_kind_named(target_parts(deny.target)[-1]):
        return deny.level == grant.level and deny.target == grant.target
    if deny.level == "object" and grant.level == "column":
        return False
    return grant.target == deny.target or grant.target.startswith(deny.target + ".")


def deny_beats_grant(privileges: list[Privilege]) -> list[Privilege]:
    """The privileges without the GRANTs that a DENY of the same permission covers (never what
    sysadmin, dbo or an owner hold: DENY does not apply to them)."""
    denies: dict[str, list[Privilege]] = defaultdict(list)
    for p in privileges:
        if p.state == "DENY":
            denies[p.privilege].append(p)
    return [p for p in privileges if p.state == "DENY" or p.implied_by in BYPASS_DENY
            or not any(_covers(d, p) for d in denies[p.privilege])]  # fmt: skip


def _server_snapshot(principal: Row, direct_roles: list[str], own: list[Privilege]) -> dict[str, Any]:
    keys = (
        "principal_id", "type", "type_desc", "sid", "is_disabled", "is_locked_out", "is_expired",
        "is_policy_checked", "is_expiration_checked", "default_database_name", "create_date", "modify_date",
    )  # fmt: skip
    snapshot = {key: json_safe(principal.get(key)) for key in keys}
    snapshot["server_roles"] = sorted(direct_roles)
    snapshot["server_permissions"] = [_privilege_json(p) for p in own]
    return snapshot


def _database_facts(sid: str, views: Iterable[_DatabaseView], *, connects: bool):
    """Effective database privileges (via ``db.role``), roles (``db.role``), snapshot and the
    granting roles held (``db.db_owner``) of one login over every database it is a user in — or,
    without a user there, that it enters as the guest user when guest may connect (``connects``: a
    login that can open a session; via ``db.guest``)."""
    privileges: list[Privilege] = []
    roles: list[str] = []
    snapshot: dict[str, Any] = {}
    granting: list[str] = []
    for view in views:
        user = view.users_by_sid.get(sid)
        as_guest = user is None and view.guest is not None and connects
        if as_guest:
            user = view.guest
        elif user is None:
            continue
        reach = view.graph.reach(user["name"])
        for p in effective_privileges(user["name"], view.graph, view.grants, reach):
            via = tuple(f"{view.name}.{role}" for role in ((GUEST, *p.via) if as_guest else p.via))
            privileges.append(Privilege(p.level, p.privilege, p.target, p.grantable, p.state, via,
                                        implied_by=p.implied_by))  # fmt: skip
        user_roles = sorted(r.role for r in reach if r.role != PUBLIC)
        roles += [f"{view.name}.{role}" for role in user_roles]
        granting += [f"member of {view.name}.{r.role}{via_label([f'{view.name}.{x}' for x in r.via[:-1]])}"
                     for r in reach if r.role in _GRANTING_DB_ROLES]  # fmt: skip
        snapshot[view.name] = {
            "user": user["name"],
            **({"guest": True} if as_guest else {}),
            "type": user["type"],
            "default_schema": user.get("default_schema_name"),
            "roles": sorted(str(e.role) for e in view.graph.direct(user["name"]) if e.role != PUBLIC),
            # granted ones: what ownership implies is not a catalog row
            "permissions": [_privilege_json(p) for p in view.grants.get(user["name"], []) if p.implied_by != OWNER],
        }
    return privileges, roles, snapshot, granting


def build_accounts(
    principals: Iterable[Row],
    role_members: Iterable[Row],
    server_permissions: Iterable[Row],
    databases: Mapping[str, DatabaseSecurityRows],
) -> list[AccountFacts]:
    """One AccountFacts per login, combining server and per-database catalog rows (see module doc)."""
    principals = list(principals)
    graph = _edges(role_members, [p["name"] for p in principals])
    grants: dict[str, list[Privilege]] = defaultdict(list)
    for row in server_permissions:
        privilege = server_privilege(row)
        if privilege is not None:
            grants[row["grantee_name"]].append(privilege)
            if privilege.privilege == "CONTROL SERVER" and privilege.state == "GRANT":
                # every permission, but DENY still applies (unlike sysadmin)
                grants[row["grantee_name"]].append(
                    Privilege("global", "ALL", "", privilege.grantable, implied_by=CONTROL_SERVER)
                )
    for role, implied in FIXED_SERVER_ROLES.items():
        grants[role] += [Privilege("global", permission, "", grantable, state, implied_by=role)
                         for state, permission, grantable in implied]  # fmt: skip
    views = [_database_view(name, rows) for name, rows in sorted(databases.items())]
    return [_account(principal, graph, grants, views) for principal in principals]


def password_policy(principal: Row) -> PasswordPolicy:
    """A SQL login's ``sys.sql_logins.is_policy_checked`` (CHECK_POLICY: the Windows password
    policy of the host, applied by SQL Server) with ``is_expiration_checked``; other logins have no
    password SQL Server checks: null."""
    kind = str(principal.get("type") or "").strip()
    if kind in ("U", "G"):
        return PasswordPolicy(None, "Windows login: its password and policy are Windows' (Active Directory)")
    if kind in ("E", "X"):
        return PasswordPolicy(None, "Microsoft Entra ID login: its password and policy are Entra ID's")
    checked = principal.get("is_policy_checked")
    if kind != "S" or checked is None:
        return PasswordPolicy(None, "sys.sql_logins reports no CHECK_POLICY for this login")
    expiration = "ON" if principal.get("is_expiration_checked") else "OFF"
    if checked:
        return PasswordPolicy(True, f"CHECK_POLICY ON (the host's Windows password policy), "
                                    f"CHECK_EXPIRATION {expiration}")  # fmt: skip
    return PasswordPolicy(False, f"CHECK_POLICY OFF: the password is not checked (CHECK_EXPIRATION {expiration})")


def _account(principal: Row, graph: RoleGraph, grants, views: list[_DatabaseView]) -> AccountFacts:
    name = principal["name"]
    reach = graph.reach(name)
    connects = str(principal.get("type") or "").strip() not in _NO_SESSION_TYPES
    db_privileges, db_roles, db_snapshot, granting = _database_facts(str(principal["sid"]).upper(), views,
                                                                     connects=connects)  # fmt: skip
    privileges = deny_beats_grant(effective_privileges(name, graph, grants, reach) + db_privileges)
    member_of = {r.role: r.via[:-1] for r in reach}
    superuser = [f"member of sysadmin{via_label(member_of['sysadmin'])}"] if "sysadmin" in member_of else []
    # sysadmin's own CONTROL SERVER is already named by its membership
    superuser += [privilege_label(p) for p in privileges if p.privilege == "CONTROL SERVER"
                  and p.state == "GRANT" and p.via[-1:] != ("sysadmin",)]  # fmt: skip
    grant_reasons = list(superuser)
    if "securityadmin" in member_of:
        grant_reasons.append(f"member of securityadmin{via_label(member_of['securityadmin'])}")
    # the fixed roles' implied grant options are named by their membership (or not counted: db_accessadmin)
    grant_reasons += granting + [privilege_label(p) for p in privileges
                                 if p.grantable and p.state == "GRANT" and p.implied_by is None]  # fmt: skip
    locked = ["disabled"] * bool(principal["is_disabled"]) + ["locked out (password policy)"] * bool(
        principal.get("is_locked_out")
    )
    snapshot = _server_snapshot(principal, [str(e.role) for e in graph.direct(name) if e.role != PUBLIC],
                                grants.get(name, []))  # fmt: skip
    snapshot["databases"] = db_snapshot
    return AccountFacts(
        username=name,
        host="",
        is_superuser=bool(superuser),
        can_grant=bool(grant_reasons),
        is_locked=bool(locked),
        can_login=not any(p.privilege == "CONNECT SQL" and p.state == "DENY" for p in privileges),
        roles=tuple(sorted(str(r.role) for r in reach if r.role != PUBLIC)) + tuple(db_roles),
        privileges=sorted_privileges(privileges),
        snapshot=snapshot,
        reasons=reasons_dict(is_superuser=superuser, can_grant=grant_reasons, is_locked=locked),
        password_policy=password_policy(principal),
    )
