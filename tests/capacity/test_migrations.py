"""Migration 0006 (daily roll-ups read from the daily sizes, not stored): forward it deletes the
stored daily rows and the CHECK refuses new ones; backward it allows them again and re-creates
them from the daily sizes with the semantics the previous release stored them with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.capacity.conftest import ensure_partitions
from tests.support.factories import make_instance

pytestmark = [pytest.mark.schema, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

D = dt.date
SIZES = {D(2026, 1, 1): 1000, D(2026, 1, 2): 1100, D(2026, 1, 4): 0, D(2026, 1, 5): 400}  # no sample on 01-03


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def daily_rows(table: str, instance_id: int) -> dict[dt.date, tuple]:
    return {
        day: rest
        for day, *rest in rows(
            f"SELECT period_start, period_end, avg_size_bytes, max_size_bytes, min_size_bytes, sample_count, "
            f"size_change_bytes, size_change_percent, growth_rate_bytes_per_day, is_complete FROM {table} "
            "WHERE period_type = 'daily' AND instance_id = %s",
            [instance_id],
        )
    }


def test_forward_deletes_daily_rows_backward_restores_them_from_the_daily_sizes():
    inst = make_instance(name="migrating")
    for table in ("database_size_stats", "instance_size_stats", "database_size_aggregations",
                  "instance_size_aggregations"):  # fmt: skip
        ensure_partitions(table, D(2025, 12, 1), D(2026, 1, 31))
    now = timezone.now()
    for day, size in SIZES.items():
        rows("INSERT INTO database_size_stats (instance_id, database_name, size_bytes, data_bytes, collected_date, "
             "collected_at) VALUES (%s, 'app', %s, %s, %s, %s) RETURNING id",
             [inst.pk, size, size // 2, day, now])  # fmt: skip
        rows("INSERT INTO instance_size_stats (instance_id, total_size_bytes, database_count, collected_date, "
             "collected_at) VALUES (%s, %s, 1, %s, %s) RETURNING id", [inst.pk, size + 1, day, now])  # fmt: skip
    weekly = ("INSERT INTO database_size_aggregations (instance_id, database_name, period_type, period_start, "
              "period_end, avg_size_bytes, max_size_bytes, min_size_bytes, sample_count) "
              "VALUES (%s, 'app', 'weekly', '2025-12-29', '2026-01-04', 700, 1100, 0, 3) RETURNING id")  # fmt: skip
    (weekly_id,) = rows(weekly, [inst.pk])[0]
    try:
        call_command("migrate", "capacity", "0007", verbosity=0)
        restored = daily_rows("database_size_aggregations", inst.pk)
        totals = daily_rows("instance_size_aggregations", inst.pk)
        (data,) = rows("SELECT avg_data_bytes FROM database_size_aggregations WHERE period_type = 'daily' "
                       "AND period_start = '2026-01-02'")[0]  # fmt: skip
    finally:
        call_command("migrate", "capacity", verbosity=0)
    # every day with a sample, as the previous release stored it (it is not running today: complete)
    assert restored == {
        D(2026, 1, 1): [D(2026, 1, 1), 1000, 1000, 1000, 1, None, None, None, True],  # 12-31: no sample
        D(2026, 1, 2): [D(2026, 1, 2), 1100, 1100, 1100, 1, 100, Decimal("10.0000"), None, True],
        D(2026, 1, 4): [D(2026, 1, 4), 0, 0, 0, 1, None, None, None, True],  # 01-03: no sample
        D(2026, 1, 5): [D(2026, 1, 5), 400, 400, 400, 1, None, None, None, True],  # the day before was 0
    }
    assert data == 550 and totals[D(2026, 1, 2)][5:7] == [100, Decimal("9.9900")]  # 100 ÷ 1001
    # forward again: the daily rows are gone, the stored weekly row is untouched, and the table refuses daily
    assert daily_rows("database_size_aggregations", inst.pk) == {} == daily_rows("instance_size_aggregations", inst.pk)
    assert rows("SELECT id FROM database_size_aggregations WHERE instance_id = %s", [inst.pk]) == [(weekly_id,)]
    with pytest.raises(IntegrityError), transaction.atomic():
        rows(weekly.replace("'weekly'", "'daily'"), [inst.pk])
