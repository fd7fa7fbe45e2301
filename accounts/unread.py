"""Partial reads: what the account sync does with a scope the adapter could not read.

An adapter names each scope it could not read (a PostgreSQL database it may not connect to, a
SQL Server database without HAS_DBACCESS, a privilege table or view it may not select) as an
``UnreadScope`` (``BaseAdapter.account_unread_scopes``). Its privileges are missing from the
listing, which says nothing about whether they still exist, so for each stored account the sync
replaces what the listing has inside those scopes by what was stored there
(``carry_over``): the entries (and so the who-can index rows rewritten from them), the roles
and the part of the engine-native snapshot the scope fills, and the ``can_grant`` reasons
that name a kept entry or role. The merged state then goes through the ordinary comparison:
an account whose only difference lay inside an unread scope compares equal to its stored
state and gets no change row; what changed outside the scopes is logged as usual. A later full
read compares the real entries with the kept ones and logs what really changed meanwhile.

The instance's unread scopes are stored (``AccountUnreadScope``) with ``not_read_since``: the
last sync that read the scope in full (kept while it stays unread), so pages and the API mark
the kept entries. A partial read stores its listing fingerprint like a full one (``WRITE_PARTIAL``),
and that fingerprint covers the unread scopes and their reasons (``accounts/fingerprint.py``): the
same partial read again — the same rows, the same scopes unread for the same reasons — is an
unchanged listing (the carry-over would give the stored state again), so it only bumps the
timestamps, the scopes' ``last_unread_at`` included, and its record is still ``partial``, naming
each scope with its stored since-date (``accounts.services._touch_unchanged``). Any other read
differs from it, a full read above all, and compares everything; a full read deletes the
instance's unread scopes in the statement that stores its fingerprint (``accounts/sql.py``).

Costs: nothing on a full read; on a partial one, one read of the stored states and one write of
the scopes, whatever the number of accounts; on the same partial read again, one statement more
than an unchanged full read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from accounts import sql
from accounts.diff import facts_privileges
from instances.adapters.base import AccountFacts, Privilege, UnreadScope
from instances.adapters.parsing import privilege_label

# The stored side: when the instance was last read (its accounts' last_seen_at before this sync
# bumps it) and its unread scopes with their since-dates, on every row, and each account's facts and
# snapshot, one row per account (the carry-over needs the stored entries inside the scopes; one
# jsonb array of them all would hit PostgreSQL's 256 MB limit on a large instance). One row of
# NULL accounts when none is stored.
STORED = f"""
SELECT i.last_read, i.scopes, a.username, a.host, a.facts, a.snapshot
FROM (SELECT (SELECT max(a.last_seen_at) FROM instance_accounts a WHERE a.instance_id = %(instance_id)s) AS last_read,
             {sql.UNREAD_SINCE} AS scopes) i
LEFT JOIN LATERAL (
    SELECT a.username, a.host, p.facts::text AS facts, p.snapshot::text AS snapshot
    FROM instance_accounts a JOIN account_permissions p ON p.instance_account_id = a.id
    WHERE a.instance_id = %(instance_id)s
) a ON true
"""

# A partial read: store its listing fingerprint (which covers its unread scopes; none given: forget
# the stored one, so that the next sync compares everything) and replace the instance's unread
# scopes by this read's.
WRITE_PARTIAL = """
WITH forget AS (
    DELETE FROM instance_account_listings WHERE instance_id = %(instance_id)s AND coalesce(%(fingerprint)s, '') = ''
),
listing AS (
    INSERT INTO instance_account_listings (instance_id, fingerprint, account_count, changed_at)
    SELECT %(instance_id)s, %(fingerprint)s, %(account_count)s, %(now)s WHERE coalesce(%(fingerprint)s, '') <> ''
    ON CONFLICT (instance_id) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, account_count = EXCLUDED.account_count, changed_at = EXCLUDED.changed_at
),
gone AS (DELETE FROM account_unread_scopes WHERE instance_id = %(instance_id)s AND name <> ALL(%(names)s::text[]))
INSERT INTO account_unread_scopes (instance_id, name, level, target, reason, covers, covers_privileges, role_prefix,
                                   snapshot_path, not_read_since, last_unread_at)
SELECT %(instance_id)s, x.name, x.level, x.target, x.reason, ARRAY(SELECT jsonb_array_elements_text(x.covers)),
       x.covers_privileges, x.role_prefix, ARRAY(SELECT jsonb_array_elements_text(x.snapshot_path)),
       x.not_read_since, %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS x(name text, level text, target text, reason text, covers jsonb,
                                             covers_privileges jsonb, role_prefix text, snapshot_path jsonb,
                                             not_read_since timestamptz)
