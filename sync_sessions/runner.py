"""The generic batch runner: one session, one record per instance, one unit of
work per record — inline (commands, tests) or fanned out as one django-q2
task per instance (any number of workers on any number of hosts).

The app that starts a batch hands its *unit* to the runner: a function
``fn(*, instance, session) -> RecordOutcome`` and its retry policy. The runner
stores the function's dotted path and the policy on the session (the way
django-q2 stores a task's func), so whichever worker runs a record finds the
unit without this package naming any app above it. The record's status,
counts and typed error are written by ``record_running``; whoever finishes
the last record finalizes the session (see ``services.record_finish``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.module_loading import import_string

from instances.selectors import instances_for_batch
from sync_sessions.models import CONTACT_CATEGORIES, RecordStatus, SyncInstanceRecord, SyncSession, SyncType
from sync_sessions.services import RecordOutcome, record_running, records_flush, session_create
from whalefall.errors import TargetTimeout, TargetUnreachable, UnitUnavailable

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (TargetUnreachable, TargetTimeout)

UnitFunc = Callable[..., RecordOutcome]


@dataclass(frozen=True)
class Unit:
    """What a batch does per instance: ``func(*, instance, session) -> RecordOutcome``
    (a module-level function, so a worker can import it by its dotted path) and
    how often a transient failure (unreachable, timeout) is tried."""

    func: UnitFunc
    attempts: int = 1  # total tries for transient failures
    backoff_seconds: float = 0.0  # wait before try n is backoff × 2**(n-2)

    @property
    def path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"


def sync_type_for(*, instance_ids: Sequence[int] | None, scheduled: bool = False) -> str:
    """The one rule for a session's type: the schedule's runs are ``scheduled``;
    a run asked for exactly one instance is ``manual_single``; any other manual
    run (several instances, or every active one) is ``manual_batch``."""
    if scheduled:
        return SyncType.SCHEDULED
    if instance_ids is not None and len(set(instance_ids)) == 1:
        return SyncType.MANUAL_SINGLE
    return SyncType.MANUAL_BATCH


def batch_start(
    *,
    unit: Unit,
    sync_category: str,
    instance_ids: Sequence[int] | None = None,
    scheduled: bool = False,
    created_by=None,
    enqueue: bool = False,
    progress: Callable[[SyncInstanceRecord], None] | None = None,
) -> SyncSession:
    """Create the session over the given instances (default: every active one;
    unknown ids are a ValidationError) and run ``unit`` once per instance: inline,
    one after another (``progress`` is called after each), or enqueued as one
    task per record once the session is committed. Returns the session
    (finished when inline).

    The circuit breaker: a scheduled run of a category that contacts the target
    skips suspended instances (each gets a ``skipped`` record saying why); manual
    runs still try them."""
    instances = instances_for_batch(instance_ids=instance_ids)
    skipped = []
    if scheduled and sync_category in CONTACT_CATEGORIES:
        skipped = [inst for inst in instances if inst.suspended_at is not None]
        instances = [inst for inst in instances if inst.suspended_at is None]
    session = session_create(
        sync_type=sync_type_for(instance_ids=instance_ids, scheduled=scheduled),
        sync_category=sync_category,
        instances=instances,
        created_by=created_by,
        unit=unit,
        skipped=skipped,
        queued=enqueue,
    )
    records = session.records.filter(status=RecordStatus.QUEUED).order_by("instance_name")
    record_ids = list(records.values_list("pk", flat=True))
    if enqueue:
        transaction.on_commit(lambda: records_enqueue(record_ids=record_ids, session=session))
        return session
    # One WAL flush for the batch, not one per record: each record's finish commits without
    # waiting for the disk, and the flush at the end covers them all (and the records' work
    # committed before them). A server crash before it loses a prefix-closed tail of the batch:
    # those records are back to queued/running, failed by the reaper, never "completed" over
    # work that is gone. The returned session is durable; ``progress`` may report a record first.
    try:
        for record_id in record_ids:
            record = record_execute(record_id=record_id, wait_for_disk=False)
            if progress is not None:
                progress(record)
    finally:  # also when a progress callback fails or the run is interrupted
        records_flush()
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
            hook=task_outcome_hook,
        )


def session_unit(session: SyncSession) -> Unit:
    """The unit stored on ``session``; UnitUnavailable when it cannot be imported."""
    try:
        func = import_string(session.unit_func)
    except ImportError as exc:
        raise UnitUnavailable(
            f"Session {session.session_id} names the unit {session.unit_func!r}, which cannot be imported: {exc}"
        ) from exc
    return Unit(func, attempts=session.unit_attempts, backoff_seconds=session.unit_backoff_seconds)


def record_execute(*, record_id: int, wait_for_disk: bool = True) -> SyncInstanceRecord:
    """Run the unit of work of one queued record and finish the record.

    Transient failures are retried up to the unit's ``attempts`` with
    exponential backoff. Any failure is recorded on the record (typed code
    and message) and does not propagate: one instance never stops the others.
    A record that is no longer queued (cancelled, taken by another worker)
    is left alone. ``wait_for_disk=False``: the finish does not wait for the WAL flush
    (``batch_start``'s inline loop flushes once at its end).
    """
    record = SyncInstanceRecord.objects.select_related("instance__credential", "session").get(pk=record_id)
    if record.status != RecordStatus.QUEUED:
        return record
    try:
        with record_running(record=record, wait_for_disk=wait_for_disk) as outcome:
            result = _attempt(session_unit(record.session), record)
            outcome.synced, outcome.created = result.synced, result.created
            outcome.updated, outcome.deleted = result.updated, result.deleted
            outcome.details, outcome.incomplete = result.details, result.incomplete
    except Exception:  # recorded on the record (an internal error also logged with its traceback)
        logger.warning("record %s (%s) failed: %s: %s", record.pk, record.instance_name, record.error_code,
                       record.error_message)  # fmt: skip
    return record


def _attempt(unit: Unit, record: SyncInstanceRecord) -> RecordOutcome:
    for attempt in range(1, unit.attempts + 1):
        try:
            result = unit.func(instance=record.instance, session=record.session)
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


def record_execute_task(record_id: int) -> dict:
    """django-q2 task: ids in, the record's outcome out (``task_outcome_hook``
    turns a failed record into a failed task)."""
    record = record_execute(record_id=record_id)
    outcome = {"record_id": record.pk, "instance": record.instance_name, "status": record.status}
    if record.status == RecordStatus.FAILED:
        outcome["error"] = f"{record.error_code}: {record.error_message}"
    return outcome


def task_outcome_hook(task) -> None:
    """django-q2 result hook of every record task: a task whose record failed is
    shown as failed, with the record's typed error as its result, so django-q2's
    admin agrees with the record (which stays the source of truth). Raising in
    the task instead would also raise into the caller in django-q2's sync mode."""
    from django_q.models import Task

    result = task.result if isinstance(task.result, dict) else {}
    if task.success and result.get("status") == RecordStatus.FAILED:
        Task.objects.filter(pk=task.pk).update(success=False, result=f"{result['instance']}: {result['error']}")
