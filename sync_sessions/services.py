"""Session lifecycle: create, run records, finalize, cancel, reap, clean up.

A session is finalized by whoever finishes its last record: one
``UPDATE … RETURNING`` on the session's counters decides (no polling, no
coordinator). Every path finishes its record — success, exception, cancel,
or the reaper after a killed process — so nothing stays ``running``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from instances.models import Instance
from sync_sessions.models import CONTACT_CATEGORIES, RecordStatus, SessionStatus, SyncInstanceRecord, SyncSession
from whalefall.errors import INTERNAL_ERROR, TARGET_FAILURES, AlreadyFinished, describe

if TYPE_CHECKING:
    from sync_sessions.runner import Unit

logger = logging.getLogger(__name__)


@dataclass
class RecordOutcome:
    """Counts and details a unit of work reports for its record.

    ``incomplete``: what the run could not do although it finished — a scope it could
    not read, a follow-up that failed —, one sentence each. A record with any is
    ``partial`` and says them in its error message."""

    synced: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    details: dict = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)


@transaction.atomic
def session_create(
    *,
    sync_type: str,
    sync_category: str,
    instances: Sequence[Instance],
    created_by=None,
    unit: Unit | None = None,
    skipped: Sequence[Instance] = (),
    queued: bool = False,
) -> SyncSession:
    """Create a session with one ``queued`` record per instance: ``queued`` itself when its
    records are handed to the task cluster (``queued=True``; the first worker that starts a
    record makes it ``running``; ``enqueued`` says so for good), else ``running`` (the caller
    runs them now). ``unit``
    (path and retry policy) is stored for the workers that run them.
    ``skipped`` instances (suspended by the circuit breaker) get a finished
    ``skipped`` record saying why, and are counted as such.

    A session with nothing to run is completed at once (nothing to do is an
    honest, finished outcome).
    """
    now = timezone.now()
    session = SyncSession.objects.create(
        sync_type=sync_type,
        sync_category=sync_category,
        total_instances=len(instances) + len(skipped),
        skipped_instances=len(skipped),
        created_by=created_by,
        status=(SessionStatus.QUEUED if queued else SessionStatus.RUNNING) if instances else SessionStatus.COMPLETED,
        enqueued=queued,
        completed_at=None if instances else now,
        **(
            {"unit_func": unit.path, "unit_attempts": unit.attempts, "unit_backoff_seconds": unit.backoff_seconds}
            if unit is not None
            else {}
        ),
    )
    SyncInstanceRecord.objects.bulk_create(
        [
            SyncInstanceRecord(
                session=session, instance=inst, instance_name=inst.name, sync_category=sync_category
            )
            for inst in instances
        ]
        + [
            SyncInstanceRecord(
                session=session, instance=inst, instance_name=inst.name, sync_category=sync_category,
                status=RecordStatus.SKIPPED, started_at=now, completed_at=now, error_code="suspended",
                error_message=f"Suspended since {inst.suspended_at:%Y-%m-%d %H:%M} UTC after "
                f"{inst.consecutive_failures} consecutive failures; resume it, or a successful "
                "connection test does.",
            )
            for inst in skipped
        ]
    )  # fmt: skip
    return session


# A queued record becomes running, and so does its session when it was still queued (its
# started_at becomes the time a worker first took it up: the reaper measures from there).
# Data-modifying CTEs run once whether or not the outer query reads them.
_START_RECORD_SQL = """
WITH started AS (
    UPDATE sync_instance_records SET status = 'running', started_at = %(now)s
    WHERE id = %(record_id)s AND status = 'queued'
    RETURNING session_id
), session AS (
    UPDATE sync_sessions s SET status = 'running', started_at = %(now)s, updated_at = %(now)s
    FROM started WHERE s.session_id = started.session_id AND s.status = 'queued'
)
SELECT count(*){async_commit} FROM started
"""
# A start lost in a server crash leaves the record queued, which the reaper fails as it fails a
# running one, and the record's finish (a synchronous commit, later in the WAL) makes the start
# durable with it: so the start's own commit need not wait for the disk (one WAL flush less per
# record; a flush costs milliseconds on a busy disk, benchmarks/README.md). Only when the
# statement is its own transaction: a caller's transaction may hold writes of its own.
_START_RECORD_ASYNC_SQL = _START_RECORD_SQL.format(async_commit=", set_config('synchronous_commit', 'off', true)")
_START_RECORD_SQL = _START_RECORD_SQL.format(async_commit="")


def _own_transaction() -> bool:
    """Is the next statement its own transaction (autocommit, no atomic block)? Only then may it
    set ``synchronous_commit`` for itself: in a caller's transaction the setting would reach the
    caller's own writes too."""
    return connection.get_autocommit() and not connection.in_atomic_block


