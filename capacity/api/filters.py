"""Filters of the capacity history endpoints.

``date_from``/``date_to`` filter the partition key (``collected_date``); when
both are missing the window is the last ``DEFAULT_HISTORY_DAYS`` days, so a
request never reads the whole partitioned history.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError

from capacity.models import DatabaseSizeStat, InstanceSizeStat
from capacity.selectors import date_window


class _HistoryFilterSet(django_filters.FilterSet):
    instance = django_filters.NumberFilter(field_name="instance_id", help_text="Instance id.")
    date_from = django_filters.DateFilter(
        field_name="collected_date", lookup_expr="gte", help_text="First day (inclusive); default: date_to - 30 days."
    )
    date_to = django_filters.DateFilter(
        field_name="collected_date", lookup_expr="lte", help_text="Last day (inclusive); default: today."
    )

    def filter_queryset(self, queryset):
        start, end = self.form.cleaned_data.get("date_from"), self.form.cleaned_data.get("date_to")
        if start and end and start > end:
            raise ValidationError({"date_from": ["date_from must not be after date_to."]})
        start, end = date_window(start=start, end=end)
        self.form.cleaned_data["date_from"], self.form.cleaned_data["date_to"] = start, end
        return super().filter_queryset(queryset)


class DatabaseSizeStatFilterSet(_HistoryFilterSet):
    database = django_filters.CharFilter(field_name="database_name", help_text="Exact database name.")

    class Meta:
        model = DatabaseSizeStat
        fields = ("instance", "database", "date_from", "date_to")


class InstanceSizeStatFilterSet(_HistoryFilterSet):
    class Meta:
        model = InstanceSizeStat
        fields = ("instance", "date_from", "date_to")
