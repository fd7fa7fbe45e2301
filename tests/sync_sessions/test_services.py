import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AccountChangeLog
from sync_sessions.models import SyncInstanceRecord, SyncSession
from sync_sessions.services import (
    RecordOutcome,
    record_finish,
    record_running,
    record_start,
    session_cancel,
    session_create,
    sessions_cleanup,
    sessions_reap,
)
from tests.support.factories import make_instance
from whalefall.errors import AlreadyFinished, TargetUnreachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_instances(db):
    return [make_instance() for _ in range(3)]


def new_session(instances, **kw):
    return session_create(sync_type="manual_batch", sync_category="account", instances=instances, **kw)


def test_create_makes_running_session_with_queued_records(three_instances):
    session = new_session(three_instances)
    assert session.status == "running" and session.total_instances == 3
    records = SyncInstanceRecord.objects.filter(session=session)
    assert sorted(r.status for r in records) == ["queued"] * 3
    assert {r.instance_name for r in records} == {i.name for i in three_instances}


def test_a_session_for_the_cluster_is_queued_until_a_worker_starts_a_record(three_instances):
    session = new_session(three_instances, queued=True)
    session.refresh_from_db()
    assert session.status == "queued"
    created_at = session.started_at
    first, *others = session.records.order_by("pk")
    assert record_start(record=first) is True
    session.refresh_from_db()
    # running from the moment a worker took it up: the reaper measures from there
    assert session.status == "running" and session.started_at >= created_at
    assert record_start(record=first) is False  # a record is started once
    for record in (first, *others):
        if record is not first:
            record_start(record=record)
        record_finish(record=record, outcome=RecordOutcome(synced=1))
    session.refresh_from_db()
    assert (session.status, session.successful_instances) == ("completed", 3)


def test_an_incomplete_outcome_finishes_the_record_partial_and_counts_it(three_instances):
    session = new_session(three_instances)
    first, second, third = session.records.order_by("pk")
    for record in (first, second):
        with record_running(record=record) as outcome:
            outcome.synced = 4
            if record is first:
                outcome.incomplete = ["Database 'app' was not read: no CONNECT privilege."]
    with pytest.raises(TargetUnreachable), record_running(record=third):
        raise TargetUnreachable("gone")
    first.refresh_from_db()
    assert (first.status, first.items_synced, first.error_code) == ("partial", 4, "partial")
    assert first.error_message == "Database 'app' was not read: no CONNECT privilege."
    session.refresh_from_db()
    assert (session.status, session.successful_instances, session.partial_instances,
            session.failed_instances) == ("failed", 2, 1, 1)  # fmt: skip


def test_session_without_instances_is_completed_at_once():
    session = new_session([])
    session.refresh_from_db()
    assert session.status == "completed" and session.completed_at is not None


def test_all_records_completed_finalizes_completed_with_counts(three_instances):
    session = new_session(three_instances)
    for record in session.records.all():
        with record_running(record=record) as outcome:
            outcome.synced, outcome.created = 10, 2
    session.refresh_from_db()
    assert (session.status, session.successful_instances, session.failed_instances) == ("completed", 3, 0)
    assert session.completed_at is not None
    record = session.records.first()
    assert (record.status, record.items_synced, record.items_created) == ("completed", 10, 2)
    assert record.started_at and record.completed_at


def test_exception_fails_record_reraises_and_session_ends_failed(three_instances):
    session = new_session(three_instances)
    records = list(session.records.all())
    with record_running(record=records[0]):
        pass
    with pytest.raises(TargetUnreachable), record_running(record=records[1]):
        raise TargetUnreachable("db1 is unreachable: connection refused")
    with pytest.raises(ZeroDivisionError), record_running(record=records[2]):
        1 / 0  # noqa: B018
    session.refresh_from_db()
    assert (session.status, session.successful_instances, session.failed_instances) == ("failed", 1, 2)
    failed = SyncInstanceRecord.objects.get(pk=records[1].pk)
    assert (failed.status, failed.error_code) == ("failed", "target_unreachable")
    assert "connection refused" in failed.error_message
    crashed = SyncInstanceRecord.objects.get(pk=records[2].pk)
    assert crashed.error_code == "internal_error" and "ZeroDivisionError" in crashed.error_message
    assert not SyncInstanceRecord.objects.filter(status__in=["pending", "running"]).exists()


def test_finishing_a_record_twice_counts_once(three_instances):
    session = new_session(three_instances[:1])
    record = session.records.get()
    assert record_finish(record=record) == "completed"
    assert record_finish(record=record, error=RuntimeError("late")) is None
    session.refresh_from_db()
    assert (session.successful_instances, session.failed_instances, session.status) == (1, 0, "completed")


def test_record_start_only_from_queued(three_instances):
    record = new_session(three_instances[:1]).records.get()
    assert record_start(record=record) is True
    assert record_start(record=record) is False


def test_cancel_cancels_queued_records_and_keeps_session_cancelled(three_instances, admin_user):
    session = new_session(three_instances)
    running = session.records.order_by("pk").first()
    record_start(record=running)
    session = session_cancel(session=session, user=admin_user)
    assert (session.status, session.cancelled_instances, session.failed_instances) == ("cancelled", 2, 0)
    assert session.completed_at is not None
    assert session.error_message.startswith("Cancelled by admin at ")
    assert session.error_message.endswith(": 2 queued record(s) not run; 1 running record(s) left to finish.")
    assert sorted(session.records.values_list("status", flat=True)) == ["cancelled", "cancelled", "running"]
    cancelled = session.records.filter(status="cancelled").first()
    assert (cancelled.error_code, cancelled.error_message) == ("cancelled", "Cancelled by admin before a worker "
                                                                            "started it.")  # fmt: skip
    record_finish(record=running)  # the running one finishes later
    session.refresh_from_db()
    assert session.status == "cancelled"
    assert (session.successful_instances, session.failed_instances, session.cancelled_instances) == (1, 0, 2)


