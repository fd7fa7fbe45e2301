"""Classification writes: auto-classification runs, manual assignments, rules, daily stats.

Auto-classification of one instance (seed 003 § 4, defects fixed): every active
rule of the instance's engine is evaluated for every active account **in
memory** (``classification/dsl.py``); then one transaction adds and removes
only the ``source=auto`` assignments whose result changed — nothing is
deleted up front, manual assignments are never touched — writes one history
row per add/remove (batch = the session), refreshes that instance's daily
stats, and records why each assignment holds (the matching clauses). A rule
whose stored expression is invalid is reported and its classification's
assignments are left as they are; an engine without any active rule is
reported in the record, never silently skipped.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import InstanceAccount
from classification.models import AccountClassification, ClassificationRule
from classification.selectors import RuleSet, account_subjects, active_rules, rule_set_compile, subjects_evaluate
from instances.adapters import matching
from instances.models import Instance
from sync_sessions.models import SessionStatus, SyncCategory, SyncInstanceRecord, SyncSession, SyncType
from sync_sessions.runner import Unit, batch_start
from sync_sessions.services import RecordOutcome
from whalefall.db.locks import advisory_lock
from whalefall.errors import Protected

# --- one instance ------------------------------------------------------------------------

_CURRENT_AUTO = """
SELECT s.id, s.account_id, s.classification_id, s.rule_id, s.why
FROM account_classification_assignments s JOIN instance_accounts a ON a.id = s.account_id
WHERE a.instance_id = %s AND s.source = 'auto'
"""
_DELETE = "DELETE FROM account_classification_assignments WHERE id = ANY(%(ids)s) AND source = 'auto'"
# a manual assignment of the same (account, classification) wins: the conflict keeps it
_INSERT = """
INSERT INTO account_classification_assignments (account_id, classification_id, source, rule_id, why, assigned_at)
SELECT d.account_id, d.classification_id, 'auto', d.rule_id, d.why, %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS d(account_id bigint, classification_id bigint, rule_id bigint, why jsonb)
ON CONFLICT (account_id, classification_id) DO NOTHING
RETURNING account_id, classification_id, rule_id, why
"""
_UPDATE_WHY = """
UPDATE account_classification_assignments s SET rule_id = d.rule_id, why = d.why
FROM jsonb_to_recordset(%(doc)s::jsonb) AS d(id bigint, rule_id bigint, why jsonb)
WHERE s.id = d.id AND s.source = 'auto'
"""
_HISTORY = """
INSERT INTO account_classification_history
    (account_id, classification_id, action, source, rule_id, batch_id, session_id, changed_by_id, why, changed_at,
     at_baseline)
SELECT h.account_id, h.classification_id, h.action, h.source, h.rule_id, %(batch)s, %(session)s, %(user)s, h.why,
       %(now)s, coalesce(h.at_baseline, false)
FROM jsonb_to_recordset(%(doc)s::jsonb)
     AS h(account_id bigint, classification_id bigint, action text, source text, rule_id bigint, why jsonb,
          at_baseline boolean)
"""
# Of the accounts ``ids`` (of one instance), those whose additions describe the instance's baseline:
# the instance has a baseline and no classification run of it has finished since (this run is its
# first: a run that ended, even with a broken rule, makes every later addition a real one), the
# account was found by that baseline and has no change-log row since (facts as found then).
_AT_BASELINE = """
SELECT a.id FROM instance_accounts a
JOIN account_change_log b ON b.instance_id = a.instance_id AND b.change_type = 'baseline'
WHERE a.id = ANY(%(ids)s) AND a.first_seen_at <= b.changed_at
  AND NOT EXISTS (SELECT 1 FROM sync_instance_records r
                  WHERE r.instance_id = a.instance_id AND r.sync_category = 'classification'
                    AND r.status IN ('completed', 'partial') AND r.completed_at > b.changed_at)
  AND NOT EXISTS (SELECT 1 FROM account_change_log c WHERE c.instance_account_id = a.id)
