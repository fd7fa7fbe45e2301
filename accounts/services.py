"""Account sync: read the target's logins, then apply inventory, permissions
and change log in one short transaction (seed 003 §1, defects fixed).

Set-based throughout: one read of the stored state, bulk inserts/upserts and
a handful of ``UPDATE … WHERE`` statements, whatever the number of accounts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from accounts import sql
from accounts.diff import facts_diff, permission_facts
from accounts.fingerprint import listing_fingerprint
from accounts.models import ChangeType
from instances.adapters.base import AccountFacts
from instances.adapters.registry import get_adapter
from instances.models import Instance
from instances.selectors import instances_for_batch
from sync_sessions.models import SyncSession
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_lock
from whalefall.errors import TargetQueryFailed

logger = logging.getLogger(__name__)


def accounts_sync_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """Sync the accounts of one instance; returns synced/created/updated/deleted counts.

    Holds an advisory lock per instance (a concurrent sync of the same
    instance raises ConcurrentOperation); reads the remote catalog outside any
    metadata transaction; applies everything in one transaction.
    """
    with advisory_lock("accounts.sync", instance.pk, what=f"Account sync of {instance.name}"):
        adapter = get_adapter(instance)
        rows = adapter.read_account_rows()
        fingerprint = listing_fingerprint(adapter=adapter, rows=rows)
        unchanged = _touch_unchanged(instance=instance, fingerprint=fingerprint)
        if unchanged is not None:
            return unchanged
        accounts = adapter.parse_account_rows(rows)
        return accounts_apply(instance=instance, accounts=accounts, session=session, fingerprint=fingerprint)


@transaction.atomic(durable=True)
def _touch_unchanged(*, instance: Instance, fingerprint: str) -> RecordOutcome | None:
    """The listing is the one last applied: bump ``last_seen_at`` and return the
    outcome; None (nothing written) when it differs."""
    now = timezone.now()
    with connection.cursor() as cursor:
        rows = _run(cursor, sql.TOUCH_LISTING, instance_id=instance.pk, fingerprint=fingerprint, now=now)
        if not rows:
            return None
        _run(cursor, sql.TOUCH_ACTIVE, instance_id=instance.pk, now=now)
        _run(cursor, sql.TOUCH_INSTANCE, instance_id=instance.pk, now=now)
    return RecordOutcome(synced=rows[0][0], details={"unchanged_listing": True})


def _index_incoming(instance: Instance, accounts: Sequence[AccountFacts]) -> dict[tuple[str, str], AccountFacts]:
    incoming: dict[tuple[str, str], AccountFacts] = {}
    for account in accounts:
        key = (account.username, account.host)
        if key in incoming:
            raise TargetQueryFailed(
                f"{instance.name}: the adapter returned account {account.username!r}@{account.host!r} twice.",
                instance_id=instance.pk,
                instance_name=instance.name,
            )
        incoming[key] = account
    return incoming


def _run(cursor, statement: str, **params) -> list[tuple]:
    cursor.execute(statement, params)
    return cursor.fetchall() if cursor.description else []


def _copy(cursor, statement: str, rows: Iterable[tuple]) -> None:
    """``COPY … FROM STDIN`` of ``rows`` (psycopg escapes them). Logged like any
    statement when Django logs queries, so query budgets count it."""
    started = time.monotonic()
    with cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append({"sql": statement, "time": f"{time.monotonic() - started:.3f}"})


@transaction.atomic(durable=True)
def accounts_apply(
    *,
    instance: Instance,
    accounts: Sequence[AccountFacts],
    session: SyncSession | None = None,
    fingerprint: str = "",
) -> RecordOutcome:
    """Apply a full account listing of ``instance`` in one transaction.

    New accounts are added, returning ones reactivated, vanished ones
    deactivated (``is_active=false``, ``deactivated_at``), changed permissions
    upserted, and one change-log row written per add/modify/remove/reactivate.
    The comparison with the stored state runs in the database (see
    ``accounts/sql.py``); a listing identical to the stored state only bumps
    ``last_seen_at``. ``fingerprint`` (of the listing's catalog rows) is
    stored for the next sync to recognise an unchanged listing; without one
    the next sync compares everything. Eleven statements at most, whatever the
    account count.
    """
    now = timezone.now()
    incoming = _index_incoming(instance, accounts)
    states = {key: _state(a) for key, a in incoming.items()}
    ids = {"instance_id": instance.pk, "now": now}
    session_id = session.session_id if session is not None else None
    with connection.cursor() as cursor:
        # Don't wait for the WAL flush of this (large) commit: the record's
        # finish, a synchronous commit right after, flushes it. A crash before
        # that loses this sync *and* leaves its record unfinished (reaped as
        # failed) — never a completed record without its data.
        cursor.execute("SET LOCAL synchronous_commit = off")
        keys = list(states)
        rows = _run(
            cursor, sql.SYNC_ACCOUNTS, usernames=[u for u, _ in keys], hosts=[h for _, h in keys],
            hashes=[state.digest for state in states.values()], **ids,
        )  # fmt: skip
        created = [(account_id, u, h) for account_id, u, h, *_, is_new in rows if is_new]
        if created:
            _copy_new_accounts(cursor, created, incoming, states, session_id=session_id, **ids)
        plan = _plan(rows, states)
        if plan.permissions:
            _run(cursor, sql.UPSERT_PERMISSIONS, doc=_permissions_doc(plan.permissions), now=now)
        if plan.reactivated:
            _run(cursor, sql.REACTIVATE, ids=plan.reactivated)
        if plan.vanished:
            _run(cursor, sql.DEACTIVATE, ids=plan.vanished, now=now)
        _run(cursor, sql.TOUCH_ACTIVE, **ids)
        if plan.changes:
            _run(cursor, sql.INSERT_CHANGES, doc="[" + ",".join(plan.changes) + "]", session_id=session_id, **ids)
        _run(cursor, sql.TOUCH_INSTANCE, **ids)
        if fingerprint:
            _run(cursor, sql.UPSERT_LISTING, fingerprint=fingerprint, account_count=len(incoming), **ids)
        else:
            _run(cursor, sql.FORGET_LISTING, **ids)
    return RecordOutcome(
        synced=len(incoming),
        created=len(created),
        updated=plan.modified + len(plan.reactivated),
        deleted=len(plan.vanished),
        details={"reactivated": len(plan.reactivated), "modified": plan.modified},
    )


def _copy_new_accounts(cursor, created, incoming, states, *, instance_id, session_id, now) -> None:
    """Permission rows and "add" change-log rows of freshly inserted accounts, by
    COPY: no conflict is possible, and COPY takes the JSON text as it is."""
    _copy(cursor, sql.COPY_PERMISSIONS, (
        (account_id, states[(u, h)].snapshot_json, states[(u, h)].facts_json, states[(u, h)].digest,
         incoming[(u, h)].is_superuser, incoming[(u, h)].can_grant, incoming[(u, h)].is_locked,
         states[(u, h)].facts["roles"], now)
        for account_id, u, h in created
    ))  # fmt: skip
    _copy(cursor, sql.COPY_CHANGES, (
        (instance_id, account_id, u, h, ChangeType.ADD.value, '{"facts":' + states[(u, h)].facts_json + "}",
         session_id, now)
        for account_id, u, h in created
    ))  # fmt: skip


@dataclass
class _Plan:
    permissions: list[tuple[int, _State]] = field(default_factory=list)  # (account id, state) to upsert
    changes: list[str] = field(default_factory=list)  # change-log rows (except adds) as JSON text
    reactivated: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    modified: int = 0


def _plan(rows: list[tuple], states: dict) -> _Plan:
    """What to write for already stored accounts, from the SYNC_ACCOUNTS rows."""
    plan = _Plan()
    for account_id, u, h, is_active, listed, has_permission, old_facts_text, is_new in rows:
        if is_new:  # written by _copy_new_accounts
            continue
        old_facts = json.loads(old_facts_text) if old_facts_text else {}
        if not listed:
            plan.vanished.append(account_id)
            plan.changes.append(_change(account_id, u, h, ChangeType.REMOVE, {"last_facts": old_facts}))
            continue
        state = states[(u, h)]
        diff = facts_diff(old_facts, state.facts)
        if not diff and has_permission:  # the digest differs, the facts do not: the snapshot changed
            diff = {"snapshot": {"changed": True}}
        plan.permissions.append((account_id, state))
        if not is_active:
            plan.reactivated.append(account_id)
            plan.changes.append(_change(account_id, u, h, ChangeType.REACTIVATE, diff))
        elif diff:
            plan.modified += 1
            plan.changes.append(_change(account_id, u, h, ChangeType.MODIFY, diff))
    return plan


# one encoder for all accounts (json.dumps would build one per call)
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


class _State(NamedTuple):
    """An account's engine-neutral facts, the canonical JSON of facts and of
    the snapshot (encoded once, spliced into the writes), and their digest
    (equal states hash equal)."""

    facts: dict
    facts_json: str
    snapshot_json: str
    digest: str


def _state(account: AccountFacts) -> _State:
    facts = permission_facts(account)
    facts_json, snapshot_json = _canonical(facts), _canonical(account.snapshot)
    digest = hashlib.blake2b(f"{facts_json}\n{snapshot_json}".encode(), digest_size=16).hexdigest()
    return _State(facts, facts_json, snapshot_json, digest)


def _permissions_doc(rows: list[tuple[int, _State]]) -> str:
    # splice the already-serialised JSON in: nothing is encoded twice
    return (
        "["
        + ",".join(
            f'{{"id":{account_id},"state_hash":"{state.digest}","facts":{state.facts_json},'
            f'"snapshot":{state.snapshot_json}}}'
            for account_id, state in rows
        )
        + "]"
    )


def _change(account_id: int, username: str, host: str, change_type: str, diff: dict) -> str:
    """One change-log row as JSON text."""
    return json.dumps(
        {"account_id": account_id, "username": username, "host": host, "change_type": change_type, "diff": diff}
    )


def accounts_sync_all(
    *,
    instance_ids: Sequence[int] | None = None,
    sync_type: str,
    created_by=None,
    enqueue: bool = False,
    progress=None,
) -> SyncSession:
    """Sync accounts of the given (default: all active) instances in one session.

    Inline by default (``progress(record)`` after each instance); with
    ``enqueue`` one django-q2 task per instance after commit. One failing
    instance never stops the others; the session always ends completed or
    failed.
    """
    from sync_sessions.runner import batch_start

    instances = instances_for_batch(instance_ids=instance_ids)
    return batch_start(
        sync_category="account",
        sync_type=sync_type,
        instances=instances,
        created_by=created_by,
        enqueue=enqueue,
        progress=progress,
    )
