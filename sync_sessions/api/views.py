"""Viewsets for sync sessions and their per-instance records (read-only, but for cancelling a session)."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from instances.api.permissions import CanSyncInstances
from sync_sessions.api.filters import SyncInstanceRecordFilterSet, SyncSessionFilterSet
from sync_sessions.api.serializers import (
    SyncInstanceRecordSerializer,
    SyncSessionDetailSerializer,
    SyncSessionSerializer,
)
from sync_sessions.models import SyncInstanceRecord, SyncSession
from sync_sessions.selectors import RECORD_CSV_COLUMNS, SESSION_CSV_COLUMNS
from sync_sessions.services import session_cancel
from whalefall.csv_export import CsvListMixin


class SyncSessionViewSet(CsvListMixin, viewsets.ReadOnlyModelViewSet):
    """Sync sessions (one run of one category over one or more instances), newest first.

    Looked up by ``session_id`` (UUID). The detail includes every per-instance
    record; ``/records`` pages through them.
    """

    queryset = SyncSession.objects.select_related("created_by")
    serializer_class = SyncSessionSerializer
    csv_columns = SESSION_CSV_COLUMNS
    filterset_class = SyncSessionFilterSet
    lookup_field = "session_id"
    ordering_fields = ("started_at", "completed_at", "status", "sync_category", "failed_instances")
    ordering = ("-started_at", "-id")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("records", queryset=SyncInstanceRecord.objects.order_by("instance_name", "id"))
            )
        return queryset

    def get_serializer_class(self):
        if self.action == "retrieve":
            return SyncSessionDetailSerializer
        return super().get_serializer_class()  # the records action sets its own

    @extend_schema(responses=SyncInstanceRecordSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=SyncInstanceRecordSerializer)
    def records(self, request, session_id=None):
        """The session's per-instance records, by instance name."""
        session = self.get_object()
        page = self.paginate_queryset(session.records.order_by("instance_name", "id"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={
            200: SyncSessionSerializer,
            409: OpenApiResponse(description="The session has already finished: {code: already_finished, message}."),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[CanSyncInstances], filter_backends=[])
    def cancel(self, request, session_id=None):
        """Cancel a queued or running session (operators): its queued records become ``cancelled``
        and are not run (a worker that picks up their task does nothing); records already running
        finish and are counted as usual. Answers the session, now ``cancelled``; 409 when it had
        already finished."""
        session = session_cancel(session=self.get_object(), user=request.user)
        return Response(SyncSessionSerializer(session, context=self.get_serializer_context()).data)


class SyncInstanceRecordViewSet(CsvListMixin, viewsets.ReadOnlyModelViewSet):
    """Per-instance records of all sync sessions, newest first."""

    queryset = SyncInstanceRecord.objects.all()
    csv_columns = RECORD_CSV_COLUMNS
    serializer_class = SyncInstanceRecordSerializer
    filterset_class = SyncInstanceRecordFilterSet
    ordering_fields = ("id", "created_at", "started_at", "completed_at", "instance_name", "status")
    ordering = ("-id",)
