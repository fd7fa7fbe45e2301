"""FilterSets of the classification API."""

from __future__ import annotations

from classification.models import (
    AccountClassificationAssignment,
    AccountClassificationHistory,
    AssignmentSource,
    ClassificationDailyStat,
    ClassificationRule,
)
from whalefall import filters as wf


class RuleFilterSet(wf.FilterSet):
    classification = wf.IdFilter(field_name="classification_id")
    db_type = wf.TextFilter(field_name="db_type_id")
    is_active = wf.BooleanFilter()

    class Meta:
        model = ClassificationRule
        fields = ("classification", "db_type", "is_active")


class AssignmentFilterSet(wf.FilterSet):
    account = wf.IdFilter(field_name="account_id")
    instance = wf.IdFilter(field_name="account__instance_id")
    classification = wf.TextFilter(field_name="classification__code", label="Classification code")
    source = wf.ChoiceFilter(choices=AssignmentSource.choices)

    class Meta:
        model = AccountClassificationAssignment
        fields = ("account", "instance", "classification", "source")


class HistoryFilterSet(wf.FilterSet):
    account = wf.IdFilter(field_name="account_id")
    classification = wf.TextFilter(field_name="classification__code", label="Classification code")
    action = wf.ChoiceFilter(choices=AccountClassificationHistory.Action.choices)
    source = wf.ChoiceFilter(choices=AssignmentSource.choices)
    batch = wf.UUIDFilter(field_name="batch_id")
    session = wf.UUIDFilter(field_name="session_id")
    changed_after = wf.DateTimeFilter(field_name="changed_at", lookup_expr="gte")
    changed_before = wf.DateTimeFilter(field_name="changed_at", lookup_expr="lt")

    class Meta:
        model = AccountClassificationHistory
        fields = ("account", "classification", "action", "source", "batch", "session", "changed_after",
                  "changed_before")  # fmt: skip


class DailyStatFilterSet(wf.FilterSet):
    classification = wf.TextFilter(field_name="classification__code", label="Classification code")
    instance = wf.IdFilter(field_name="instance_id")
    db_type = wf.TextFilter(field_name="db_type_id")
    date_from = wf.DateFilter(field_name="date", lookup_expr="gte")
    date_to = wf.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = ClassificationDailyStat
        fields = ("classification", "instance", "db_type", "date_from", "date_to")