def record_start(*, record: SyncInstanceRecord) -> bool:
    """Mark a queued record running (and its session, if still queued); False if it was
    already taken, cancelled or finished."""
    now = timezone.now()
    sql = _START_RECORD_ASYNC_SQL if _own_transaction() else _START_RECORD_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, {"record_id": record.pk, "now": now})
        updated = cursor.fetchone()[0]
    if updated:
        record.status, record.started_at = RecordStatus.RUNNING, now
    return bool(updated)


_FINISH_RECORD_SQL = """
WITH finished AS (
    UPDATE sync_instance_records SET
        status = %(status)s,
        started_at = COALESCE(started_at, %(now)s),
        completed_at = %(now)s,
        items_synced = %(synced)s,
        items_created = %(created)s,
        items_updated = %(updated)s,
        items_deleted = %(deleted)s,
        sync_details = %(details)s::jsonb,
        error_code = %(code)s,
        error_message = %(message)s
    WHERE id = %(record_id)s AND status IN ('queued', 'running')
    RETURNING session_id, instance_id, sync_category
), breaker AS (
    -- contact records count towards the instance's circuit breaker: a failure of the target adds
    -- one (and suspends at the limit), a success starts again from zero; any other failure (a bug,
    -- a refusal of ours) leaves the count as it is
    UPDATE instances i SET
        consecutive_failures = CASE WHEN %(breaker)s = 'fail' THEN i.consecutive_failures + 1 ELSE 0 END,
        suspended_at = CASE
            WHEN %(breaker)s = 'fail' AND %(suspend_after)s > 0 AND i.suspended_at IS NULL
                 AND i.consecutive_failures + 1 >= %(suspend_after)s THEN %(now)s
            ELSE i.suspended_at END
    FROM finished
    WHERE i.id = finished.instance_id AND finished.sync_category = ANY(%(contact_categories)s)
      AND %(breaker)s <> 'none'
)
UPDATE sync_sessions s SET
    successful_instances = s.successful_instances + %(ok)s,
    failed_instances = s.failed_instances + %(failed)s,
    partial_instances = s.partial_instances + %(partial)s,
    status = CASE
        WHEN s.status IN ('queued', 'running')
             AND s.successful_instances + s.failed_instances + s.skipped_instances + s.cancelled_instances
                 + %(ok)s + %(failed)s >= s.total_instances
        THEN CASE WHEN s.failed_instances + %(failed)s > 0 THEN 'failed' ELSE 'completed' END
        ELSE s.status END,
    completed_at = CASE
        WHEN s.completed_at IS NULL
             AND s.successful_instances + s.failed_instances + s.skipped_instances + s.cancelled_instances
                 + %(ok)s + %(failed)s >= s.total_instances
        THEN now() ELSE s.completed_at END,
    updated_at = now()
FROM finished
WHERE s.session_id = finished.session_id
RETURNING s.status{async_commit}
"""
# An inline batch finishes its records without waiting for the disk and flushes once at its end
# (``records_flush``): see ``record_finish``'s ``wait_for_disk``.
_FINISH_RECORD_ASYNC_SQL = _FINISH_RECORD_SQL.format(async_commit=", set_config('synchronous_commit', 'off', true)")
_FINISH_RECORD_SQL = _FINISH_RECORD_SQL.format(async_commit="")


