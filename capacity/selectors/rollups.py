"""Roll-up reads: the stored weekly/monthly/quarterly aggregations, and the daily values read
from the daily sizes themselves (docs/capacity.md § Aggregation).

Daily values are never stored: ``database_size_daily`` / ``instance_size_daily`` annotate the
rows of ``database_size_stats`` / ``instance_size_stats`` with the fields of a stored period
(``period_type``, ``period_start`` … ``calculated_at``), so the API, the admin and the CSV read
them like the stored ones:

- one sample: ``avg = max = min`` = the day's size, ``sample_count`` 1, ``growth_rate`` NULL;
- ``size_change_bytes`` = the size − the size of the **day before** (same database/instance),
  ``size_change_percent`` = that ÷ the day before × 100 (4 decimals); both NULL when the day
  before has no sample or was 0, like a stored period whose predecessor is missing or averaged 0;
- ``is_complete`` = the day is before today (``WHALEFALL_TIME_ZONE``); ``period_start`` =
  ``period_end`` = the day; ``calculated_at`` = when the sample was collected;
- ``id`` is the daily size row's id.

The day before is one probe of the unique index ``(instance, [database,] collected_date)`` per
row returned (a correlated subquery PostgreSQL evaluates after ``ORDER BY … LIMIT``), bounded by
constant dates, so a page costs the same whatever the length of the history or of the window;
the rows themselves are filtered on ``collected_date`` with constant dates (partition pruning).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.utils import timezone

from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeStat,
    InstanceSizeAggregation,
    InstanceSizeStat,
    PeriodType,
)
from capacity.periods import period_floor, period_shift

#: how many periods of each type the capacity pages list (about two years of weeks and months)
PERIODS_SHOWN = {PeriodType.DAILY: 60, PeriodType.WEEKLY: 104, PeriodType.MONTHLY: 24, PeriodType.QUARTERLY: 8}

_PERCENT = DecimalField(max_digits=25, decimal_places=4)


def aggregation_window_start(*, period_type: str, today: dt.date | None = None) -> dt.date:
    """First ``period_start`` of the ``PERIODS_SHOWN`` latest periods of a type (a constant
    date, so the partitions before it are pruned)."""
    today = today or timezone.localdate()
    return period_shift(period_type, period_floor(period_type, today), 1 - PERIODS_SHOWN[period_type])


class _Change(Func):
    """``current − previous``: the change in bytes (``previous`` is a column of the day before)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = BigIntegerField()


class _ChangePercent(Func):
    """``(current − previous) × 100 ÷ previous``, 4 decimals."""

    template = "round((%(expressions)s) * 100.0 / %(previous)s, 4)"
    arg_joiner = " - "
    output_field = _PERCENT

    def as_sql(self, compiler, connection, **extra):
        previous_sql, previous_params = compiler.compile(self.source_expressions[1])
        sql, params = super().as_sql(compiler, connection, previous=previous_sql, **extra)
        return sql, (*params, *previous_params)


def _daily(model, *, size: str, keys: tuple[str, ...], start: dt.date, end: dt.date, today: dt.date | None):
    """``model``'s rows with ``start <= collected_date <= end``, annotated as daily roll-ups
    (``size``: the size column; ``keys``: the columns naming a series besides the date)."""
    today = today or timezone.localdate()
    before = dt.timedelta(days=1)
    # the day before, when it has a non-zero sample; its own constant window keeps the probe pruned
    previous = model.objects.filter(
        **{key: OuterRef(key) for key in keys},
        collected_date=ExpressionWrapper(OuterRef("collected_date") - Value(1), output_field=DateField()),
        collected_date__gte=start - before,
        collected_date__lte=end - before,
    ).exclude(**{size: 0}).order_by()
    change = previous.annotate(change=_Change(OuterRef(size), F(size))).values("change")[:1]
    percent = previous.annotate(percent=_ChangePercent(OuterRef(size), F(size))).values("percent")[:1]
    return model.objects.filter(collected_date__gte=start, collected_date__lte=end).annotate(
        period_type=Value(PeriodType.DAILY.value, output_field=CharField()),
        period_start=F("collected_date"),
        period_end=F("collected_date"),
        avg_size_bytes=F(size),
        max_size_bytes=F(size),
        min_size_bytes=F(size),
        sample_count=Value(1, output_field=IntegerField()),
        size_change_bytes=Subquery(change, output_field=BigIntegerField()),
        size_change_percent=Subquery(percent, output_field=_PERCENT),
        growth_rate_bytes_per_day=Value(None, output_field=DecimalField(max_digits=20, decimal_places=4)),
        is_complete=ExpressionWrapper(Q(collected_date__lt=today), output_field=BooleanField()),
        calculated_at=F("collected_at"),
    )


