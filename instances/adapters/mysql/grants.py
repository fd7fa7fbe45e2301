"""MySQL / MariaDB privilege tables → the privileges each account or role holds itself: the
``*_priv`` flag columns, MariaDB's ``access`` bitmask, SET columns of table and column grants,
dynamic privileges, MySQL 8's partial revokes, MariaDB's first matching database row and the rows of
same-name accounts at covering hosts (pure functions, no driver, no ORM; the definitions are in
``parse``'s docstring)."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import replace
from itertools import zip_longest
from typing import Any

from instances.adapters.base import Privilege
from instances.adapters.matching.mysql import (
    FIRST_MATCH,
    HOSTNAME_LENGTH,
    SAME_NAME_HOST,
    mariadb_database_rank,
    mariadb_row_rank,
    mysql_pattern_contains,
    mysql_pattern_matches,
    mysql_pattern_tokens,
    same_name_host,
)

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
# What an object entry's privilege can be, by the table it comes from: mysql.tables_priv's
# Table_priv and mysql.procs_priv's Proc_priv SETs (MariaDB 10.11; MySQL 8 lacks the last table
# one), upper case, 'Grant' (the option) left out; USAGE: a grant option alone (``_level``)
TABLE_PRIVILEGES = frozenset({
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REFERENCES", "INDEX", "ALTER", "CREATE VIEW",
    "SHOW VIEW", "TRIGGER", "DELETE VERSIONING ROWS", "USAGE",
})  # fmt: skip
ROUTINE_PRIVILEGES = frozenset({"EXECUTE", "ALTER ROUTINE"})

# MariaDB's global privilege bitmask (mysql.global_priv ``access``), bit n → GRANT
# name, as defined in MariaDB's sql/privilege.h (bits 30–37 since 10.5.2, 38 since
# 10.5.8, 39 since 11.3; bit 20 was REPLICATION CLIENT before 10.5.2). Bit 10 is
# the grant option, not a privilege.
_ACCESS_BITS = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "RELOAD", "SHUTDOWN", "PROCESS", "FILE",
    None, "REFERENCES", "INDEX", "ALTER", "SHOW DATABASES", "SUPER", "CREATE TEMPORARY TABLES", "LOCK TABLES",
    "EXECUTE", "REPLICATION SLAVE", "BINLOG MONITOR", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
    "ALTER ROUTINE", "CREATE USER", "EVENT", "TRIGGER", "CREATE TABLESPACE", "DELETE HISTORY", "SET USER",
    "FEDERATED ADMIN", "CONNECTION ADMIN", "READ_ONLY ADMIN", "REPLICATION SLAVE ADMIN",
    "REPLICATION MASTER ADMIN", "BINLOG ADMIN", "BINLOG REPLAY", "SLAVE MONITOR", "SHOW CREATE ROUTINE",
)  # fmt: skip
_GRANT_OPTION_BIT = 1 << 10
_BINLOG_MONITOR_SINCE = (10, 5, 2)


def privilege_name(column: str) -> str:
    """``Create_view_priv`` → ``CREATE VIEW``; the few irregular names come from ``_PRIV_NAMES``."""
    return _PRIV_NAMES.get(column) or column.removesuffix("_priv").replace("_", " ").upper()


@functools.lru_cache(maxsize=1024)
def decode_access(access: int, version: tuple[int, ...] = (10, 11, 0)) -> tuple[tuple[str, ...], bool]:
    """MariaDB ``access`` bitmask → (privilege names in bit order, grant option).
    Bits beyond the known ones are ignored here (the raw value is in the snapshot)."""
    names = []
    for bit, name in enumerate(_ACCESS_BITS):
        if name and access >> bit & 1:
            names.append("REPLICATION CLIENT" if bit == 20 and tuple(version) < _BINLOG_MONITOR_SINCE else name)
    return tuple(names), bool(access & _GRANT_OPTION_BIT)


_YES = frozenset({"Y", "y", "1", "TRUE", "True", "true", 1})  # 1 == True


def is_yes(value: Any) -> bool:
    """'Y' (privilege columns), '1'/true (JSON_VALUE), as the server returns them."""
    return value in _YES


def _set_items(value: Any) -> list[str]:
    """A SET column ('Select,Insert,Grant') as its items; PyMySQL may return str or set."""
    if isinstance(value, set | frozenset | list | tuple):
        return sorted(str(item) for item in value if item)
    return [item for item in str(value or "").split(",") if item]


def _object_set(value: Any) -> tuple[list[str], bool]:
    """A Table_priv or Proc_priv SET → (its privileges upper case, whether it holds 'Grant': the
    grant option, not a privilege)."""
    items = _set_items(value)
    return [i.upper() for i in items if i != "Grant"], "Grant" in items


class _FlagColumns:
    """The ``*_priv`` columns of a result (and their GRANT names), found once per column set."""

    def __init__(self) -> None:
        self._by_columns: dict[tuple[str, ...], list[tuple[str, str]]] = {}

    def held(self, row: Row) -> list[str]:
        columns = tuple(row)
        pairs = self._by_columns.get(columns)
        if pairs is None:
            pairs = [(c, privilege_name(c)) for c in columns if c.endswith("_priv") and c not in _NOT_PRIVILEGES]
            self._by_columns[columns] = pairs
        return [name for column, name in pairs if row[column] == "Y"]


def _flag_string_decoder(columns: Sequence[str]):
    """``privs`` (one 'Y'/'N' per column of ``columns``, as DB_PRIVILEGES concatenates them) →
    (privilege names, grant option); each distinct string decoded once."""
    names = [(i, privilege_name(c)) for i, c in enumerate(columns) if c not in _NOT_PRIVILEGES]
    grant_at = list(columns).index("Grant_priv")

    @functools.lru_cache(maxsize=4096)
    def decode(flags: str) -> tuple[tuple[str, ...], bool]:
        return tuple(name for i, name in names if flags[i] == "Y"), flags[grant_at] == "Y"

    return decode


def _level(level: str, names: Sequence[str], target: str, grantable: bool) -> list[Privilege]:
    if not names and grantable:  # GRANT USAGE … WITH GRANT OPTION
        names = ["USAGE"]
    return [Privilege(level, name, target, grantable) for name in names]


def collect_grants(users, db_privs, table_privs, column_privs, dynamic_privs, version=(10, 11, 0), db_columns=None,
                   *, routine_privs=()):  # fmt: skip
    """(user, host) → the privileges granted to that account or role itself (``via`` empty).
    ``db_columns``: the columns concatenated into ``db_privs``' ``privs`` (None: one column each).
    A routine's grants (``mysql.procs_priv``) are object entries on ``db.routine``: EXECUTE and ALTER
    ROUTINE (``ROUTINE_PRIVILEGES``), which no table has; the name in lower case, as the server compares
    routine names (``Routine_name`` keeps the case the GRANT was written in: checked live); a function
    and a procedure of one name share the target."""
    grants: dict[Key, list[Privilege]] = defaultdict(list)
    flags = _FlagColumns()
    for row in users:
        if row.get("access") is not None:
            names, grantable = decode_access(int(row["access"]), tuple(version))
        else:
            names, grantable = flags.held(row), is_yes(row.get("Grant_priv"))
        grants[(row["User"], row["Host"])] += _level("global", names, "", grantable)
        grants[(row["User"], row["Host"])] += partial_revokes(row.get("restrictions"))
    for row in dynamic_privs:
        grants[(row["USER"], row["HOST"])].append(
            Privilege("global", str(row["PRIV"]).upper(), "", is_yes(row["WITH_GRANT_OPTION"]))
        )
    decode = _flag_string_decoder(db_columns) if db_columns else None
    for row in db_privs:
        names, grantable = decode(row["privs"]) if decode else (flags.held(row), is_yes(row["Grant_priv"]))
        grants[(row["User"], row["Host"])] += _level("database", names, row["Db"], grantable)
    table_grant_option: set[tuple[str, str, str, str]] = set()
    for row in table_privs:
        names, grantable = _object_set(row["Table_priv"])
        if grantable:
            table_grant_option.add((row["User"], row["Host"], row["Db"], row["Table_name"]))
        grants[(row["User"], row["Host"])] += _level("object", names, f"{row['Db']}.{row['Table_name']}", grantable)
    for row in column_privs:
        grantable = (row["User"], row["Host"], row["Db"], row["Table_name"]) in table_grant_option
        target = f"{row['Db']}.{row['Table_name']}.{row['Column_name']}"
        grants[(row["User"], row["Host"])] += [
            Privilege("column", item.upper(), target, grantable) for item in _set_items(row["Column_priv"])
        ]
    for row in routine_privs:
        names, grantable = _object_set(row["Proc_priv"])
        target = f"{row['Db']}.{str(row['Routine_name']).lower()}"
        grants[(row["User"], row["Host"])] += _level("object", names, target, grantable)
    return grants


def partial_revokes(restrictions: Any) -> list[Privilege]:
    """MySQL 8.0.16+ ``User_attributes`` ``Restrictions`` (JSON text, or None) → one DENY entry per
    database and privilege: ``REVOKE INSERT ON mysql.* FROM u`` with partial_revokes ON leaves the
    global INSERT in place except on ``mysql`` (MySQL 8.0 Reference Manual 6.2.12). The entry
    cancels only the global grant of the same holder (``matching.cancels``)."""
    if not restrictions:
        return []
    entries = json.loads(restrictions) if isinstance(restrictions, str | bytes) else restrictions
    return [
        Privilege("database", str(name).upper(), str(entry["Database"]), state="DENY")
        for entry in entries or ()
        for name in entry.get("Privileges") or ()
    ]


def first_match_denies(privileges: Sequence[Privilege], cache: dict | None = None) -> list[Privilege]:
    """MariaDB: per holder (the account or PUBLIC itself, ``via`` (), the account's rows with those of
    its covering same-name accounts, ``same_name_rows``; a role reached first, ``via[:1]``: the roles
    granted to it are merged into its rows), a DENY on each database row of what a later row
    (``matching.mariadb_row_rank``) that may match the same database grants and it does not.
    ``cache``: one dict for a whole listing (the logins of a role share its rows: their DENYs are
    built once)."""
    rows = [p for p in privileges if p.level == "database" and p.state != "DENY"]
    if len(rows) < 2:  # most accounts: nothing to rank
        return []
    by_holder: dict[tuple[str, ...], list[Privilege]] = defaultdict(list)
    for p in rows:
        by_holder[p.via[:1]].append(p)
    denies: list[Privilege] = []
    for holder, held in by_holder.items():
        if len(held) < 2:
            continue
        # a role's rows are the same objects for every login that reaches it the same way
        # (parsing.effective_privileges' memo): keyed by their identities, kept alive by the cache
        key = (holder, tuple(map(id, held)))
        known = cache.get(key) if cache is not None else None
        if known is None:
            known = (held, _holder_denies(holder, held))
            if cache is not None:
                cache[key] = known
        denies += known[1]
    return denies


def _holder_denies(holder: tuple[str, ...], rows: Sequence[Privilege]) -> list[Privilege]:
    """``first_match_denies`` of one holder's database rows."""
    by_row: dict[tuple, set[str]] = defaultdict(set)
    for p in rows:
        by_row[(mariadb_row_rank(p), p.target, same_name_host(p.implied_by))].add(p.privilege)
    if len({rank for rank, _, _ in by_row}) < 2:  # all equally ranked: none hides another
        return []
    set_role = rows[-1].via_set_role
    return [Privilege("database", name, target, state="DENY", via=holder, via_set_role=set_role,
                      implied_by=FIRST_MATCH if host is None else f"{FIRST_MATCH}, {SAME_NAME_HOST}{host}")
            for target, host, name in _hidden_by_first_match(by_row)]  # fmt: skip


