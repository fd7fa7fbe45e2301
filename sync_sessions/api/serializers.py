"""Serializers for sync sessions and their per-instance records (read-only)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from sync_sessions.models import SyncInstanceRecord, SyncSession
from whalefall import serializers as strict


class SyncInstanceRecordSerializer(strict.ModelSerializer):
    """What one session did on one instance."""

    session = serializers.UUIDField(source="session_id", read_only=True, help_text="The session's session_id.")
    instance = serializers.IntegerField(source="instance_id", read_only=True, help_text="Instance id.")

    class Meta:
        model = SyncInstanceRecord
        fields = (
            "id",
            "session",
            "instance",
            "instance_name",
            "sync_category",
            "status",
            "started_at",
            "completed_at",
            "items_synced",
            "items_created",
            "items_updated",
            "items_deleted",
            "error_code",
            "error_message",
            "sync_details",
            "created_at",
        )
        read_only_fields = fields


class SyncSessionSerializer(strict.ModelSerializer):
    """One run over one or more instances; identified by ``session_id``."""

    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SyncSession
        fields = (
            "session_id",
            "sync_type",
            "sync_category",
            "status",
            "started_at",
            "completed_at",
            "total_instances",
            "successful_instances",
            "partial_instances",
            "failed_instances",
            "skipped_instances",
            "cancelled_instances",
            "enqueued",
            "error_message",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class SyncSessionDetailSerializer(SyncSessionSerializer):
    """A session with all its per-instance records."""

    records = SyncInstanceRecordSerializer(many=True, read_only=True)

    class Meta(SyncSessionSerializer.Meta):
        fields = (*SyncSessionSerializer.Meta.fields, "records")
        read_only_fields = fields


class SessionStartedSerializer(serializers.Serializer):
    """A sync session that was created and handed to the task cluster (202)."""

    session_id = serializers.UUIDField(help_text="Follow the session at status_url.")
    total_instances = serializers.IntegerField()
    status_url = serializers.URLField(help_text="/api/v1/sync-sessions/<session_id>")


def session_started_data(request, session) -> dict:
    """The 202 body for an enqueued ``session``."""
    url = reverse("sync_sessions:syncsession-detail", kwargs={"session_id": session.session_id})
    return {
        "session_id": session.session_id,
        "total_instances": session.total_instances,
        "status_url": request.build_absolute_uri(url),
    }


#: the largest bigint id (PostgreSQL): a larger number is a 400, not a database error
MAX_ID = 2**63 - 1


class BatchRequestSerializer(strict.Serializer):
    """Which instances a batch runs over; omitted means every active instance."""

    instance_ids = serializers.ListField(
        child=strict.StrictIntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        min_length=1,  # the schema's minItems (allow_empty alone does not show there)
        max_length=10000,
        help_text="Instance ids; omit for all active instances. Unknown or deleted ids are a 422.",
    )


class InstanceCheckRequestSerializer(BatchRequestSerializer):
    """Which instances to check; omitted means every active instance."""