ON CONFLICT (instance_id, name) DO UPDATE SET
    level = EXCLUDED.level, target = EXCLUDED.target, reason = EXCLUDED.reason, covers = EXCLUDED.covers,
    covers_privileges = EXCLUDED.covers_privileges, role_prefix = EXCLUDED.role_prefix,
    snapshot_path = EXCLUDED.snapshot_path, not_read_since = EXCLUDED.not_read_since,
    last_unread_at = EXCLUDED.last_unread_at
"""


@dataclasses.dataclass(frozen=True)
class UnreadRecord:
    """One unread scope of this sync with the last time it was read in full (None: never)."""

    scope: UnreadScope
    not_read_since: dt.datetime | None

    def message(self) -> str:
        """One sentence for the sync record (the record is ``partial``)."""
        since = f"{self.not_read_since:%Y-%m-%d %H:%M} UTC" if self.not_read_since else "never read in full"
        if self.not_read_since:
            since = f"not read since {since}"
        return (
            f"{self.scope.label} was not read ({self.scope.reason}); its stored privileges are kept as they were "
            f"({since})."
        )

    def details(self) -> dict[str, Any]:
        s = self.scope
        return {"name": s.label, "level": s.level, "target": s.target, "reason": s.reason,
                "not_read_since": self.not_read_since.isoformat() if self.not_read_since else None}  # fmt: skip


def _privilege(entry: dict[str, Any]) -> Privilege:
    return Privilege(
        entry["level"], entry["privilege"], entry["target"], bool(entry["grantable"]), entry.get("state", "GRANT"),
        tuple(entry.get("via", ())), bool(entry.get("via_set_role", False)), entry.get("implied_by"),
    )  # fmt: skip


def _inside(scopes: Sequence[UnreadScope], entry: Privilege | dict[str, Any]) -> bool:
    return any(scope.contains(entry) for scope in scopes)


def _role_inside(scopes: Sequence[UnreadScope], role: str) -> bool:
    return any(scope.contains_role(role) for scope in scopes)


def carry_over(
    account: AccountFacts, *, facts: dict[str, Any], snapshot: dict[str, Any], scopes: Sequence[UnreadScope]
) -> AccountFacts:
    """``account`` as listed, with what lies inside ``scopes`` replaced by what the stored
    ``facts``/``snapshot`` hold there (pure). Unchanged (the same object) when neither side has
    anything inside."""
    stored = [p for p in facts.get("privileges", ()) if isinstance(p, dict)]
    kept = [_privilege(p) for p in stored if _inside(scopes, p)]
    listed_inside = [p for p in account.privileges if _inside(scopes, p)]
    kept_roles = [r for r in facts.get("roles", ()) if _role_inside(scopes, r)]
    listed_roles_inside = [r for r in account.roles if _role_inside(scopes, r)]
    paths = [scope.snapshot_path for scope in scopes if scope.snapshot_path]
    if not (kept or listed_inside or kept_roles or listed_roles_inside or paths):
        return account
    privileges = tuple(p for p in account.privileges if not _inside(scopes, p)) + tuple(kept)
    roles = tuple(r for r in account.roles if not _role_inside(scopes, r)) + tuple(kept_roles)
    merged_snapshot = _snapshot(account.snapshot, snapshot, paths)
    # can_grant: the reasons the listing gives outside the scopes, and the stored ones that name a
    # kept entry or role (a grant option inside an unread database, membership of its db_owner)
    kept_labels = {privilege_label(p) for p in kept}
    listed_reasons = [r for r in account.reasons.get("can_grant", ())
                      if r not in {privilege_label(p) for p in listed_inside}
                      and not any(_names_role(r, role) for role in listed_roles_inside)]  # fmt: skip
    stored_reasons = list(facts.get("reasons", {}).get("can_grant", ()))
    carried = [r for r in stored_reasons if r in kept_labels or any(_names_role(r, role) for role in kept_roles)]
    grant_reasons = list(dict.fromkeys(listed_reasons + carried))
    if set(grant_reasons) == set(stored_reasons):
        grant_reasons = stored_reasons  # the stored order: equal reasons, equal state
    reasons = {flag: items for flag, items in account.reasons.items() if flag != "can_grant"}
    if grant_reasons:
        reasons["can_grant"] = tuple(grant_reasons)
    # a listing that sets the flag without naming why keeps it (every parser names its reasons)
    can_grant = bool(grant_reasons) or (account.can_grant and not account.reasons.get("can_grant"))
    merged = dataclasses.replace(
        account, privileges=privileges, roles=roles, snapshot=merged_snapshot, reasons=reasons, can_grant=can_grant
    )
    # keep the facts' canonical order (the parsers sort theirs; kept entries were appended)
    return dataclasses.replace(merged, privileges=tuple(facts_privileges(merged)))


def _snapshot(listed: dict[str, Any], stored: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """``listed`` with the value at each of ``paths`` taken from ``stored``, or removed when the
    stored snapshot has none; copies only along the paths, and only where something changes."""
    result = listed
    for path in paths:
        source: Any = stored
        for key in path:
            source = source.get(key, _MISSING) if isinstance(source, dict) else _MISSING
        current: Any = result
        for key in path:
            current = current.get(key, _MISSING) if isinstance(current, dict) else _MISSING
        if source is current or (source is not _MISSING and source == current):
            continue
        if result is listed:
            result = dict(listed)
        node = result
        for key in path[:-1]:
            child = node.get(key)
            node[key] = dict(child) if isinstance(child, dict) else {}
            node = node[key]
        if source is _MISSING:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = source
    return result


_MISSING = object()


def unread_carry_over(
    cursor,
    *,
    instance_id: int,
    scopes: Sequence[UnreadScope],
    incoming: dict[tuple[str, str], AccountFacts],
) -> list[UnreadRecord]:
    """Replace, in ``incoming`` (the listing by (username, host)), what lies inside ``scopes`` by
    the stored state (``carry_over``), and return each scope with its since-date: the stored one
    while it stays unread, else the instance's last read (None before any). One statement."""
    cursor.execute(STORED, {"instance_id": instance_id})
    rows = cursor.fetchall()
    last_read, previous_text = rows[0][:2]
    previous = json.loads(previous_text)
    for _, _, username, host, facts, snapshot in rows:
        account = incoming.get((username, host)) if username is not None else None
        if account is not None:
            incoming[(username, host)] = carry_over(
                account, facts=json.loads(facts) if facts else {}, snapshot=json.loads(snapshot) if snapshot else {},
                scopes=scopes,
            )  # fmt: skip
    return _records(scopes, previous, last_read=last_read)


