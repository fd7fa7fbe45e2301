"""Capacity API serializers. Sizes are bytes; every ``*_bytes`` has a ``*_mb`` twin (MiB, 2 decimals)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from capacity.forecast import DEFAULT_WINDOW_DAYS, MIN_SAMPLES
from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeCurrent,
    DatabaseSizeStat,
    DatabaseTableSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
    PeriodType,
    StoredPeriodType,
)
from sync_sessions.api.serializers import BatchRequestSerializer
from whalefall import serializers as strict

MIB = 1024 * 1024


def to_mb(value: int | None) -> float | None:
    """Bytes → MiB rounded to 2 decimals (None stays None)."""
    return None if value is None else round(value / MIB, 2)


class _SizeSerializer(strict.ModelSerializer):
    size_mb = serializers.SerializerMethodField()
    data_mb = serializers.SerializerMethodField()
    log_mb = serializers.SerializerMethodField()

    def get_size_mb(self, obj) -> float:
        return to_mb(obj.size_bytes)

    def get_data_mb(self, obj) -> float | None:
        return to_mb(obj.data_bytes)

    def get_log_mb(self, obj) -> float | None:
        return to_mb(obj.log_bytes)


class DatabaseSizeCurrentSerializer(_SizeSerializer):
    """Latest size of one database."""

    class Meta:
        model = DatabaseSizeCurrent
        fields = (
            "instance",
            "database_name",
            "size_bytes",
            "size_mb",
            "data_bytes",
            "data_mb",
            "log_bytes",
            "log_mb",
            "complete",
            "collected_at",
        )


class DatabaseSizeStatSerializer(_SizeSerializer):
    """One database on one day."""

    class Meta:
        model = DatabaseSizeStat
        fields = (
            "id",
            "instance",
            "database_name",
            "collected_date",
            "size_bytes",
            "size_mb",
            "data_bytes",
            "data_mb",
            "log_bytes",
            "log_mb",
            "complete",
            "collected_at",
        )


class InstanceSizeStatSerializer(strict.ModelSerializer):
    """One instance's total on one day."""

    total_size_mb = serializers.SerializerMethodField()

    class Meta:
        model = InstanceSizeStat
        fields = ("id", "instance", "collected_date", "total_size_bytes", "total_size_mb", "database_count",
                  "complete", "collected_at")  # fmt: skip

    def get_total_size_mb(self, obj) -> float:
        return to_mb(obj.total_size_bytes)


class TableSizeSerializer(strict.ModelSerializer):
    """One table of the stored snapshot."""

    size_mb = serializers.SerializerMethodField()
    data_mb = serializers.SerializerMethodField()
    index_mb = serializers.SerializerMethodField()

    class Meta:
        model = DatabaseTableSizeStat
        fields = ("schema_name", "table_name", "size_bytes", "size_mb", "data_bytes", "data_mb", "index_bytes",
                  "index_mb", "row_count", "complete", "collected_at")  # fmt: skip

    def get_size_mb(self, obj) -> float:
        return to_mb(obj.size_bytes)

    def get_data_mb(self, obj) -> float | None:
        return to_mb(obj.data_bytes)

    def get_index_mb(self, obj) -> float | None:
        return to_mb(obj.index_bytes)


class TableSizesPageSerializer(serializers.Serializer):
    """A page of the table-size snapshot of one database (documentation of the response)."""

    instance_id = serializers.IntegerField()
    database = serializers.CharField()
    collected_at = serializers.DateTimeField(allow_null=True, help_text="When the snapshot was taken; null: never.")
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TableSizeSerializer(many=True)


class TableSizesRefreshSerializer(TableSizesPageSerializer):
    """The new snapshot after a refresh, with what changed and how long it took."""

    elapsed_ms = serializers.IntegerField(help_text="Wall time of the refresh (remote read + write), ms.")
    session_id = serializers.UUIDField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted = serializers.IntegerField()


# --- aggregations ----------------------------------------------------------------------

_AGGREGATION_FIELDS = (
    "id",
    "instance",
    "period_type",
    "period_start",
    "period_end",
    "avg_size_bytes",
    "avg_size_mb",
    "max_size_bytes",
    "min_size_bytes",
    "sample_count",
    "size_change_bytes",
    "size_change_percent",
    "growth_rate_bytes_per_day",
    "is_complete",
    "calculated_at",
)


