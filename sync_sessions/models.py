"""Sync sessions (one batch run) and their per-instance records (seed 001)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Now


class SyncType(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL_BATCH = "manual_batch", "Manual batch"
    MANUAL_SINGLE = "manual_single", "Manual single"


class SyncCategory(models.TextChoices):
    ACCOUNT = "account", "Accounts"
    CAPACITY = "capacity", "Capacity"
    AGGREGATION = "aggregation", "Aggregation"
    CLASSIFICATION = "classification", "Classification"
    TABLE_SIZE = "table_size", "Table sizes"
    PARTITION = "partition", "Partitions"
    CONFIG = "config", "Configuration"
    OTHER = "other", "Other"


#: the categories whose runs contact the target (its health, and the circuit breaker, count these)
CONTACT_CATEGORIES = (SyncCategory.ACCOUNT, SyncCategory.CAPACITY, SyncCategory.TABLE_SIZE)


class SessionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # handed to the task cluster; no worker has started a record yet
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"  # by an operator: its queued records were not run


#: a session whose records are not all finished
SESSION_UNFINISHED = (SessionStatus.QUEUED, SessionStatus.RUNNING)


class RecordStatus(models.TextChoices):
    QUEUED = "queued", "Queued"  # waits for a worker (or for the inline run to reach it)
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    # finished, but a named scope was not read or a follow-up failed (error_message says which)
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"  # cancelled before a worker started it
    SKIPPED = "skipped", "Skipped"  # a scheduled contact of a suspended instance (circuit breaker)


#: records that have not finished
RECORD_UNFINISHED = (RecordStatus.QUEUED, RecordStatus.RUNNING)
#: records whose unit of work ran to its end (a partial one read what it could)
RECORD_SUCCEEDED = (RecordStatus.COMPLETED, RecordStatus.PARTIAL)


def _choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": choices.values}), name=name)


class SyncSession(models.Model):
    """One run over one or more instances.

    ``status`` defaults to ``queued`` in the ORM *and* in the database, and
    the CHECK constraints are generated from the same choices (seed 000 P0).
    ``started_at`` is when it was created, then when a worker first started one of
    its records (``queued`` → ``running``).
    """

    session_id = models.UUIDField(unique=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    sync_type = models.CharField(max_length=20, choices=SyncType.choices)
    sync_category = models.CharField(max_length=20, choices=SyncCategory.choices)
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.QUEUED, db_default="queued"
    )
    started_at = models.DateTimeField(db_default=Now())
    completed_at = models.DateTimeField(null=True, blank=True)
    total_instances = models.PositiveIntegerField(default=0, db_default=0)
    successful_instances = models.PositiveIntegerField(default=0, db_default=0)
    failed_instances = models.PositiveIntegerField(default=0, db_default=0)
    # finished, but not everything was read (also counted in successful_instances)
    partial_instances = models.PositiveIntegerField(default=0, db_default=0)
    skipped_instances = models.PositiveIntegerField(default=0, db_default=0)  # suspended: not contacted
    # cancelled before a worker started them (neither a success nor a failure of the instance)
    cancelled_instances = models.PositiveIntegerField(default=0, db_default=0)
    error_message = models.TextField(blank=True, default="", db_default="")
    # handed to the task cluster (one django-q2 task per record), not run by the command or request
    # that started it: what such a run starts after a record (a follow-up) goes to the cluster too
    enqueued = models.BooleanField(default=False, db_default=False)
    # The unit of work of a batch (sync_sessions.runner.Unit), stored the way django-q2
    # stores a task's func: dotted path + retry policy. Empty for sessions run by hand.
    unit_func = models.CharField(max_length=255, blank=True, default="", db_default="")
    unit_attempts = models.PositiveSmallIntegerField(default=1, db_default=1)
    unit_backoff_seconds = models.FloatField(default=0.0, db_default=0.0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        db_table = "sync_sessions"
        ordering = ("-started_at",)
        constraints = [
            _choices_check("status", SessionStatus, "sync_sessions_status_valid"),
            _choices_check("sync_type", SyncType, "sync_sessions_sync_type_valid"),
            _choices_check("sync_category", SyncCategory, "sync_sessions_sync_category_valid"),
            models.CheckConstraint(condition=models.Q(unit_attempts__gte=1), name="sync_sessions_unit_attempts_min"),
            models.CheckConstraint(
                condition=models.Q(unit_backoff_seconds__gte=0), name="sync_sessions_unit_backoff_nonneg"
            ),
        ]
        indexes = [
            # list pages: newest first, optionally by category
            models.Index(fields=["-started_at"], name="sync_sessions_started_idx"),
            models.Index(fields=["sync_category", "-started_at"], name="sync_sessions_cat_started_idx"),
            # the reaper looks only at unfinished sessions
            models.Index(
                fields=["started_at"],
                name="sync_sessions_unfinished_idx",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_sync_category_display()} {self.session_id} ({self.status})"


class SyncInstanceRecord(models.Model):
    """What one session did on one instance."""

    session = models.ForeignKey(
        SyncSession,
        to_field="session_id",
        db_column="session_id",
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,  # covered by the (session, instance) unique constraint
    )
    instance = models.ForeignKey("instances.Instance", on_delete=models.CASCADE, related_name="sync_records")
    instance_name = models.CharField(max_length=128)
    sync_category = models.CharField(max_length=20, choices=SyncCategory.choices)
    status = models.CharField(
        max_length=20, choices=RecordStatus.choices, default=RecordStatus.QUEUED, db_default="queued"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    items_synced = models.PositiveIntegerField(default=0, db_default=0)
    items_created = models.PositiveIntegerField(default=0, db_default=0)
    items_updated = models.PositiveIntegerField(default=0, db_default=0)
    items_deleted = models.PositiveIntegerField(default=0, db_default=0)
    error_code = models.CharField(max_length=64, blank=True, default="", db_default="")
    error_message = models.TextField(blank=True, default="", db_default="")
    sync_details = models.JSONField(default=dict, db_default={}, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "sync_instance_records"
        ordering = ("session", "instance_name")
        constraints = [
            models.UniqueConstraint(fields=["session", "instance"], name="sync_records_session_instance_uniq"),
            _choices_check("status", RecordStatus, "sync_records_status_valid"),
            _choices_check("sync_category", SyncCategory, "sync_records_sync_category_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_name}: {self.status}"
