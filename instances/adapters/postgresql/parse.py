"""Pure functions: PostgreSQL catalog rows → frozen dataclasses (no driver, no ORM).

Rows are dicts keyed by the column names of the queries in ``sql.py``.

Definitions (also in docs/adapters.md):

- Accounts are login roles (``rolcanlogin``). Group roles (NOLOGIN) are not
  accounts; they appear in the ``roles`` of their members. ``ALTER ROLE …
  NOLOGIN`` therefore turns an account into a group role, and it leaves the list.
- ``roles``: every role the account is a member of, directly or through other
  roles (membership, whatever the INHERIT setting — PG 16+: whatever the
  grants' INHERIT and SET options; ``pg_has_role … 'MEMBER'``, tested live).
- ``privileges``: effective privileges — the role's own grants and those of
  every role it reaches, each with its path (``via``): database privileges on
  every database, tablespace privileges and (PG 15+) parameter privileges, schema / table /
  sequence / function / type / language / foreign-data wrapper / foreign server / column
  privileges and default privileges (``DEFAULT <priv> ON TABLES FOR ROLE <creator>``) of every
  database read. A
  membership passes privileges on when it inherits (PG 16+: the grant's
  INHERIT option; before: the member's ``rolinherit``); one that does not is
  reachable by ``SET ROLE`` (PG 16+: when the grant has the SET option):
  listed with ``via_set_role``, not counted.
- Implied privileges (``implied_by``): a superuser holds ``ALL`` on everything
  (``superuser``; a member of a superuser role only by ``SET ROLE`` to it, as
  ``rolsuper`` is never inherited); an owner holds ``ALL`` on each database,
  schema and table it owns (``owner``) — or, when it revoked some from itself,
  what its own ACL entry still has; on anything else (sequences, functions, types,
  languages, wrappers, servers, tablespaces) its own entry's privileges by name — and
  passes it to its members like a
  grant; what ``pg_database_owner`` owns or is granted in a database (PG 14+)
  belongs to that database's owner (path ``… → pg_database_owner``; before
  PG 16 by ``SET ROLE`` only when the owner is NOINHERIT: that implicit
  membership inherits like any other then — PG 15's has_schema_privilege);
  ``pg_read_all_data`` / ``pg_write_all_data`` / ``pg_maintain`` hold their
  documented privileges globally. A superuser nobody is a member of holds no
  owner entries: its ``ALL`` covers them. The answer of
  ``instances.adapters.matching.holds`` over these equals ``has_*_privilege``
  (tested live).
- ``is_locked``: the password has expired (``rolvaliduntil`` in the past), so
  password logins are refused; ``can_login`` is its negation.
- ``is_superuser``: ``rolsuper`` (the attribute is not inherited).
- ``password_policy``: enforced when the passwordcheck module is loaded
  (``shared_preload_libraries``), not when it is not; null when the setting is
  not visible to the monitoring login (it needs superuser or
  pg_read_all_settings) or when pg_authid is readable and the role has no
  password. Without pg_authid (the documented monitor) whether a role has a
  password is unknown: the reason says so.
- ``can_grant``: ``rolsuper`` or ``rolcreaterole`` or any counted privilege
  WITH GRANT OPTION (held through inherited roles too) or ADMIN OPTION on a
  role, held by the login or by a role it inherits. Implied entries are not
  counted (an owner's implicit grant options would make every owner a grantor).
- Grants to PUBLIC (database and object level) are never attributed to a
  user: they form one pseudo-account ``PUBLIC`` (``can_login`` false) — see
  ``public_pseudo_account``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, PasswordPolicy, Privilege, TableSize
from instances.adapters.parsing import (
    RoleEdge,
    RoleGraph,
    effective_privileges,
    privilege_label,
    reasons_dict,
    snapshot_interner,
    sorted_privileges,
)
from instances.adapters.postgresql.acl import privileges_by_grantee

Row = Mapping[str, Any]
PUBLIC = "PUBLIC"
SUPERUSER = "superuser"
# PostgreSQL documentation, "Predefined Roles": what these roles give on every table and schema
# (pg_read_all_data / pg_write_all_data: PG 14+, "as if having SELECT [INSERT, UPDATE, DELETE]
# rights on those objects, and USAGE rights on all schemas"; pg_maintain: PG 17+)
PREDEFINED_ROLES = {
    "pg_read_all_data": ("SELECT", "USAGE"),
    "pg_write_all_data": ("INSERT", "UPDATE", "DELETE", "USAGE"),
    "pg_maintain": ("MAINTAIN",),
}


def membership_graph(rows: Iterable[Row], roles: Mapping[int, Row]) -> RoleGraph:
    """``MEMBERSHIPS`` edges (member → role by oid) as a role graph; ``roles``: oid → ``ACCOUNTS``
    row. Without PG 16's per-grant options, the member's ``rolinherit`` decides and SET ROLE is allowed."""
    edges = []
    for row in rows:
        member, role = roles.get(row["member"]), roles.get(row["roleid"])
        if member is None or role is None:  # dropped between the two statements
            continue
        inherit = row["inherit_option"] if "inherit_option" in row else member["rolinherit"]
        edges.append(RoleEdge(member["rolname"], role["rolname"], bool(inherit), bool(row.get("set_option", True)),
                              bool(row["admin_option"])))  # fmt: skip
    return RoleGraph(edges)


def parse_accounts(
    role_rows: Iterable[Row],
    database_rows: Iterable[Row] = (),
    objects_by_database: Mapping[str, Iterable[Row]] | None = None,
    *,
    shared_object_rows: Iterable[Row] = (),
    membership_rows: Iterable[Row] = (),
    database_owners: Mapping[str, str] | None = None,
    password_check: Mapping[str, Any] | None = None,
    per_grant_options: bool | None = None,
) -> list[AccountFacts]:
    """One ``AccountFacts`` per login role, sorted by name, plus ``PUBLIC`` when it holds
    grants. ``role_rows``: every role (``ACCOUNTS``); ``shared_object_rows``: tablespaces' and
    parameters' (``SHARED_OBJECT_PRIVILEGES``); ``database_owners``: database → owner
    (``OBJECT_DATABASES``); ``per_grant_options``: the server has PG 16's per-grant INHERIT and
    SET options (None: as the membership rows show, ``MEMBERSHIPS_16``'s or not). See the module
    docstring."""
    role_rows, membership_rows = list(role_rows), list(membership_rows)
    graph = membership_graph(membership_rows, {row["oid"]: row for row in role_rows})
    superusers = frozenset(row["rolname"] for row in role_rows if row["rolsuper"])
    # before PG 16 (no per-grant options) a database owner's implicit membership of
    # pg_database_owner inherits like any membership then: only when the owner has rolinherit
    # (PG 16+: always)
    per_grant = per_grant_options
    if per_grant is None:
        per_grant = any("inherit_option" in row for row in membership_rows)
    set_role_owners = frozenset() if per_grant else frozenset(r["rolname"] for r in role_rows if not r["rolinherit"])
    grants, public = privileges_by_grantee(database_rows, objects_by_database or {}, database_owners,
                                           superusers - graph.granted_roles(), set_role_owners,
                                           shared_object_rows)  # fmt: skip
    names = {row["rolname"] for row in role_rows}
    for name, held in PREDEFINED_ROLES.items():
        if name in names:
            grants[name] += [Privilege("global", privilege, implied_by=name) for privilege in held]
    memo: dict = {}
    names_with_password = (password_check or {}).get("with_password")
    with_password = None if names_with_password is None else frozenset(names_with_password)
    # a role's policy depends only on whether it has a password: two policies for the whole listing
    policies: dict[bool, PasswordPolicy] = {}

    def policy_of(name: str) -> PasswordPolicy:
        has_password = with_password is None or name in with_password
        if has_password not in policies:
            policies[has_password] = password_policy(password_check, name, with_password)
        return policies[has_password]

    closures: dict[str, frozenset[str]] = {}
    member_of: dict[tuple, tuple[str, ...]] = {}
    intern = snapshot_interner()
    accounts = [_account(row, graph, grants, memo, (closures, member_of), superusers, policy_of(row["rolname"]),
                         intern) for row in role_rows if row["rolcanlogin"]]  # fmt: skip
    if public:
        accounts.append(public_pseudo_account(public))
    return sorted(accounts, key=lambda a: a.username)


def _libraries(setting: str) -> set[str]:
    """The library names of a ``shared_preload_libraries`` value (``'$libdir/passwordcheck', x.so``)."""
    names = set()
    for item in setting.split(","):
        name = item.strip().strip('"').rsplit("/", 1)[-1]
        names.add(name.removesuffix(".so"))
    return names


def password_policy(check: Mapping[str, Any] | None, role: str, with_password: frozenset[str] | None) -> PasswordPolicy:
    """Whether the server checks the role's new passwords: the passwordcheck module loaded
    (``shared_preload_libraries``), for a role with a password (pg_authid, when readable)."""
    if check is None:
        return PasswordPolicy(None, "the password policy was not read")
    if with_password is not None and role not in with_password:
        return PasswordPolicy(None, "no password (pg_authid): it logs in by other means, if at all")
    unknown = "" if with_password is not None else " (whether it has a password is not visible without pg_authid)"
    libraries = check.get("shared_preload_libraries")
    if libraries is None:
        return PasswordPolicy(
            None,
            "shared_preload_libraries is not visible to the monitoring login (superuser or "
            "pg_read_all_settings needed), so whether passwordcheck is loaded is unknown",
        )
    if "passwordcheck" in _libraries(libraries):
        return PasswordPolicy(
            True,
            "passwordcheck is loaded (shared_preload_libraries): a password set in clear "
            "text is checked, a pre-encrypted one is not" + unknown,
        )
    return PasswordPolicy(False, "passwordcheck is not loaded (shared_preload_libraries): passwords are not checked"
                          + unknown)  # fmt: skip


def _superuser(name: str, superuser: bool, graph: RoleGraph, reach, superusers: frozenset[str]) -> list[Privilege]:
    """``ALL`` on everything for a superuser; for a member of a superuser role only by ``SET ROLE``
    to it (``rolsuper`` is never inherited), along a chain of grants that allow it."""
    implied = [Privilege("global", "ALL", "", True, implied_by=SUPERUSER)] if superuser else []
    for r in reach:
        if r.role in superusers:
            path = graph.set_path(name, r.role)
            if path is not None:
                implied.append(Privilege("global", "ALL", "", True, via=path, via_set_role=True,
                                         implied_by=SUPERUSER))  # fmt: skip
    return implied


def _member_of(graph: RoleGraph, name: str, memos: tuple[dict, dict]) -> tuple[str, ...]:
    """Every role ``name`` is a member of, through any chain of grants (``pg_has_role … 'MEMBER'``):
    also along PG 16+ grants with neither INHERIT nor SET, which ``reach`` does not follow (e.g. the
    ADMIN-only grant of a role to the CREATEROLE login that created it); sorted. ``memos``: the
    roles each granted role leads to, and the answer for each set of directly granted roles,
    shared by the accounts of one listing (few roles, many members)."""
    direct = tuple(edge.role for edge in graph.direct(name))
    closures, answers = memos
    answer = answers.get(direct)
    if answer is None:
        seen: set[str] = set(direct)
        for role in direct:
            closure = closures.get(role)
            if closure is None:
                closure = closures[role] = frozenset(_reachable(graph, role))
            seen |= closure
        answer = answers[direct] = tuple(sorted(seen))
    # a login only leads back to itself through a cycle of grants: it is not its own member
    return tuple(role for role in answer if role != name) if name in answer else answer


def _reachable(graph: RoleGraph, start: str) -> set[str]:
    """The roles any chain of grants leads to from ``start`` (not ``start`` itself)."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        for edge in graph.direct(stack.pop()):
            if edge.role not in seen:
                seen.add(edge.role)
                stack.append(edge.role)
    seen.discard(start)
    return seen


def _account(row: Row, graph: RoleGraph, grants: Mapping[str, list[Privilege]], memo: dict, memos: tuple[dict, dict],
             superusers: frozenset[str], policy: PasswordPolicy | None, intern: Callable) -> AccountFacts:  # fmt: skip
    name = row["rolname"]
    reach = graph.reach(name)
    privileges = effective_privileges(name, graph, grants, reach, memo)
    superuser, createrole, expired = bool(row["rolsuper"]), bool(row["rolcreaterole"]), bool(row["expired"])
    if superuser or (reach and superusers):
        privileges += _superuser(name, superuser, graph, reach, superusers)
    grant_reasons = ["SUPERUSER"] if superuser else []
    if createrole:
        grant_reasons.append("CREATEROLE")
    # what ownership or superuser implies is not counted: only grant options actually granted
    grant_reasons += [privilege_label(p) for p in privileges
                      if p.grantable and not p.via_set_role and p.implied_by is None]  # fmt: skip
    grant_reasons += graph.admin_reasons(name, reach)
    reasons = {}
    if superuser or grant_reasons or expired:
        reasons = reasons_dict(
            is_superuser=["SUPERUSER"] * superuser,
            can_grant=grant_reasons,
            is_locked=[f"VALID UNTIL {row['rolvaliduntil']} has passed"] * expired,
        )
    return AccountFacts(
        username=name,
        host="",
        is_superuser=superuser,
        can_grant=bool(grant_reasons),
        is_locked=expired,
        can_login=not expired,
        roles=_member_of(graph, name, memos),
        privileges=sorted_privileges(privileges),
        snapshot=_interned_snapshot(row, graph.direct(name), intern),
        reasons=reasons,
        password_policy=policy,
    )


def public_pseudo_account(public: list[Privilege]) -> AccountFacts:
    """Grants to PUBLIC (every role, present and future) as one pseudo-account
    named ``PUBLIC`` that cannot log in: reported once, separately from the
    users, and visible to the change log and to classification rules (e.g.
    "PUBLIC may CREATE in a database")."""
    return AccountFacts(
        username=PUBLIC,
        host="",
        can_login=False,
        privileges=sorted_privileges(public),
        snapshot={"engine": "postgresql", "pseudo_role": PUBLIC},
    )


# what ``_snapshot`` reads of a role's row
_SNAPSHOT_COLUMNS = operator.itemgetter("rolsuper", "rolcreaterole", "rolcreatedb", "rolcanlogin", "rolinherit",
                                        "rolreplication", "rolbypassrls", "rolconnlimit", "rolvaliduntil")  # fmt: skip


def _interned_snapshot(row: Row, direct: list[RoleEdge], intern: Callable) -> dict[str, Any]:
    """``_snapshot``, one dict for the logins with equal attributes and direct grants (``intern``)."""
    valid_until = row["rolvaliduntil"]
    # each edge without its member (the login); the valid-until time also as the snapshot's JSON
    # shows it (two equal instants in different zones print apart)
    key = (_SNAPSHOT_COLUMNS(row), None if valid_until is None else str(valid_until), tuple(e[1:] for e in direct))
    return intern(key, lambda: _snapshot(row, direct))


def _snapshot(row: Row, direct: list[RoleEdge]) -> dict[str, Any]:
    """Engine-native, JSON-serialisable detail (never the password hash, which pg_roles masks)."""
    return {
        "engine": "postgresql",
        "rolsuper": bool(row["rolsuper"]),
        "rolcreaterole": bool(row["rolcreaterole"]),
        "rolcreatedb": bool(row["rolcreatedb"]),
        "rolcanlogin": bool(row["rolcanlogin"]),
        "rolinherit": bool(row["rolinherit"]),
        "rolreplication": bool(row["rolreplication"]),
        "rolbypassrls": bool(row["rolbypassrls"]),
        "rolconnlimit": int(row["rolconnlimit"]),
        "rolvaliduntil": row["rolvaliduntil"],
        "direct_roles": [
            {"role": e.role, "admin_option": e.admin, "inherit_option": e.inherit, "set_option": e.set_role}
            for e in direct
        ],
    }


def parse_databases(rows: Iterable[Row]) -> list[DatabaseInfo]:
    """``DATABASES`` rows → DatabaseInfo (templates already filtered by the query)."""
    return [DatabaseInfo(name=row["name"]) for row in rows]


def parse_database_sizes(rows: Iterable[Row]) -> list[DatabaseSize]:
    """``pg_database_size`` in bytes (all forks, indexes and TOAST; WAL is instance-wide, not included)."""
    return [DatabaseSize(name=row["name"], size_bytes=int(row["size_bytes"])) for row in rows]


def parse_table_sizes(rows: Iterable[Row]) -> list[TableSize]:
    """Bytes per table: total = heap + TOAST + indexes, data = main fork only, index = all indexes.

    ``row_count`` is ``reltuples``; None while the table was never analysed (-1).
    """
    tables = []
    for row in rows:
        estimate = row["row_estimate"]
        tables.append(
            TableSize(
                schema=row["schema_name"],
                table=row["table_name"],
                size_bytes=int(row["total_bytes"]),
                data_bytes=int(row["data_bytes"]),
                index_bytes=int(row["index_bytes"]),
                row_count=None if estimate is None or estimate < 0 else int(estimate),
            )
        )
    return tables
