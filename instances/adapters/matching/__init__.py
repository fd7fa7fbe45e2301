"""Does an account hold privilege P on object O? The one matching rule, per engine.

``holds(privileges, privilege, level, target, db_type=…, include_set_role=False)`` answers
from an account's effective privileges (``AccountFacts.privileges`` or the stored
``facts.privileges`` entries, which carry the same attribute names once read into
``Privilege``) with the entries that give it, after DENY rules: an empty list means "no".
The classification DSL's ``has_privilege`` uses the same rules, and so must anything else
that answers "who can" (in Python or mirrored in SQL). The rules, exactly:

1. **Counted entries.** An entry reachable only by ``SET ROLE`` (``via_set_role``) counts only
   with ``include_set_role``; that applies to DENY entries too.
2. **Name.** An entry gives P when its privilege is P (names compared upper-case, spaces
   collapsed; PostgreSQL ``TEMP`` = ``TEMPORARY``), or
   - it is ``ALL`` / ``ALL PRIVILEGES``: every privilege — except on PostgreSQL below the global
     level, where ``ALL`` on a database / schema / table gives only the privileges that kind of
     object has (``PG_PRIVILEGES``; an owner's ``ALL`` on a database is not DELETE on its tables),
     and on Oracle below the global level, where it gives the object privileges only
     (``ORACLE_OBJECT_PRIVILEGES``: an owner's ``ALL`` on its schema is not CREATE ANY TABLE);
   - SQL Server: it is ``CONTROL`` on a database, schema or object (every permission on that
     securable and everything in it), or ``CONTROL SERVER`` (every permission) — Microsoft Learn,
     "Permissions (Database Engine)": "CONTROL at a particular scope implicitly includes CONTROL
     on all the securables under that scope".
3. **Scope.** Levels are global ⊃ database ⊃ schema ⊃ object ⊃ column; targets are dotted
   (``db``, ``db.schema``, ``db.schema.table``, ``db.schema.table.column``; MySQL ``db.table``;
   Oracle ``OWNER.TABLE``). An entry covers the asked (level, target) when
   - it is global (everything) — except an Oracle ``… ANY …`` entry (``implied_by
     "any_privilege"``), which does not cover objects owned by SYS (O7_DICTIONARY_ACCESSIBILITY
     is FALSE by default: Oracle, "System Privileges"), and PostgreSQL's global ``USAGE``
     (``pg_read_all_data`` / ``pg_write_all_data``: "USAGE rights on all schemas"), which covers
     schemas only — a sequence's USAGE is not in it (``has_sequence_privilege`` agrees);
   - it is at the same level on the same target;
   - it is at a wider level and the asked target lies inside its target (the entry's target
     followed by ``.``), on an engine whose hierarchy passes that level down: MySQL/MariaDB,
     SQL Server and Oracle pass every level down; **PostgreSQL passes down only table → column**
     (a database or schema privilege is about that database or schema itself:
     ``has_schema_privilege`` does not look at the database's ACL, nor ``has_table_privilege`` at
     the schema's). A target whose last part is ``KIND::name`` (upper-case words before ``::``:
     a SQL Server endpoint or certificate, a PostgreSQL language, tablespace or parameter …) is an
     object, matched as a whole only. A
     narrower entry never covers a wider question (a column grant is not a table privilege:
     ``has_table_privilege`` agrees).
4. **DENY** (SQL Server; and MySQL 8 partial revokes, below): a counted DENY entry that gives P by rule
   2 and covers the asked (level, target) by rule 3 cancels every granting entry — a DENY at a
   wider scope beats a GRANT at a narrower one (Microsoft Learn, "DENY (Transact-SQL)": "DENY
   takes precedence over all permissions") — with two documented exceptions:
   - a DENY on a table does not cancel a GRANT on one of its columns ("A table-level DENY does
     not take precedence over a column-level GRANT. This inconsistency in the permissions
     hierarchy has been preserved for backward compatibility.", same page; not when common
     criteria compliance is enabled, which is not read);
   - an entry implied by ``superuser`` (PostgreSQL), ``sysadmin`` or ``owner`` (SQL Server: "DENY
     does not apply to object owners or members of the sysadmin fixed server role") or ``dbo``
     (the database's owner user: "Permissions hierarchy", the permission check "is bypassed" for
     sysadmin members and the dbo user) is never cancelled (``BYPASS_DENY``).

   On MySQL a DENY entry is a partial revoke (``REVOKE INSERT ON mysql.* FROM u`` of a global
   privilege, partial_revokes ON; MySQL 8.0 Reference Manual 6.2.12 "Privilege Restriction Using
   Partial Revokes"): it restricts only the global grant of the same holder — the account's own, or
   the role's it is reached through (same ``via``) — so a database, table or column grant, or
   another role's global grant, still gives the privilege (privileges are a union). Asked at the
   global level, the global grant answers: the restriction narrows it on the named databases only.

5. **MySQL/MariaDB database patterns.** A database-level target is what ``mysql.db`` stores, which
   the server matches as a ``LIKE`` pattern (``%`` any text, ``_`` one character, ``\\`` escapes;
   MySQL "Access Control, Stage 2: Request Verification"): it covers a database whose name the
   pattern matches, and everything in it (``mysql_pattern_matches``).
   Of the rows of one holder that match a database, the server uses only the most specific one
   (same page: "it uses the first match"; MariaDB ``acl_db_find``, rows ordered by
   ``get_magic_sort``, ``mariadb_database_rank``): the MariaDB adapter lists what a less specific
   row grants and the more specific one does not as DENY entries on the more specific row
   (``implied_by`` ``FIRST_MATCH``); such a DENY cancels only a database-level grant of the same
   holder (the account, PUBLIC, or the role reached first: MariaDB merges a role's own rows with
   those of the roles granted to it) on a less specific row (``mariadb_row_rank``).

6. **MariaDB rows by user name and client host.** The server looks up database, table and column
   rows by the login's user name and the client's host, not by the account it authenticated
   (sql_acl.cc ``acl_get``, ``table_hash_search``): the rows of a same-name account whose host
   pattern covers the account's host (``'u'@'%'`` for ``'u'@'10.%'``) apply to its sessions too.
   The MariaDB adapter lists them among the account's own entries (``via`` ``()``: the same
   holder) with ``implied_by`` ``SAME_NAME_HOST`` + that host (their own ``FIRST_MATCH`` DENYs:
   ``FIRST_MATCH`` + ", " + that label). Rows are ranked by host first (the account's own, then the
   covering hosts, most specific first), then by database pattern (``get_magic_sort("hdu", …)``);
   of table grants, only the most specific host's entry for a table applies (with its columns), so
   the adapter copies a covering account's table and column entries only for tables where no more
   specific host has one, and a covering account's database row only when some name it matches is
   matched by no row of a more specific host (``mysql_pattern_contains``; else it is never reached,
   its grant option neither). A role granted to a covering account only may be ``SET ROLE`` by the
   account's sessions: its entries are ``via_set_role``.

7. **MariaDB rows of the anonymous user.** Every lookup of a database's row also finds the
   ``mysql.db`` rows whose user is '' (sql_acl.cc ``find_by_username_or_anon``): one wins when it
   sorts strictly before the holder's own first match (host, then database pattern, then a named
   user before the anonymous one). The lookups are the login's (user name and client host), its
   active role's and PUBLIC's (no client host: '' — a role's own rows, at host '', come first), the
   last while PUBLIC's role row exists. The MariaDB adapter lists, in each of those holders, the
   anonymous rows at a host covering the holder's (``implied_by`` ``ANONYMOUS_USER``, + ``ANONYMOUS_AT``
   + that host when not the holder's own), ranked by ``mariadb_row_rank`` with the holder's rows;
   their first-match DENYs follow rule 5. An anonymous row with an empty host is one at ``%`` (the
   server applies and ranks it so), and one that a single row ranked before it covers in a holder is
   not listed there (never reached: its grant option neither). The anonymous user's table, column
   and routine rows are found by the exact user name only: they are its own.

Not modelled: SQL Server permissions implied by others than CONTROL / CONTROL SERVER (``ALTER ANY
SCHEMA`` ⇒ ``ALTER`` on each schema, …), ownership chains, and anything the adapters do not read
(each engine's limits are listed in docs/adapters*.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

from instances.adapters.base import Privilege
from instances.adapters.matching.mysql import (
    is_first_match,
    mariadb_row_rank,
    mysql_is_pattern,
    mysql_pattern_matches,
)

LEVELS = ("global", "database", "schema", "object", "column")
RANK = {level: rank for rank, level in enumerate(LEVELS)}
ALL_PRIVILEGES = frozenset({"ALL", "ALL PRIVILEGES"})
#: implied entries no DENY cancels
BYPASS_DENY = frozenset({"superuser", "sysadmin", "dbo", "owner"})

#: PostgreSQL: the privileges each kind of object has (PostgreSQL documentation, "Privileges",
#: Table 5.2 "Summary of Access Privileges"; tables, views, materialized views and foreign tables
#: are "object"; MAINTAIN since 17). ``ALL`` below the global level means these. Sequences are
#: "object" too, but their owner's privileges are listed by name (``acl.SEQUENCE_PRIVILEGES``).
PG_PRIVILEGES = {
    "database": frozenset({"CONNECT", "CREATE", "TEMPORARY"}),
    "schema": frozenset({"USAGE", "CREATE"}),
    "object": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}),
    "column": frozenset({"SELECT", "INSERT", "UPDATE", "REFERENCES"}),
}
#: Oracle: the object privileges (Oracle SQL Language Reference, "GRANT", object privileges). ``ALL``
#: below the global level (an owner's on its schema) means these, never a system privilege such as
#: CREATE ANY TABLE.
ORACLE_OBJECT_PRIVILEGES = frozenset({
    "ALTER", "DEBUG", "DELETE", "EXECUTE", "FLASHBACK", "INDEX", "INHERIT PRIVILEGES", "INHERIT REMOTE PRIVILEGES",
    "INSERT", "KEEP SEQUENCE", "MERGE VIEW", "ON COMMIT REFRESH", "QUERY REWRITE", "READ", "REFERENCES", "SELECT",
    "TRANSLATE SQL", "UNDER", "UPDATE", "USE", "WRITE",
})  # fmt: skip
_ALIASES = {"TEMP": "TEMPORARY"}


class Entry(Protocol):
    """What the rules read of an effective privilege (``Privilege`` and the DSL's entries)."""

    privilege: str
    level: str
    target: str
    state: str
    via: tuple[str, ...]
    via_set_role: bool
    implied_by: str | None


@lru_cache(maxsize=4096)
def normal_name(name: str) -> str:
    """``delete`` → ``DELETE``; runs of spaces collapsed; ``TEMP`` → ``TEMPORARY``."""
    name = " ".join(name.upper().split())
    return _ALIASES.get(name, name)


def is_deny(entry: Entry) -> bool:
    return entry.state == "DENY"


def gives(entry: Entry, privilege: str, db_type: str) -> bool:
    """Rule 2: does the entry's name give ``privilege`` (already ``normal_name``d) at its own level?"""
    name = normal_name(entry.privilege)
    if name == privilege:
        return True
    if name in ALL_PRIVILEGES:
        if privilege in ALL_PRIVILEGES:  # ALL asked: ALL PRIVILEGES is the same name
            return True
        if db_type == "postgresql" and entry.level != "global":
            return privilege in PG_PRIVILEGES.get(entry.level, ())
        if db_type == "oracle" and entry.level != "global":
            return privilege in ORACLE_OBJECT_PRIVILEGES
        return True
    if db_type == "sqlserver":
        return name == "CONTROL SERVER" if entry.level == "global" else name == "CONTROL"
    return False


def schemas_only(entry: Entry, db_type: str) -> bool:
    """Rule 3: is this global entry PostgreSQL's ``USAGE`` (``pg_read_all_data`` /
    ``pg_write_all_data``), which covers schemas only — not a sequence's USAGE?"""
    return db_type == "postgresql" and normal_name(entry.privilege) == "USAGE"


#: what separates an object's kind from its name in a target (``KIND::name``: SQL Server's
#: ``ENDPOINT::x``, PostgreSQL's ``app.LANGUAGE::plpgsql``, ``PARAMETER::pg_stat_statements.max``)
KIND_MARK = "::"
#: a kind: upper-case words (``TABLESPACE``, ``FOREIGN DATA WRAPPER``, ``SERVER_PRINCIPAL``), at the
#: start of a part — a name that merely holds ``::`` (a MySQL database ``a::b``) is not one
KIND = r"[A-Z][A-Z0-9_ ]*"
_KIND_AT = re.compile(rf"(?:^|(?<=\.)){KIND}{KIND_MARK}")
_KIND_NAMED = re.compile(rf"{KIND}{KIND_MARK}")


def target_parts(target: str) -> tuple[str, ...]:
    """A dotted target's names. A target ending in an argument list (a PostgreSQL function,
    ``app.public.f(integer, public.money)``) keeps that list, dots and all, in its last name; so
    does a name after a kind (``KIND::name`` at the start of a part, before any parenthesis:
    ``PARAMETER::auto_explain.log_min_duration``), which is always the last part."""
    if KIND_MARK not in target and "(" not in target:  # the common case: plain dotted names
        return tuple(target.split("."))
    kind, paren = _KIND_AT.search(target), target.find("(")
    if kind is not None and (paren < 0 or kind.start() < paren):
        parts = target[: kind.start()].split(".")[:-1] if kind.start() else []
        return (*parts, target[kind.start() :])
    head, paren_text, arguments = target.partition("(")
    if not paren_text or not target.endswith(")"):
        return tuple(target.split("."))
    parts = head.split(".")
    parts[-1] += paren_text + arguments
    return tuple(parts)


def is_kind_named(part: str) -> bool:
    """Is this (last) part a ``KIND::name`` — an object outside the database › schema › table
    hierarchy (a tablespace, a language, an endpoint …), at the object level?"""
    return _KIND_NAMED.match(part) is not None


def passes_down(db_type: str, level: str) -> bool:
    """Rule 3: does an entry at ``level`` cover narrower levels inside its target on this engine?"""
    return level == "object" if db_type == "postgresql" else True


def covers(entry: Entry, level: str, target: str, db_type: str) -> bool:
    """Rule 3: does the entry's scope include (``level``, ``target``)?"""
    if entry.level == "global":
        if schemas_only(entry, db_type):
            return level == "schema"
        return not (db_type == "oracle" and entry.implied_by == "any_privilege" and target.split(".")[0] == "SYS")
    rank, asked = RANK.get(entry.level), RANK.get(level)
    if rank is None or asked is None or rank > asked:
        return False
    if db_type == "mysql" and entry.level == "database" and mysql_is_pattern(entry.target):
        return mysql_pattern_matches(entry.target, target.split(".")[0])
    if rank == asked:
        return entry.target == target
    if KIND_MARK in entry.target and is_kind_named(target_parts(entry.target)[-1]):
        return False
    return passes_down(db_type, entry.level) and target.startswith(entry.target + ".")


def cancels(deny: Entry, grant: Entry, db_type: str = "") -> bool:
    """Rule 4, for a DENY that gives the privilege and covers the asked scope: does it cancel ``grant``?"""
    if db_type == "mysql" and is_first_match(deny):  # rule 5: a later row of its holder
        return (grant.level == "database" and grant.via[:1] == deny.via[:1]
                and mariadb_row_rank(grant) > mariadb_row_rank(deny))  # fmt: skip
    if db_type == "mysql":  # a partial revoke: only its holder's global grant
        return grant.level == "global" and grant.via == deny.via
    if grant.implied_by in BYPASS_DENY:
        return False
    return not (deny.level == "object" and grant.level == "column")


def privileges_from_facts(entries: Iterable[object]) -> list[Privilege]:
    """Stored ``facts.privileges`` entries (JSON dicts) as ``Privilege`` objects, for ``holds``;
    anything that is not an entry is skipped."""
    result = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("privilege"), str):
            continue
        implied_by = entry.get("implied_by")
        result.append(
            Privilege(
                level=str(entry.get("level") or "object"),
                privilege=entry["privilege"],
                target=str(entry.get("target") or ""),
                grantable=entry.get("grantable") is True,
                state=str(entry.get("state") or "GRANT"),
                via=tuple(str(v) for v in entry.get("via") or ()),
                via_set_role=entry.get("via_set_role") is True,
                implied_by=implied_by if isinstance(implied_by, str) else None,
            )
        )
    return result


def holds(
    privileges: Iterable[Entry],
    privilege: str,
    level: str,
    target: str = "",
    *,
    db_type: str = "",
    include_set_role: bool = False,
) -> list[Entry]:
    """The entries of ``privileges`` that give ``privilege`` on (``level``, ``target``) on a
    ``db_type`` instance, after DENY rules (see the module docstring); empty: it is not held.
    ``target`` is '' for the global level."""
    wanted = normal_name(privilege)
    granting: list[Entry] = []
    denies: list[Entry] = []
    for entry in privileges:
        if entry.via_set_role and not include_set_role:
            continue
        if gives(entry, wanted, db_type) and covers(entry, level, target, db_type):
            (denies if is_deny(entry) else granting).append(entry)
    if not denies:
        return granting
    return [grant for grant in granting if not any(cancels(deny, grant, db_type) for deny in denies)]
