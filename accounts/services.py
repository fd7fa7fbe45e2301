"""Account sync: read the target's logins, then apply inventory, permissions
and change log in one short transaction (seed 003 §1, defects fixed).

Set-based throughout: one read of the stored state, bulk inserts/upserts
(``COPY`` for new accounts) and a handful of ``UPDATE … WHERE`` statements,
whatever the number of accounts. A resync whose catalog rows are those of
the last applied listing (``accounts/fingerprint.py``) only bumps timestamps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from accounts import sql
from accounts.diff import ADDED_FIELDS, facts_diff, facts_json
from accounts.encoding import (
    AccountState,
    account_state,
    copy_entries,
    copy_rows,
    copy_text,
    permission_lines,
    permissions_docs,
    state_digest,
)
from accounts.fingerprint import listing_fingerprint
from accounts.models import ChangeType
from accounts.unread import unread_carry_over, unread_record, unread_records_stored
from instances.adapters.base import AccountFacts, UnreadScope
from instances.adapters.registry import get_adapter
from instances.models import Instance
from instances.services import instance_contact_record
from sync_sessions.models import SyncCategory, SyncSession
from sync_sessions.runner import Unit, batch_start
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_lock
from whalefall.errors import TargetQueryFailed
from whalefall.memory import collector_paused as _collector_paused

logger = logging.getLogger(__name__)


def accounts_sync_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """Sync the accounts of one instance; returns synced/created/updated/deleted counts.

    Holds an advisory lock per instance (a concurrent sync of the same
    instance raises ConcurrentOperation); reads the remote catalog outside any
    metadata transaction; applies everything in one transaction, or only
    bumps timestamps when the catalog rows are those last applied. A read
    that could not cover everything (``adapter.account_unread_scopes``) names its
    scopes in the outcome (``accounts/unread.py``); it is unchanged only when it is the
    same partial read as the last applied one (the fingerprint covers the scopes).
    """
    with advisory_lock("accounts.sync", instance.pk, what=f"Account sync of {instance.name}"):
        adapter = get_adapter(instance)
        rows = adapter.read_account_rows()
        fingerprint = listing_fingerprint(adapter=adapter, rows=rows)
        version = adapter.server_version_seen
        unread = adapter.account_unread_scopes(rows)
        outcome = _touch_unchanged(instance=instance, fingerprint=fingerprint, server_version=version, unread=unread)
        if outcome is None:
            with _collector_paused():
                accounts = adapter.parse_account_rows(rows)
                outcome = accounts_apply(
                    instance=instance, accounts=accounts, session=session, fingerprint=fingerprint,
                    server_version=version, unread=unread,
                )  # fmt: skip
    if not outcome.details.get("unchanged_listing"):
        _followups(instance=instance, session=session, outcome=outcome)
    return outcome


#: what runs after an account sync that changed the stored listing (apps above this one register
#: theirs: classification re-classifies the instance)
_FOLLOWUPS: list[Callable[..., RecordOutcome | None]] = []


def account_sync_followup_register(followup: Callable[..., RecordOutcome | None]) -> None:
    """Run ``followup(instance=…, session=…, inline=…)`` after each account sync of an instance
    whose listing changed (outside the sync's lock and transaction; an unchanged listing changes
    no facts). ``inline`` is true when the sync runs in the process that asked for it (a command,
    a test: no worker may be running, so the follow-up runs there too) and false in a worker of
    the task cluster (it may hand its work to the cluster). What it returns is merged into the
    sync's outcome: its ``details`` into the record's details, its ``incomplete`` makes the record
    ``partial``. An exception it raises is logged with its traceback and makes the record
    ``partial`` naming it (the accounts themselves were synced)."""
    if followup not in _FOLLOWUPS:
        _FOLLOWUPS.append(followup)


def _followups(*, instance: Instance, session: SyncSession | None, outcome: RecordOutcome) -> None:
    inline = session is None or not session.enqueued
    for followup in _FOLLOWUPS:
        try:
            result = followup(instance=instance, session=session, inline=inline)
        except Exception as exc:  # the sync itself succeeded: its record says what failed after it
            logger.exception("follow-up %s of the account sync of %s failed", followup.__qualname__, instance.name)
            failure = f"{followup.__qualname__}: {type(exc).__name__}: {exc}"
            outcome.details.setdefault("followup_errors", []).append(failure)
            outcome.incomplete.append(f"The accounts were synced, but a follow-up failed ({failure}).")
            continue
        if result is not None:
            outcome.details.update(result.details)
            outcome.incomplete.extend(result.incomplete)


#: what an account-sync batch runs per instance (no retries: the next sync reads everything again)
ACCOUNT_SYNC_UNIT = Unit(accounts_sync_instance)


@transaction.atomic(durable=True)
def _touch_unchanged(
    *, instance: Instance, fingerprint: str, server_version: str, unread: Sequence[UnreadScope] = ()
) -> RecordOutcome | None:
    """The listing is the one last applied: bump ``last_seen_at`` (and the instance's
    contact time and version) and return the outcome; None (nothing written) when it differs.
    The same partial read as the last applied one (``unread``: its scopes, which its fingerprint
    covers) is unchanged too: its scopes stay unread since their stored dates, and the outcome
    names them (the record is ``partial``)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        rows = _run(cursor, sql.SAME_LISTING, instance_id=instance.pk, fingerprint=fingerprint)
        if not rows:
            return None
        account_count, stored_scopes = rows[0]
        records = unread_records_stored(unread, json.loads(stored_scopes))
        if records is None:  # the stored scopes are not this read's (changed by hand): compare everything
            return None
        _run(cursor, sql.TOUCH_ACTIVE, instance_id=instance.pk, now=now)
        if records:
            _run(cursor, sql.TOUCH_UNREAD, instance_id=instance.pk, now=now)
    instance_contact_record(instance=instance, at=now, version=server_version)
    outcome = RecordOutcome(synced=account_count, details={"unchanged_listing": True})
    if records:
        outcome.details["unread_scopes"] = [record.details() for record in records]
        outcome.incomplete += [record.message() for record in records]
    return outcome


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


