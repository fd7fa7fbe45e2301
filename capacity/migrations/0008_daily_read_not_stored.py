# Daily roll-ups are read from the daily sizes, not stored (issue 25, docs/capacity.md § Aggregation).
#
# Forward: delete the stored daily rows, then allow only weekly/monthly/quarterly in the
# aggregation tables (CHECK and choices).
#
# Backward: restore the constraint, then re-create the daily rows from database_size_stats /
# instance_size_stats with the semantics the previous release stored them with (one sample;
# change vs the immediately preceding day, both NULL when that day is missing or was 0; growth
# NULL; complete before today in WHALEFALL_TIME_ZONE), set-based, one INSERT … SELECT per level
# and existing aggregation partition. Restored rather than left empty because the previous
# release serves its daily API and admin tab from those rows and its nightly run only writes
# yesterday and today: without them a rollback would show no daily history until someone ran a
# backfill by hand. Days of months without an aggregation partition are not restored: the
# previous release could not have stored them either.

from django.db import migrations, models
from django.utils import timezone

_TABLES = ("database_size_aggregations", "instance_size_aggregations")

_RESTORE = {
    "database_size_aggregations": """
        INSERT INTO database_size_aggregations (
            instance_id, database_name, period_type, period_start, period_end, avg_size_bytes, max_size_bytes,
            min_size_bytes, avg_data_bytes, avg_log_bytes, sample_count, size_change_bytes, size_change_percent,
            growth_rate_bytes_per_day, is_complete, calculated_at)
        SELECT s.instance_id, s.database_name, 'daily', s.collected_date, s.collected_date, s.size_bytes,
               s.size_bytes, s.size_bytes, s.data_bytes, s.log_bytes, 1, s.size_bytes - p.size_bytes,
               round((s.size_bytes - p.size_bytes) * 100.0 / p.size_bytes, 4), NULL,
               s.collected_date < %(today)s, now()
        FROM database_size_stats s
        LEFT JOIN database_size_stats p
          ON p.instance_id = s.instance_id AND p.database_name = s.database_name
         AND p.collected_date = s.collected_date - 1 AND p.size_bytes <> 0
         AND p.collected_date >= %(lo)s::date - 1 AND p.collected_date < %(hi)s::date - 1
        WHERE s.collected_date >= %(lo)s AND s.collected_date < %(hi)s
        ON CONFLICT (instance_id, database_name, period_type, period_start) DO NOTHING
    """,
    "instance_size_aggregations": """
        INSERT INTO instance_size_aggregations (
            instance_id, period_type, period_start, period_end, avg_size_bytes, max_size_bytes, min_size_bytes,
            database_count, sample_count, size_change_bytes, size_change_percent, growth_rate_bytes_per_day,
            is_complete, calculated_at)
        SELECT s.instance_id, 'daily', s.collected_date, s.collected_date, s.total_size_bytes, s.total_size_bytes,
               s.total_size_bytes, s.database_count, 1, s.total_size_bytes - p.total_size_bytes,
               round((s.total_size_bytes - p.total_size_bytes) * 100.0 / p.total_size_bytes, 4), NULL,
               s.collected_date < %(today)s, now()
        FROM instance_size_stats s
        LEFT JOIN instance_size_stats p
          ON p.instance_id = s.instance_id AND p.collected_date = s.collected_date - 1 AND p.total_size_bytes <> 0
         AND p.collected_date >= %(lo)s::date - 1 AND p.collected_date < %(hi)s::date - 1
        WHERE s.collected_date >= %(lo)s AND s.collected_date < %(hi)s
        ON CONFLICT (instance_id, period_type, period_start) DO NOTHING
    """,
}

# the range partitions of a table (as capacity/partitions.py creates them: FROM (date) TO (date))
_PARTITIONS = """
SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([0-9-]+)''\\)')::date,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([0-9-]+)''\\)')::date
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = %s::regclass
ORDER BY 1
"""


def delete_daily_rows(apps, schema_editor):
    for table in _TABLES:
        schema_editor.execute(f"DELETE FROM {table} WHERE period_type = 'daily'")


def restore_daily_rows(apps, schema_editor):
    today = timezone.localdate()
    with schema_editor.connection.cursor() as cursor:
        for table, sql in _RESTORE.items():
            cursor.execute(_PARTITIONS, [table])
            for lo, hi in cursor.fetchall():
                cursor.execute(sql, {"today": today, "lo": lo, "hi": hi})


class Migration(migrations.Migration):
    dependencies = [
        ("capacity", "0007_console_names"),
    ]

    operations = [
        migrations.RunPython(delete_daily_rows, restore_daily_rows, elidable=False),
        migrations.RemoveConstraint(
            model_name="databasesizeaggregation",
            name="database_size_aggregations_period_valid",
        ),
        migrations.RemoveConstraint(
            model_name="instancesizeaggregation",
            name="instance_size_aggregations_period_valid",
        ),
        migrations.AlterField(
            model_name="databasesizeaggregation",
            name="period_type",
            field=models.CharField(
                choices=[("weekly", "Weekly"), ("monthly", "Monthly"), ("quarterly", "Quarterly")], max_length=10
            ),
        ),
        migrations.AlterField(
            model_name="instancesizeaggregation",
            name="period_type",
            field=models.CharField(
                choices=[("weekly", "Weekly"), ("monthly", "Monthly"), ("quarterly", "Quarterly")], max_length=10
            ),
        ),
        migrations.AddConstraint(
            model_name="databasesizeaggregation",
            constraint=models.CheckConstraint(
                condition=models.Q(("period_type__in", ["weekly", "monthly", "quarterly"])),
                name="database_size_aggregations_period_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="instancesizeaggregation",
            constraint=models.CheckConstraint(
                condition=models.Q(("period_type__in", ["weekly", "monthly", "quarterly"])),
                name="instance_size_aggregations_period_valid",
            ),
        ),
    ]
