"""Filters of the capacity history endpoints.

``date_from``/``date_to`` filter the partition key (``collected_date`` of the
daily stats, ``period_start`` of the aggregations); when both are missing the
window is the last ``DEFAULT_HISTORY_DAYS`` days (stats) or
``AGGREGATION_DEFAULT_DAYS`` days (aggregations), so a request never reads the
whole partitioned history.
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
from capacity.selectors import DEFAULT_HISTORY_DAYS, date_window
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
            return queryset.none()  # an empty range: nothing in it
        start, end = date_window(start=start, end=end, default_days=self.default_days)
        self.form.cleaned_data["date_from"], self.form.cleaned_data["date_to"] = start, end
        return super().filter_queryset(queryset)


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
    period_type = wf.ChoiceFilter(choices=PeriodType.choices, help_text="Period type.")
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


class InstanceDatabaseFilterSet(wf.FilterSet):
    instance = wf.IdFilter(field_name="instance_id", help_text="Instance id.")
    name = wf.TextFilter(help_text="Exact database name.")
    is_active = wf.BooleanFilter(help_text="Still present on the instance.")

    class Meta:
        model = InstanceDatabase
        fields = ("instance", "name", "is_active")
