"""FilterSets for sync sessions and records."""

from __future__ import annotations

from django_filters import rest_framework as filters

from sync_sessions.models import RecordStatus, SessionStatus, SyncCategory, SyncInstanceRecord, SyncSession, SyncType
from whalefall import filters as wf


class SyncSessionFilterSet(wf.FilterSet):
    sync_category = filters.MultipleChoiceFilter(choices=SyncCategory.choices)
    sync_type = filters.MultipleChoiceFilter(choices=SyncType.choices)
    status = filters.MultipleChoiceFilter(choices=SessionStatus.choices)
    started_after = wf.DateTimeFilter(field_name="started_at", lookup_expr="gte", label="Started at or after")
    started_before = wf.DateTimeFilter(field_name="started_at", lookup_expr="lt", label="Started before")

    class Meta:
        model = SyncSession
        fields = ("sync_category", "sync_type", "status", "started_after", "started_before")


class SyncInstanceRecordFilterSet(wf.FilterSet):
    session = wf.UUIDFilter(field_name="session_id", label="Session id (UUID)")
    instance = wf.IdFilter(field_name="instance_id", label="Instance id")
    status = filters.MultipleChoiceFilter(choices=RecordStatus.choices)
    sync_category = filters.MultipleChoiceFilter(choices=SyncCategory.choices)

    class Meta:
        model = SyncInstanceRecord
        fields = ("session", "instance", "status", "sync_category")