def record_finish(
    *,
    record: SyncInstanceRecord,
    outcome: RecordOutcome | None = None,
    error: BaseException | None = None,
    wait_for_disk: bool = True,
) -> str | None:
    """Finish a record as completed or partial (``outcome``; partial when it names
    something ``incomplete``) or failed (``error``) and count it on its session, in one
    statement (the session row lock orders concurrent finishers; the one that reaches the
    total finalizes). A partial record counts as successful and as partial.
    Returns the session's status afterwards, or None when the record was
    already finished (counted once only).

    ``wait_for_disk=False`` (an inline batch, whose ``records_flush`` follows; only when the
    statement is its own transaction): the commit does not wait for the WAL flush."""
    outcome = outcome or RecordOutcome()
    breaker = "ok"
    if error is not None:
        status, (code, message) = RecordStatus.FAILED, _failure(record, error)
        breaker = "fail" if isinstance(error, TARGET_FAILURES) else "none"
    elif outcome.incomplete:
        status, code, message = RecordStatus.PARTIAL, "partial", " ".join(outcome.incomplete)
    else:
        status, code, message = RecordStatus.COMPLETED, "", ""
    now = timezone.now()
    sql = _FINISH_RECORD_SQL if wait_for_disk or not _own_transaction() else _FINISH_RECORD_ASYNC_SQL
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "record_id": record.pk,
                "status": status,
                "now": now,
                "synced": outcome.synced,
                "created": outcome.created,
                "updated": outcome.updated,
                "deleted": outcome.deleted,
                "details": json.dumps(outcome.details, default=str),
                "code": code,
                "message": message,
                "ok": 0 if error is not None else 1,
                "failed": 1 if error is not None else 0,
                "partial": 1 if status == RecordStatus.PARTIAL else 0,
                "breaker": breaker,
                "suspend_after": settings.WHALEFALL["SUSPEND_AFTER_FAILURES"],
                "contact_categories": list(CONTACT_CATEGORIES),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    record.status, record.completed_at, record.error_code, record.error_message = status, now, code, message
    record.started_at = record.started_at or now
    record.items_synced, record.items_created = outcome.synced, outcome.created
    record.items_updated, record.items_deleted = outcome.updated, outcome.deleted
    record.sync_details = outcome.details
    return row[0]


def _failure(record: SyncInstanceRecord, error: BaseException) -> tuple[str, str]:
    """The record's ``(code, message)`` for ``error``. An error that is not a WhalefallError is a
    bug: logged here with its traceback under a short error id, which the message ends with, so
    an operator can find the trace in the log from the record."""
    code, message = describe(error)
    if code == INTERNAL_ERROR:
        error_id = uuid.uuid4().hex[:12]
        logger.error(
            "internal error %s in %s record %s (%s): %s",
            error_id, record.sync_category, record.pk, record.instance_name, message, exc_info=error,
        )  # fmt: skip
        message = f"{message} (error id {error_id})"
    return code, message