class _AggregationSerializer(strict.ModelSerializer):
    # every type a list can answer: the stored ones and daily (read from the daily sizes)
    period_type = serializers.ChoiceField(
        choices=PeriodType.choices, read_only=True,
        help_text="daily rows are read from the daily sizes (never stored); the others are stored roll-ups.",
    )  # fmt: skip
    avg_size_mb = serializers.SerializerMethodField()
    size_change_percent = serializers.DecimalField(
        max_digits=25, decimal_places=4, coerce_to_string=False, read_only=True, allow_null=True,
        help_text="size_change_bytes ÷ the preceding period's avg × 100; null without a preceding period "
        "(daily: the day before) or when its avg is 0.",
    )  # fmt: skip
    growth_rate_bytes_per_day = serializers.DecimalField(
        max_digits=20, decimal_places=4, coerce_to_string=False, read_only=True, allow_null=True,
        help_text="Least-squares slope over the period's daily samples; null below 2 samples.",
    )  # fmt: skip

    def get_avg_size_mb(self, obj) -> float:
        return to_mb(obj.avg_size_bytes)


class DatabaseSizeAggregationSerializer(_AggregationSerializer):
    """One database over one period (``is_complete`` false while the period is running). A daily
    row is the day's sample itself (``id``: its daily size row)."""

    class Meta:
        model = DatabaseSizeAggregation
        fields = (*_AGGREGATION_FIELDS[:2], "database_name", *_AGGREGATION_FIELDS[2:8], "avg_data_bytes",
                  "avg_log_bytes", *_AGGREGATION_FIELDS[8:])  # fmt: skip


class InstanceSizeAggregationSerializer(_AggregationSerializer):
    """One instance's total over one period; ``database_count`` is that of its last sampled day.
    A daily row is the day's total itself (``id``: its daily total row)."""

    class Meta:
        model = InstanceSizeAggregation
        fields = (*_AGGREGATION_FIELDS[:8], "database_count", *_AGGREGATION_FIELDS[8:])


class AggregateRequestSerializer(BatchRequestSerializer):
    """What to aggregate: a stored period type (or all of them) and an inclusive day range, or
    neither end for every period that contains yesterday or today. Daily values are read from
    the daily sizes, never aggregated: ``daily`` is not a choice."""

    period = strict.StrictChoiceField(
        choices=[*StoredPeriodType.values, "all"],
        default="all",
        help_text="weekly, monthly, quarterly or all of them. Daily roll-ups are read from the daily sizes "
        "(GET …/database-aggregations/?period_type=daily), never aggregated.",
        error_messages={
            "invalid_choice": '"{input}" is not a period to aggregate: choose weekly, monthly, quarterly or all '
            "(daily roll-ups are read from the daily sizes, not aggregated)."
        },
    )
    date_from = serializers.DateField(required=False, help_text="First day (inclusive); give date_to too.")
    date_to = serializers.DateField(required=False, help_text="Last day (inclusive), not after today.")

    def validate(self, attrs):
        if ("date_from" in attrs) != ("date_to" in attrs):
            raise serializers.ValidationError(
                {"date_from": ErrorDetail("Give both date_from and date_to, or neither.", code="unprocessable")}
            )
        return attrs


# --- growth, forecast, summary ------------------------------------------------------------


class ForecastSerializer(serializers.Serializer):
    """Last-ramp least squares over the last ``window_days`` days (docs/capacity.md § Forecast)."""

    status = serializers.ChoiceField(choices=["ok", "collecting"], help_text="collecting: below min_samples.")
    samples = serializers.IntegerField(help_text="Samples on the last ramp (after the last step change).")
    min_samples = serializers.IntegerField()
    window_days = serializers.IntegerField()
    ramp_start = serializers.DateField(allow_null=True)
    bytes_per_day = serializers.FloatField(allow_null=True, help_text="Slope of the fitted line.")
    horizon_days = serializers.IntegerField(allow_null=True, help_text="Days after the last sample the band is for.")
    predicted_bytes = serializers.IntegerField(allow_null=True)
    band_low = serializers.IntegerField(allow_null=True, help_text="95 % prediction band at the horizon, low end.")
    band_high = serializers.IntegerField(allow_null=True, help_text="95 % prediction band at the horizon, high end.")
    limit_bytes = serializers.IntegerField(allow_null=True)
    days_until_limit = serializers.IntegerField(
        allow_null=True, help_text="Whole days until the fitted line reaches limit_bytes (0: reached); null: no "
        "limit, or not growing."
    )  # fmt: skip
    backtest_mape = serializers.FloatField(
        allow_null=True, help_text="Fit without the last 7 days, predict them: mean absolute % error."
    )


