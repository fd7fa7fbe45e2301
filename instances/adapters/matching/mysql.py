"""MySQL/MariaDB parts of the matching rules (``instances.adapters.matching``, rules 5–7): database
patterns, the order in which MariaDB reads ``mysql.db`` rows, and the labels of the entries that
stand for rows the server applies to an account without their being its own."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from instances.adapters.matching import Entry

# --- MySQL/MariaDB database patterns (rule 5) ----------------------------------------------------


def mysql_is_pattern(target: str) -> bool:
    """A MySQL/MariaDB database-level target that is (or may be) a pattern: it holds ``%``,
    ``_`` or an escape."""
    return any(c in target for c in "%_\\")


def mysql_pattern_tokens(pattern: str) -> tuple[list[str | None], bool]:
    """A ``LIKE`` pattern as tokens — None for ``%``, "" for ``_``, else one literal character
    (``\\x`` is a literal x) — and whether it ends with a lone backslash (a literal one)."""
    tokens: list[str | None] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i + 1])
            i += 2
            continue
        tokens.append(None if c == "%" else "" if c == "_" else c)
        i += 1
    return tokens, pattern.endswith("\\") and (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1


@lru_cache(maxsize=65536)
def mysql_pattern_matches(pattern: str, name: str) -> bool:
    """MySQL ``LIKE`` of a database name against a database-level grant's pattern (``%`` any
    text, ``_`` one character, ``\\x`` a literal x, a trailing ``\\`` a literal backslash;
    case-sensitive)."""
    states = {0}  # positions of ``name`` reachable after each token (a small NFA: patterns are short)
    for token in mysql_pattern_tokens(pattern)[0]:
        if token is None:
            states = set(range(min(states), len(name) + 1))
        else:
            states = {s + 1 for s in states if s < len(name) and (token == "" or name[s] == token)}
        if not states:
            return False
    return len(name) in states


@lru_cache(maxsize=65536)
def mysql_pattern_contains(general: str, specific: str) -> bool:
    """Does the database pattern ``general`` match every name ``specific`` matches? Token by token:
    a ``%`` of ``specific`` only under a ``%`` of ``general``, its ``_`` under ``_`` or ``%``, a literal
    under the same literal, ``_`` or ``%``. Sound (True only when it is so); a pattern whose text only
    happens to match more (``%%``) may be answered False."""
    tokens = mysql_pattern_tokens(specific)[0]
    states = {0}  # positions in ``specific``'s tokens reachable after each token of ``general``
    for token in mysql_pattern_tokens(general)[0]:
        if token is None:
            states = set(range(min(states), len(tokens) + 1))
        else:
            states = {s + 1 for s in states if s < len(tokens) and tokens[s] is not None
                      and (token == "" or tokens[s] == token)}  # fmt: skip
        if not states:
            return False
    return len(tokens) in states


#: ``implied_by`` of a MariaDB DENY entry standing for a more specific ``mysql.db`` row (rule 5)
FIRST_MATCH = "mysql.db first match"


def is_first_match(entry: Entry) -> bool:
    """A MariaDB first-match DENY (rule 5), of the account's own rows, a covering host's (rule 6) or
    the anonymous user's (rule 7)."""
    return (entry.implied_by or "").startswith(FIRST_MATCH)


#: ``implied_by`` of a MariaDB entry from a same-name account whose host covers the account's: this,
#: then that host (rule 6)
SAME_NAME_HOST = "same user name at host "
#: MariaDB 10.4+ ``HOSTNAME_LENGTH``: the host field's width in ``get_magic_sort``
HOSTNAME_LENGTH = 255


def same_name_host(implied_by: str | None) -> str | None:
    """The covering host an entry comes from (rule 6), None for the account's own rows."""
    if not implied_by or SAME_NAME_HOST not in implied_by:
        return None
    return implied_by.partition(SAME_NAME_HOST)[2]


#: ``implied_by`` of a MariaDB entry standing for a ``mysql.db`` row of the anonymous user ('') at the
#: holder's own host (rule 7); followed by ``ANONYMOUS_AT`` and a host when at a covering host
ANONYMOUS_USER = "anonymous user's row"
ANONYMOUS_AT = " at host "


def row_host(implied_by: str | None) -> tuple[str | None, bool]:
    """The ``mysql.db`` row an entry (or a first-match DENY) stands for: (the covering host it is
    at, None for the holder's own host; whether it is the anonymous user's)."""
    if not implied_by:
        return None, False
    if ANONYMOUS_USER in implied_by:
        rest = implied_by.partition(ANONYMOUS_USER)[2]
        return (rest[len(ANONYMOUS_AT):] if rest.startswith(ANONYMOUS_AT) else None), True
    return same_name_host(implied_by), False


def mariadb_row_rank(entry: Entry) -> tuple[bool, int, int, bool]:
    """Where MariaDB sorts a ``mysql.db`` row of a holder (smaller first): host, then database
    pattern, then the holder's own user name before the anonymous user's (``get_magic_sort("hdu",
    …)``); the holder's own host comes before covering hosts (rules 6 and 7)."""
    host, anonymous = row_host(entry.implied_by)
    host_rank = mariadb_database_rank(host, HOSTNAME_LENGTH) if host is not None else 0
    return host is not None, host_rank, mariadb_database_rank(entry.target), anonymous


@lru_cache(maxsize=65536)
def mariadb_database_rank(pattern: str, max_length: int = 64) -> int:
    """Where MariaDB 10.5+ sorts a ``mysql.db`` pattern among a holder's rows: smaller is more
    specific and matched first (sql_acl.cc ``get_magic_sort`` for a database name of at most
    ``max_length`` characters: no wildcard first, then by how many names the pattern can match)."""
    n = m = k = p = 0  # literal characters, ``_``, runs of ``%``, literal prefix length
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c in "%_":
            if not k and not m:
                p = n
            if c == "%":
                k += 1
                while i + 1 < len(pattern) and pattern[i + 1] == "%":
                    i += 1
            else:
                m += 1
        else:
            i += c == "\\" and i + 1 < len(pattern)
            n += 1
        i += 1
    k, m = min(k, 31), min(m, 31)
    rest = max(max_length - n - m, 0) if k else 0
    d, d1 = max_length + 1, min(max_length + 1, 32)
    if rest > m:
        return (((rest * 2 + 1) * d + k) * d1 + m) * d + p
    return ((m * 2 * d + rest) * d1 + k) * d + p
