"""Capacity services against the real metadata PostgreSQL, with a fake engine adapter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from capacity import services
from capacity.models import (
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeStat,
)
from capacity.services import capacity_collect_all, capacity_collect_instance, collection, table_sizes_refresh
from instances.adapters.base import DatabaseSize, TableSize
from sync_sessions.models import SyncInstanceRecord
from tests.capacity.conftest import in_inventory
from whalefall.db.locks import _namespace_key, advisory_lock
from whalefall.errors import ConcurrentOperation, PartitionMissing, TargetQueryFailed, TargetUnreachable

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def sizes(**named: int) -> list[DatabaseSize]:
    return [DatabaseSize(name, size, data_bytes=size, log_bytes=None) for name, size in named.items()]


def test_collect_writes_stats_current_instance_total_and_inventory(fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.databases[inst.name] = sizes(app=5 * MB, tiny=1234, empty=0)
    outcome = capacity_collect_instance(instance=inst)

    today = timezone.localdate()
    stats = {s.database_name: s for s in DatabaseSizeStat.objects.filter(instance=inst, collected_date=today)}
    assert {n: s.size_bytes for n, s in stats.items()} == {"app": 5 * MB, "tiny": 1234, "empty": 0}
    assert stats["tiny"].data_bytes == 1234 and stats["tiny"].log_bytes is None
    current = dict(DatabaseSizeCurrent.objects.filter(instance=inst).values_list("database_name", "size_bytes"))
    assert current == {"app": 5 * MB, "tiny": 1234, "empty": 0}
    total = InstanceSizeStat.objects.get(instance=inst, collected_date=today)
    assert (total.total_size_bytes, total.database_count) == (5 * MB + 1234, 3)
    assert sorted(InstanceDatabase.objects.filter(instance=inst, is_active=True).values_list("name", flat=True)) == [
        "app", "empty", "tiny"
    ]  # fmt: skip
    assert (outcome.synced, outcome.created, outcome.deleted) == (3, 3, 0)
    assert outcome.details["total_size_bytes"] == 5 * MB + 1234


def test_rerun_same_day_overwrites_never_duplicates(fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.databases[inst.name] = sizes(app=100, other=50)
    capacity_collect_instance(instance=inst)
    fake_engine.databases[inst.name] = sizes(app=300, other=50)
    outcome = capacity_collect_instance(instance=inst)

    assert DatabaseSizeStat.objects.filter(instance=inst).count() == 2
    assert DatabaseSizeStat.objects.get(instance=inst, database_name="app").size_bytes == 300
    assert InstanceSizeStat.objects.filter(instance=inst).count() == 1
    assert InstanceSizeStat.objects.get(instance=inst).total_size_bytes == 350
    assert DatabaseSizeCurrent.objects.get(instance=inst, database_name="app").size_bytes == 300
    assert outcome.created == 0


def test_vanished_database_becomes_inactive_and_returns(fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.databases[inst.name] = sizes(keep=10, drop=20)
    capacity_collect_instance(instance=inst)
    fake_engine.databases[inst.name] = sizes(keep=10)
    outcome = capacity_collect_instance(instance=inst)

    dropped = InstanceDatabase.objects.get(instance=inst, name="drop")
    assert not dropped.is_active and dropped.deleted_at is not None
    assert outcome.deleted == 1
    # today's rows and the latest sizes only hold databases that exist now
    assert list(DatabaseSizeStat.objects.filter(instance=inst).values_list("database_name", flat=True)) == ["keep"]
    assert list(DatabaseSizeCurrent.objects.filter(instance=inst).values_list("database_name", flat=True)) == ["keep"]
    assert InstanceSizeStat.objects.get(instance=inst).total_size_bytes == 10

    fake_engine.databases[inst.name] = sizes(keep=10, drop=25)
    outcome = capacity_collect_instance(instance=inst)
    dropped.refresh_from_db()
    assert dropped.is_active and dropped.deleted_at is None
    assert (outcome.created, outcome.updated) == (0, 1)


def test_zero_databases_is_completed_but_says_so(fake_instance, fake_engine):
    inst = fake_instance()
    session = capacity_collect_all(instance_ids=[inst.pk])
    record = session.records.get()
    assert session.status == "completed" and record.status == "completed"
    assert record.items_synced == 0
    assert record.sync_details["zero_databases"] is True and "no user databases" in record.sync_details["note"]
    total = InstanceSizeStat.objects.get(instance=inst)
    assert (total.total_size_bytes, total.database_count) == (0, 0)


def test_batch_retries_transient_failure_then_records_failed_others_succeed(fake_instance, fake_engine):
    ok, flaky, down = fake_instance(name="a-ok"), fake_instance(name="b-flaky"), fake_instance(name="c-down")
    for inst in (ok, flaky, down):
        fake_engine.databases[inst.name] = sizes(db1=100)
    fake_engine.failures[flaky.name] = [TargetUnreachable("flaky")]
    fake_engine.failures[down.name] = [TargetUnreachable("down", instance_id=down.pk) for _ in range(5)]

    session = capacity_collect_all()

    assert (session.status, session.successful_instances, session.failed_instances) == ("failed", 2, 1)
    records = {r.instance_name: r for r in SyncInstanceRecord.objects.filter(session=session)}
    assert records["a-ok"].status == "completed" and records["a-ok"].sync_details["attempts"] == 1
    assert records["b-flaky"].status == "completed" and records["b-flaky"].sync_details["attempts"] == 2
    assert records["c-down"].status == "failed" and records["c-down"].error_code == "target_unreachable"
    assert "after 3 attempts" in records["c-down"].error_message
    assert fake_engine.calls[down.name] == 3
    assert not InstanceSizeStat.objects.filter(instance=down).exists()
    assert InstanceSizeStat.objects.filter(instance__in=[ok, flaky]).count() == 2


def test_non_transient_failure_is_not_retried(fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.failures[inst.name] = [TargetQueryFailed("denied"), TargetQueryFailed("denied")]
    session = capacity_collect_all(instance_ids=[inst.pk])
    assert session.records.get().error_code == "target_query_failed"
    assert fake_engine.calls[inst.name] == 1


def test_exception_mid_write_leaves_no_partial_day(fake_instance, fake_engine, monkeypatch):
    inst = fake_instance()
    fake_engine.databases[inst.name] = sizes(app=100, other=200)
    # the last statement of the transaction fails: stats, current and inventory must roll back with it
    monkeypatch.setattr(collection, "_UPSERT_INSTANCE_STATS", "SELECT 1 / 0")
    session = capacity_collect_all(instance_ids=[inst.pk])

    assert session.records.get().status == "failed"
    assert not DatabaseSizeStat.objects.filter(instance=inst).exists()
    assert not DatabaseSizeCurrent.objects.filter(instance=inst).exists()
    assert not InstanceDatabase.objects.filter(instance=inst).exists()
    assert not InstanceSizeStat.objects.filter(instance=inst).exists()


def test_missing_partition_fails_loudly(fake_instance, fake_engine):
    inst = fake_instance()
    future = timezone.now() + dt.timedelta(days=3650)
    with pytest.raises(PartitionMissing, match="manage_partitions"):
        services.capacity_apply(instance=inst, inventory=["x"], sizes=sizes(x=1), now=future)
    assert not InstanceDatabase.objects.filter(instance=inst).exists()


def test_duplicate_names_from_adapter_are_an_error(fake_instance):
    inst = fake_instance()
    with pytest.raises(TargetQueryFailed, match="more than once"):
        services.capacity_apply(instance=inst, inventory=["a"], sizes=sizes(a=1) + sizes(a=2))


def test_concurrent_collection_of_one_instance_is_refused(fake_instance, fake_engine):
    inst = fake_instance()
    other = connection.copy()  # a second server session holds the lock
    key = [_namespace_key("capacity.collect"), inst.pk]
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", key)
        with pytest.raises(ConcurrentOperation):
            capacity_collect_instance(instance=inst)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    finally:
        other.close()
    with advisory_lock("capacity.collect", inst.pk):  # released again
        pass


# --- table sizes ----------------------------------------------------------------------


def tables(*specs) -> list[TableSize]:
    return [TableSize(schema, name, size, size - 10, 10, rows) for schema, name, size, rows in specs]


def test_table_refresh_upserts_deletes_vanished_and_records_session(fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.tables[(inst.name, "shop")] = tables(("public", "orders", 500, 5), ("public", "old", 100, 1))
    in_inventory(inst, "shop")
    first = table_sizes_refresh(instance=inst, database="shop")
    assert (first.tables, first.created, first.updated, first.deleted) == (2, 2, 0, 0)

    fake_engine.tables[(inst.name, "shop")] = tables(("public", "orders", 900, 9), ("audit", "log", 50, 2))
    second = table_sizes_refresh(instance=inst, database="shop")
    assert (second.tables, second.created, second.updated, second.deleted) == (2, 1, 1, 1)
    stored = {(t.schema_name, t.table_name): t.size_bytes for t in DatabaseTableSizeStat.objects.filter(instance=inst)}
    assert stored == {("public", "orders"): 900, ("audit", "log"): 50}
    assert second.session.sync_category == "table_size" and second.session.status == "completed"
    assert second.session.records.get().items_deleted == 1
    assert second.elapsed_ms >= 0


def test_table_refresh_failure_keeps_previous_snapshot(fake_instance, fake_engine):
    inst = fake_instance()
    fake_engine.tables[(inst.name, "shop")] = tables(("public", "orders", 500, 5))
    in_inventory(inst, "shop")
    table_sizes_refresh(instance=inst, database="shop")
    fake_engine.tables[(inst.name, "shop")] = []
    fake_engine.failures[inst.name] = [TargetUnreachable("gone")]
    with pytest.raises(TargetUnreachable):
        table_sizes_refresh(instance=inst, database="shop")
    assert list(DatabaseTableSizeStat.objects.filter(instance=inst).values_list("table_name", flat=True)) == ["orders"]
    failed = SyncInstanceRecord.objects.filter(instance=inst, status="failed").get()
    assert failed.error_code == "target_unreachable" and failed.session.status == "failed"
