"""FilterSets of the classification API."""

from __future__ import annotations

from django_filters import rest_framework as filters

from classification.models import (
    AccountClassificationAssignment,
    AccountClassificationHistory,
    AssignmentSource,
    ClassificationDailyStat,
    ClassificationRule,
)


class RuleFilterSet(filters.FilterSet):
    classification = filters.NumberFilter(field_name="classification_id")
    db_type = filters.CharFilter(field_name="db_type_id")
    is_active = filters.BooleanFilter()

    class Meta:
        model = ClassificationRule
        fields = ("classification", "db_type", "is_active")


class AssignmentFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="account_id")
    instance = filters.NumberFilter(field_name="account__instance_id")
    classification = filters.CharFilter(field_name="classification__code", label="Classification code")
    source = filters.ChoiceFilter(choices=AssignmentSource.choices)

    class Meta:
        model = AccountClassificationAssignment
        fields = ("account", "instance", "classification", "source")


class HistoryFilterSet(filters.FilterSet):
    account = filters.NumberFilter(field_name="account_id")
    classification = filters.CharFilter(field_name="classification__code", label="Classification code")
    action = filters.ChoiceFilter(choices=AccountClassificationHistory.Action.choices)
    source = filters.ChoiceFilter(choices=AssignmentSource.choices)
    batch = filters.UUIDFilter(field_name="batch_id")
    session = filters.UUIDFilter(field_name="session_id")
    changed_after = filters.IsoDateTimeFilter(field_name="changed_at", lookup_expr="gte")
    changed_before = filters.IsoDateTimeFilter(field_name="changed_at", lookup_expr="lt")

    class Meta:
        model = AccountClassificationHistory
        fields = ("account", "classification", "action", "source", "batch", "session", "changed_after",
                  "changed_before")  # fmt: skip


class DailyStatFilterSet(filters.FilterSet):
    classification = filters.CharFilter(field_name="classification__code", label="Classification code")
    instance = filters.NumberFilter(field_name="instance_id")
    db_type = filters.CharFilter(field_name="db_type_id")
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = ClassificationDailyStat
        fields = ("classification", "instance", "db_type", "date_from", "date_to")
