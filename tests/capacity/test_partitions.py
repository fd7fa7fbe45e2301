import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from capacity.models import DatabaseSizeStat
from capacity.partitions import PARTITIONED_TABLES, add_months, partition_errors, partitions_ensure, partitions_list
from whalefall.errors import PartitionMissing

pytestmark = pytest.mark.django_db


def months(table):
    return [p.start for p in partitions_list(table=table)]


def test_add_months_crosses_years():
    assert add_months(dt.date(2026, 11, 23), 3) == dt.date(2027, 2, 1)
    assert add_months(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 1)
    assert add_months(dt.date(2026, 1, 1), -24) == dt.date(2024, 1, 1)


def test_post_migrate_precreated_current_month_and_three_ahead():
    today = timezone.localdate()
    expected = [add_months(today, i) for i in range(4)]
    for table in PARTITIONED_TABLES:
        assert set(expected) <= set(months(table)), table


def test_ensure_creates_exact_monthly_ranges_for_frozen_date():
    plan = partitions_ensure(today=dt.date(2031, 12, 15), ahead=2, retain_months=120)
    created = sorted((p.table, p.name, p.start, p.end) for p in plan.created)
    assert ("database_size_stats", "database_size_stats_p203112", dt.date(2031, 12, 1), dt.date(2032, 1, 1)) in created
    assert ("instance_size_aggregations", "instance_size_aggregations_p203202",
            dt.date(2032, 2, 1), dt.date(2032, 3, 1)) in created
    assert len(created) == 3 * len(PARTITIONED_TABLES)
    for table in PARTITIONED_TABLES:
        assert {dt.date(2031, 12, 1), dt.date(2032, 1, 1), dt.date(2032, 2, 1)} <= set(months(table))
    # idempotent
    assert partitions_ensure(today=dt.date(2031, 12, 15), ahead=2, retain_months=120).created == []


def test_ensure_drops_only_partitions_past_retention():
    partitions_ensure(today=dt.date(2030, 1, 10), ahead=5, retain_months=120)  # 2030-01 .. 2030-06
    plan = partitions_ensure(today=dt.date(2030, 6, 10), ahead=0, retain_months=3)
    # keep 2030-03 (first kept = June - 3 months) onward; drop 2030-01 and 2030-02 ... and everything older
    dropped = {(p.table, p.start) for p in plan.dropped}
    assert ("database_size_stats", dt.date(2030, 1, 1)) in dropped
    assert ("database_size_stats", dt.date(2030, 2, 1)) in dropped
    assert ("database_size_stats", dt.date(2030, 3, 1)) not in dropped
    remaining = months("database_size_stats")
    assert remaining[0] == dt.date(2030, 3, 1)
    assert dt.date(2030, 6, 1) in remaining


def test_dry_run_changes_nothing():
    before = {t: months(t) for t in PARTITIONED_TABLES}
    plan = partitions_ensure(today=dt.date(2035, 5, 1), ahead=1, retain_months=1, dry_run=True)
    assert plan.created and plan.dropped
    assert {t: months(t) for t in PARTITIONED_TABLES} == before


def test_invalid_arguments_rejected():
    with pytest.raises(ValueError):
        partitions_ensure(ahead=-1)
    with pytest.raises(ValueError):
        partitions_ensure(retain_months=0)


def test_write_without_partition_raises_partition_missing(instance):
    now = timezone.now()
    with pytest.raises(PartitionMissing) as excinfo, partition_errors():
        DatabaseSizeStat.objects.create(
            instance=instance, database_name="db", size_bytes=1, collected_date=dt.date(2099, 1, 1), collected_at=now
        )
    assert "manage_partitions" in str(excinfo.value)
    assert "database_size_stats" in str(excinfo.value)
    assert excinfo.value.code == "partition_missing"


def test_write_with_partition_succeeds(instance):
    with partition_errors():
        stat = DatabaseSizeStat.objects.create(
            instance=instance, database_name="db", size_bytes=1, collected_date=timezone.localdate(),
            collected_at=timezone.now(),
        )
    assert DatabaseSizeStat.objects.filter(pk=stat.pk).exists()


def test_instance_delete_cascades_to_partitioned_history_in_the_database(instance):
    DatabaseSizeStat.objects.create(
        instance=instance, database_name="db", size_bytes=1, collected_date=timezone.localdate(),
        collected_at=timezone.now(),
    )
    instance.delete()
    assert DatabaseSizeStat.objects.count() == 0


def test_manage_partitions_command_uses_today(capsys):
    with time_machine.travel(dt.datetime(2040, 3, 5, 12, tzinfo=dt.UTC), tick=False):
        call_command("manage_partitions", "--ahead", "1", "--retain-months", "240")
    out = capsys.readouterr().out
    assert "create database_size_stats_p204003 [2040-03-01, 2040-04-01)" in out
    assert "create database_size_stats_p204004" in out
    assert "created 8, dropped 0" in out


def test_manage_partitions_dry_run_reports(capsys):
    with time_machine.travel(dt.datetime(2041, 7, 1, 12, tzinfo=dt.UTC), tick=False):
        call_command("manage_partitions", "--dry-run", "--ahead", "0", "--retain-months", "240")
    out = capsys.readouterr().out
    assert "would create database_size_stats_p204107" in out
    assert "4 to create" in out
    assert dt.date(2041, 7, 1) not in months("database_size_stats")
