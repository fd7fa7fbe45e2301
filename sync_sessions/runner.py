"""The generic batch runner: one session, one record per instance, one unit of
work per record — inline (commands, tests) or fanned out as one django-q2
task per instance (any number of workers on any number of hosts).

A *unit* is ``fn(*, instance, session) -> RecordOutcome`` registered in
``UNITS`` under its sync category. The record's status, counts and typed
error are written by ``record_running``; whoever finishes the last record
finalizes the session (see ``services.record_finish``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from instances.models import Instance
from sync_sessions.models import RecordStatus, SyncCategory, SyncInstanceRecord, SyncSession
from sync_sessions.services import record_running, session_create
from whalefall.errors import TargetTimeout, TargetUnreachable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unit:
    func: str  # dotted path of fn(*, instance, session) -> RecordOutcome
    attempts: int = 1  # total tries for transient failures (unreachable/timeout)
    backoff_seconds: float = 0.0  # wait before try n is backoff * 2**(n-2)


#: sync category → unit of work (explicit, greppable)
UNITS: dict[str, Unit] = {
    SyncCategory.ACCOUNT: Unit("accounts.services.accounts_sync_instance"),
    SyncCategory.CAPACITY: Unit(
        "capacity.services.capacity_collect_instance",
        attempts=3,
        backoff_seconds=settings.WHALEFALL["CAPACITY_RETRY_BACKOFF_SECONDS"],
    ),
}

TRANSIENT_ERRORS = (TargetUnreachable, TargetTimeout)


def batch_start(
    *,
    sync_category: str,
    sync_type: str,
    instances: Sequence[Instance],
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Create the session and run its records: inline, one after another
    (``progress`` is called after each), or enqueued as one task per record
    once the session is committed. Returns the session (finished when inline).
    """
    if sync_category not in UNITS:
        raise ValueError(f"No unit of work registered for sync category {sync_category!r}")
    session = session_create(
        sync_type=sync_type, sync_category=sync_category, instances=instances, created_by=created_by
    )
    record_ids = list(session.records.order_by("instance_name").values_list("pk", flat=True))
    if enqueue:
        transaction.on_commit(lambda: records_enqueue(record_ids=record_ids, session=session))
        return session
    for record_id in record_ids:
        record = record_execute(record_id=record_id)
        if progress is not None:
            progress(record)
    session.refresh_from_db()
    return session


def records_enqueue(*, record_ids: Sequence[int], session: SyncSession) -> None:
    from django_q.tasks import async_task

    for record_id in record_ids:
        async_task(
            record_execute_task,
            record_id,
            task_name=f"{session.sync_category}-{session.session_id}-{record_id}",
            group=str(session.session_id),
        )


def record_execute(*, record_id: int) -> SyncInstanceRecord:
    """Run the unit of work of one pending record and finish the record.

    Transient failures are retried up to the unit's ``attempts`` with
    exponential backoff. Any failure is recorded on the record (typed code
    and message) and does not propagate: one instance never stops the others.
    A record that is no longer pending (cancelled, taken by another worker)
    is left alone.
    """
    record = SyncInstanceRecord.objects.select_related("instance__credential", "session").get(pk=record_id)
    if record.status != RecordStatus.PENDING:
        return record
    unit = UNITS[record.sync_category]
    func = import_string(unit.func)
    try:
        with record_running(record=record) as outcome:
            result = _attempt(func, unit, record)
            outcome.synced, outcome.created = result.synced, result.created
            outcome.updated, outcome.deleted = result.updated, result.deleted
            outcome.details = result.details
    except Exception as exc:  # already recorded on the record by record_running
        logger.warning("record %s (%s) failed: %s", record.pk, record.instance_name, type(exc).__name__)
    return record


def _attempt(func, unit: Unit, record: SyncInstanceRecord):
    for attempt in range(1, unit.attempts + 1):
        try:
            result = func(instance=record.instance, session=record.session)
        except TRANSIENT_ERRORS as exc:
            if attempt == unit.attempts:
                if unit.attempts > 1:
                    exc.message = f"{exc.message} (after {attempt} attempts)"
                raise
            delay = unit.backoff_seconds * 2 ** (attempt - 1)
            logger.info("retrying %s in %.1fs after %s", record.instance_name, delay, exc.code)
            time.sleep(delay)
        else:
            result.details = {**result.details, "attempts": attempt}
            return result
    raise AssertionError("unreachable")


def record_execute_task(record_id: int) -> str:
    """django-q2 task: ids in, status out."""
    return record_execute(record_id=record_id).status
