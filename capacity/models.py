"""Capacity: database inventory, partitioned size history, aggregations,
latest sizes and per-table sizes.

All sizes are bytes (``bigint``). The four fact tables are range-partitioned
by month on their date column; they are created by ``CreatePartitionedModel``
with ``PRIMARY KEY (id, <partition key>)`` and a DB-level
``instance_id → instances(id) ON DELETE CASCADE`` (hence ``DO_NOTHING`` and
``db_constraint=False`` here: the database owns the cascade, the ORM never
loads millions of history rows to delete them).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Now


def _instance_fk(related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        "instances.Instance",
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # created in the migration with ON DELETE CASCADE
        db_index=False,  # the business unique constraint leads with instance_id
        related_name=related_name,
    )


def _complete_field(what: str) -> models.BooleanField:
    return models.BooleanField(
        default=True,
        db_default=True,
        help_text=f"False when the monitoring login could read only part of {what} "
        "(Oracle without the DBA views: its own segments only).",
    )


class PeriodType(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class InstanceDatabase(models.Model):
    """Inventory of databases per instance; a vanished database turns inactive."""

    instance = _instance_fk("databases")
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True, db_default=True)
    first_seen_at = models.DateTimeField(db_default=Now())
    last_seen_at = models.DateTimeField(db_default=Now())
    deleted_at = models.DateTimeField(null=True, blank=True)
    size_limit_bytes = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Bytes this database may hold (quota, tablespace or file limit); the forecast counts the "
        "days until it is reached. Empty: no limit.",
    )

    class Meta:
        db_table = "instance_databases"
        ordering = ("instance", "name")
        constraints = [
            models.UniqueConstraint(fields=["instance", "name"], name="instance_databases_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class DatabaseSizeStat(models.Model):
    """Daily size of one database (partitioned by ``collected_date``)."""

    id = models.BigAutoField(primary_key=True)
    instance = _instance_fk("+")
    database_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    data_bytes = models.BigIntegerField(null=True, blank=True)
    log_bytes = models.BigIntegerField(null=True, blank=True)
    complete = _complete_field("the database")
    collected_date = models.DateField()
    collected_at = models.DateTimeField()

    class Meta:
        db_table = "database_size_stats"
        ordering = ("-collected_date", "instance", "database_name")
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "database_name", "collected_date"], name="database_size_stats_uniq"
            ),
            models.CheckConstraint(condition=models.Q(size_bytes__gte=0), name="database_size_stats_size_nonneg"),
        ]
        indexes = [
            # history of one instance over a date range
            models.Index(fields=["instance", "collected_date"], name="database_size_stats_inst_date"),
            # the admin's order (newest day first, then instance): a page of "All" is the first rows of a
            # merge of the partitions' indexes, not a sort of the whole history (benchmarks/large_tables.py)
            models.Index(fields=["-collected_date", "instance"], name="database_size_stats_date_inst"),
        ]

    def __str__(self) -> str:
        return f"{self.database_name} {self.collected_date}: {self.size_bytes} B"


class InstanceSizeStat(models.Model):
    """Daily total size of one instance (partitioned by ``collected_date``)."""

    id = models.BigAutoField(primary_key=True)
    instance = _instance_fk("+")
    total_size_bytes = models.BigIntegerField()
    database_count = models.PositiveIntegerField()
    complete = _complete_field("a database of the instance")
    collected_date = models.DateField()
    collected_at = models.DateTimeField()

    class Meta:
        db_table = "instance_size_stats"
        ordering = ("-collected_date", "instance")
        constraints = [
            models.UniqueConstraint(fields=["instance", "collected_date"], name="instance_size_stats_uniq"),
            models.CheckConstraint(
                condition=models.Q(total_size_bytes__gte=0), name="instance_size_stats_size_nonneg"
            ),
        ]
        indexes = [
            # "all instances on a day" (dashboards)
            models.Index(fields=["collected_date"], name="instance_size_stats_date"),
        ]

    def __str__(self) -> str:
        return f"instance {self.instance_id} {self.collected_date}: {self.total_size_bytes} B"


class _AggregationColumns(models.Model):
    id = models.BigAutoField(primary_key=True)
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    avg_size_bytes = models.BigIntegerField()
    max_size_bytes = models.BigIntegerField()
    min_size_bytes = models.BigIntegerField()
    avg_data_bytes = models.BigIntegerField(null=True, blank=True)
    avg_log_bytes = models.BigIntegerField(null=True, blank=True)
    sample_count = models.PositiveIntegerField()
    size_change_bytes = models.BigIntegerField(null=True, blank=True)
    # 21 integer digits: any ratio of two bigint averages × 100 fits (1 byte → 1 TB is 10^14 %)
    size_change_percent = models.DecimalField(max_digits=25, decimal_places=4, null=True, blank=True)
    growth_rate_bytes_per_day = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    is_complete = models.BooleanField(default=False, db_default=False)
    calculated_at = models.DateTimeField(db_default=Now())

    class Meta:
        abstract = True


class DatabaseSizeAggregation(_AggregationColumns):
    """Per-database roll-up per period (partitioned by ``period_start``)."""

    instance = _instance_fk("+")
    database_name = models.CharField(max_length=255)

    class Meta:
        db_table = "database_size_aggregations"
        ordering = ("-period_start", "instance", "database_name")
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "database_name", "period_type", "period_start"],
                name="database_size_aggregations_uniq",
            ),
            models.CheckConstraint(
                condition=models.Q(period_type__in=PeriodType.values), name="database_size_aggregations_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.database_name} {self.period_type} {self.period_start}"


class InstanceSizeAggregation(_AggregationColumns):
    """Per-instance roll-up per period (partitioned by ``period_start``)."""

    instance = _instance_fk("+")
    database_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "instance_size_aggregations"
        ordering = ("-period_start", "instance")
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "period_type", "period_start"], name="instance_size_aggregations_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(period_type__in=PeriodType.values), name="instance_size_aggregations_period_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"instance {self.instance_id} {self.period_type} {self.period_start}"


class DatabaseSizeCurrent(models.Model):
    """Latest size per database, written in the same transaction as the stats,
    so "latest sizes" reads are O(databases), independent of history length."""

    instance = _instance_fk("current_sizes")
    database_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    data_bytes = models.BigIntegerField(null=True, blank=True)
    log_bytes = models.BigIntegerField(null=True, blank=True)
    complete = _complete_field("the database")
    collected_at = models.DateTimeField()
    # The forecast's line as of this collection (capacity/trends.py, written with the sizes):
    # samples on the last ramp of the window, and — from MIN_SAMPLES on — the slope and the
    # line's size on the latest sample's day. NULL before the first collection that fitted it.
    forecast_samples = models.PositiveIntegerField(null=True, blank=True)
    growth_bytes_per_day = models.FloatField(null=True, blank=True)
    forecast_line_bytes = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "database_size_current"
        ordering = ("instance", "database_name")
        constraints = [
            models.UniqueConstraint(fields=["instance", "database_name"], name="database_size_current_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.database_name}: {self.size_bytes} B"


class DatabaseTableSizeStat(models.Model):
    """Latest per-table size snapshot of one database (seed 002)."""

    instance = _instance_fk("table_sizes")
    database_name = models.CharField(max_length=255)
    schema_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    table_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    data_bytes = models.BigIntegerField(null=True, blank=True)
    index_bytes = models.BigIntegerField(null=True, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    complete = _complete_field("the table")
    collected_at = models.DateTimeField()

    class Meta:
        db_table = "database_table_size_stats"
        ordering = ("instance", "database_name", "-size_bytes")
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "database_name", "schema_name", "table_name"],
                name="database_table_size_stats_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["instance", "database_name", "-size_bytes"], name="table_sizes_by_size"),
        ]

    def __str__(self) -> str:
        parts = [self.database_name, self.schema_name, self.table_name]
        return ".".join(p for p in parts if p)


class AggregationRequest(models.Model):
    """What an aggregation session was asked for: the period types and the day range
    (inclusive) whose periods it computes. Written when the batch starts, so the
    worker that runs an instance's record (maybe on another host) reads the same request."""

    session = models.OneToOneField(
        "sync_sessions.SyncSession",
        to_field="session_id",
        db_column="session_id",
        on_delete=models.CASCADE,
        related_name="+",
    )
    period_types = ArrayField(models.CharField(max_length=10))
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        db_table = "aggregation_requests"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_types__contained_by=PeriodType.values, period_types__len__gte=1),
                name="aggregation_requests_period_types_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(start_date__lte=models.F("end_date")), name="aggregation_requests_range_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{','.join(self.period_types)} {self.start_date}..{self.end_date}"
