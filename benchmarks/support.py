"""Helpers shared by the benchmarks (import after ``django.setup()``)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from capacity.partitions import add_months, month_start, partition_name

HISTORY_TABLES = ("database_size_stats", "instance_size_stats")


def history_partitions_create(start: dt.date, end: dt.date) -> None:
    """The monthly partitions of both daily size tables from ``start`` through ``end`` (kept when present)."""
    with connection.cursor() as cursor:
        for table in HISTORY_TABLES:
            month = month_start(start)
            while month <= end:
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{partition_name(table, month)}" PARTITION OF "{table}" '
                    "FOR VALUES FROM (%s) TO (%s)",
                    [month, add_months(month, 1)],
                )
                month = add_months(month, 1)