@transaction.atomic(durable=True)
def accounts_apply(
    *,
    instance: Instance,
    accounts: Sequence[AccountFacts],
    session: SyncSession | None = None,
    fingerprint: str = "",
    server_version: str = "",
    unread: Sequence[UnreadScope] = (),
) -> RecordOutcome:
    """Apply a full account listing of ``instance`` in one transaction.

    New accounts are added, returning ones reactivated, vanished ones
    deactivated (``is_active=false``, ``deactivated_at``), changed permissions
    upserted, and one change-log row written per add/modify/remove/reactivate —
    except on the instance's first sync (nothing stored, no baseline yet): that
    one is its baseline, one ``baseline`` row for the instance and no ``add``
    rows (``_baseline_change``; the outcome's details say ``baseline``).
    The listing is compared by per-account state digest with the stored
    accounts (one query); a listing identical to the stored state only bumps
    ``last_seen_at``. ``fingerprint`` (of the listing's catalog rows) is
    stored for the next sync to recognise an unchanged listing; without one
    the next sync compares everything. The instance's contact time (and
    ``server_version``, when given) is recorded. The who-can index
    (``account_privilege_entries``) of new and changed accounts is rewritten from their facts in
    the same transaction; a deactivated account keeps its entries (and facts). Fifteen
    statements at most, whatever the account count (docs/architecture.md § Account sync).

    ``unread``: the scopes the read could not cover (``accounts/unread.py``): what the stored
    accounts hold inside them is kept as it was (no change rows for it), the scopes are stored
    with their since-dates (and the fingerprint, which covers them), and the outcome names each
    scope in ``incomplete`` (the record is ``partial``). One more statement.
    """
    now = timezone.now()
    incoming = _index_incoming(instance, accounts)
    ids = {"instance_id": instance.pk, "now": now}
    session_id = session.session_id if session is not None else None
    with connection.cursor() as cursor:
        # Don't wait for the WAL flush of this (large) commit: the record's finish — a synchronous
        # commit right after, or in an inline batch the batch's one flush after its last record
        # (sync_sessions.services.records_flush) — flushes it. A crash before that loses this sync
        # *and* leaves its record unfinished (reaped as failed) — never a completed record
        # without its data.
        # And check the foreign keys as each statement writes (every row's parent is written
        # before it), not all at the commit: the database checks the streamed rows while Python
        # encodes the next ones, instead of making the commit wait for 10,000s of checks at the end.
        cursor.execute("SET LOCAL synchronous_commit = off; SET CONSTRAINTS ALL IMMEDIATE")
        unread_records = []
        if unread:  # what the listing could not read: the stored state there replaces it in ``incoming``
            unread_records = unread_carry_over(cursor, instance_id=instance.pk, scopes=unread, incoming=incoming)
        stored = {(u, h): (account_id, is_active, digest)
                  for account_id, u, h, is_active, digest in _run(cursor, sql.STORED_ACCOUNTS, **ids)}  # fmt: skip
        plan = _plan(incoming, stored)
        # the first successful sync is the baseline: no "add" row per account (nothing was added)
        baseline = not stored and not _run(cursor, sql.BASELINE_EXISTS, instance_id=instance.pk)
        created = []
        if plan.new_keys:
            created = _run(
                cursor, sql.INSERT_ACCOUNTS, usernames=[u for u, _ in plan.new_keys],
                hosts=[h for _, h in plan.new_keys], **ids,
            )  # fmt: skip
            _copy_new_accounts(cursor, created, incoming, session_id=session_id, log_adds=not baseline, **ids)
        old_ids = [changed[0] for changed in plan.changed] + [account_id for account_id, _ in plan.vanished]
        old_facts = dict(_run(cursor, sql.OLD_FACTS, ids=old_ids)) if old_ids else {}
        changes, modified = _changes(plan, old_facts)
        if baseline:
            changes.append(_baseline_change(incoming))
        if plan.changed:
            for doc in permissions_docs(plan.changed):  # one, unless the changed state is huge
                _run(cursor, sql.UPSERT_PERMISSIONS, doc=doc, now=now)
            _run(cursor, sql.DELETE_ENTRIES, ids=[account_id for account_id, _, _ in plan.changed])
        # the who-can index of every account whose facts were just written
        rewritten = [(account_id, incoming[(u, h)]) for account_id, u, h in created]
        rewritten += [(account_id, state.account) for account_id, state, _ in plan.changed]
        if rewritten:
            copy_entries(cursor, rewritten, instance_id=instance.pk, mysql=instance.db_type_id == "mysql")
        if plan.reactivated:
            _run(cursor, sql.REACTIVATE, ids=plan.reactivated)
        if plan.vanished:
            _run(cursor, sql.DEACTIVATE, ids=[account_id for account_id, _ in plan.vanished], now=now)
        _run(cursor, sql.TOUCH_ACTIVE, **ids)
        if changes:  # by COPY: a remove row carries the account's last facts, which may be large
            copy_rows(cursor, sql.COPY_CHANGES, ((instance.pk, *change, session_id, now) for change in changes))
        instance_contact_record(instance=instance, at=now, version=server_version)
        if unread_records:
            unread_record(cursor, instance_id=instance.pk, records=unread_records, now=now, fingerprint=fingerprint,
                          account_count=len(incoming))  # fmt: skip
        elif fingerprint:
            _run(cursor, sql.UPSERT_LISTING, fingerprint=fingerprint, account_count=len(incoming), **ids)
        else:
            _run(cursor, sql.FORGET_LISTING, **ids)
    details = {"reactivated": len(plan.reactivated), "modified": modified}
    if baseline:
        details["baseline"] = True
    outcome = RecordOutcome(
        synced=len(incoming),
        created=len(created),
        updated=modified + len(plan.reactivated),
        deleted=len(plan.vanished),
        details=details,
    )
    if unread_records:
        outcome.details["unread_scopes"] = [record.details() for record in unread_records]
        outcome.incomplete += [record.message() for record in unread_records]
    return outcome


