"""PostgreSQL ACLs → privileges by grantee: ``aclitem`` text, database, schema, table, column and
default privileges, and what ownership gives (pure functions, no driver, no ORM; the definitions
are in ``parse``'s docstring)."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from instances.adapters.base import Privilege

Row = Mapping[str, Any]
OWNER = "owner"
# PG 14+: in each database, its owner is implicitly a member (and on PG 15+ it owns schema public)
PG_DATABASE_OWNER = "pg_database_owner"
_DATABASE_PRIVILEGES = frozenset({"CONNECT", "CREATE", "TEMPORARY"})
# pg_default_acl.defaclobjtype → the objects ALTER DEFAULT PRIVILEGES names
_DEFAULT_OBJECTS = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
#: what a sequence has (PostgreSQL documentation, "Privileges", Table 5.2): its owner's everything is
#: listed by name, as ``ALL`` on an object means a table's privileges (``matching.PG_PRIVILEGES``)
SEQUENCE_PRIVILEGES = ("SELECT", "UPDATE", "USAGE")
_SEQUENCE = "S"  # pg_class.relkind


# aclitem privilege letters (PostgreSQL documentation, "Privileges": ACL privilege abbreviations)
ACL_PRIVILEGES = {
    "r": "SELECT", "w": "UPDATE", "a": "INSERT", "d": "DELETE", "D": "TRUNCATE", "x": "REFERENCES", "t": "TRIGGER",
    "X": "EXECUTE", "U": "USAGE", "C": "CREATE", "c": "CONNECT", "T": "TEMPORARY", "s": "SET", "A": "ALTER SYSTEM",
    "m": "MAINTAIN",
}  # fmt: skip
_ACL_ITEM = re.compile(r'((?:"(?:[^"]|"")*")|[^=]*)=([A-Za-z*]*)/')


@functools.lru_cache(maxsize=65536)
def acl_item(text: str) -> tuple[str | None, tuple[tuple[str, bool], ...]]:
    """One aclitem as PostgreSQL prints it (``grantee=privs/grantor``) → (grantee, ((privilege,
    grantable), …)). The grantee is None for PUBLIC (empty); a name PostgreSQL had to quote is
    unquoted; ``*`` after a letter is the grant option."""
    match = _ACL_ITEM.match(text)
    if match is None:
        raise ValueError(f"not an aclitem: {text!r}")
    grantee, letters = match.groups()
    if grantee.startswith('"'):
        grantee = grantee[1:-1].replace('""', '"')
    privileges = tuple(
        (ACL_PRIVILEGES.get(letter, letter), letters[i + 1 : i + 2] == "*")
        for i, letter in enumerate(letters)
        if letter != "*"
    )
    return grantee or None, privileges


def _target(row: Row, database: str) -> str:
    """``db`` | ``db.schema`` | ``db.schema.table`` | ``db.schema.table.column`` (names as stored, unquoted)."""
    parts = [database, row.get("schema_name"), row.get("table_name"), row.get("column_name")]
    return ".".join(part for part in parts if part)


def _object_privileges(row: Row, database: str) -> list[tuple[str | None, Privilege]]:
    """(grantee or None for PUBLIC, privilege) of one ``OBJECT_PRIVILEGES`` row of ``database``.
    Default privileges become ``DEFAULT <priv> ON <objects> FOR ROLE <creator>`` on the schema (or
    the database when they apply to every schema; the creator's own entries are left out). The
    owner's own entries are what ownership gives (``_owned``)."""
    target, level, default = _target(row, database), row["level"], row["level"] == "default"
    if default:
        objects = _DEFAULT_OBJECTS.get(str(row["objtype"]), str(row["objtype"]))
        level = "schema" if row["schema_name"] else "database"
    result: list[tuple[str | None, Privilege]] = []
    owned: list[str] = []
    for item in row["acl"] or ():
        grantee, privileges = acl_item(item)
        if grantee == row["owner"]:
            owned += [name for name, _ in privileges]
            continue
        for name, grantable in privileges:
            if default:
                name = f"DEFAULT {name} ON {objects} FOR ROLE {row['owner']}"
            result.append((grantee, Privilege(level, name, target, grantable)))
    if not default:
        # a schema's, table's or sequence's default ACL (NULL) gives its owner everything (``owner_all``)
        everything = level != "column" and bool(row.get("owner_all", not row["acl"]))
        if everything and level == "object" and row.get("objtype") == _SEQUENCE:
            owned, everything = list(SEQUENCE_PRIVILEGES), False
        result += [(row["owner"], privilege) for privilege in _owned(level, target, owned, everything)]
    return result


def _owned(level: str, target: str, names: Iterable[str], everything: bool) -> list[Privilege]:
    """What ownership of (level, target) gives: ``ALL`` when the owner holds everything its own
    default ACL entry has, else the privileges of its own entries (an owner may revoke them from
    itself); grantable, as an owner always holds the grant options (PostgreSQL: "Privileges")."""
    if everything:
        return [Privilege(level, "ALL", target, True, implied_by=OWNER)]
    return [Privilege(level, name, target, True, implied_by=OWNER) for name in dict.fromkeys(names)]


def privileges_by_grantee(
    database_rows: Iterable[Row],
    objects_by_database: Mapping[str, Iterable[Row]],
    database_owners: Mapping[str, str] | None = None,
    quiet_owners: frozenset[str] | set[str] = frozenset(),
    set_role_owners: frozenset[str] = frozenset(),
    shared_object_rows: Iterable[Row] = (),
) -> tuple[dict[str, list[Privilege]], list[Privilege]]:
    """(role name → its own privileges, privileges granted to PUBLIC). ``database_owners``: database
    → its owner, who holds in it what is granted to or owned by ``pg_database_owner`` (PG 14+; the
    entries keep ``pg_database_owner`` in their path; ``via_set_role`` for the owners in
    ``set_role_owners``). Ownership of ``quiet_owners`` (superusers nobody is a member of) is left
    out: their global ``ALL`` covers it. ``shared_object_rows``: tablespaces and parameters, rows
    of ``OBJECT_PRIVILEGES``' shape in no database (targets ``TABLESPACE::name``, …)."""
    database_owners = database_owners or {}
    by_grantee: dict[str, list[Privilege]] = defaultdict(list)
    public: list[Privilege] = []

    def add(grantee: str | None, database: str, privilege: Privilege) -> None:
        if grantee is None:
            public.append(privilege)
            return
        if grantee == PG_DATABASE_OWNER and database in database_owners:
            grantee = database_owners[database]
            privilege = dataclasses.replace(privilege, via=(PG_DATABASE_OWNER,),
                                            via_set_role=grantee in set_role_owners)  # fmt: skip
        if not (privilege.implied_by == OWNER and grantee in quiet_owners):
            by_grantee[grantee].append(privilege)

    owned: dict[str, list[str]] = defaultdict(list)
    for row in database_rows:
        database, grantee = row["datname"], row["grantee_name"] if row["grantee"] else None  # grantee 0 = PUBLIC
        if grantee is not None and grantee == database_owners.get(database):
            owned[database].append(row["privilege_type"])
            continue
        add(grantee, database, Privilege("database", row["privilege_type"], database, bool(row["is_grantable"])))
    for database, names in owned.items():
        for privilege in _owned("database", database, names, set(names) >= _DATABASE_PRIVILEGES):
            add(database_owners[database], database, privilege)
    for row in shared_object_rows:
        for grantee, privilege in _object_privileges(row, ""):
            add(grantee, "", privilege)
    for database, rows in sorted(objects_by_database.items()):
        for row in rows:
            for grantee, privilege in _object_privileges(row, database):
                add(grantee, database, privilege)
    return by_grantee, public