def _hidden_by_first_match(by_row: Mapping[tuple, set[str]]) -> list[tuple[str, str | None, str]]:
    """(target, host, privilege) of each row: what a later row grants and the row does not (rows:
    (rank, target, covering host or None)). Two rows share a database when a row without wildcards
    (database rank 0: one database) is the other's name or matches the other's pattern; two patterns
    share one unless their literal ends tell them apart (``_patterns_disjoint``)."""
    # a later row is a pattern of the same host or any row of a later host: a row without wildcards
    # (database rank 0) is never later than another row of its host
    later_candidates = [(rank, target, names) for (rank, target, _), names in by_row.items()
                        if rank[2] or rank[:2] != (False, 0)]  # fmt: skip
    hidden = []
    for row, granted in by_row.items():
        rank, specific, host = row
        wider: set[str] = set()
        for other_rank, general, names in later_candidates:
            if other_rank > rank and _may_share_database(specific, rank[2], general, other_rank[2]):
                wider |= names
        hidden += [(specific, host, privilege) for privilege in sorted(wider - granted - {"USAGE"})]
    return hidden


def _may_share_database(one: str, one_rank: int, other: str, other_rank: int) -> bool:
    if one_rank and other_rank:
        return not _patterns_disjoint(one, other)
    if not one_rank and not other_rank:
        return _literal(one) == _literal(other)
    return mysql_pattern_matches(other, _literal(one)) if not one_rank else mysql_pattern_matches(one, _literal(other))