@dataclass
class _Plan:
    new_keys: list[tuple[str, str]] = field(default_factory=list)  # listed, not stored
    # stored and listed, with a different state or inactive: (id, new state, stored digest)
    changed: list[tuple[int, AccountState, str | None]] = field(default_factory=list)
    reactivated: list[int] = field(default_factory=list)  # stored inactive, listed again
    vanished: list[tuple[int, tuple[str, str]]] = field(default_factory=list)  # stored active, not listed


def _plan(incoming: dict[tuple[str, str], AccountFacts], stored: dict) -> _Plan:
    """Compare the listing with the stored (id, is_active, digest) per account.

    Only stored accounts need their state (and its digest) now: new accounts'
    states are computed while their rows stream to the database
    (``_copy_new_accounts``)."""
    plan = _Plan()
    for key, account in incoming.items():
        known = stored.get(key)
        if known is None:
            plan.new_keys.append(key)
            continue
        account_id, is_active, digest = known
        state = account_state(account)
        if not is_active:
            plan.reactivated.append(account_id)
            plan.changed.append((account_id, state, digest))
        elif state.digest != digest:
            plan.changed.append((account_id, state, digest))
    plan.vanished = [(account_id, key) for key, (account_id, is_active, _) in stored.items()
                     if is_active and key not in incoming]  # fmt: skip
    return plan


