"""Who holds privilege P on object O: the matching rules, pure (no ORM, no driver).

The who-can search (``accounts.selectors.who_can``, ``GET /api/v1/accounts/who-can/``, the
"Who can…" page) asks the index ``account_privilege_entries`` for *candidate* entries
(``narrowing``: indexed SQL), then decides here, per account, from its candidates
(``account_answer``). The same rules decide for any list of privileges (``Privilege``
objects of an adapter, facts entries as ``Entry``), so other code can share them.

The object is named as each engine names it (``object_parts``, ``asked_object``):

============  =========================================================================
engine        ``a`` · ``a.b`` · ``a.b.c`` · ``a.b.c.d``
============  =========================================================================
mysql         database · table · column
postgresql    database · schema · table · column
sqlserver     database · schema · object · column
oracle        schema (owner) · object · column
============  =========================================================================

An object with more parts than an engine has levels names nothing there. A last part
``KIND::name`` (upper-case kind: ``TABLESPACE::fast``, ``app.LANGUAGE::plpgsql``,
``ENDPOINT::x``) names an object outside the hierarchy, whatever the number of parts before it.
Names compare exactly as the engine stores them (no case folding; a name containing a dot cannot
be asked, except in a function's argument list or after a kind).

Whether an account's entries give P on O is decided by ``instances.adapters.matching.holds`` —
the one rule per engine that the classification DSL uses too (its docstring states it: ``ALL``,
SQL Server ``CONTROL``; global ⊃ database ⊃ schema ⊃ object ⊃ column, but on PostgreSQL a
privilege reaches only its object and a table's columns; MySQL/MariaDB database-level targets
are ``LIKE`` patterns; SQL Server DENY, with its documented exceptions; MySQL 8 partial revokes,
which narrow only their holder's global grant; Oracle ``… ANY …``
privileges not reaching SYS). SET ROLE-only entries count only with ``include_set_role``.

PostgreSQL default privileges (``DEFAULT SELECT ON TABLES FOR ROLE r``) are named
differently from any P: they are not privileges on existing objects and never answer.

``include_contained``: O also counts when P is held only on something inside it (a table of
the database, a column of the table); such a grant answers when no DENY covers its own
securable. Without it a bare database or schema is asked at that level only.

Of several entries that answer for one account, the one shown is the first of: held without
SET ROLE, broadest level, shortest role path (direct first), granted before implied, grantable
before not (``answer_order``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from instances.adapters import matching
from instances.adapters.matching import holds, target_parts
from instances.adapters.matching.mysql import mysql_pattern_tokens

LEVELS = ("global", "database", "schema", "object", "column")
_RANK = {level: rank for rank, level in enumerate(LEVELS)}

#: what an object name of 1, 2, 3, … dot-separated parts names, per engine
OBJECT_LEVELS: dict[str, tuple[str, ...]] = {
    "mysql": ("database", "object", "column"),
    "postgresql": ("database", "schema", "object", "column"),
    "sqlserver": ("database", "schema", "object", "column"),
    "oracle": ("schema", "object", "column"),
}
MAX_PARTS = max(len(levels) for levels in OBJECT_LEVELS.values())
_KIND = matching.KIND
#: an object name: 1 to MAX_PARTS non-empty parts separated by dots, no NUL (the API's schema pattern);
#: or one ending in an argument list, or in a name after a kind (``KIND::name``), whose dots do not
#: separate (``matching.target_parts``)
OBJECT_PATTERN = (rf"^(?:[^.\u0000]+(?:\.[^.\u0000]+){{0,{MAX_PARTS - 1}}}"
                  rf"|(?:[^.(\u0000]+\.){{0,{MAX_PARTS - 1}}}[^.(\u0000]*\([^\u0000]*\)"
                  rf"|(?:(?!{_KIND}::)[^.(\u0000]+\.){{0,{MAX_PARTS - 1}}}{_KIND}::[^\u0000]*)$")  # fmt: skip

#: privileges that may hold every privilege on what they are on (``matching.gives`` decides; the
#: index narrowing selects them for any question)
EVERY_PRIVILEGE = (*sorted(matching.ALL_PRIVILEGES), "CONTROL", "CONTROL SERVER")

# The privileges that apply to databases, schemas, objects and columns, per engine (server-wide
# ones such as SUPER or CREATE SESSION are not asked of an object). Sources: MySQL 8.0 and
# MariaDB "GRANT" (database/table/column/routine privileges), PostgreSQL "Privileges" (ACL
# privileges), SQL Server "Permissions (Database Engine)" (database, schema and object
# permissions), Oracle "GRANT" (object privileges).
PRIVILEGES: dict[str, frozenset[str]] = {
    "mysql": frozenset({
        "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REFERENCES", "INDEX", "ALTER",
        "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
        "ALTER ROUTINE", "EVENT", "TRIGGER", "DELETE HISTORY", "SHOW CREATE ROUTINE", "GRANT OPTION", "USAGE",
        "ALL", "ALL PRIVILEGES",
    }),
    "postgresql": frozenset({
        "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "CREATE", "CONNECT",
        "TEMPORARY", "EXECUTE", "USAGE", "SET", "ALTER SYSTEM", "MAINTAIN", "ALL", "ALL PRIVILEGES",
    }),
    "sqlserver": frozenset({
        "ALTER", "CONTROL", "DELETE", "EXECUTE", "INSERT", "RECEIVE", "REFERENCES", "SELECT", "TAKE OWNERSHIP",
        "UPDATE", "VIEW CHANGE TRACKING", "VIEW DEFINITION", "UNMASK", "IMPERSONATE", "CREATE SEQUENCE",
        "CONNECT", "CONNECT REPLICATION", "CHECKPOINT", "SHOWPLAN", "BACKUP DATABASE", "BACKUP LOG",
        "AUTHENTICATE", "ADMINISTER DATABASE BULK OPERATIONS", "EXECUTE ANY EXTERNAL SCRIPT",
        "KILL DATABASE CONNECTION", "SUBSCRIBE QUERY NOTIFICATIONS", "VIEW DATABASE STATE",
        "VIEW DATABASE PERFORMANCE STATE", "VIEW SECURITY DEFINITION", "VIEW PERFORMANCE DEFINITION",
        "VIEW ANY COLUMN ENCRYPTION KEY DEFINITION", "VIEW ANY COLUMN MASTER KEY DEFINITION",
        "CREATE TABLE", "CREATE VIEW", "CREATE PROCEDURE", "CREATE FUNCTION", "CREATE SCHEMA", "CREATE TYPE",
        "CREATE SYNONYM", "CREATE DEFAULT", "CREATE RULE", "CREATE ROLE", "CREATE ASSEMBLY", "CREATE QUEUE",
        "CREATE SERVICE", "CREATE AGGREGATE", "CREATE XML SCHEMA COLLECTION", "CREATE FULLTEXT CATALOG",
        "CREATE CERTIFICATE", "CREATE ASYMMETRIC KEY", "CREATE SYMMETRIC KEY", "CREATE MESSAGE TYPE",
        "CREATE CONTRACT", "CREATE ROUTE", "CREATE REMOTE SERVICE BINDING", "CREATE DATABASE DDL EVENT NOTIFICATION",
        "ALTER ANY SCHEMA", "ALTER ANY USER", "ALTER ANY ROLE", "ALTER ANY APPLICATION ROLE", "ALTER ANY ASSEMBLY",
        "ALTER ANY ASYMMETRIC KEY", "ALTER ANY CERTIFICATE", "ALTER ANY SYMMETRIC KEY", "ALTER ANY DATASPACE",
        "ALTER ANY FULLTEXT CATALOG", "ALTER ANY MESSAGE TYPE", "ALTER ANY CONTRACT", "ALTER ANY ROUTE",
        "ALTER ANY SERVICE", "ALTER ANY REMOTE SERVICE BINDING", "ALTER ANY DATABASE DDL TRIGGER",
        "ALTER ANY DATABASE EVENT NOTIFICATION", "ALTER ANY DATABASE AUDIT", "ALTER ANY DATABASE EVENT SESSION",
        "ALTER ANY DATABASE SCOPED CONFIGURATION", "ALTER ANY EXTERNAL DATA SOURCE", "ALTER ANY EXTERNAL FILE FORMAT",
        "ALTER ANY MASK", "ALTER ANY SECURITY POLICY", "ALTER ANY SENSITIVITY CLASSIFICATION",
        "ALTER ANY COLUMN ENCRYPTION KEY", "ALTER ANY COLUMN MASTER KEY", "CONTROL SERVER", "ALL",
    }),
    "oracle": matching.ORACLE_OBJECT_PRIVILEGES | {"ALL", "ALL PRIVILEGES"},
}  # fmt: skip
#: every privilege that can be asked (the API's enum), sorted
KNOWN_PRIVILEGES: tuple[str, ...] = tuple(sorted(set().union(*PRIVILEGES.values())))


class PrivilegeLike(Protocol):
    """What the rules read of an entry: an adapter ``Privilege`` or an ``Entry``."""

    privilege: str
    level: str
    target: str
    grantable: bool
    state: str
    via: tuple[str, ...]
    via_set_role: bool
    implied_by: str | None


class Entry(NamedTuple):
    """One effective privilege entry as the index stores it (see ``PrivilegeLike``)."""

    privilege: str
    level: str
    target: str
    grantable: bool = False
    state: str = "GRANT"
    via: tuple[str, ...] = ()
    via_set_role: bool = False
    implied_by: str | None = None


class Asked(NamedTuple):
    """An object as one engine reads its name: the parts and the level they name there."""

    db_type: str
    parts: tuple[str, ...]
    level: str


def object_parts(name: str) -> tuple[str, ...]:
    """``"db.schema.table"`` → its parts (``matching.target_parts``: a function's argument list is
    part of its name); ValueError when it is not 1 to MAX_PARTS non-empty parts."""
    parts = target_parts(name)
    if not name or len(parts) > MAX_PARTS or not all(parts) or "\x00" in name:
        raise ValueError(f"Give 1 to {MAX_PARTS} non-empty names separated by dots (e.g. db.schema.table).")
    return parts


def level_named(parts: tuple[str, ...], db_type: str) -> str | None:
    """The level ``parts`` name on ``db_type``: by their number (``OBJECT_LEVELS``), except that a
    last part ``KIND::name`` (``matching.is_kind_named``) is an object wherever it is — a
    tablespace or parameter (``TABLESPACE::ts``), a language or foreign server of a database
    (``app.LANGUAGE::plpgsql``), a SQL Server endpoint — when the engine has that many levels
    above objects. None when they name nothing there."""
    levels = OBJECT_LEVELS.get(db_type)
    if levels is None or len(parts) > len(levels):
        return None
    if matching.is_kind_named(parts[-1]):
        return "object" if len(parts) <= levels.index("object") + 1 else None
    return levels[len(parts) - 1]


def asked_object(parts: tuple[str, ...], db_type: str) -> Asked | None:
    """What ``parts`` name on ``db_type`` (``level_named``); None when they name nothing there (too
    many parts, or an engine the search does not know)."""
    level = level_named(parts, db_type)
    return None if level is None else Asked(db_type, parts, level)


@functools.lru_cache(maxsize=1024)
def covering_names(privilege: str | None) -> frozenset[str]:
    """The privilege names an entry may have to answer for ``privilege`` (None: any known one)."""
    if privilege is None:
        return frozenset(KNOWN_PRIVILEGES)
    return frozenset((privilege.upper(), *EVERY_PRIVILEGE))


# --- MySQL/MariaDB database patterns ------------------------------------------------------------


def mysql_pattern_affixes(target: str) -> tuple[str, str]:
    """(prefix, suffix): the literal text before the first and after the last unescaped
    wildcard, escapes removed (the whole text, twice, when there is no wildcard). Every database
    name the pattern matches starts with the prefix and ends with the suffix (the index's
    ``pattern_prefix`` and ``pattern_suffix``). A trailing lone backslash ends the prefix (as
    the SQL of migration 0005 reads it: a shorter prefix is still a prefix of every match)."""
    tokens, lone_backslash = mysql_pattern_tokens(target)
    wildcards = [i for i, token in enumerate(tokens) if token is None or token == ""]
    first = wildcards[0] if wildcards else len(tokens) - lone_backslash
    prefix = "".join(tokens[:first])  # type: ignore[arg-type]
    suffix = "".join(tokens[wildcards[-1] + 1 :] if wildcards else tokens)  # type: ignore[arg-type]
    return prefix, suffix


# --- the decision ------------------------------------------------------------------------------


def _parts(entry: PrivilegeLike, db_type: str) -> tuple[str, ...] | None:
    """The securable an entry is on, as parts; None when its level does not fit its target on
    that engine (non-hierarchical securables such as SQL Server's ``SERVER_PRINCIPAL::x``)."""
    return _securable(entry.target, entry.level, db_type)


@functools.lru_cache(maxsize=65536)
def _securable(target: str, level: str, db_type: str) -> tuple[str, ...] | None:
    parts = target_parts(target)
    return parts if level_named(parts, db_type) == level else None


def covers(entry: PrivilegeLike, asked: Asked) -> bool:
    """Does the entry's scope contain the asked object (``instances.adapters.matching.covers``)?"""
    return matching.covers(entry, asked.level, ".".join(asked.parts), asked.db_type)


def _inside(entry: PrivilegeLike, asked: Asked) -> Asked | None:
    """The entry's own securable when it lies strictly inside the asked object, else None."""
    if entry.level == "global":
        return None
    parts = _parts(entry, asked.db_type)
    if parts is None or len(parts) <= len(asked.parts) or parts[: len(asked.parts)] != asked.parts:
        return None
    return Asked(asked.db_type, parts, entry.level)


def answer_order(entry: PrivilegeLike) -> tuple:
    """Which of several answering entries is shown: held without SET ROLE, broadest level,
    shortest role path (direct first), granted before implied, grantable first, then by name,
    target and what implies it (a total order: the same answer whatever order entries come in)."""
    return (entry.via_set_role, _RANK.get(entry.level, len(LEVELS)), len(entry.via), tuple(entry.via),
            entry.implied_by is not None, not entry.grantable, entry.privilege.upper(), entry.target,
            entry.implied_by or "")  # fmt: skip


def account_answer(
    entries: Sequence[PrivilegeLike],
    *,
    privilege: str | None,
    asked: Asked,
    include_set_role: bool = False,
    include_contained: bool = False,
) -> PrivilegeLike | None:
    """The entry through which an account holds ``privilege`` (None: any known privilege) on
    ``asked``, given the account's entries (all of them, or at least every candidate
    ``narrowing`` selects); None when it does not hold it. Whether an entry gives a privilege on
    a securable, DENY included, is ``instances.adapters.matching.holds`` — the one rule the
    classification DSL uses too; this function picks the entry shown (``answer_order``) and adds
    ``include_contained`` (a grant on something inside the object, not cancelled there)."""
    target = ".".join(asked.parts)
    best = None

    def answering(name: str, level: str, on: str) -> list:
        return holds(entries, name, level, on, db_type=asked.db_type, include_set_role=include_set_role)

    if privilege is not None:
        candidates = answering(privilege, asked.level, target)
    else:  # any known privilege (what ``narrowing`` selects too): each grant answers for its own name
        known = covering_names(None)
        entries = [e for e in entries if e.privilege.upper() in known]
        candidates = [e for e in entries if e.state != "DENY" and e in answering(e.privilege, asked.level, target)]
    for entry in candidates:
        if best is None or answer_order(entry) < answer_order(best):
            best = entry
    if include_contained:
        for entry in entries:
            inside = _inside(entry, asked) if entry.state != "DENY" else None
            if inside is None or (best is not None and answer_order(best) <= answer_order(entry)):
                continue
            if entry in answering(privilege or entry.privilege, inside.level, ".".join(inside.parts)):
                best = entry
    return best


# --- what the indexed SQL selects ----------------------------------------------------------------


class Narrowing(NamedTuple):
    """The candidate entries of one question: privilege in ``names`` and either target in
    ``targets`` (global '' and the object and everything containing it), or a MySQL pattern
    whose ``pattern_prefix`` is in ``prefixes`` and ``pattern_suffix`` in ``suffixes`` (of the
    first part), or — with ``include_contained`` — a target in [``inside``, ``inside_end``)
    (everything under the object; C collation). An empty range selects nothing."""

    names: tuple[str, ...]
    targets: tuple[str, ...]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    inside: str
    inside_end: str


def narrowing(*, privilege: str | None, parts: tuple[str, ...], include_contained: bool = False) -> Narrowing:
    """What the indexed SQL must select so that ``account_answer`` over the candidates equals
    ``account_answer`` over all of an account's entries, on every engine."""
    targets = ("", *(".".join(parts[:n]) for n in range(1, len(parts) + 1)))
    first = parts[0]
    prefixes = tuple(first[:n] for n in range(len(first) + 1))
    suffixes = tuple(first[n:] for n in range(len(first) + 1))
    inside = inside_end = ""
    if include_contained:
        # "/" follows "." in byte order: [name., name/) is every target starting with "name."
        inside, inside_end = targets[-1] + ".", targets[-1] + "/"
    return Narrowing(tuple(sorted(covering_names(privilege))), targets, prefixes, suffixes, inside, inside_end)
