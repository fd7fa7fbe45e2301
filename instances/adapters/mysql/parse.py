"""Pure functions: MySQL/MariaDB catalog rows → frozen dataclasses (no driver, no ORM).

Rows are dicts keyed by the column names of the queries in ``sql.py``.
Privileges are read from the privilege TABLES (MariaDB 10.4+
``mysql.global_priv``, else ``mysql.user``; ``db``/``tables_priv``/
``columns_priv``/``procs_priv``), never by parsing SHOW GRANTS text. A routine's grants are object
entries on ``db.routine`` (EXECUTE, ALTER ROUTINE; the name in lower case: ``grants.collect_grants``).

Definitions (also in docs/adapters.md):

- An account is a user that is not a role. MariaDB roles have ``is_role``;
  MySQL 8 roles are the accounts that appear as the granted side of
  ``mysql.role_edges`` (a role never granted to anyone is listed as a locked
  account, MySQL stores no other marker).
- ``roles``: every role the account holds, directly or through other roles.
- ``privileges``: effective privileges — the account's own grants and those of
  every role it reaches, each with its path (``via``). A role granted to the
  account counts only when it is active at login: MariaDB's default role,
  MySQL 8's default roles (every granted role with
  ``activate_all_roles_on_login``); MySQL 8 ``mandatory_roles`` are granted to
  every account (``mandatory_role_grants``). Other granted roles need ``SET ROLE``:
  their privileges are listed with ``via_set_role`` and not counted. Roles
  granted to a role are active with it. Global privileges are the decoded
  ``access`` bitmask on MariaDB 10.4+ (every privilege the server has, also
  those newer than the ``mysql.user`` view's columns). ``WITH GRANT OPTION``
  at a level makes that level's privileges ``grantable``; a grant option with
  no privilege at its level is listed as ``USAGE`` grantable.
- ``is_superuser``: ``SUPER`` held at global level (counted privileges).
- ``can_grant``: a counted privilege that is grantable, a role held WITH ADMIN
  OPTION (by the account or a role it holds), or MySQL 8 ``ROLE_ADMIN``.
- MySQL 8.0.16+ partial revokes (``REVOKE … ON db.*`` of a global privilege, kept in
  ``mysql.user.User_attributes`` ``Restrictions``): a DENY entry at database level, held (and
  reached through roles) like the global grant it narrows; it cancels only that holder's global
  grant (``instances.adapters.matching``, rule 4).
- ``is_locked``: ``ACCOUNT LOCK``; ``can_login`` is its negation.
- ``password_policy``: for an account authenticating by a password the server
  stores (``PASSWORD_PLUGINS``), whether new passwords are checked: MariaDB an
  ACTIVE password validation plugin with ``strict_password_validation`` ON,
  MySQL the validate_password component/plugin installed; null for other
  authentication plugins (socket, GSSAPI, PAM, …).
- MariaDB 10.11+ ``PUBLIC``: grants to it apply to every account; they are not
  copied into every account but reported once as a pseudo-account ``PUBLIC``
  (``can_login`` false), as on PostgreSQL.
- MariaDB database rows: of the ``mysql.db`` rows of one holder (the account, PUBLIC, or a role
  with the rows of the roles granted to it merged in) that match a database, the server uses the
  most specific one only (``matching`` rule 5). What a less specific row grants and a more specific
  row does not is listed as a DENY entry on the more specific row (``implied_by``
  ``matching.mysql.FIRST_MATCH``), on the holder's path.
- MariaDB rows of same-name accounts: the server looks database, table and column rows up by the
  user name and the client's host, so the rows of ``'u'@'%'`` apply to ``'u'@'10.%'`` too (any
  other host of ``u`` covering the account's, ``rows.host_covers``): they are listed as the
  account's own entries with ``implied_by`` ``matching.mysql.SAME_NAME_HOST`` + that host, after its
  own rows (one holder, ranked by host then database: ``matching`` rule 6); of a table (or a
  routine, looked up apart from tables), only the most specific host's entries. Global privileges
  and the default role stay per account; a covering account's roles may be SET only. MySQL 8 is left
  as it was (with active roles it checks the authenticated account's cached privileges).
- MariaDB rows of the anonymous user ('' in ``mysql.db``): found by the lookups of every login, of
  its active role and of PUBLIC while PUBLIC's role row exists (``matching`` rule 7,
  ``rows.add_rows_of_others``, ``rows.role_anonymous_entries``); labelled ``matching.mysql.ANONYMOUS_USER``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, PasswordPolicy, TableSize
from instances.adapters.mysql import rows as row_rules
from instances.adapters.mysql.grants import Key, Row, collect_grants, is_yes, mandatory_roles
from instances.adapters.parsing import (
    RoleEdge,
    RoleGraph,
    counted,
    effective_privileges,
    privilege_label,
    reasons_dict,
    snapshot_interner,
    sorted_privileges,
)

PUBLIC = "PUBLIC"
# Authentication plugins that check a password the server stores (its validation applies when the
# password is set); '' is mysql_native_password in old mysql.user rows. Others authenticate by other
# means (unix_socket/auth_socket, GSSAPI, PAM, LDAP, …): no server-side password to check.
PASSWORD_PLUGINS = frozenset({"", "mysql_native_password", "mysql_old_password", "ed25519", "parsec",
                              "caching_sha2_password", "sha256_password"})  # fmt: skip


@dataclass(frozen=True)
class RoleGrant:
    """``grantee`` holds ``role`` (both (user, host) keys); engine-neutral form of both role tables."""

    grantee: Key
    role: Key
    admin_option: bool


def mariadb_role_grants(rows: Iterable[Row]) -> list[RoleGrant]:
    """``mysql.roles_mapping`` rows; roles are keyed (name, '') as in ``mysql.global_priv``."""
    return [RoleGrant((r["User"], r["Host"]), (r["Role"], ""), is_yes(r["Admin_option"])) for r in rows]


def mysql_role_grants(rows: Iterable[Row]) -> list[RoleGrant]:
    """``mysql.role_edges`` rows: FROM is the role, TO the grantee."""
    return [
        RoleGrant((r["TO_USER"], r["TO_HOST"]), (r["FROM_USER"], r["FROM_HOST"]), is_yes(r["WITH_ADMIN_OPTION"]))
        for r in rows
    ]


def mandatory_role_grants(setting: str, users: Iterable[Row], role_grants: Iterable[RoleGrant]) -> list[RoleGrant]:
    """MySQL 8 ``mandatory_roles``: each (existing) role is granted to every account that is not a
    role and does not hold it already — active at login only as any granted role is (a default role
    or ``activate_all_roles_on_login``), else after ``SET ROLE`` (MySQL 8.0 Reference Manual 6.2.10,
    "Defining Mandatory Roles")."""
    mandatory = mandatory_roles(setting)
    if not mandatory:
        return []
    role_grants = list(role_grants)
    existing = {(row["User"], row["Host"]) for row in users}
    roles = {g.role for g in role_grants} | {m for m in mandatory if m in existing}
    held = {(g.grantee, g.role) for g in role_grants}
    return [
        RoleGrant(account, role, admin_option=False)
        for account in sorted(existing - roles)
        for role in mandatory
        if role in roles and (account, role) not in held
    ]


def role_label(key: Key, *, mariadb: bool) -> str:
    """A role's display name: MariaDB roles are host-less; MySQL 8 adds ``@host`` unless it is '%'."""
    user, host = key
    return user if mariadb or host in ("", "%") else f"{user}@{host}"