_END = object()


def _patterns_disjoint(one: str, other: str) -> bool:
    """Can no database name match both patterns? Decided on their literal characters before the
    first ``%`` and after the last (a name matching both has them at the same places); when that
    cannot tell, they may share one."""
    a, b = mysql_pattern_tokens(one)[0], mysql_pattern_tokens(other)[0]
    return _ends_disjoint(a, b) or _ends_disjoint(a[::-1], b[::-1])


def _ends_disjoint(a: Sequence[str | None], b: Sequence[str | None]) -> bool:
    for x, y in zip_longest(a, b, fillvalue=_END):
        if x is None or y is None:  # a ``%``: any text may follow
            return False
        if x is _END or y is _END:  # one ends without a ``%`` where the other needs a character
            return True
        if x and y and x != y:  # two literal characters (``_`` is "")
            return True
    return False


def _literal(target: str) -> str:
    """A pattern without wildcards as the one name it matches (escapes removed)."""
    return "".join(mysql_pattern_tokens(target)[0])  # type: ignore[arg-type]


# --- rows of same-name accounts (matching rule 6) -------------------------------------------------


def host_covers(general: str, specific: str) -> bool:
    """Does the host pattern ``general`` match every client host ``specific`` matches (``%`` any
    text, ``_`` one character; host names compare case-insensitively)? A ``%`` of ``specific`` is
    covered only by a ``%`` of ``general``, its ``_`` by ``_`` or ``%``."""
    states = {0}  # positions in ``specific`` reachable after each character of ``general``
    specific = specific.lower()
    for char in general.lower():
        if char == "%":
            states = set(range(min(states), len(specific) + 1))
        else:
            states = {s + 1 for s in states if s < len(specific)
                      and (specific[s] == char or (char == "_" and specific[s] != "%"))}  # fmt: skip
        if not states:
            return False
    return len(specific) in states