def test_a_finished_session_cannot_be_cancelled(three_instances):
    session = new_session(three_instances[:1])
    record_finish(record=session.records.get())
    with pytest.raises(AlreadyFinished, match="has already finished \\(completed\\)"):
        session_cancel(session=session)
    session.refresh_from_db()
    assert (session.status, session.cancelled_instances) == ("completed", 0)


def test_top_level_services_are_durable_so_an_accidental_nesting_fails_loudly(three_instances):
    session = new_session(three_instances[:1])
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        session_cancel(session=session)
    session.refresh_from_db()
    assert session.status == "running"


def test_the_reaper_finishes_a_cancelled_session_a_lost_worker_left_running(three_instances):
    session = new_session(three_instances[:2])
    lost = session.records.order_by("pk").first()
    record_start(record=lost)
    session_cancel(session=session)
    SyncSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    assert sessions_reap(older_than=dt.timedelta(hours=2)) == 1
    session.refresh_from_db()
    lost.refresh_from_db()
    assert (lost.status, lost.error_code) == ("failed", "reaped")
    assert (session.status, session.failed_instances, session.cancelled_instances) == ("cancelled", 1, 1)
    assert session.error_message.startswith("Cancelled at") and "Marked failed by the reaper" in session.error_message
    assert sessions_reap(older_than=dt.timedelta(hours=2)) == 0


def test_reaper_fails_stuck_sessions_and_their_unfinished_records(three_instances):
    stuck = new_session(three_instances)
    records = list(stuck.records.all())
    record_finish(record=records[0])  # one finished before the worker died
    record_start(record=records[1])  # one was running when it died; one never started
    SyncSession.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    fresh = new_session(three_instances)

    assert sessions_reap(older_than=dt.timedelta(hours=2)) == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.successful_instances, stuck.failed_instances) == ("failed", 1, 2)
    assert stuck.completed_at is not None and "reaper" in stuck.error_message
    statuses = sorted(stuck.records.values_list("status", "error_code"))
    assert statuses == [("completed", ""), ("failed", "reaped"), ("failed", "reaped")]
    fresh.refresh_from_db()
    assert fresh.status == "running"
    assert sessions_reap(older_than=dt.timedelta(hours=2)) == 0


def test_reaper_fails_a_queued_session_no_worker_took_and_does_not_count_skipped_as_failed(three_instances):
    three_instances[2].suspended_at = timezone.now()
    queued = session_create(sync_type="scheduled", sync_category="account", instances=three_instances[:2],
                            skipped=three_instances[2:], queued=True)  # fmt: skip
    SyncSession.objects.filter(pk=queued.pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    assert sessions_reap(older_than=dt.timedelta(hours=2)) == 1
    queued.refresh_from_db()
    assert (queued.status, queued.successful_instances, queued.failed_instances, queued.skipped_instances) == (
        "failed", 0, 2, 1)  # fmt: skip
    assert "no qcluster" in queued.error_message
    assert sorted(queued.records.values_list("status", flat=True)) == ["failed", "failed", "skipped"]


def test_cleanup_deletes_old_finished_sessions_and_keeps_change_log(three_instances):
    old = new_session(three_instances[:1])
    record_finish(record=old.records.get())
    change = AccountChangeLog.objects.create(
        instance=three_instances[0], username="u", change_type="add", session=old
    )
    SyncSession.objects.filter(pk=old.pk).update(completed_at=timezone.now() - dt.timedelta(days=40))
    recent = new_session(three_instances[:1])
    record_finish(record=recent.records.get())
    still_running = new_session(three_instances[:1])
    SyncSession.objects.filter(pk=still_running.pk).update(started_at=timezone.now() - dt.timedelta(days=40))

    assert sessions_cleanup(older_than_days=30) == 1
    assert not SyncSession.objects.filter(pk=old.pk).exists()
    assert not SyncInstanceRecord.objects.filter(session_id=old.session_id).exists()
    assert SyncSession.objects.filter(pk__in=[recent.pk, still_running.pk]).count() == 2
    change.refresh_from_db()
    assert change.session_id is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_finishers_finalize_exactly_once():
    instances = [make_instance() for _ in range(8)]
    session = new_session(instances)
    records = list(session.records.all())
    barrier = threading.Barrier(len(records))
    results = []

    def finish(record):
        try:
            barrier.wait()
            results.append(record_finish(record=record))
        finally:
            connection.close()

    threads = [threading.Thread(target=finish, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.refresh_from_db()
    assert (session.status, session.successful_instances, session.failed_instances) == ("completed", 8, 0)
    # each finisher sees the status after its own update: only the last one sees the end
    assert sorted(results) == ["completed"] + ["running"] * 7


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_start_outside_a_transaction_commits_without_waiting_for_the_disk():
    """record_start as the runner calls it (its own transaction): the start is committed
    asynchronously, for that statement only; the finish stays synchronous."""
    session = new_session([make_instance()])
    record = session.records.get()
    assert not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        default = cursor.fetchone()[0]
        assert record_start(record=record) is True
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == default  # set for the start's own transaction, not the connection
    assert SyncInstanceRecord.objects.get(pk=record.pk).status == "running"
    assert record_start(record=record) is False
    assert record_finish(record=record, outcome=RecordOutcome(synced=1)) == "completed"
