"""How the account sync encodes what it writes: ``COPY`` streams (rows and text format), the
who-can index lines, and an account's canonical state (facts and snapshot JSON, encoded once
and spliced into the writes, and their digest). Pure encoding and the two COPY helpers; what
is written when is ``accounts.services``."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from accounts import sql
from accounts.diff import facts_json, facts_privileges
from accounts.whocan import mysql_pattern_affixes
from instances.adapters.base import AccountFacts, Privilege
from instances.adapters.matching.mysql import mysql_is_pattern
from instances.adapters.parsing import SharedSnapshot


def copy_rows(cursor, statement: str, rows: Iterable[tuple]) -> None:
    """``COPY … FROM STDIN`` of ``rows`` (psycopg escapes them). Logged like any
    statement when Django logs queries, so query budgets count it."""
    started = time.monotonic()
    with cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append({"sql": statement, "time": f"{time.monotonic() - started:.3f}"})


def copy_entries(cursor, accounts: list[tuple[int, AccountFacts]], *, instance_id: int, mysql: bool) -> None:
    """The who-can index rows of ``accounts`` ((id, facts) pairs) of one instance, by COPY in its
    text format: one row per privilege, numbered in the order the facts list them
    (``facts_privileges``). Most privileges are shared by many accounts (the parsers intern
    them), so each one's columns are encoded once (``_entry_columns``); an account adds only its
    id, ordinal and instance."""
    columns = _entry_columns_mysql if mysql else _entry_columns

    def chunks():
        lines: list[str] = []
        for account_id, account in accounts:
            head = f"{account_id}\t"
            lines += [f"{head}{n}\t{instance_id}\t{columns(p)}" for n, p in enumerate(facts_privileges(account), 1)]
            if len(lines) >= 5000:
                yield "".join(lines)
                lines = []
        yield "".join(lines)

    copy_text(cursor, sql.COPY_ENTRIES, chunks())


def copy_text(cursor, statement: str, chunks: Iterable[str]) -> None:
    """``COPY … FROM STDIN`` of text-format ``chunks`` (whole lines); logged like ``copy_rows``."""
    started = time.monotonic()
    with cursor.cursor.copy(statement) as copy:
        for chunk in chunks:
            if chunk:
                copy.write(chunk)
    if connection.queries_logged:
        connection.queries_log.append({"sql": statement, "time": f"{time.monotonic() - started:.3f}"})


def copy_field(value: str) -> str:
    # COPY's text format: backslash, tab, newline and carriage return are escaped
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _entry_line_tail(p: Privilege, affixes: tuple[str, str] | None) -> str:
    via = text_array(list(p.via))
    nulls = ("\\N", "\\N") if affixes is None else tuple(map(copy_field, affixes))
    return "\t".join((
        copy_field(p.privilege.upper()), p.level, copy_field(p.target), "t" if p.grantable else "f", p.state,
        copy_field(via), "t" if p.via_set_role else "f", "\\N" if p.implied_by is None else copy_field(p.implied_by),
        *nulls,
    )) + "\n"  # fmt: skip


@functools.lru_cache(maxsize=200_000)
def _entry_columns(p: Privilege) -> str:
    """Columns privilege … pattern_suffix of an entry, as a COPY text line's tail."""
    return _entry_line_tail(p, None)


@functools.lru_cache(maxsize=200_000)
def _entry_columns_mysql(p: Privilege) -> str:
    """The same on MySQL/MariaDB, whose database-level targets may be patterns (``pattern_prefix``,
    ``pattern_suffix``)."""
    pattern = p.level == "database" and mysql_is_pattern(p.target)
    return _entry_line_tail(p, mysql_pattern_affixes(p.target) if pattern else None)


