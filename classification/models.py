"""Risk classifications of accounts, their rules, current assignments,
assignment history and daily statistics."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now

from classification import dsl

#: manual assign/unassign of classifications (admin and API)
ASSIGN_PERMISSION = "classification.assign_classification"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class AssignmentSource(models.TextChoices):
    AUTO = "auto", "Automatic (rule)"
    MANUAL = "manual", "Manual"


def _loaded(obj: models.Model, name: str) -> str:
    """The related object ``name`` of ``obj`` as text when it is loaded (pages select it), else
    "<name> <id>": a label never costs a query per row."""
    if obj._meta.get_field(name).is_cached(obj):
        return str(getattr(obj, name))
    return f"{name} {getattr(obj, f'{name}_id')}"


class AccountClassification(models.Model):
    """A tag such as "superuser" or "write on prod"; priority picks the primary one."""

    code = models.SlugField(max_length=64, db_index=False)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="", db_default="")
    risk_level = models.CharField(
        max_length=10, choices=RiskLevel.choices, default=RiskLevel.MEDIUM, db_default="medium"
    )
    color = models.CharField(max_length=7, default="#6c757d", db_default="#6c757d")
    priority = models.IntegerField(default=0, db_default=0)
    is_system = models.BooleanField(default=False, db_default=False)
    is_active = models.BooleanField(default=True, db_default=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "account_classifications"
        ordering = ("-priority", "name")
        constraints = [
            models.UniqueConstraint(fields=["code"], name="account_classifications_code_uniq"),
            models.CheckConstraint(
                condition=models.Q(risk_level__in=RiskLevel.values), name="account_classifications_risk_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClassificationRule(models.Model):
    """A boolean expression (JSON DSL) over account facts for one engine."""

    classification = models.ForeignKey(AccountClassification, on_delete=models.CASCADE, related_name="rules")
    db_type = models.ForeignKey(
        "instances.DatabaseType", on_delete=models.PROTECT, db_column="db_type", related_name="+", db_index=False
    )
    name = models.CharField(max_length=100)
    expression = models.JSONField()
    is_active = models.BooleanField(default=True, db_default=True)
    version = models.PositiveIntegerField(default=1, db_default=1)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "classification_rules"
        ordering = ("classification", "name")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The expression must be a valid rule (classification/dsl.py); every problem
        is reported with its JSON path."""
        errors = dsl.validate(self.expression)
        if errors:
            raise ValidationError({"expression": [str(error) for error in errors]})


class AccountClassificationAssignment(models.Model):
    """Current assignments only: at most one row per (account, classification)."""

    account = models.ForeignKey(
        "accounts.InstanceAccount", on_delete=models.CASCADE, related_name="classifications", db_index=False
    )
    classification = models.ForeignKey(AccountClassification, on_delete=models.CASCADE, related_name="assignments")
    source = models.CharField(max_length=10, choices=AssignmentSource.choices)
    rule = models.ForeignKey(ClassificationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(db_default=Now())
    # which clauses of the rule matched (auto), e.g. ["DELETE on app (database) via reporting"]
    why = models.JSONField(default=list, db_default=[], blank=True)

    class Meta:
        db_table = "account_classification_assignments"
        verbose_name = "classification assignment"
        verbose_name_plural = "classification assignments"
        # manual assign/unassign (admin and API); the console's operator group has it
        permissions = [("assign_classification", "Can assign and unassign classifications by hand")]
        constraints = [
            models.UniqueConstraint(fields=["account", "classification"], name="classification_assignment_uniq"),
            models.CheckConstraint(
                condition=models.Q(source__in=AssignmentSource.values), name="classification_assignment_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{_loaded(self, 'classification')} of {_loaded(self, 'account')}"


class AccountClassificationHistory(models.Model):
    """Every add/remove of an assignment, grouped by ``batch_id``.

    ``at_baseline``: an "add" of the first classification of an instance after its baseline (its
    first account sync), for an account present at the baseline and unchanged since — it describes
    what the baseline found, it is not an addition: the dashboard's high-risk additions and the
    alerts leave it out (one ``instance_onboarded`` alert summarises them)."""

    class Action(models.TextChoices):
        ADD = "add", "Added"
        REMOVE = "remove", "Removed"

    account = models.ForeignKey(
        "accounts.InstanceAccount", on_delete=models.CASCADE, related_name="classification_history", db_index=False
    )
    classification = models.ForeignKey(AccountClassification, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=10, choices=AssignmentSource.choices)
    rule = models.ForeignKey(ClassificationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    batch_id = models.UUIDField()
    session = models.ForeignKey(
        "sync_sessions.SyncSession",
        to_field="session_id",
        db_column="session_id",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(db_default=Now())
    why = models.JSONField(default=list, db_default=[], blank=True)
    at_baseline = models.BooleanField(
        default=False, db_default=False, help_text="Found at the instance's baseline (not an addition)."
    )

    class Meta:
        db_table = "account_classification_history"
        verbose_name = "account classification change"
        verbose_name_plural = "account classification history"
        ordering = ("-changed_at",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=["add", "remove"]), name="classification_history_action_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=AssignmentSource.values), name="classification_history_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-changed_at"], name="classif_history_acct_idx"),
            models.Index(fields=["batch_id"], name="classif_history_batch_idx"),
            models.Index(fields=["-changed_at"], name="classif_history_changed_idx"),  # recent changes
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {_loaded(self, 'classification')} of {_loaded(self, 'account')}"


class ClassificationDailyStat(models.Model):
    """Accounts per classification per instance per day, from current assignments."""

    date = models.DateField()
    classification = models.ForeignKey(AccountClassification, on_delete=models.CASCADE, related_name="+")
    db_type = models.ForeignKey(
        "instances.DatabaseType", on_delete=models.PROTECT, db_column="db_type", related_name="+", db_index=False
    )
    instance = models.ForeignKey("instances.Instance", on_delete=models.CASCADE, related_name="+")
    account_count = models.PositiveIntegerField()

    class Meta:
        db_table = "classification_daily_stats"
        verbose_name = "daily classification count"
        verbose_name_plural = "daily classification counts"
        ordering = ("-date",)
        constraints = [
            models.UniqueConstraint(
                fields=["date", "classification", "instance"], name="classification_daily_stats_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.classification_id}@{self.instance_id}: {self.account_count}"


class InstanceClassificationState(models.Model):
    """What the last auto-classification of an instance saw: a digest of its active accounts'
    facts, its assignments, the rules, the instance's environment and tags, and the code that
    evaluates them. A run that sees the same digest would change nothing: it skips evaluating."""

    instance = models.OneToOneField("instances.Instance", on_delete=models.CASCADE, primary_key=True, related_name="+")
    fingerprint = models.CharField(max_length=32)
    classified_at = models.DateTimeField()

    class Meta:
        db_table = "classification_instance_states"

    def __str__(self) -> str:
        return f"instance {self.instance_id}: {self.fingerprint}"