def _is_role(row: Row, role_keys: set[Key]) -> bool:
    if "is_role" in row:
        return is_yes(row["is_role"])
    return (row["User"], row["Host"]) in role_keys


def _default_roles(users: list[Row], default_rows: Iterable[Row]) -> dict[Key, set[Key]]:
    """Account → the roles active at login (MariaDB: one ``default_role`` by name; MySQL: ``default_roles``)."""
    defaults: dict[Key, set[Key]] = defaultdict(set)
    for row in users:
        if row.get("default_role"):
            defaults[(row["User"], row["Host"])].add((row["default_role"], ""))
    for row in default_rows:
        defaults[(row["USER"], row["HOST"])].add((row["DEFAULT_ROLE_USER"], row["DEFAULT_ROLE_HOST"]))
    return defaults


class _Nodes:
    """Graph node names: a role is its display name (so paths read as roles), an
    account ``\0user\0host`` (no role name contains NUL: never the same)."""

    def __init__(self, roles: set[Key], *, mariadb: bool):
        self.roles, self.mariadb = roles, mariadb

    def __call__(self, key: Key) -> str:
        return role_label(key, mariadb=self.mariadb) if key in self.roles else f"\0{key[0]}\0{key[1]}"


def role_graph(role_grants: list[RoleGrant], node: _Nodes, defaults, *, activate_all: bool,
               set_role_only: Iterable[tuple[Key, Key]] = ()) -> RoleGraph:  # fmt: skip
    """An account holds a granted role when it is active at login (a default role, or every role with
    ``activate_all_roles_on_login``), else it may ``SET ROLE`` to it; a role holds the roles granted to it.
    ``set_role_only``: (account, role) pairs it may only ``SET ROLE`` to, granted to another account."""
    edges = [RoleEdge(node(account), node(role), False, True, False) for account, role in set_role_only]
    for g in role_grants:
        if g.grantee in node.roles:
            edges.append(RoleEdge(node(g.grantee), node(g.role), inherit=True, set_role=False, admin=g.admin_option))
        else:
            active = activate_all or g.role in defaults.get(g.grantee, ())
            edges.append(RoleEdge(node(g.grantee), node(g.role), active, True, g.admin_option))
    return RoleGraph(edges)


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
    version: Sequence[int] = (10, 11, 0),
    activate_all_roles: bool = False,
    db_priv_columns: Sequence[str] | None = None,
    password_check: Mapping[str, Any] | None = None,
    routine_privs: Iterable[Row] = (),
) -> list[AccountFacts]:
    """One ``AccountFacts`` per non-role account, sorted by (username, host), plus the
    ``PUBLIC`` pseudo-account when PUBLIC holds grants or, on MariaDB, its lookup reaches the
    anonymous user's rows. See the module docstring."""
    users = list(users)
    role_grants = list(role_grants)
    granted_roles = {g.role for g in role_grants}
    roles = {(row["User"], row["Host"]) for row in users if _is_role(row, granted_roles)} | granted_roles
    node = _Nodes(roles, mariadb=mariadb)
    own = collect_grants(users, db_privs, table_privs, column_privs, dynamic_privs, version, db_priv_columns,
                         routine_privs=routine_privs)  # fmt: skip
    keys = [(r["User"], r["Host"]) for r in users]
    role_anonymous = row_rules.add_rows_of_others(own, keys, roles) if mariadb else []
    grants = {node(key): privileges for key, privileges in own.items()}
    defaults = _default_roles(users, default_roles)
    granted = [(g.grantee, g.role) for g in role_grants]
    covering = row_rules.covering_role_grants(granted, keys, roles) if mariadb else []
    graph = role_graph(role_grants, node, defaults, activate_all=activate_all_roles, set_role_only=covering)
    direct_grants: dict[Key, list[RoleGrant]] = defaultdict(list)
    for grant in role_grants:
        direct_grants[grant.grantee].append(grant)
    memo: dict = {}
    hidden_cache: dict = {}  # first_match_denies: per holder's rows
    anonymous_memo: dict = {}  # role_anonymous_entries: per role reached and the rows on its path
    intern = snapshot_interner()
    policies: dict[str, PasswordPolicy] = {}  # an account's policy depends only on its plugin
    accounts = []
    for row in users:
        key = (row["User"], row["Host"])
        if key in roles:
            continue
        name = node(key)
        reach = graph.reach(name)
        privileges = effective_privileges(name, graph, grants, reach, memo)
        if role_anonymous:
            privileges += row_rules.role_anonymous_entries(reach, role_anonymous, privileges, anonymous_memo)
        if mariadb:
            privileges += row_rules.first_match_denies(privileges, hidden_cache)
        plugin = row.get("plugin") or ""
        policy = policies.get(plugin)
        if policy is None:
            policy = policies[plugin] = password_policy(password_check, plugin, mariadb=mariadb)
        accounts.append(
            _account(row, name, graph, reach, privileges, direct_grants.get(key, []), defaults.get(key, set()),
                     mariadb=mariadb, activate_all=activate_all_roles, policy=policy, intern=intern)
        )  # fmt: skip
    public = [*grants.get(PUBLIC, ()), *row_rules.reached_rows(role_anonymous, grants.get(PUBLIC, ()))] if (
        mariadb and (PUBLIC, "") in roles) else None  # fmt: skip
    if public:
        public = [*public, *row_rules.first_match_denies(public, hidden_cache)]
        accounts.append(
            AccountFacts(username=PUBLIC, can_login=False, privileges=sorted_privileges(public),
                         snapshot={"engine": "mariadb", "pseudo_role": PUBLIC})
        )  # fmt: skip
    return sorted(accounts, key=lambda a: (a.username, a.host))


