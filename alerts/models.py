"""Alert channels (where and what to send), alert events (what happened, once per
condition: a unique dedup key) and their per-channel deliveries.

Dedup keys (docs/alerts.md):

- ``account_change:<account_id>:<change_log_id>``: one change of one account in one sync, with every
  reason it alerts (became superuser, became able to grant, classified into high or critical
  classifications by the classification that followed it); its kind is its most severe reason's;
  turned off and on again is a new row, a new alert;
- ``classification_high_risk:<account_id>:<batch_id>``: high or critical classifications added to an
  account by one classification run or manual assignment that no change of the account explains (a
  new rule, by hand) — all of them in one event;
- ``instance_onboarded:<instance_id>:<baseline_change_log_id>``: what an instance's baseline (its
  first account sync) found, once per instance;
- ``sync_partial:<instance>:<category>:<day>:<message digest>``: a run that finished ``partial`` on an
  instance (once a day per instance, kind of run and message);
- ``capacity_limit:<instance_id>:<database>:<threshold>d:#<n>``: the n-th time a database's forecast
  came to reach its limit within ``threshold`` days; open (``cleared_at`` NULL) while that holds,
  cleared when it no longer does, so the next onset is number n+1 and alerts again;
- ``job_failed:session:<session_uuid>``: a scheduled batch that finished failed (partly or wholly);
- ``job_failed:task:<task_id>``: a scheduled django-q2 task that failed (the job itself raised).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Now


class EventKind(models.TextChoices):
    ACCOUNT_SUPERUSER = "account_superuser", "Account became superuser"
    ACCOUNT_CAN_GRANT = "account_can_grant", "Account became able to grant"
    CLASSIFICATION_HIGH_RISK = "classification_high_risk", "High-risk classification added"
    CAPACITY_LIMIT = "capacity_limit", "Database near its size limit"
    JOB_FAILED = "job_failed", "Scheduled job failed"
    INSTANCE_ONBOARDED = "instance_onboarded", "Instance onboarded (what its baseline found)"
    SYNC_PARTIAL = "sync_partial", "Run finished partial on an instance"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {value: rank for rank, value in enumerate(Severity.values)}


class ChannelKind(models.TextChoices):
    # the formats: alerts/transport.py (generic JSON, Slack Block Kit, Teams MessageCard)
    WEBHOOK = "webhook", "Webhook (JSON)"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    EMAIL = "email", "E-mail"


#: channel kinds that POST to a URL (each in its own body format: alerts/transport.py)
URL_KINDS = (ChannelKind.WEBHOOK, ChannelKind.SLACK, ChannelKind.TEAMS)


class DeliveryMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately (every few minutes)"
    DIGEST = "digest", "Daily digest"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (retried on the next run)"


def _choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": choices.values}), name=name)


class AlertChannel(models.Model):
    """One destination: a webhook URL or a list of e-mail recipients, the event kinds it
    wants (none ticked: all), the lowest severity it wants, and whether events go out at
    once or in one daily digest. ``url`` may hold a token: it is never logged in full."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    url = models.CharField(
        max_length=2000, blank=True, default="", db_default="",
        help_text="Webhook, Slack, Teams: the http(s) URL to POST to (the incoming webhook's URL).",
    )  # fmt: skip
    recipients = ArrayField(
        models.EmailField(max_length=254),
        blank=True,
        default=list,
        db_default=[],
        help_text="E-mail: addresses, separated by commas.",
    )
    event_kinds = ArrayField(
        models.CharField(max_length=32, choices=EventKind.choices),
        blank=True,
        default=list,
        db_default=[],
        help_text="Which kinds of event; empty: every kind.",
    )
    min_severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.MEDIUM, db_default="medium"
    )
    delivery_mode = models.CharField(
        max_length=10, choices=DeliveryMode.choices, default=DeliveryMode.IMMEDIATE, db_default="immediate"
    )
    limit_days = models.PositiveIntegerField(
        default=30,
        db_default=30,
        help_text="Capacity: alert when a database's forecast reaches its size limit within this many days.",
    )
    is_active = models.BooleanField(default=True, db_default=True)
    last_digest_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "alert_channels"
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["name"], name="alert_channels_name_uniq"),
            _choices_check("kind", ChannelKind, "alert_channels_kind_valid"),
            _choices_check("min_severity", Severity, "alert_channels_min_severity_valid"),
            _choices_check("delivery_mode", DeliveryMode, "alert_channels_delivery_mode_valid"),
            models.CheckConstraint(
                condition=models.Q(event_kinds__contained_by=EventKind.values), name="alert_channels_event_kinds_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[kind.value for kind in URL_KINDS], url__gt="")
                | models.Q(kind="email", recipients__len__gt=0),
                name="alert_channels_target_set",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A webhook (generic, Slack, Teams) needs an http(s) URL, an e-mail channel at least one
        recipient."""
        if self.kind in URL_KINDS:
            try:
                URLValidator(schemes=["http", "https"])(self.url)
            except ValidationError:
                raise ValidationError({"url": "Enter an http:// or https:// URL."}) from None
        elif self.kind == ChannelKind.EMAIL and not self.recipients:
            raise ValidationError({"recipients": "Enter at least one e-mail address."})

    def wants(
        self, *, kind: str, severity: str, threshold_days: int | None = None, kinds: list[str] | None = None
    ) -> bool:
        """Whether an event of ``kind``/``severity`` is for this channel (capacity events:
        only those of this channel's ``limit_days`` threshold). ``kinds``: every kind of reason of
        an account change (its ``payload.kinds``): the channel wants it if it wants any of them."""
        if self.event_kinds and not set(kinds or [kind]) & set(self.event_kinds):
            return False
        if kind == EventKind.CAPACITY_LIMIT and threshold_days != self.limit_days:
            return False
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.min_severity]


class AlertEvent(models.Model):
    """Something that happened, recorded once: ``dedup_key`` is unique in the database, so
    a condition seen by two detection runs (or two at once) is one event. ``payload`` holds
    the details a receiver gets; instance/account stay as names there when the rows go."""

    kind = models.CharField(max_length=32, choices=EventKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    dedup_key = models.CharField(max_length=600)
    title = models.CharField(max_length=500)
    instance = models.ForeignKey(
        "instances.Instance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account = models.ForeignKey(
        "accounts.InstanceAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    database_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, db_default={}, blank=True)
    created_at = models.DateTimeField(db_default=Now())
    # capacity conditions: when the condition stopped holding (NULL: still open)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "alert_events"
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="alert_events_dedup_key_uniq"),
            _choices_check("kind", EventKind, "alert_events_kind_valid"),
            _choices_check("severity", Severity, "alert_events_severity_valid"),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="alert_events_created_idx"),
            # detection reads the open capacity conditions
            models.Index(fields=["kind"], name="alert_events_open_idx", condition=models.Q(cleared_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return self.title


class AlertDelivery(models.Model):
    """One event for one channel: pending until sent; a failure keeps the error and the
    attempt count and is retried by the next run."""

    event = models.ForeignKey(AlertEvent, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_default="pending"
    )
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True, default="", db_default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "alert_deliveries"
        verbose_name = "alert delivery"
        verbose_name_plural = "alert deliveries"
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="alert_deliveries_event_channel_uniq"),
            _choices_check("status", DeliveryStatus, "alert_deliveries_status_valid"),
        ]
        indexes = [
            # what a run sends: a channel's unsent deliveries
            models.Index(fields=["channel"], name="alert_deliveries_unsent_idx", condition=~models.Q(status="sent")),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → {self.channel_id}: {self.status}"


class AlertWatermark(models.Model):
    """Up to when detection has read (one row, ``name='detect'``): the next run reads from
    there minus an overlap (late commits), the dedup keys absorb what it reads twice."""

    name = models.CharField(max_length=32, primary_key=True)
    detected_until = models.DateTimeField()

    class Meta:
        db_table = "alert_watermarks"

    def __str__(self) -> str:
        return f"{self.name}: {self.detected_until}"