"""
_STATS_EXIST = "SELECT EXISTS (SELECT 1 FROM classification_daily_stats WHERE date = %(day)s AND instance_id = %(iid)s)"
_STATS_DELETE = "DELETE FROM classification_daily_stats WHERE date = %(day)s AND instance_id = %(iid)s"
_STATS_INSERT = """
INSERT INTO classification_daily_stats (date, classification_id, db_type, instance_id, account_count)
SELECT %(day)s, s.classification_id, i.db_type, i.id, count(*)
FROM account_classification_assignments s
JOIN instance_accounts a ON a.id = s.account_id
JOIN instances i ON i.id = a.instance_id
WHERE a.instance_id = %(iid)s AND a.is_active
GROUP BY s.classification_id, i.db_type, i.id
"""


def _same(stored: tuple, rule_id: int, why: list[str]) -> bool:
    """The stored (rule, why) equals the new one; why is compared as PostgreSQL's jsonb text
    (same separators and escapes as ``json.dumps``), parsed only when the text differs."""
    stored_rule, stored_why = stored
    if stored_rule != rule_id:
        return False
    if isinstance(stored_why, str):
        return stored_why == json.dumps(why, ensure_ascii=False) or json.loads(stored_why) == why
    return stored_why == why


def _doc(rows: list[dict]) -> str:
    return json.dumps(rows)


def _history_insert(cursor, rows: list[dict], *, batch, session, user, now) -> None:
    """One history row per add/remove (one statement; nothing when ``rows`` is empty)."""
    if rows:
        cursor.execute(
            _HISTORY,
            {"doc": _doc(rows), "batch": batch, "session": session, "user": getattr(user, "pk", None), "now": now},
        )


def _stats_exist(cursor, *, instance_id: int, day: dt.date) -> bool:
    cursor.execute(_STATS_EXIST, {"day": day, "iid": instance_id})
    return cursor.fetchone()[0]


def _stats_refresh(cursor, *, instance_id: int, day: dt.date) -> None:
    params = {"day": day, "iid": instance_id}
    cursor.execute(_STATS_DELETE, params)
    cursor.execute(_STATS_INSERT, params)


@transaction.atomic
def classification_stats_refresh(*, instance_id: int, day: dt.date | None = None) -> None:
    """Today's (``day``'s) accounts per classification of one instance, counted from the
    current assignments of its active accounts; idempotent (replaces that day's rows).
    Runs with every change of assignments; the daily run gives every day its rows."""
    with connection.cursor() as cursor:
        _stats_refresh(cursor, instance_id=instance_id, day=day or timezone.localdate())


def classification_auto_classify_instance(*, instance: Instance, session: SyncSession | None = None) -> RecordOutcome:
    """The batch unit: auto-classify the active accounts of one instance (module doc).

    Holds the advisory lock ``classification.classify``/instance (a concurrent run of the
    same instance raises ConcurrentOperation). Reads: accounts with facts, tags, rules,
    current auto assignments — then one transaction with at most seven statements (one asks which
    additions describe the instance's baseline: ``at_baseline``)."""
    with advisory_lock("classification.classify", instance.pk, what=f"Classification of {instance.name}"):
        rules = list(active_rules(db_type=instance.db_type_id))
        static = _static_state(instance, rules)
        if _state_digest(instance_id=instance.pk, static=static) == _stored_state(instance_id=instance.pk):
            _stats_ensure(instance_id=instance.pk)
            return RecordOutcome(details={"rules": len(rules), "unchanged": True})
        rule_set = rule_set_compile(rules)
        subjects = account_subjects(instance_id=instance.pk)
        wanted = subjects_evaluate(subjects=subjects, rule_set=rule_set)
        return _apply(instance=instance, session=session, subjects=subjects, rule_set=rule_set, wanted=wanted,
                      static=static)  # fmt: skip


# What a run sees, digested: each active account's facts, every assignment of the instance's
# accounts (a manual change must make the next run look again), and — from Python — the rules
# (id, version, order), the instance's environment and tags, and the evaluating code.
_STATE_DIGEST = """
SELECT md5(
    coalesce((SELECT string_agg(a.id::text || ':' || md5(coalesce(p.facts::text, '')), ',' ORDER BY a.id)
              FROM instance_accounts a LEFT JOIN account_permissions p ON p.instance_account_id = a.id
              WHERE a.instance_id = %(iid)s AND a.is_active), '')
    || '|' ||
    coalesce((SELECT string_agg(s.id::text || ':' || s.source || ':' || coalesce(s.rule_id::text, ''), ','
                                ORDER BY s.id)
              FROM account_classification_assignments s JOIN instance_accounts a ON a.id = s.account_id
              WHERE a.instance_id = %(iid)s), '')
    || '|' || %(static)s
)
"""
_SAME_STATE = "SELECT fingerprint FROM classification_instance_states WHERE instance_id = %s"
_STORE_STATE = """
INSERT INTO classification_instance_states (instance_id, fingerprint, classified_at) VALUES (%s, %s, %s)
ON CONFLICT (instance_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, classified_at = EXCLUDED.classified_at
"""
_CODE_MODULES = ("dsl.py", "selectors.py", "services.py")


@functools.cache
def _code_digest() -> str:
    here = Path(__file__).parent
    # the matching rules has_privilege applies live in the adapters' package
    files = [here / name for name in _CODE_MODULES] + [Path(matching.__file__)]
    return hashlib.blake2b(b"".join(path.read_bytes() for path in files), digest_size=8).hexdigest()


def _static_state(instance: Instance, rules: Sequence[ClassificationRule]) -> str:
    """The part of a run's state Python knows: code, environment, tags, rules (id.version, in order)."""
    tags = ",".join(sorted(instance.tags.values_list("name", flat=True)))
    rule_versions = ";".join(f"{r.pk}.{r.version}.{r.classification_id}" for r in rules)
    return "|".join([_code_digest(), instance.environment, tags, rule_versions])


def _state_digest(*, instance_id: int, static: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(_STATE_DIGEST, {"iid": instance_id, "static": static})
        return cursor.fetchone()[0]


def _stored_state(*, instance_id: int) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(_SAME_STATE, [instance_id])
        row = cursor.fetchone()
    return row[0] if row else None


def _stats_ensure(*, instance_id: int) -> None:
    """The first run of a day gives that day its stats rows (nothing is written otherwise)."""
    day = timezone.localdate()
    with connection.cursor() as cursor:
        if _stats_exist(cursor, instance_id=instance_id, day=day):
            return
    classification_stats_refresh(instance_id=instance_id, day=day)


@transaction.atomic(durable=True)
def _apply(*, instance, session, subjects, rule_set: RuleSet, wanted, static: str) -> RecordOutcome:
    """The one write transaction of a run: only what changed, plus that day's stats, and the
    state it leaves (for the next run to recognise)."""
    now = timezone.now()
    frozen = rule_set.frozen_classifications
    with connection.cursor() as cursor:
        cursor.execute(_CURRENT_AUTO, [instance.pk])
        # why stays jsonb text (as Django hands it over): compared as text first, parsed only if it differs
        current = {(account_id, classification_id): (assignment_id, rule_id, why)
                   for assignment_id, account_id, classification_id, rule_id, why in cursor.fetchall()}  # fmt: skip
        # not wanted any more (an inactive account is wanted nowhere) unless a broken rule froze it
        stale = [(key, value) for key, value in current.items() if key not in wanted and key[1] not in frozen]
        additions = [
            {"account_id": a, "classification_id": c, "rule_id": rule_id, "why": why}
            for (a, c), (rule_id, why) in wanted.items()
            if (a, c) not in current
        ]
        rewhy = [
            {"id": current[key][0], "rule_id": rule_id, "why": why}
            for key, (rule_id, why) in wanted.items()
            if key in current and not _same(current[key][1:], rule_id, why)
        ]
        history: list[dict] = []
        if stale:
            cursor.execute(_DELETE, {"ids": [assignment_id for _, (assignment_id, _, _) in stale]})
            history += [
                {"account_id": a, "classification_id": c, "action": "remove", "source": "auto", "rule_id": rule_id,
                 "why": ["no active rule of the classification matches any more"]}
                for (a, c), (_, rule_id, _) in stale
            ]  # fmt: skip
        added = []
        if additions:
            cursor.execute(_INSERT, {"doc": _doc(additions), "now": now})
            added = cursor.fetchall()
            baseline = set()
            if added:
                cursor.execute(_AT_BASELINE, {"ids": sorted({a for a, _, _, _ in added})})
                baseline = {account_id for (account_id,) in cursor.fetchall()}
            history += [
                {"account_id": a, "classification_id": c, "action": "add", "source": "auto", "rule_id": rule_id,
                 "why": json.loads(why) if isinstance(why, str) else why, "at_baseline": a in baseline}
                for a, c, rule_id, why in added
            ]  # fmt: skip
        if rewhy:
            cursor.execute(_UPDATE_WHY, {"doc": _doc(rewhy)})
        session_id = session.session_id if session else None
        _history_insert(cursor, history, batch=session_id or uuid.uuid4(), session=session_id, user=None, now=now)
        # counts change with the assignments; the first run of a day gives the day its rows
        day = timezone.localdate(now)
        if history or rewhy or not _stats_exist(cursor, instance_id=instance.pk, day=day):
            _stats_refresh(cursor, instance_id=instance.pk, day=day)
        if not rule_set.errors:  # with a broken rule, every run looks again
            cursor.execute(_STORE_STATE, [instance.pk, _state_digest(instance_id=instance.pk, static=static), now])
    details: dict = {"rules": rule_set.rule_count, "matched": len(wanted), "kept_manual": len(additions) - len(added)}
    if rule_set.rule_count == 0 and not rule_set.errors:
        details["no_rules"] = True
        details["note"] = f"No active rule for database type {instance.db_type_id!r}: nothing was classified."
    if rule_set.errors:
        details["rule_errors"] = rule_set.errors
    return RecordOutcome(
        synced=len(subjects), created=len(added), updated=len(rewhy), deleted=len(stale), details=details
    )


#: what a classification batch runs per instance
CLASSIFY_UNIT = Unit(classification_auto_classify_instance)


def classification_auto_classify(
    *,
    instance_ids: Sequence[int] | None = None,
    scheduled: bool = False,
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Auto-classify the accounts of the given (default: all active) instances: one
    ``classification`` session, one record per instance (inline, or one django-q2 task
    per instance with ``enqueue``)."""
    return batch_start(
        unit=CLASSIFY_UNIT,
        sync_category=SyncCategory.CLASSIFICATION,
        instance_ids=instance_ids,
        scheduled=scheduled,
        created_by=created_by,
        enqueue=enqueue,
        progress=progress,
    )


# --- manual assignments ---------------------------------------------------------------------


@dataclass(frozen=True)
class ManualChange:
    """What a manual assign/unassign did: rows changed, accounts left as they were."""

    changed: int
    unchanged: int
    batch_id: uuid.UUID


_ASSIGN = """
INSERT INTO account_classification_assignments
    (account_id, classification_id, source, rule_id, why, assigned_by_id, assigned_at)
SELECT a, %(cid)s, 'manual', NULL, '[]'::jsonb, %(user)s, %(now)s FROM unnest(%(ids)s::bigint[]) AS t(a)
ON CONFLICT (account_id, classification_id) DO UPDATE
SET source = 'manual', rule_id = NULL, why = '[]'::jsonb, assigned_by_id = EXCLUDED.assigned_by_id,
    assigned_at = EXCLUDED.assigned_at
WHERE account_classification_assignments.source <> 'manual'
RETURNING account_id
"""
_UNASSIGN = """
DELETE FROM account_classification_assignments
WHERE classification_id = %(cid)s AND account_id = ANY(%(ids)s::bigint[])
RETURNING account_id, source, rule_id
"""


def _instances_of(account_ids: Sequence[int]) -> list[int]:
    return sorted(set(InstanceAccount.objects.filter(pk__in=account_ids).values_list("instance_id", flat=True)))


@transaction.atomic(durable=True)
def classification_assign(
    *, account_ids: Sequence[int], classification: AccountClassification, user=None
) -> ManualChange:
    """Assign ``classification`` to accounts by hand (``source=manual``; an auto assignment of
    it becomes manual, so runs never remove it). One history row per account changed, with
    the user; the accounts' instances' daily stats refreshed."""
    ids = sorted(set(account_ids))
    now, batch = timezone.now(), uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(_ASSIGN, {"cid": classification.pk, "user": getattr(user, "pk", None), "now": now, "ids": ids})
        changed = [row[0] for row in cursor.fetchall()]
        _history_insert(
            cursor,
            [{"account_id": a, "classification_id": classification.pk, "action": "add", "source": "manual",
              "rule_id": None, "why": ["assigned by hand"]} for a in changed],
            batch=batch, session=None, user=user, now=now,
        )  # fmt: skip
    for instance_id in _instances_of(changed):
        classification_stats_refresh(instance_id=instance_id, day=timezone.localdate(now))
    return ManualChange(changed=len(changed), unchanged=len(ids) - len(changed), batch_id=batch)


@transaction.atomic(durable=True)
def classification_unassign(
    *, account_ids: Sequence[int], classification: AccountClassification, user=None
) -> ManualChange:
    """Remove ``classification`` from accounts by hand, manual or auto (an auto one comes
    back at the next run while a rule still matches). History with the user; stats refreshed."""
    ids = sorted(set(account_ids))
    now, batch = timezone.now(), uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(_UNASSIGN, {"cid": classification.pk, "ids": ids})
        removed = cursor.fetchall()
        _history_insert(
            cursor,
            [{"account_id": a, "classification_id": classification.pk, "action": "remove", "source": source,
              "rule_id": rule_id, "why": ["removed by hand"]} for a, source, rule_id in removed],
            batch=batch, session=None, user=user, now=now,
        )  # fmt: skip
    for instance_id in _instances_of([row[0] for row in removed]):
        classification_stats_refresh(instance_id=instance_id, day=timezone.localdate(now))
    return ManualChange(changed=len(removed), unchanged=len(ids) - len(removed), batch_id=batch)


# --- rules ------------------------------------------------------------------------------------


@transaction.atomic
def rule_create(*, classification: AccountClassification, db_type: str, name: str, expression, is_active=True):
    """A new rule; the expression is validated (ValidationError with the JSON paths)."""
    rule = ClassificationRule(
        classification=classification, db_type_id=db_type, name=name.strip(), expression=expression,
        is_active=is_active,
    )  # fmt: skip
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def rule_update(*, rule: ClassificationRule, **fields) -> ClassificationRule:
    """Change a rule; ``version`` goes up when what it decides changes (expression, engine, activity)."""
    if isinstance(fields.get("db_type"), str):
        fields["db_type_id"] = fields.pop("db_type")
    decisive = ("expression", "db_type", "db_type_id", "classification", "classification_id", "is_active")
    bump = any(getattr(rule, key) != value for key, value in fields.items() if key in decisive)
    for key, value in fields.items():
        setattr(rule, key, value)
    if bump:
        rule.version += 1
    rule.full_clean()
    rule.save()
    return rule


# --- classifications ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def classification_create(**fields) -> AccountClassification:
    classification = AccountClassification(**fields)
    classification.full_clean()
    classification.save()
    return classification


@transaction.atomic(durable=True)
def classification_update(*, classification: AccountClassification, **fields) -> AccountClassification:
    for key, value in fields.items():
        setattr(classification, key, value)
    classification.full_clean()
    classification.save()
    return classification


@transaction.atomic(durable=True)
def classification_delete(*, classification: AccountClassification) -> None:
    """Delete a classification with its rules, assignments and history; a system one can
    only be deactivated (``Protected``)."""
    if classification.is_system:
        raise Protected(
            f"{classification.name!r} is a system classification: deactivate it (is_active = false) instead."
        )
    classification.delete()


def classification_after_account_sync(
    *, instance: Instance, session: SyncSession | None, inline: bool
) -> RecordOutcome:
    """Registered with the accounts app: re-classify an instance whose accounts just changed, as
    its own ``classification`` session (one record). Inline when the sync runs inline (a command:
    no worker may be running, and the command reports it); from a worker, handed to the task
    cluster so the sync does not wait for it. The session's id and status go on the sync's record;
    an inline classification that failed makes that record ``partial``, naming the failure."""
    scheduled = session is not None and session.sync_type == SyncType.SCHEDULED
    classified = classification_auto_classify(instance_ids=[instance.pk], scheduled=scheduled, enqueue=not inline)
    outcome = RecordOutcome(
        details={"classification_session": str(classified.session_id), "classification_status": classified.status}
    )
    if classified.status not in (SessionStatus.COMPLETED, SessionStatus.QUEUED):
        record = classified.records.get()
        outcome.incomplete.append(
            f"The accounts were synced, but re-classifying them failed ({record.error_code}: "
            f"{record.error_message}; session {classified.session_id})."
        )
    return outcome