def _account(row, node: str, graph, reach, privileges, direct, defaults, *, mariadb, activate_all,
             policy, intern) -> AccountFacts:  # fmt: skip
    held = counted(privileges)
    supers = [privilege_label(p) for p in held if p.level == "global" and p.privilege == "SUPER"]
    grant_reasons = [privilege_label(p) for p in held if p.grantable or p.privilege == "ROLE_ADMIN"]
    grant_reasons += graph.admin_reasons(node, reach)
    locked = is_yes(row.get("account_locked") or "N")
    return AccountFacts(
        username=row["User"],
        host=row["Host"],
        is_superuser=bool(supers),
        can_grant=bool(grant_reasons),
        is_locked=locked,
        can_login=not locked,
        roles=tuple(sorted({r.role for r in reach})),
        privileges=sorted_privileges(privileges),
        snapshot=intern(_snapshot_key(row, direct, defaults),
                        lambda: _snapshot(row, direct, defaults, mariadb=mariadb, activate_all=activate_all)),
        reasons=reasons_dict(is_superuser=supers, can_grant=grant_reasons, is_locked=["ACCOUNT LOCK"] * locked),
        password_policy=policy,
    )


# what ``_snapshot`` reads of an account's row (``mariadb`` and ``activate_all`` hold for the whole listing)
_SNAPSHOT_COLUMNS = ("plugin", "password_expired", "account_locked", "default_role", "access")


