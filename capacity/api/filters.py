"""Filters of the capacity history endpoints.

``date_from``/``date_to`` filter the partition key (``collected_date`` of the
daily stats, ``period_start`` of the aggregations); when both are missing the
window is the last ``DEFAULT_HISTORY_DAYS`` days (stats) or
``AGGREGATION_DEFAULT_DAYS`` days (aggregations), so a request never reads the
whole partitioned history.

The aggregation endpoints answer ``period_type=daily`` from the daily sizes (never stored):
their ``Daily…FilterSet`` takes the same parameters and reads the window's daily rows
through ``capacity.selectors.database_size_daily`` / ``instance_size_daily``.
"""

from __future__ import annotations

from capacity.models import (
    DatabaseSizeAggregation,
    DatabaseSizeStat,
    InstanceDatabase,
    InstanceSizeAggregation,
    InstanceSizeStat,
    PeriodType,
)
from capacity.selectors import DEFAULT_HISTORY_DAYS, database_size_daily, date_window, instance_size_daily
from whalefall import filters as wf


class _HistoryFilterSet(wf.FilterSet):
    instance = wf.IdFilter(field_name="instance_id", help_text="Instance id.")
    date_from = wf.DateFilter(
        field_name="collected_date", lookup_expr="gte", help_text="First day (inclusive); default: date_to - 30 days."
    )
    date_to = wf.DateFilter(
        field_name="collected_date", lookup_expr="lte", help_text="Last day (inclusive); default: today."
    )

    #: window when neither date is given (days, ending today)
    default_days = DEFAULT_HISTORY_DAYS

    def filter_queryset(self, queryset):
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        if start and end and start > end:
            return self.window_queryset(queryset, start=start, end=end).none()  # an empty range: nothing in it
        start, end = date_window(start=start, end=end, default_days=self.default_days)
        self.form.cleaned_data["date_from"], self.form.cleaned_data["date_to"] = start, end
        return super().filter_queryset(self.window_queryset(queryset, start=start, end=end))

    def window_queryset(self, queryset, *, start, end):
        """The rows the filters apply to, once the window is known (the daily roll-ups read theirs)."""
        return queryset


class DatabaseSizeStatFilterSet(_HistoryFilterSet):
    database = wf.TextFilter(field_name="database_name", help_text="Exact database name.")

    class Meta:
        model = DatabaseSizeStat
        fields = ("instance", "database", "date_from", "date_to")


class InstanceSizeStatFilterSet(_HistoryFilterSet):
    class Meta:
        model = InstanceSizeStat
        fields = ("instance", "date_from", "date_to")


#: default period_start window of the aggregation endpoints: a year covers 4 quarters and 12 months
AGGREGATION_DEFAULT_DAYS = 365


class _AggregationFilterSet(_HistoryFilterSet):
    default_days = AGGREGATION_DEFAULT_DAYS
    date_from = wf.DateFilter(
        field_name="period_start", lookup_expr="gte",
        help_text="Earliest period_start (inclusive); default: date_to - 365 days.",
    )  # fmt: skip
    date_to = wf.DateFilter(
        field_name="period_start", lookup_expr="lte", help_text="Latest period_start (inclusive); default: today."
    )
    period_type = wf.ChoiceFilter(
        choices=PeriodType.choices,
        help_text="Period type. daily: read from the daily sizes (one sample a day, never stored); without it, "
        "the stored weekly, monthly and quarterly roll-ups.",
    )
    is_complete = wf.BooleanFilter(help_text="false: periods still running (rewritten by every run).")


class DatabaseSizeAggregationFilterSet(_AggregationFilterSet):
    database = wf.TextFilter(field_name="database_name", help_text="Exact database name.")

    class Meta:
        model = DatabaseSizeAggregation
        fields = ("instance", "database", "period_type", "is_complete", "date_from", "date_to")


class InstanceSizeAggregationFilterSet(_AggregationFilterSet):
    class Meta:
        model = InstanceSizeAggregation
        fields = ("instance", "period_type", "is_complete", "date_from", "date_to")


class _DailyFilterSet(_AggregationFilterSet):
    """``period_type=daily`` on the aggregation endpoints: the same parameters, over the daily
    roll-ups of the window read from the daily sizes (``period_start`` is the day)."""

    def window_queryset(self, queryset, *, start, end):
        return self.daily_rows(start=start, end=end)

    def daily_rows(self, *, start, end):
        raise NotImplementedError


class DatabaseSizeDailyFilterSet(_DailyFilterSet):
    database = wf.TextFilter(field_name="database_name", help_text="Exact database name.")

    class Meta:
        model = DatabaseSizeStat
        fields = ("instance", "database", "period_type", "is_complete", "date_from", "date_to")

    def daily_rows(self, *, start, end):
        return database_size_daily(start=start, end=end)


class InstanceSizeDailyFilterSet(_DailyFilterSet):
    class Meta:
        model = InstanceSizeStat
        fields = ("instance", "period_type", "is_complete", "date_from", "date_to")

    def daily_rows(self, *, start, end):
        return instance_size_daily(start=start, end=end)


class InstanceDatabaseFilterSet(wf.FilterSet):
    instance = wf.IdFilter(field_name="instance_id", help_text="Instance id.")
    name = wf.TextFilter(help_text="Exact database name.")
    is_active = wf.BooleanFilter(help_text="Still present on the instance.")

    class Meta:
        model = InstanceDatabase
        fields = ("instance", "name", "is_active")