class GrowthSerializer(serializers.Serializer):
    """Latest sample of the last ``days`` days minus the earliest one (null below 2 samples)."""

    days = serializers.IntegerField()
    bytes = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True, help_text="bytes ÷ the earliest sample × 100.")
    since = serializers.DateField(allow_null=True)
    until = serializers.DateField(allow_null=True)


class DatabaseGrowthSerializer(serializers.Serializer):
    instance_id = serializers.IntegerField()
    instance_name = serializers.CharField()
    database_name = serializers.CharField()
    size_bytes = serializers.IntegerField(help_text="Latest sample in the window.")
    size_mb = serializers.FloatField()
    growth = GrowthSerializer()
    size_limit_bytes = strict.StrictIntegerField(allow_null=True)
    forecast = ForecastSerializer()


class CapacitySummarySerializer(serializers.Serializer):
    """Current total, growth, forecast and top growing databases of one instance."""

    instance_id = serializers.IntegerField()
    instance_name = serializers.CharField()
    as_of = serializers.DateField(allow_null=True, help_text="Day of the latest daily total (null: none in 90 days).")
    total_size_bytes = serializers.IntegerField(allow_null=True)
    total_size_mb = serializers.FloatField(allow_null=True)
    database_count = serializers.IntegerField(allow_null=True)
    size_limit_bytes = strict.StrictIntegerField(allow_null=True)
    growth = GrowthSerializer(many=True, help_text="Over the last 7, 30 and 90 days.")
    forecast = ForecastSerializer()
    top_growing_databases = DatabaseGrowthSerializer(many=True)


def growth_data(growth) -> dict:
    return {"days": growth.days, "bytes": growth.bytes, "percent": growth.percent, "since": growth.since,
            "until": growth.until}  # fmt: skip


def database_growth_data(row) -> dict:
    return {
        "instance_id": row.instance_id,
        "instance_name": row.instance_name,
        "database_name": row.database_name,
        "size_bytes": row.size_bytes,
        "size_mb": to_mb(row.size_bytes),
        "growth": growth_data(row.growth),
        "size_limit_bytes": row.size_limit_bytes,
        "forecast": row.forecast.as_dict(),
    }


def capacity_summary_data(summary) -> dict:
    return {
        "instance_id": summary.instance.pk,
        "instance_name": summary.instance.name,
        "as_of": summary.as_of,
        "total_size_bytes": summary.total_bytes,
        "total_size_mb": to_mb(summary.total_bytes),
        "database_count": summary.database_count,
        "size_limit_bytes": summary.instance.size_limit_bytes,
        "growth": [growth_data(g) for g in summary.growth],
        "forecast": summary.forecast.as_dict(),
        "top_growing_databases": [database_growth_data(row) for row in summary.top_databases],
    }


class SummaryQuerySerializer(serializers.Serializer):
    forecast_days = strict.QueryIntegerField(
        min_value=MIN_SAMPLES, max_value=365, default=DEFAULT_WINDOW_DAYS, help_text="Forecast window (days)."
    )


class TopGrowersQuerySerializer(SummaryQuerySerializer):
    days = strict.QueryIntegerField(min_value=1, max_value=730, default=30, help_text="Growth window (days).")
    limit = strict.QueryIntegerField(min_value=1, max_value=100, default=20)


# --- inventory ------------------------------------------------------------------------------


class InstanceDatabaseSerializer(strict.ModelSerializer):
    """A database of an instance's inventory; only ``size_limit_bytes`` can be changed."""

    size_limit_bytes = strict.StrictIntegerField(
        min_value=1, max_value=2**63 - 1, allow_null=True, required=False,
        help_text="Bytes this database may hold; the forecast counts the days until it is reached. null: no limit.",
    )  # fmt: skip

    class Meta:
        model = InstanceDatabase
        fields = ("id", "instance", "name", "is_active", "first_seen_at", "last_seen_at", "deleted_at",
                  "size_limit_bytes")  # fmt: skip
        read_only_fields = ("instance", "name", "is_active", "first_seen_at", "last_seen_at", "deleted_at")