def _snapshot_key(row: Row, direct: list[RoleGrant], defaults: set[Key]) -> tuple:
    """Every input of ``_snapshot`` (``snapshot_interner``): most accounts have the same plugin,
    flags and direct roles. Of the password's change time only what ``_snapshot`` reads: whether
    it is 0 (MariaDB 10.4+: expired)."""
    changed = str(row["password_last_changed"]) == "0" if "password_last_changed" in row else None
    return (tuple(map(row.get, _SNAPSHOT_COLUMNS)), changed,
            tuple((g.role, g.admin_option) for g in direct), frozenset(defaults) if defaults else None)  # fmt: skip


def _snapshot(row: Row, direct: list[RoleGrant], defaults: set[Key], *, mariadb: bool, activate_all: bool) -> dict:
    """Engine-native, JSON-serialisable detail (never a password hash)."""
    if "password_last_changed" in row:  # MariaDB 10.4+: expired = password_last_changed 0
        expired = str(row["password_last_changed"]) == "0"
    else:
        expired = is_yes(row.get("password_expired") or "N")
    snapshot: dict[str, Any] = {
        "engine": "mariadb" if mariadb else "mysql",
        "plugin": row.get("plugin") or "",
        "password_expired": expired,
        "account_locked": is_yes(row.get("account_locked") or "N"),
        "direct_roles": [
            {"role": role_label(g.role, mariadb=mariadb), "admin_option": g.admin_option,
             "active_at_login": activate_all or g.role in defaults}
            for g in sorted(direct, key=lambda g: g.role)
        ],
    }  # fmt: skip
    if mariadb:
        snapshot["default_role"] = row.get("default_role") or ""
        if row.get("access") is not None:
            snapshot["access"] = int(row["access"])
    else:
        snapshot["default_roles"] = sorted(role_label(k, mariadb=False) for k in defaults)
        snapshot["activate_all_roles_on_login"] = activate_all
    return snapshot


def password_policy(check: Mapping[str, Any] | None, plugin: str | None, *, mariadb: bool) -> PasswordPolicy:
    """Whether new passwords of an account authenticating by ``plugin`` are checked. ``check``:
    MariaDB ``{plugins, strict_validation}``, MySQL ``{validate_password: {variable: value}}``,
    None before MariaDB 10.1.2 (no validation plugins)."""
    plugin = plugin or ""
    if plugin not in PASSWORD_PLUGINS:
        return PasswordPolicy(None, f"authenticates with {plugin}, not with a password the server stores")
    if check is None:
        return PasswordPolicy(False, "this MariaDB (before 10.1.2) has no password validation")
    if mariadb:
        plugins = ", ".join(name for name in str(check.get("plugins") or "").split(",") if name)
        if not plugins:
            return PasswordPolicy(False, "no password validation plugin is active "
                                         "(simple_password_check, cracklib_password_check)")  # fmt: skip
        if not check.get("strict_validation"):
            return PasswordPolicy(False, f"{plugins} active, but strict_password_validation is OFF: "
                                         "a password given as a hash is not checked")  # fmt: skip
        return PasswordPolicy(True, f"{plugins} active (strict_password_validation ON)")
    variables = check.get("validate_password") or {}
    if not variables:
        return PasswordPolicy(False, "validate_password (component or plugin) is not installed")
    policy = variables.get("validate_password.policy") or variables.get("validate_password_policy") or "?"
    length = variables.get("validate_password.length") or variables.get("validate_password_length") or "?"
    return PasswordPolicy(True, f"validate_password is installed (policy {policy}, length {length})")


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
