"""Serializers of the classification API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from classification import dsl
from classification.models import (
    AccountClassification,
    AccountClassificationAssignment,
    AccountClassificationHistory,
    ClassificationDailyStat,
    ClassificationRule,
)
from instances.models import DatabaseType
from sync_sessions.api.serializers import MAX_ID, BatchRequestSerializer
from whalefall import serializers as strict
from whalefall.openapi import openapi_component_register

RULE_EXPRESSION_REF = "#/components/schemas/RuleExpression"
openapi_component_register("RuleExpression", dsl.json_schema(RULE_EXPRESSION_REF))


@extend_schema_field({"$ref": RULE_EXPRESSION_REF})
class RuleExpressionField(serializers.JSONField):
    """A rule of the DSL; its schema is the grammar (``dsl.json_schema``), checked by ``dsl.validate``."""


class ClassificationSerializer(strict.ModelSerializer):
    """A risk classification; ``priority`` picks an account's primary one (highest wins)."""

    rule_count = serializers.IntegerField(read_only=True)
    account_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = AccountClassification
        fields = ("id", "code", "name", "description", "risk_level", "color", "priority", "is_system", "is_active",
                  "rule_count", "account_count", "created_at", "updated_at")  # fmt: skip
        read_only_fields = ("is_system", "created_at", "updated_at")


class RuleSerializer(strict.ModelSerializer):
    """A rule (JSON DSL, see DESIGN.md § Classification) for one engine; validated on save."""

    classification = strict.StrictPrimaryKeyRelatedField(queryset=AccountClassification.objects.all())
    db_type = strict.StrictPrimaryKeyRelatedField(
        pk_type=str, queryset=DatabaseType.objects.all(), help_text="Database type name."
    )
    expression = RuleExpressionField(help_text='e.g. {"op": "or", "args": [{"fn": "is_superuser"}]}')
    description = serializers.SerializerMethodField(help_text="The rule in words.")

    class Meta:
        model = ClassificationRule
        fields = ("id", "classification", "db_type", "name", "expression", "description", "is_active", "version",
                  "created_at", "updated_at")  # fmt: skip
        read_only_fields = ("version", "created_at", "updated_at")

    def get_description(self, rule) -> str:
        return dsl.describe(rule.expression) if not dsl.validate(rule.expression) else "(invalid)"


class RuleValidateSerializer(strict.Serializer):
    expression = RuleExpressionField()


class RuleValidSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    description = serializers.CharField()


class RulePreviewRequestSerializer(strict.Serializer):
    classification = strict.StrictPrimaryKeyRelatedField(queryset=AccountClassification.objects.all())
    db_type = strict.StrictPrimaryKeyRelatedField(pk_type=str, queryset=DatabaseType.objects.all())
    expression = RuleExpressionField()
    rule = strict.StrictIntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="The rule the draft replaces (when editing)."
    )


class PreviewAccountSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    instance_id = serializers.IntegerField()
    username = serializers.CharField()
    why = serializers.ListField(child=serializers.CharField())


class RulePreviewSerializer(serializers.Serializer):
    evaluated = serializers.IntegerField(help_text="Active accounts of the engine evaluated.")
    matched = serializers.IntegerField(help_text="Accounts the classification would hold (auto).")
    add_count = serializers.IntegerField()
    remove_count = serializers.IntegerField()
    adds = PreviewAccountSerializer(many=True, help_text="Up to 200 accounts it would add, with why.")
    removes = PreviewAccountSerializer(many=True, help_text="Up to 200 auto assignments it would remove.")


class AssignmentSerializer(strict.ModelSerializer):
    """A current assignment: ``source`` auto (a rule matched; ``why`` says which clauses) or manual."""

    account_username = serializers.CharField(source="account.username", read_only=True)
    instance = serializers.IntegerField(source="account.instance_id", read_only=True)
    classification_code = serializers.CharField(source="classification.code", read_only=True)
    assigned_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = AccountClassificationAssignment
        fields = ("id", "account", "account_username", "instance", "classification", "classification_code", "source",
                  "rule", "why", "assigned_by", "assigned_at")  # fmt: skip
        read_only_fields = fields


class ManualAssignSerializer(strict.Serializer):
    account = strict.StrictIntegerField(min_value=1, max_value=MAX_ID)
    classification = strict.StrictPrimaryKeyRelatedField(queryset=AccountClassification.objects.all())


class HistorySerializer(strict.ModelSerializer):
    account_username = serializers.CharField(source="account.username", read_only=True)
    classification_code = serializers.CharField(source="classification.code", read_only=True)
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    session = serializers.UUIDField(source="session_id", read_only=True, allow_null=True)

    class Meta:
        model = AccountClassificationHistory
        fields = ("id", "account", "account_username", "classification", "classification_code", "action", "source",
                  "rule", "why", "batch_id", "session", "changed_by", "changed_at")  # fmt: skip
        read_only_fields = fields


class DailyStatSerializer(strict.ModelSerializer):
    classification_code = serializers.CharField(source="classification.code", read_only=True)

    class Meta:
        model = ClassificationDailyStat
        fields = ("id", "date", "classification", "classification_code", "db_type", "instance", "account_count")
        read_only_fields = fields


class RunRequestSerializer(BatchRequestSerializer):
    """Which instances to classify; omitted means every active instance."""
