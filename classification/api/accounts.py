"""What classification adds to the account API (registered by ``ClassificationConfig.ready``):
``classifications`` (codes, highest priority first), ``primary_classification`` (the highest
priority one) and a ``?classification=`` filter (any of the codes)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.filters import account_filter_register
from accounts.api.serializers import account_field_register
from accounts.selectors import account_list_step_register
from classification.selectors import accounts_prefetch_classifications, accounts_with_classification
from whalefall import filters as wf


class ClassificationCodesField(serializers.ListField):
    """Codes of the current classifications; reads the prefetched assignments (priority order)."""

    child = serializers.CharField()

    def to_representation(self, data):
        return [assignment.classification.code for assignment in data.all()]


@extend_schema_field({"type": "string", "nullable": True})
class PrimaryClassificationField(serializers.Field):
    """Code of the highest-priority current classification (from the prefetched assignments)."""

    def to_representation(self, data):
        first = next(iter(data.all()), None)
        return first.classification.code if first is not None else None


def _primary_field() -> PrimaryClassificationField:
    return PrimaryClassificationField(
        source="classifications", read_only=True, allow_null=True,
        help_text="Code of the highest-priority current classification (null: none).",
    )  # fmt: skip


def _classifications_field() -> ClassificationCodesField:
    return ClassificationCodesField(
        read_only=True, help_text="Codes of the current classifications, highest priority first."
    )


def _filter_classification(queryset, name, value):
    codes = [code.strip() for code in value.split(",") if code.strip()]
    return accounts_with_classification(queryset, codes=codes) if codes else queryset


def register_account_extensions() -> None:
    account_list_step_register(accounts_prefetch_classifications)
    account_field_register("classifications", _classifications_field)
    account_field_register("primary_classification", _primary_field)
    account_filter_register(
        "classification",
        wf.TextFilter(method=_filter_classification, label="Classification code (comma-separated: any of them)"),
    )
