"""MariaDB's lookup of database, table and column rows (``instances.adapters.matching`` rules 5–7):
the first-match DENY entries of a holder's ``mysql.db`` rows, and the rows of other accounts the
server applies to an account — those of a same-name account at a covering host, and the anonymous
user's. Pure functions over ``Privilege`` entries (``grants.collect_grants``' output)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import replace
from itertools import zip_longest

from instances.adapters.base import Privilege
from instances.adapters.matching.mysql import (
    ANONYMOUS_AT,
    ANONYMOUS_USER,
    FIRST_MATCH,
    HOSTNAME_LENGTH,
    SAME_NAME_HOST,
    mariadb_database_rank,
    mariadb_row_rank,
    mysql_pattern_contains,
    mysql_pattern_matches,
    mysql_pattern_tokens,
)
from instances.adapters.mysql.grants import ROUTINE_PRIVILEGES, Key
from instances.adapters.parsing import RoleReach


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
    for p in rows:  # a row's label (None: the holder's own) says which row it is (rules 6 and 7)
        by_row[(mariadb_row_rank(p), p.target, p.implied_by)].add(p.privilege)
    if len({rank for rank, _, _ in by_row}) < 2:  # all equally ranked: none hides another
        return []
    set_role = rows[-1].via_set_role
    return [Privilege("database", name, target, state="DENY", via=holder, via_set_role=set_role,
                      implied_by=FIRST_MATCH if label is None else f"{FIRST_MATCH}, {label}")
            for target, label, name in _hidden_by_first_match(by_row)]  # fmt: skip


def _hidden_by_first_match(by_row: Mapping[tuple, set[str]]) -> list[tuple[str, str | None, str]]:
    """(target, label, privilege) of each row: what a later row grants and the row does not (rows:
    (rank, target, label: None for the holder's own)). Two rows share a database when a row without
    wildcards (database rank 0: one database) is the other's name or matches the other's pattern; two
    patterns share one unless their literal ends tell them apart (``_patterns_disjoint``)."""
    # a later row is a pattern of the same host, any row of a later host, or an anonymous user's row:
    # a row of the holder's own without wildcards (database rank 0) is never later than another row
    # of its host
    later_candidates = [(rank, target, names) for (rank, target, _), names in by_row.items()
                        if rank[2] or rank[3] or rank[:2] != (False, 0)]  # fmt: skip
    hidden = []
    for row, granted in by_row.items():
        rank, specific, label = row
        wider: set[str] = set()
        for other_rank, general, names in later_candidates:
            if other_rank > rank and _may_share_database(specific, rank[2], general, other_rank[2]):
                wider |= names
        hidden += [(specific, label, privilege) for privilege in sorted(wider - granted - {"USAGE"})]
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


def add_rows_of_others(own: dict[Key, list[Privilege]], accounts: Iterable[Key], roles: Set[Key]) -> list[Privilege]:
    """MariaDB: adds to each account's entries in ``own`` (``grants.collect_grants``) the database,
    table and column rows of other accounts the server applies to its sessions — a same-name
    account's at a covering host (rule 6), then the anonymous user's (rule 7). Returns the anonymous
    user's rows the lookup of a role or PUBLIC adds (``role_anonymous_entries``)."""
    anonymous = anonymous_rows(own)
    for key, rows in same_name_rows(own, roles).items():
        own[key] = [*own[key], *rows]
    if not anonymous:
        return []
    for key in accounts:  # after the same-name rows: the anonymous user's rows are not theirs to copy
        if key[0] and key not in roles:
            mine = own.get(key, [])
            own[key] = [*mine, *reached_rows(anonymous_entries(anonymous, key[1]), mine)]
    return anonymous_entries(anonymous, "")


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


def covering_hosts(keys: Iterable[Key], roles: Set[Key]) -> dict[Key, list[str]]:
    """Account → the other hosts of its user name whose pattern covers its host (``host_covers``),
    the most specific first: the same-name accounts whose rows and roles its sessions get (rule 6).
    Only user names at two or more hosts are looked at: most listings (every name once) pay one set
    of the names."""
    accounts = [key for key in dict.fromkeys(keys) if key not in roles]
    if len({user for user, _ in accounts}) == len(accounts):
        return {}
    hosts: dict[str, list[str]] = defaultdict(list)
    for user, host in accounts:
        hosts[user].append(host)
    covered: dict[Key, list[str]] = {}
    for user, found in hosts.items():
        for host in found if len(found) > 1 else ():
            covering = [other for other in found if other != host and host_covers(other, host)]
            if covering:
                covering.sort(key=lambda other: (mariadb_database_rank(other, HOSTNAME_LENGTH), other))
                covered[(user, host)] = covering
    return covered


def same_name_rows(grants: Mapping[Key, Sequence[Privilege]], roles: Set[Key]) -> dict[Key, list[Privilege]]:
    """MariaDB (``matching`` rule 6): account → the database, table and column entries of the other
    accounts of its user name whose host covers its host (``covering_hosts``), each with ``implied_by``
    ``SAME_NAME_HOST`` + that host: every database row (ranked after the account's own by
    ``first_match_denies``), and a table's table and column entries only from the most specific host
    that has an entry for that table (the account's own first)."""
    extra: dict[Key, list[Privilege]] = {}
    for (user, host), covering in covering_hosts(grants, roles).items():
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


def covering_role_grants(
    grants: Iterable[tuple[Key, Key]], accounts: Iterable[Key], roles: Set[Key]
) -> list[tuple[Key, Key]]:
    """MariaDB (rule 6, roles): (account, role) for each role granted to a same-name account whose
    host covers the account's (``covering_hosts``) and not to the account itself — the server lets
    its sessions ``SET ROLE`` to it (and the roles granted to it come along), never activates it at
    login, and gives no ADMIN OPTION with it (checked live: ``'u'@'127.0.0.1'`` may ``SET ROLE r``
    granted to ``'u'@'%'``, not to a role granted only to ``r``)."""
    held: dict[Key, set[Key]] = defaultdict(set)
    for grantee, role in grants:
        held[grantee].add(role)
    pairs = {((user, host), role)
             for (user, host), covering in covering_hosts(accounts, roles).items() for other in covering
             for role in held.get((user, other), set()) - held.get((user, host), set())}  # fmt: skip
    return sorted(pairs)


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


# --- rows of the anonymous user (matching rule 7) -------------------------------------------------


def anonymous_rows(grants: Mapping[Key, Sequence[Privilege]]) -> dict[str, list[Privilege]]:
    """Host → the ``mysql.db`` rows of the anonymous user ('' at that host), for the hosts that have
    any; an empty host is read as ``%``: the server applies and ranks such a row as one at ``%``
    (checked live, without a ``mysql.host`` table — MariaDB 10.4+ has none). Its table, column and
    routine rows are left out: the server looks those up by the exact user name
    (``table_hash_search``), so they apply to the anonymous account's own sessions only."""
    rows: dict[str, list[Privilege]] = {}
    for (user, host), privileges in grants.items():
        if not user and (held := [p for p in privileges if p.level == "database"]):
            rows.setdefault(host or "%", []).extend(held)
    return rows


def anonymous_entries(rows: Mapping[str, Sequence[Privilege]], host: str) -> list[Privilege]:
    """The anonymous user's database rows (``anonymous_rows``) that the server applies to every
    session of a holder at ``host`` ('' for the lookup of a role or PUBLIC, which has no client host):
    those at that host (``implied_by`` ``ANONYMOUS_USER``) or at a host covering it
    (``ANONYMOUS_USER`` + ``ANONYMOUS_AT`` + that host)."""
    entries = []
    for other, privileges in rows.items():
        if other.lower() == host.lower():
            label = ANONYMOUS_USER
        elif host_covers(other, host):
            label = ANONYMOUS_USER + ANONYMOUS_AT + other
        else:
            continue
        entries += [replace(p, implied_by=label) for p in privileges]
    return entries


def reached_rows(candidates: Sequence[Privilege], rows: Iterable[Privilege]) -> list[Privilege]:
    """Of the anonymous user's ``candidates``, those some database name reaches in a holder with
    ``rows``: a row ranked before a candidate (``mariadb_row_rank``) that matches every name the
    candidate matches leaves it unreached — it gives nothing there, its grant option neither (a
    GRANT the row's ``Grant_priv`` would allow fails with 1044: checked live)."""
    earlier = [(mariadb_row_rank(p), p.target) for p in rows if p.level == "database" and p.state != "DENY"]
    if not earlier:
        return list(candidates)
    kept = []
    for p in candidates:
        rank = mariadb_row_rank(p)
        if not _shadowed(p.target, {target for before, target in earlier if before < rank}):
            kept.append(p)
    return kept


def role_anonymous_entries(
    reach: Iterable[RoleReach], rows: Sequence[Privilege], privileges: Sequence[Privilege], memo: dict
) -> list[Privilege]:
    """The anonymous user's rows (``rows``, labelled for an empty client host) that each role granted
    to the account itself adds (``matching`` rule 7: the server looks an active role's database rows
    up as a user name without a client host, and that lookup finds the anonymous user's rows at a host
    matching it too), on that role's path, when reached past the role's own rows (its ``privileges``
    entries on that path: the roles granted to a role have their rows merged into it, and no lookup of
    their own)."""
    entries = []
    for r in reach:
        if len(r.via) == 1:
            own = [p for p in privileges if p.via[:1] == r.via]
            # which nested roles' rows lie on this path depends on the account's graph: keyed by them too
            # (``effective_privileges`` shares a path's entries between accounts; the memo keeps ``own``
            # alive, so its ids stay its own)
            key = (r, tuple(map(id, own)))
            if key not in memo:
                memo[key] = (own, [replace(p, via=r.via, via_set_role=r.set_role) for p in reached_rows(rows, own)])
            entries += memo[key][1]
    return entries