def database_size_daily(
    *,
    start: dt.date,
    end: dt.date,
    instance_id: int | None = None,
    database: str | None = None,
    today: dt.date | None = None,
) -> QuerySet[DatabaseSizeStat]:
    """Daily roll-ups of database sizes for ``start <= day <= end`` (read from
    ``database_size_stats``, see the module docstring), with ``avg_data_bytes`` /
    ``avg_log_bytes`` = the day's data/log sizes. Unordered: callers order by
    ``-period_start`` (and ``-id``)."""
    qs = _daily(
        DatabaseSizeStat, size="size_bytes", keys=("instance_id", "database_name"), start=start, end=end, today=today
    ).annotate(avg_data_bytes=F("data_bytes"), avg_log_bytes=F("log_bytes"))
    if instance_id is not None:
        qs = qs.filter(instance_id=instance_id)
    if database:
        qs = qs.filter(database_name=database)
    return qs


def instance_size_daily(
    *, start: dt.date, end: dt.date, instance_id: int | None = None, today: dt.date | None = None
) -> QuerySet[InstanceSizeStat]:
    """Daily roll-ups of instance totals for ``start <= day <= end`` (read from
    ``instance_size_stats``; ``database_count`` is the day's)."""
    qs = _daily(InstanceSizeStat, size="total_size_bytes", keys=("instance_id",), start=start, end=end, today=today)
    if instance_id is not None:
        qs = qs.filter(instance_id=instance_id)
    return qs


def instance_aggregations(*, instance_id: int, period_type: str) -> QuerySet:
    """The latest ``PERIODS_SHOWN`` roll-ups of one type of an instance's total, newest first
    (daily: read from the daily totals)."""
    start = aggregation_window_start(period_type=period_type)
    if period_type == PeriodType.DAILY:
        return instance_size_daily(start=start, end=timezone.localdate(), instance_id=instance_id).order_by(
            "-period_start"
        )
    return InstanceSizeAggregation.objects.filter(
        instance_id=instance_id, period_type=period_type, period_start__gte=start
    ).order_by("-period_start")


def database_aggregations(*, instance_id: int, database: str, period_type: str) -> QuerySet:
    """The latest ``PERIODS_SHOWN`` roll-ups of one type of one database, newest first (daily:
    read from the daily sizes)."""
    start = aggregation_window_start(period_type=period_type)
    if period_type == PeriodType.DAILY:
        return database_size_daily(
            start=start, end=timezone.localdate(), instance_id=instance_id, database=database
        ).order_by("-period_start")
    return DatabaseSizeAggregation.objects.filter(
        instance_id=instance_id, database_name=database, period_type=period_type, period_start__gte=start
    ).order_by("-period_start")


#: the aggregation lists' columns in a CSV export (the API's ``?format=csv``), stored or daily alike
_AGGREGATION_CSV_HEAD: tuple[tuple[str, str], ...] = (
    ("period_type", "period_type"), ("period_start", "period_start"), ("period_end", "period_end"),
    ("instance", "instance__name"),
)  # fmt: skip
_AGGREGATION_CSV_FIGURES: tuple[tuple[str, str], ...] = (
    ("avg_size_bytes", "avg_size_bytes"), ("max_size_bytes", "max_size_bytes"), ("min_size_bytes", "min_size_bytes"),
    ("sample_count", "sample_count"), ("size_change_bytes", "size_change_bytes"),
    ("size_change_percent", "size_change_percent"), ("growth_rate_bytes_per_day", "growth_rate_bytes_per_day"),
    ("is_complete", "is_complete"), ("calculated_at", "calculated_at"),
)  # fmt: skip
DATABASE_AGGREGATION_CSV_COLUMNS = (
    *_AGGREGATION_CSV_HEAD, ("database", "database_name"), *_AGGREGATION_CSV_FIGURES[:3],
    ("avg_data_bytes", "avg_data_bytes"), ("avg_log_bytes", "avg_log_bytes"), *_AGGREGATION_CSV_FIGURES[3:],
)  # fmt: skip
INSTANCE_AGGREGATION_CSV_COLUMNS = (
    *_AGGREGATION_CSV_HEAD, *_AGGREGATION_CSV_FIGURES[:3], ("databases", "database_count"),
    *_AGGREGATION_CSV_FIGURES[3:],
)  # fmt: skip
