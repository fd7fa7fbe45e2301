"""The console's own audit trail: who did what from the admin or the API, when, with which outcome.

One row per event, written by ``audit.services.audit_record`` (the middleware for requests,
the login signals, and the services that change credentials). Nothing updates a row; rows older
than ``WHALEFALL_AUDIT_RETENTION_DAYS`` are deleted by ``audit_purge``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class Channel(models.TextChoices):
    ADMIN = "admin", "Admin"
    API = "api", "API"
    COMMAND = "command", "Command"
    SYSTEM = "system", "System"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=Now())
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # kept when the user is deleted; for a failed login, the name that was tried
    username = models.CharField(max_length=150, blank=True, default="", db_default="")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    action = models.CharField(max_length=200)
    object_type = models.CharField(max_length=100, blank=True, default="", db_default="")
    object_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        db_table = "audit_events"
        ordering = ("-occurred_at", "-id")
        constraints = [
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="audit_events_channel_valid"),
            models.CheckConstraint(condition=models.Q(outcome__in=Outcome.values), name="audit_events_outcome_valid"),
        ]
        indexes = [
            # the usual filters: a time window, one user's events, one action's events (newest first)
            models.Index(fields=["occurred_at"], name="audit_events_time"),
            models.Index(fields=["user", "occurred_at"], name="audit_events_user_time"),
            models.Index(fields=["action", "occurred_at"], name="audit_events_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.action} {self.outcome}"