def permission_lines(
    accounts: Iterable[tuple[int, AccountFacts]], *, now: datetime, facts_out: list[str]
) -> Iterator[str]:
    """``sql.COPY_PERMISSIONS`` rows of new accounts ((id, facts) pairs) in COPY's text format, a
    chunk of lines at a time; each account's state is computed here, inside the stream, so the
    database ingests one chunk while the next is encoded. Each facts JSON is appended to
    ``facts_out`` (for the accounts' "add" rows)."""
    stamp = copy_field(now.isoformat())
    shared: dict[int, tuple[SharedSnapshot, str]] = {}  # id → (the shared snapshot, its escaped JSON)
    lines: list[str] = []
    for account_id, account in accounts:
        state = account_state(account)
        facts_out.append(state.facts_json)
        snapshot = account.snapshot
        if type(snapshot) is SharedSnapshot:  # escaped once for every account that shares it
            known = shared.get(id(snapshot))
            if known is None:
                known = shared[id(snapshot)] = (snapshot, copy_field(state.snapshot_json))
            snapshot_text = known[1]
        else:
            snapshot_text = copy_field(state.snapshot_json)
        lines.append(
            f"{account_id}\t{snapshot_text}\t{copy_field(state.facts_json)}\t{state.digest}\t"
            f"{'t' if account.is_superuser else 'f'}\t{'t' if account.can_grant else 'f'}\t"
            f"{'t' if account.is_locked else 'f'}\t{roles_field(tuple(account.roles))}\t{stamp}\n"
        )
        if len(lines) >= 1000:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


@functools.lru_cache(maxsize=4096)
def roles_field(roles: tuple[str, ...]) -> str:
    """An account's roles as a COPY text field of ``account_permissions.roles`` (sorted, distinct):
    most accounts share theirs, so each distinct list is encoded once."""
    return copy_field(text_array(sorted(set(roles))))


def text_array(items: list[str]) -> str:
    """A PostgreSQL text[] literal (every element quoted): cheaper than the
    driver's per-row list adaptation inside a 10,000-row COPY."""
    if not items:
        return "{}"
    return "{" + ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "}"


# one encoder for all snapshots (json.dumps would build one per call); adapters'
# snapshots are plain dicts in no particular key order: sorted, so equal is equal
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


class AccountState(NamedTuple):
    """An account's canonical JSON of facts and of the snapshot (encoded once,
    spliced into the writes) and their digest (equal states hash equal)."""

    key: tuple[str, str]
    account: AccountFacts
    facts_json: str
    snapshot_json: str
    digest: str

    @property
    def facts(self) -> dict:
        """The facts as a dict: only for the (few) accounts whose change is described."""
        return json.loads(self.facts_json)


def state_digest(facts: str, snapshot: str) -> str:
    return hashlib.blake2b(f"{facts}\n{snapshot}".encode(), digest_size=16).hexdigest()


def snapshot_json(snapshot: dict) -> str:
    """The canonical JSON of a snapshot; a ``SharedSnapshot`` is encoded once for all its accounts."""
    if type(snapshot) is not SharedSnapshot:
        return _canonical(snapshot)
    if snapshot.encoded is None:
        snapshot.encoded = _canonical(snapshot)
    return snapshot.encoded


def account_state(account: AccountFacts) -> AccountState:
    facts, snapshot = facts_json(account), snapshot_json(account.snapshot)
    return AccountState((account.username, account.host), account, facts, snapshot, state_digest(facts, snapshot))


#: the largest JSON text ``permissions_docs`` puts in one document: PostgreSQL refuses a jsonb
#: array over 256 MB ("total size of jsonb array elements exceeds the maximum"), and accounts with
#: many privileges (an owner of thousands of tables) reach that in a few thousand accounts
DOC_LIMIT = 64 * 1024 * 1024


def permissions_docs(rows: list[tuple[int, AccountState, str | None]]) -> Iterator[str]:
    """The permission rows of changed accounts as JSON array documents (``sql.UPSERT_PERMISSIONS``),
    each at most ``DOC_LIMIT`` characters unless one account alone is larger: one document for any
    ordinary change, more only for very large ones. The already-serialised JSON is spliced in:
    nothing is encoded twice."""
    limit = DOC_LIMIT  # read at each call: a test lowers it
    parts: list[str] = []
    size = 0
    for account_id, state, _ in rows:
        part = (f'{{"id":{account_id},"state_hash":"{state.digest}","facts":{state.facts_json},'
                f'"snapshot":{state.snapshot_json}}}')  # fmt: skip
        if parts and size + len(part) > limit:
            yield "[" + ",".join(parts) + "]"
            parts, size = [], 0
        parts.append(part)
        size += len(part) + 1
    if parts:
        yield "[" + ",".join(parts) + "]"