def same_name_rows(grants: Mapping[Key, Sequence[Privilege]], roles: Set[Key]) -> dict[Key, list[Privilege]]:
    """MariaDB (``matching`` rule 6): account → the database, table and column entries of the other
    accounts of its user name whose host covers its host (``host_covers``), each with ``implied_by``
    ``SAME_NAME_HOST`` + that host: every database row (ranked after the account's own by
    ``first_match_denies``), and a table's table and column entries only from the most specific host
    that has an entry for that table (the account's own first). Only user names at two or more hosts
    are looked at: most listings (every name once) pay one set of the names."""
    names = [user for user, _ in grants]
    if len(set(names)) == len(names):
        return {}
    hosts: dict[str, list[str]] = defaultdict(list)
    for user, host in grants:
        if (user, host) not in roles:
            hosts[user].append(host)
    extra: dict[Key, list[Privilege]] = {}
    for user, found in hosts.items():
        if len(found) < 2:
            continue
        for host in found:
            covering = [other for other in found if other != host and host_covers(other, host)]
            if not covering:
                continue
            covering.sort(key=lambda other: (mariadb_database_rank(other, HOSTNAME_LENGTH), other))
            tables = {_object_of(p) for p in grants[(user, host)] if p.level in ("object", "column")}
            # a covering host's database row whose every name a more specific host's row matches is
            # never reached (the earlier host's row comes first): left out, its grant option with it
            databases = {p.target for p in grants[(user, host)] if p.level == "database"}
            entries = []
            for other in covering:
                label = SAME_NAME_HOST + other
                own = [p for p in grants[(user, other)] if p.level in ("database", "object", "column")]
                entries += [replace(p, implied_by=label) for p in own
                            if (not _shadowed(p.target, databases) if p.level == "database"
                                else _object_of(p) not in tables)]  # fmt: skip
                tables |= {_object_of(p) for p in own if p.level != "database"}
                databases |= {p.target for p in own if p.level == "database"}
            if entries:
                extra[(user, host)] = entries
    return extra


def _shadowed(pattern: str, earlier: Set[str]) -> bool:
    """Is a covering host's row for ``pattern`` never reached: does one row of an earlier host match
    every name it matches? (Several earlier rows that only together match them all are not seen:
    the row is kept, and first-match DENYs hide its privileges there.)"""
    return pattern in earlier or any(mysql_pattern_contains(row, pattern) for row in earlier)


def _object_of(p: Privilege) -> tuple[bool, str]:
    """What an object or column entry is on: (a routine?, ``db.table`` or ``db.routine``). The server
    looks tables and routines up apart: a table's row never hides a routine's of the same name."""
    if p.level == "object":
        return p.privilege in ROUTINE_PRIVILEGES, p.target
    return False, p.target.rsplit(".", 1)[0]