def records_flush() -> None:
    """Return once every commit this connection made is on disk: a transaction with an id
    commits synchronously, and its flush covers the WAL before it (the asynchronous commits of
    the batch's records). Inside a transaction it only takes an id (its commit flushes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()")


@contextmanager
def record_running(*, record: SyncInstanceRecord, wait_for_disk: bool = True) -> Iterator[RecordOutcome]:
    """Run one unit of work for a record::

        with record_running(record=r) as outcome:
            outcome.synced = ...

    Completed on normal exit; failed (with the typed error's code/message) on
    any exception, which is then re-raised for the caller to decide. A failure of
    the target (``errors.TARGET_FAILURES``) counts towards the instance's circuit
    breaker; any other error does not, and one that is not a WhalefallError (a bug)
    is logged with its traceback and an error id the record's message names.
    ``wait_for_disk``: see ``record_finish``.
    """
    record_start(record=record)
    outcome = RecordOutcome()
    try:
        yield outcome
    except BaseException as exc:
        record_finish(record=record, error=exc, wait_for_disk=wait_for_disk)
        raise
    record_finish(record=record, outcome=outcome, wait_for_disk=wait_for_disk)


@transaction.atomic(durable=True)
def session_cancel(*, session: SyncSession, user=None) -> SyncSession:
    """Cancel a queued or running session: its queued records become ``cancelled`` (a worker that
    picks up their task finds them so and does nothing; an inline run skips them) and the session
    ``cancelled`` at once, counting them in ``cancelled_instances``. Records already running
    are not interrupted: they finish and are counted as usual. AlreadyFinished (409) when the
    session has finished. Returns the session, refreshed."""
    now = timezone.now()
    who = f" by {user.get_username()}" if user is not None else ""
    with connection.cursor() as cursor:
        # records first, then the session: the order in which a worker starts and finishes them
        cursor.execute(
            "UPDATE sync_instance_records SET status = 'cancelled', completed_at = %s, error_code = 'cancelled', "
            "error_message = %s WHERE session_id = %s AND status = 'queued'",
            [now, f"Cancelled{who} before a worker started it.", session.session_id],
        )
        cancelled = cursor.rowcount
        cursor.execute(
            """
            UPDATE sync_sessions SET status = 'cancelled', completed_at = %(now)s, updated_at = %(now)s,
                   cancelled_instances = cancelled_instances + %(cancelled)s,
                   error_message = %(message)s || (
                       SELECT CASE WHEN count(*) > 0 THEN '; ' || count(*) || ' running record(s) left to finish'
                                   ELSE '' END || '.'
                       FROM sync_instance_records WHERE session_id = %(session_id)s AND status = 'running')
            WHERE session_id = %(session_id)s AND status IN ('queued', 'running')
            """,
            {"now": now, "cancelled": cancelled, "session_id": session.session_id,
             "message": f"Cancelled{who} at {now:%Y-%m-%d %H:%M} UTC: {cancelled} queued record(s) not run"},
        )  # fmt: skip
        if cursor.rowcount == 0:
            session.refresh_from_db()
            raise AlreadyFinished(f"Session {session.session_id} has already finished ({session.status}).")
    logger.info("session %s cancelled%s: %d queued record(s) not run", session.session_id, who, cancelled)
    session.refresh_from_db()
    return session


_REAP_SQL = """
WITH stale AS (
    -- unfinished sessions, and cancelled ones whose running records a lost worker never finished
    SELECT session_id FROM sync_sessions s
    WHERE started_at < %(cutoff)s AND (
        status IN ('queued', 'running')
        OR (status = 'cancelled' AND EXISTS (
            SELECT 1 FROM sync_instance_records r WHERE r.session_id = s.session_id AND r.status = 'running')))
    FOR UPDATE SKIP LOCKED
), reaped_records AS (
    UPDATE sync_instance_records r
    SET status = 'failed', completed_at = now(), error_code = 'reaped', error_message = %(message)s
    WHERE r.session_id IN (SELECT session_id FROM stale) AND r.status IN ('queued', 'running')
    RETURNING r.session_id
)
UPDATE sync_sessions s SET
    status = CASE WHEN s.status = 'cancelled' THEN 'cancelled' ELSE 'failed' END,
    completed_at = COALESCE(s.completed_at, now()),
    error_message = CASE WHEN s.status = 'cancelled' THEN s.error_message || ' ' ELSE '' END || %(message)s,
    successful_instances = done.succeeded,
    partial_instances = done.partial,
    cancelled_instances = done.cancelled,
    failed_instances = s.total_instances - s.skipped_instances - done.succeeded - done.cancelled,
    updated_at = now()
FROM (
    SELECT st.session_id,
           (SELECT count(*) FROM sync_instance_records r
            WHERE r.session_id = st.session_id AND r.status IN ('completed', 'partial')) AS succeeded,
           (SELECT count(*) FROM sync_instance_records r
            WHERE r.session_id = st.session_id AND r.status = 'partial') AS partial,
           (SELECT count(*) FROM sync_instance_records r
            WHERE r.session_id = st.session_id AND r.status = 'cancelled') AS cancelled
    FROM stale st
) AS done
WHERE s.session_id = done.session_id
RETURNING s.session_id
"""


def sessions_reap(*, older_than: dt.timedelta | None = None) -> int:
    """Fail sessions still ``queued`` or ``running`` ``older_than`` (default
    WHALEFALL['SESSION_REAP_AFTER_MINUTES']) after they were created or a worker started
    them: their unfinished records become failed ("reaped") and counts are recomputed. A
    cancelled session whose running records a lost worker never finished keeps its status; those
    records are failed the same way. Returns sessions reaped."""
    if older_than is None:
        older_than = dt.timedelta(minutes=settings.WHALEFALL["SESSION_REAP_AFTER_MINUTES"])
    minutes = int(older_than.total_seconds() // 60)
    message = (
        f"Marked failed by the reaper: unfinished after {minutes} minutes "
        "(worker killed or lost, or no qcluster running to take queued work?)."
    )
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(_REAP_SQL, {"cutoff": timezone.now() - older_than, "message": message})
        reaped = cursor.fetchall()
    if reaped:
        logger.warning("reaped %d stuck session(s): %s", len(reaped), ", ".join(str(r[0]) for r in reaped))
    return len(reaped)


def sessions_cleanup(*, older_than_days: int | None = None) -> int:
    """Delete finished sessions older than the retention (default
    WHALEFALL['SESSION_RETENTION_DAYS']). Returns sessions deleted.

    One DELETE: every table that references a session says in its own foreign
    key what happens (records ``ON DELETE CASCADE``; change logs and histories,
    which outlive their session, ``ON DELETE SET NULL``)."""
    days = settings.WHALEFALL["SESSION_RETENTION_DAYS"] if older_than_days is None else older_than_days
    cutoff = timezone.now() - dt.timedelta(days=days)
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM sync_sessions WHERE status NOT IN ('queued', 'running') "
            "AND COALESCE(completed_at, started_at) < %s",
            [cutoff],
        )
        return cursor.rowcount
