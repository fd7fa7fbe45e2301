"""The batch runner: the calling app's unit (stored on the session like a django-q2 task's
func), the one rule for the session type, and task outcomes that agree with the records."""

from __future__ import annotations

import pytest
from django_q.models import Task

from accounts.services import ACCOUNT_SYNC_UNIT, accounts_sync_all
from sync_sessions.models import SyncSession
from sync_sessions.runner import Unit, batch_start, record_execute, sync_type_for
from sync_sessions.services import RecordOutcome
from tests.support.factories import make_fake_instance

pytestmark = pytest.mark.django_db

unit_calls: list[tuple[str, int]] = []


def counting_unit(*, instance, session) -> RecordOutcome:
    """A unit of this test module: records the call, reports one item."""
    unit_calls.append((instance.name, session.pk))
    return RecordOutcome(synced=1)


@pytest.mark.parametrize(
    ("instance_ids", "scheduled", "expected"),
    [
        ([7], False, "manual_single"),
        ([7, 7], False, "manual_single"),  # the same instance twice is still one
        ([7, 8], False, "manual_batch"),
        (None, False, "manual_batch"),  # every active instance, however many there are
        (None, True, "scheduled"),
        ([7], True, "scheduled"),
    ],
)
def test_one_rule_decides_the_session_type(instance_ids, scheduled, expected):
    assert sync_type_for(instance_ids=instance_ids, scheduled=scheduled) == expected


def test_the_unit_is_stored_on_the_session_and_run_from_there():
    unit_calls.clear()
    first, second = make_fake_instance(name="a"), make_fake_instance(name="b")
    unit = Unit(counting_unit, attempts=2, backoff_seconds=0.5)
    session = batch_start(unit=unit, sync_category="other", instance_ids=[first.pk, second.pk])
    assert (session.unit_func, session.unit_attempts, session.unit_backoff_seconds) == (
        "tests.sync_sessions.test_runner.counting_unit", 2, 0.5,
    )  # fmt: skip
    assert (session.status, session.sync_type, session.successful_instances) == ("completed", "manual_batch", 2)
    assert unit_calls == [("a", session.pk), ("b", session.pk)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_inline_batch_flushes_once_at_its_end_and_returns_its_finished_session():
    """Outside a transaction (as a command runs it): each record's start and finish commit
    without waiting for the disk, one synchronous commit at the end flushes them all; nothing
    stays set on the connection."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    unit_calls.clear()
    instances = [make_fake_instance(name=n) for n in ("a", "b", "c")]
    assert not connection.in_atomic_block
    with CaptureQueriesContext(connection) as ctx:
        session = batch_start(unit=Unit(counting_unit), sync_category="other", instance_ids=[i.pk for i in instances])
    assert (session.status, session.successful_instances) == ("completed", 3)
    assert sorted(session.records.values_list("status", flat=True)) == ["completed"] * 3
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sum("synchronous_commit" in q for q in sql) == 6  # 3 starts, 3 finishes
    assert sum("pg_current_xact_id" in q for q in sql) == 1  # the one flush, after the last finish
    assert sql.index(next(q for q in sql if "pg_current_xact_id" in q)) > max(
        i for i, q in enumerate(sql) if "synchronous_commit" in q
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_inline_batch_still_flushes_when_its_progress_callback_fails():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    instances = [make_fake_instance(name=n) for n in ("a", "b")]

    def broken_progress(record):
        raise BrokenPipeError("the command's output went away")

    with CaptureQueriesContext(connection) as ctx, pytest.raises(BrokenPipeError):
        batch_start(unit=Unit(counting_unit), sync_category="other", instance_ids=[i.pk for i in instances],
                    progress=broken_progress)  # fmt: skip
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sum("pg_current_xact_id" in q for q in sql) == 1  # the finished record is made durable


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transaction_level_lock_is_refused_outside_a_transaction():
    from django.db.transaction import TransactionManagementError

    from whalefall.db.locks import advisory_xact_lock

    with pytest.raises(TransactionManagementError):
        advisory_xact_lock("tests.lock", 1)


def test_a_unit_that_cannot_be_imported_fails_its_records_with_a_clear_error():
    instance = make_fake_instance()
    session = batch_start(unit=ACCOUNT_SYNC_UNIT, sync_category="account", instance_ids=[instance.pk], enqueue=True)
    SyncSession.objects.filter(pk=session.pk).update(unit_func="accounts.services.renamed_since")
    record = record_execute(record_id=session.records.get().pk)
    assert (record.status, record.error_code) == ("failed", "unit_unavailable")
    assert "accounts.services.renamed_since" in record.error_message
    session.refresh_from_db()
    assert session.status == "failed"


def test_task_outcome_agrees_with_the_record(django_capture_on_commit_callbacks):
    """django-q2 shows a task whose record failed as failed, with the record's typed error."""
    good = make_fake_instance("accounts=2", name="good")
    bad = make_fake_instance("fail=target_unreachable", name="bad")
    with django_capture_on_commit_callbacks(execute=True):
        session = accounts_sync_all(instance_ids=[good.pk, bad.pk], enqueue=True)
    tasks = {task.name.rsplit("-", 1)[1]: task for task in Task.objects.filter(group=str(session.session_id))}
    records = {r.instance_name: r for r in session.records.all()}
    good_task, bad_task = tasks[str(records["good"].pk)], tasks[str(records["bad"].pk)]
    assert good_task.success and good_task.result["status"] == "completed"
    assert not bad_task.success
    assert bad_task.result.startswith("bad: target_unreachable: Instance 'bad': injected target_unreachable")