def _records(
    scopes: Sequence[UnreadScope], stored: dict[str, str | None], *, last_read: dt.datetime | None
) -> list[UnreadRecord]:
    """Each scope with its since-date: the stored one (``stored``: scope name → ISO date or None)
    while it stays unread, else ``last_read``."""
    records = []
    for scope in scopes:
        since = stored.get(scope.label, last_read)  # a stored None: never read in full
        records.append(UnreadRecord(scope, dt.datetime.fromisoformat(since) if isinstance(since, str) else since))
    return records


def unread_record(
    cursor,
    *,
    instance_id: int,
    records: Sequence[UnreadRecord],
    now: dt.datetime,
    fingerprint: str = "",
    account_count: int = 0,
) -> None:
    """Store this partial read's unread scopes (replacing the instance's) and its listing
    ``fingerprint`` with ``account_count`` (none: forget the stored one). One statement."""
    doc = [
        {"name": r.scope.label, "level": r.scope.level, "target": r.scope.target, "reason": r.scope.reason,
         "covers": list(r.scope.covers), "covers_privileges": [list(pair) for pair in r.scope.covers_privileges],
         "role_prefix": r.scope.role_prefix, "snapshot_path": list(r.scope.snapshot_path),
         "not_read_since": r.not_read_since.isoformat() if r.not_read_since else None}
        for r in records
    ]  # fmt: skip
    cursor.execute(
        WRITE_PARTIAL,
        {"instance_id": instance_id, "names": [r.scope.label for r in records], "doc": json.dumps(doc), "now": now,
         "fingerprint": fingerprint, "account_count": account_count},
    )  # fmt: skip


def unread_records_stored(scopes: Sequence[UnreadScope], stored: dict[str, str | None]) -> list[UnreadRecord] | None:
    """This read's ``scopes`` with the since-dates stored for them (``stored``: scope name → ISO
    date or None), when the stored scopes are exactly these: the same partial read as the last
    applied one (its listing fingerprint matched). None when they differ."""
    if set(stored) != {scope.label for scope in scopes}:
        return None
    return _records(scopes, stored, last_read=None)


def stored_scope(row: Any) -> UnreadScope:
    """An ``AccountUnreadScope`` row as the adapter's ``UnreadScope`` (for marking kept entries)."""
    return UnreadScope(
        level=row.level, target=row.target, reason=row.reason, source=row.name if row.name != _label(row) else "",
        covers=tuple(row.covers), covers_privileges=tuple(tuple(pair) for pair in row.covers_privileges),
        role_prefix=row.role_prefix, snapshot_path=tuple(row.snapshot_path),
    )  # fmt: skip


def _label(row: Any) -> str:
    return f"{row.level} {row.target}" if row.target else "instance"


def _names_role(reason: str, role: str) -> bool:
    """Is ``reason`` a membership of ``role`` ("member of <role>" or "member of <role> via …")?
    Not a substring test: role ``a.db_owner`` is not named by "member of data.db_owner"."""
    return reason == f"member of {role}" or reason.startswith(f"member of {role} via ")
