"""MySQL / MariaDB privilege tables → the privileges each account or role holds itself: the
``*_priv`` flag columns, MariaDB's ``access`` bitmask, SET columns of table and column grants,
dynamic privileges, MySQL 8's partial revokes, MariaDB's first matching database row and the rows of
same-name accounts at covering hosts (pure functions, no driver, no ORM; the definitions are in
``parse``'s docstring)."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from instances.adapters.base import Privilege

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


def mandatory_roles(setting: str) -> list[Key]:
    """MySQL 8.0.2+ ``mandatory_roles`` ('r1,r2@localhost,`r 3`@`%`': names, each optionally
    ``@host`` — '%' when omitted — quoted with backticks or quotes or not) → role keys."""
    keys = []
    for item in _split_outside_quotes(setting, ","):
        if not item.strip():
            continue
        name, *host = _split_outside_quotes(item.strip(), "@")
        keys.append((_unquote(name), _unquote(host[0]) if host else "%"))
    return keys


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quote = [], "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "`'\"":
            quote = char
        elif char == sep:
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]


def _unquote(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] and text[0] in "`'\"" else text
