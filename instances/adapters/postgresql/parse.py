"""Pure functions: PostgreSQL catalog rows → frozen dataclasses (no driver, no ORM).

Rows are dicts keyed by the column names of the queries in ``sql.py``.

Definitions (also in docs/adapters.md):

- Accounts are login roles (``rolcanlogin``). Group roles (NOLOGIN) are not
  accounts; they appear in the ``roles`` of their members. ``ALTER ROLE …
  NOLOGIN`` therefore turns an account into a group role, and it leaves the list.
- ``roles``: every role the account is a member of, directly or through other
  roles (membership, whatever the INHERIT setting; ``snapshot["rolinherit"]``
  says whether privileges are inherited).
- ``is_locked``: the password has expired (``rolvaliduntil`` in the past), so
  password logins are refused; ``can_login`` is its negation.
- ``is_superuser``: ``rolsuper``.
- ``can_grant``: ``rolsuper`` or ``rolcreaterole`` or any privilege held WITH
  GRANT OPTION (database, or schema/table/column in the connected database)
  or any role membership WITH ADMIN OPTION. Ownership is not counted.
- ``privileges``: grants to the role itself (not those reached through
  roles): database privileges on every database, and schema/table/column
  privileges of the connected database only. Owners' implicit privileges are
  not listed. Database grants to PUBLIC are never attributed to a user: they
  form one pseudo-account ``PUBLIC`` (``can_login`` false) — see
  ``public_pseudo_account``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from instances.adapters.base import AccountFacts, DatabaseInfo, DatabaseSize, Privilege, TableSize
from instances.adapters.parsing import role_closure

Row = Mapping[str, Any]
_LEVEL_ORDER = {"database": 0, "schema": 1, "object": 2, "column": 3}


def _target(row: Row, database: str) -> str:
    """``db`` | ``db.schema`` | ``db.schema.table`` | ``db.schema.table.column`` (names as stored, unquoted)."""
    parts = [database, row.get("schema_name"), row.get("table_name"), row.get("column_name")]
    return ".".join(part for part in parts if part)


def privileges_by_grantee(
    database_rows: Iterable[Row], object_rows: Iterable[Row], connected_database: str
) -> tuple[dict[str, list[Privilege]], list[dict[str, Any]]]:
    """(role name → privileges, PUBLIC database privileges as JSON-ready dicts)."""
    by_grantee: dict[str, list[Privilege]] = defaultdict(list)
    public: list[dict[str, Any]] = []
    for row in database_rows:
        if not row["grantee"]:  # grantee 0 is PUBLIC
            public.append(
                {"database": row["datname"], "privilege": row["privilege_type"], "grantable": row["is_grantable"]}
            )
            continue
        by_grantee[row["grantee_name"]].append(
            Privilege("database", row["privilege_type"], row["datname"], bool(row["is_grantable"]))
        )
    for row in object_rows:
        if not row["grantee"]:  # PUBLIC grants on objects are not per-account facts
            continue
        by_grantee[row["grantee_name"]].append(
            Privilege(row["level"], row["privilege_type"], _target(row, connected_database), bool(row["is_grantable"]))
        )
    return by_grantee, public


def _sorted(privileges: list[Privilege]) -> tuple[Privilege, ...]:
    return tuple(sorted(set(privileges), key=lambda p: (_LEVEL_ORDER.get(p.level, 9), p.target, p.privilege)))


def _json_list(value: Any) -> list:
    """psycopg decodes json columns already; recorded fixtures may hold lists or None."""
    return list(value or [])


def memberships(rows: Iterable[Row]) -> tuple[dict[str, list[dict]], dict[str, set[str]]]:
    """``MEMBERSHIPS`` edges → (member → direct grants ``[{role, admin_option}]``,
    member → every role reached directly or through other roles)."""
    direct: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        grant = {"role": row["role"], "admin_option": bool(row["admin_option"])}
        if grant not in direct[row["member"]]:
            direct[row["member"]].append(grant)
    closure = role_closure({member: [g["role"] for g in grants] for member, grants in direct.items()})
    return direct, closure


def parse_accounts(
    role_rows: Iterable[Row],
    database_rows: Iterable[Row] = (),
    object_rows: Iterable[Row] = (),
    *,
    membership_rows: Iterable[Row] | None = None,
    connected_database: str = "",
) -> list[AccountFacts]:
    """One ``AccountFacts`` per login role, sorted by name. See the module docstring.

    Roles come from ``membership_rows`` (the adapter's MEMBERSHIPS query); rows
    recorded before that query existed carry ``all_roles``/``direct_roles``
    columns instead, which are used when ``membership_rows`` is None.
    """
    privileges, public = privileges_by_grantee(database_rows, object_rows, connected_database)
    direct_by_member, closure = memberships(membership_rows) if membership_rows is not None else ({}, {})
    accounts = []
    for row in role_rows:
        name = row["rolname"]
        own = privileges.get(name, [])
        if membership_rows is not None:
            direct = sorted(direct_by_member.get(name, []), key=lambda d: d["role"])
            all_roles = closure.get(name, set())
        else:
            direct, all_roles = _json_list(row["direct_roles"]), set(row["all_roles"] or ())
        expired = bool(row["expired"])
        accounts.append(
            AccountFacts(
                username=name,
                host="",
                is_superuser=bool(row["rolsuper"]),
                can_grant=bool(row["rolsuper"] or row["rolcreaterole"])
                or any(p.grantable for p in own)
                or any(d.get("admin_option") for d in direct),
                is_locked=expired,
                can_login=bool(row["rolcanlogin"]) and not expired,
                roles=tuple(sorted(all_roles)),
                privileges=_sorted(own),
                snapshot=_snapshot(row, direct, connected_database),
            )
        )
    if public:
        accounts.append(public_pseudo_account(public))
    return sorted(accounts, key=lambda a: a.username)


PUBLIC = "PUBLIC"


def public_pseudo_account(public: list[dict[str, Any]]) -> AccountFacts:
    """Grants to PUBLIC (every role, present and future) as one pseudo-account
    named ``PUBLIC`` that cannot log in: reported once, separately from the
    users, and visible to the change log and to classification rules (e.g.
    "PUBLIC may CREATE in a database")."""
    return AccountFacts(
        username=PUBLIC,
        host="",
        can_login=False,
        privileges=_sorted(
            [Privilege("database", p["privilege"], p["database"], bool(p["grantable"])) for p in public]
        ),
        snapshot={"engine": "postgresql", "pseudo_role": PUBLIC},
    )


def _snapshot(row: Row, direct: list, connected_database: str) -> dict[str, Any]:
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
        "direct_roles": direct,
        "object_privileges_database": connected_database,
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
