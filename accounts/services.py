"""Account sync: read the target's logins, then apply inventory, permissions
and change log in one short transaction (seed 003 §1, defects fixed).

Set-based throughout: one read of the stored state, bulk inserts/upserts and
a handful of ``UPDATE … WHERE`` statements, whatever the number of accounts.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from accounts import sql
from accounts.diff import facts_diff, permission_facts
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
        accounts = get_adapter(instance).fetch_accounts()
        return accounts_apply(instance=instance, accounts=accounts, session=session)


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


def _doc(rows: list[dict]) -> str:
    return json.dumps(rows, default=str)


@transaction.atomic(durable=True)
def accounts_apply(
    *, instance: Instance, accounts: Sequence[AccountFacts], session: SyncSession | None = None
) -> RecordOutcome:
    """Apply a full account listing of ``instance`` in one transaction.

    New accounts are added, returning ones reactivated, vanished ones
    deactivated (``is_active=false``, ``deactivated_at``), changed permissions
    upserted, and one change-log row written per add/modify/remove/reactivate.
    The comparison with the stored state runs in the database (see
    ``accounts/sql.py``); a listing identical to the stored state only bumps
    ``last_seen_at``. Ten statements at most, whatever the account count.
    """
    now = timezone.now()
    incoming = _index_incoming(instance, accounts)
    listing = {key: _state(a) for key, a in incoming.items()}
    compare = [{"username": u, "host": h, "state_hash": item["state_hash"]} for (u, h), item in listing.items()]
    ids = {"instance_id": instance.pk, "now": now}
    with connection.cursor() as cursor:
        # Don't wait for the WAL flush of this (large) commit: the record's
        # finish, a synchronous commit right after, flushes it. A crash before
        # that loses this sync *and* leaves its record unfinished (reaped as
        # failed) — never a completed record without its data.
        cursor.execute("SET LOCAL synchronous_commit = off")
        rows = _run(cursor, sql.CHANGED_ACCOUNTS, doc=_doc(compare), instance_id=instance.pk)
        new_keys = [(u, h) for account_id, u, h, *_ in rows if account_id is None]
        created = []
        if new_keys:
            new_doc = _doc([{"username": u, "host": h} for u, h in new_keys])
            created = _run(cursor, sql.INSERT_ACCOUNTS, doc=new_doc, **ids)
        plan = _plan(rows, created, listing)
        if plan.permissions:
            _run(cursor, sql.UPSERT_PERMISSIONS, doc=_permissions_doc(plan.permissions), now=now)
        if plan.reactivated:
            _run(cursor, sql.REACTIVATE, ids=plan.reactivated)
        if plan.vanished:
            _run(cursor, sql.DEACTIVATE, ids=plan.vanished, now=now)
        _run(cursor, sql.TOUCH_ACTIVE, **ids)
        session_id = session.session_id if session is not None else None
        if created:
            _run(cursor, sql.INSERT_ADD_CHANGES, ids=[row[0] for row in created], session_id=session_id, now=now,
                 instance_id=instance.pk)  # fmt: skip
        if plan.changes:
            _run(cursor, sql.INSERT_CHANGES, doc="[" + ",".join(plan.changes) + "]", session_id=session_id, **ids)
        _run(cursor, sql.TOUCH_INSTANCE, **ids)
    return RecordOutcome(
        synced=len(incoming),
        created=len(created),
        updated=plan.modified + len(plan.reactivated),
        deleted=len(plan.vanished),
        details={"reactivated": len(plan.reactivated), "modified": plan.modified},
    )


@dataclass
class _Plan:
    permissions: list[tuple[int, dict]] = field(default_factory=list)  # (account id, state) to upsert
    changes: list[str] = field(default_factory=list)  # change-log rows (except adds) as JSON text
    reactivated: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    modified: int = 0


def _plan(rows: list[tuple], created: list[tuple], listing: dict) -> _Plan:
    """What to write, from the CHANGED_ACCOUNTS rows and the freshly inserted accounts."""
    plan = _Plan()
    for account_id, u, h in created:  # their "add" rows are written by INSERT_ADD_CHANGES
        plan.permissions.append((account_id, listing[(u, h)]))
    for account_id, u, h, is_active, listed, has_permission, old_facts_text in rows:
        if account_id is None:  # new: handled above
            continue
        old_facts = json.loads(old_facts_text) if old_facts_text else {}
        if not listed:
            plan.vanished.append(account_id)
            plan.changes.append(_change(account_id, u, h, ChangeType.REMOVE, {"last_facts": old_facts}))
            continue
        item = listing[(u, h)]
        diff = facts_diff(old_facts, item["facts"])
        if not diff and has_permission:  # the digest differs, the facts do not: the snapshot changed
            diff = {"snapshot": {"changed": True}}
        plan.permissions.append((account_id, item))
        if not is_active:
            plan.reactivated.append(account_id)
            plan.changes.append(_change(account_id, u, h, ChangeType.REACTIVATE, diff))
        elif diff:
            plan.modified += 1
            plan.changes.append(_change(account_id, u, h, ChangeType.MODIFY, diff))
    return plan


# one encoder for all accounts (json.dumps would build one per call)
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _state(account: AccountFacts) -> dict:
    """facts, the canonical JSON of [facts, snapshot] and its digest (equal
    states hash equal). The JSON is spliced into the permission upsert's
    document, so nothing is encoded twice."""
    facts = permission_facts(account)
    state_json = _canonical([facts, account.snapshot])
    digest = hashlib.blake2b(state_json.encode(), digest_size=16).hexdigest()
    return {"facts": facts, "state_json": state_json, "state_hash": digest}


def _permissions_doc(rows: list[tuple[int, dict]]) -> str:
    # splice the already-serialised state in: snapshots are not encoded twice
    return "[" + ",".join(
        f'{{"id":{account_id},"state_hash":"{item["state_hash"]}","state":{item["state_json"]}}}'
        for account_id, item in rows
    ) + "]"


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