def _changes(plan: _Plan, old_facts: dict[int, str | None]) -> tuple[list[tuple], int]:
    """Change-log rows (``_change``) for changed, returning and vanished accounts, and how many
    were modified."""
    changes, modified = [], 0
    reactivated = set(plan.reactivated)
    for account_id, state, stored_digest in plan.changed:
        old_text = old_facts.get(account_id)
        old = json.loads(old_text) if old_text else {}
        diff = facts_diff(old, state.facts)
        state_changed = old_text is not None and state.digest != stored_digest
        if not diff and state_changed and not _only_added(old, state, stored_digest):
            diff = {"snapshot": {"changed": True}}  # the facts are equal: the engine-native snapshot changed
        username, host = state.key
        if account_id in reactivated:
            changes.append(_change(account_id, username, host, ChangeType.REACTIVATE, diff))
        elif diff:
            modified += 1
            changes.append(_change(account_id, username, host, ChangeType.MODIFY, diff))
    for account_id, (username, host) in plan.vanished:
        old_text = old_facts.get(account_id)
        last = json.loads(old_text) if old_text else {}
        changes.append(_change(account_id, username, host, ChangeType.REMOVE, {"last_facts": last}))
    return changes, modified


def _only_added(old: dict, state: AccountState, stored_digest: str | None) -> bool:
    """Did only fields the old facts lack appear (``ADDED_FIELDS``: an upgrade that reads
    something new, e.g. the password policy, for every account)? Then the state without them is
    the stored one — the snapshot did not change — and nothing is logged."""
    added = tuple(name for name in ADDED_FIELDS if name not in old)
    if not added:
        return False
    return state_digest(facts_json(state.account, omit=added), state.snapshot_json) == stored_digest


def _copy_new_accounts(cursor, created, incoming, *, instance_id, session_id, now, log_adds: bool = True) -> None:
    """Permission rows and (``log_adds``: not at the baseline) "add" change-log rows of freshly
    inserted accounts, by COPY: no conflict is possible, and COPY takes the JSON text as it is.
    The states are computed inside the first stream, so the database ingests one chunk while
    the next is encoded."""
    facts_json: list[str] = []
    new_accounts = ((account_id, incoming[(u, h)]) for account_id, u, h in created)
    copy_text(cursor, sql.COPY_PERMISSIONS, permission_lines(new_accounts, now=now, facts_out=facts_json))
    if not log_adds:
        return
    add = ChangeType.ADD.value
    copy_rows(cursor, sql.COPY_CHANGES, (
        (instance_id, account_id, u, h, add, '{"facts":' + facts + "}", session_id, now)
        for (account_id, u, h), facts in zip(created, facts_json, strict=True)
    ))  # fmt: skip


#: accounts named per flag in a baseline row (the counts are complete)
BASELINE_NAMES_LIMIT = 50


def _baseline_change(incoming: dict[tuple[str, str], AccountFacts]) -> tuple:
    """The baseline row of an instance (no account): how many accounts the first sync found, how
    many are superusers, can grant or are locked, and the first ``BASELINE_NAMES_LIMIT`` names of
    the superusers and grantors (user@host, sorted)."""
    summary: dict = {"account_count": len(incoming)}
    for flag, label in (("is_superuser", "superusers"), ("can_grant", "can_grant"), ("is_locked", "locked")):
        names = sorted(f"{u}@{h}" if h else u for (u, h), a in incoming.items() if getattr(a, flag))
        summary[label] = len(names)
        if flag != "is_locked":
            summary[f"{label}_accounts"] = names[:BASELINE_NAMES_LIMIT]
    return _change(None, "", "", ChangeType.BASELINE, {"baseline": summary})


def _change(account_id: int | None, username: str, host: str, change_type: str, diff: dict) -> tuple:
    """One change-log row: account id, username, host, change type and the diff as JSON text."""
    return account_id, username, host, change_type, json.dumps(diff)


def accounts_sync_all(
    *,
    instance_ids: Sequence[int] | None = None,
    scheduled: bool = False,
    created_by=None,
    enqueue: bool = False,
    progress=None,
) -> SyncSession:
    """Sync accounts of the given (default: all active) instances in one session.

    Inline by default (``progress(record)`` after each instance); with
    ``enqueue`` one django-q2 task per instance after commit. One failing
    instance never stops the others; the session always ends completed or
    failed. The session's type follows from the request
    (``sync_sessions.runner.sync_type_for``).
    """
    return batch_start(
        unit=ACCOUNT_SYNC_UNIT,
        sync_category=SyncCategory.ACCOUNT,
        instance_ids=instance_ids,
        scheduled=scheduled,
        created_by=created_by,
        enqueue=enqueue,
        progress=progress,
    )
