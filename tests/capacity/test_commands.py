"""collect_capacity and refresh_table_sizes through call_command."""

from __future__ import annotations

import pytest
import time_machine
from django.core.management import CommandError, call_command

from capacity.models import DatabaseTableSizeStat, InstanceSizeStat
from instances.adapters.base import DatabaseSize, TableSize
from whalefall.errors import TargetUnreachable

pytestmark = pytest.mark.django_db


def test_collect_capacity_progress_and_summary(fake_instance, fake_engine, capsys):
    one, empty = fake_instance(name="one"), fake_instance(name="empty")
    fake_engine.databases["one"] = [DatabaseSize("app", 100)]
    call_command("collect_capacity")
    out = capsys.readouterr().out
    assert "[1/2] empty: ok" in out and "(zero databases)" in out
    assert "[2/2] one: ok  synced=1 created=1" in out
    assert "completed — 2 succeeded, 0 failed of 2" in out
    assert InstanceSizeStat.objects.filter(instance__in=[one, empty]).count() == 2


def test_collect_capacity_failure_exits_non_zero(fake_instance, fake_engine, capsys):
    down = fake_instance(name="down")
    fake_engine.failures["down"] = [TargetUnreachable("no route") for _ in range(3)]
    with pytest.raises(CommandError, match="1 of 1 instance"):
        call_command("collect_capacity", "--instance", str(down.pk))
    assert "FAILED  target_unreachable" in capsys.readouterr().out


def test_collect_capacity_unknown_instance(fake_engine):
    with pytest.raises(CommandError, match="Unknown instance"):
        call_command("collect_capacity", "--instance", "nope")


def test_refresh_table_sizes_one_and_all(fake_instance, fake_engine, capsys):
    inst = fake_instance(name="tbl")
    fake_engine.databases["tbl"] = [DatabaseSize("a", 1), DatabaseSize("b", 1)]
    fake_engine.tables[("tbl", "a")] = [TableSize("a", "t1", 10)]
    with pytest.raises(CommandError, match="no active databases"):
        call_command("refresh_table_sizes", "--instance", str(inst.pk))
    with pytest.raises(CommandError, match="1 of 1 database"):  # not in the inventory yet
        call_command("refresh_table_sizes", "--instance", "tbl", "--database", "a")
    assert "a: FAILED  not_found: Database 'a' is not in the inventory" in capsys.readouterr().out

    call_command("collect_capacity", "--instance", "tbl")
    call_command("refresh_table_sizes", "--instance", "tbl", "--database", "a")
    assert "a: ok  tables=1 created=1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="1 of 2 database"):  # b: the fake knows no tables for it
        call_command("refresh_table_sizes", "--instance", str(inst.pk))
    out = capsys.readouterr().out
    assert "[1/2] a: ok" in out and "[2/2] b: FAILED  target_query_failed" in out
    assert DatabaseTableSizeStat.objects.filter(instance=inst).count() == 1


# --- aggregate_capacity ----------------------------------------------------------------------


def test_aggregate_capacity_default_window_backfill_and_period(db, capsys):
    import datetime as dt

    from django.utils import timezone

    from capacity.models import AggregationRequest, DatabaseSizeAggregation, DatabaseSizeStat
    from tests.capacity.conftest import ensure_partitions
    from tests.support.factories import make_instance

    inst, _empty = make_instance(name="sized"), make_instance(name="unsized")
    today = dt.date(2026, 1, 6)  # Tuesday: yesterday is in the same week, month and quarter
    start = today - dt.timedelta(days=40)
    ensure_partitions("database_size_stats", start, today)
    DatabaseSizeStat.objects.bulk_create(
        DatabaseSizeStat(instance=inst, database_name="app", size_bytes=100 + i, collected_date=start + dt.timedelta(i),
                         collected_at=timezone.now())
        for i in range(41)
    )  # fmt: skip
    with time_machine.travel(dt.datetime(2026, 1, 6, 4, tzinfo=timezone.get_current_timezone()), tick=False):
        call_command("aggregate_capacity")
        out = capsys.readouterr().out
        # W02, January, Q1: one row each for "app" (no instance totals here)
        assert "[1/2] sized: ok  synced=3 created=3" in out and "(rows: database 3, instance 0; written 3)" in out
        assert "[2/2] unsized: ok  synced=0" in out and "(no samples in these periods)" in out
        assert "completed — 2 succeeded, 0 failed of 2" in out
        assert not DatabaseSizeAggregation.objects.filter(period_type="daily").exists()

        call_command("aggregate_capacity", "--period", "weekly", "--from", start.isoformat(), "--to", today.isoformat(),
                     "--instance", "sized")  # fmt: skip
        # 7 ISO weeks touch the range; W02 was stored by the first run without a change (W01 was not stored):
        # now W01 is computed in the same run, so W02 gets its change
        assert "[1/1] sized: ok  synced=7 created=6 updated=1 deleted=0" in capsys.readouterr().out
        request = AggregationRequest.objects.latest("id")
        assert (request.period_types, request.start_date, request.end_date) == (["weekly"], start, today)

        # daily values are read from the daily sizes: nothing to run, and that is not an error
        call_command("aggregate_capacity", "--period", "daily")
        assert "read from the daily sizes" in capsys.readouterr().out
        assert AggregationRequest.objects.count() == 2


def test_aggregate_capacity_bad_input_and_failure_exit_non_zero(db, capsys):
    from django.db import connection

    from tests.support.factories import make_instance
    from whalefall.db.locks import _namespace_key

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("aggregate_capacity", "--from", "2026-13-01", "--to", "2026-01-01")
    with pytest.raises(CommandError, match="both ends"):
        call_command("aggregate_capacity", "--from", "2026-01-01")
    with pytest.raises(CommandError, match="in the future"):
        call_command("aggregate_capacity", "--from", "2026-01-01", "--to", "2999-01-01")
    with pytest.raises(CommandError):
        call_command("aggregate_capacity", "--period", "yearly")
    busy = make_instance(name="busy")
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_namespace_key("capacity.aggregate"), busy.pk])
        with pytest.raises(CommandError, match="1 of 1 instance"):
            call_command("aggregate_capacity", "--instance", "busy")
    finally:
        other.close()
    assert "busy: FAILED  concurrent_operation" in capsys.readouterr().out


def test_aggregation_schedule_at_four_runs_every_active_instance(db, django_capture_on_commit_callbacks):
    from django.utils.module_loading import import_string

    from capacity.tasks import capacity_aggregate_scheduled
    from console.schedules import JOBS
    from sync_sessions.models import SyncSession
    from tests.support.factories import make_instance

    job = JOBS["whalefall.aggregation"]  # after the 03:00 collection
    assert job.cron == "0 4 * * *" and import_string(job.func) is capacity_aggregate_scheduled
    make_instance()
    with django_capture_on_commit_callbacks(execute=True):
        session_id = capacity_aggregate_scheduled()
    session = SyncSession.objects.get(session_id=session_id)
    assert (session.sync_type, session.sync_category, session.status) == ("scheduled", "aggregation", "completed")
