"""Named reads of sessions and their instance records (the console's health figures)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from sync_sessions.models import CONTACT_CATEGORIES, RecordStatus, SyncInstanceRecord
from whalefall.csv_export import CsvColumns


@dataclass(frozen=True)
class InstanceHealth:
    """An instance's latest finished contact record, and since when it has been failing:
    the first failure after its last success (None when the latest one succeeded)."""

    instance_id: int
    last_status: str
    last_at: dt.datetime
    last_ok_at: dt.datetime | None
    failing_since: dt.datetime | None
    failures: int
    error_code: str
    error_message: str

    @property
    def failing(self) -> bool:
        return self.last_status == RecordStatus.FAILED


_HEALTH_SQL = """
WITH r AS (
    SELECT instance_id, status, started_at, error_code, error_message,
           max(started_at) FILTER (WHERE status IN ('completed', 'partial')) OVER (PARTITION BY instance_id) AS last_ok
    FROM sync_instance_records
    WHERE sync_category = ANY(%(categories)s) AND status IN ('completed', 'partial', 'failed')
      AND started_at IS NOT NULL
)
SELECT instance_id,
       (array_agg(status ORDER BY started_at DESC))[1],
       max(started_at),
       max(last_ok),
       min(started_at) FILTER (WHERE status = 'failed' AND (last_ok IS NULL OR started_at > last_ok)),
       count(*) FILTER (WHERE status = 'failed' AND (last_ok IS NULL OR started_at > last_ok)),
       (array_agg(error_code ORDER BY started_at DESC))[1],
       (array_agg(error_message ORDER BY started_at DESC))[1]
FROM r
GROUP BY instance_id
"""


def instance_health(*, categories: Sequence[str] = CONTACT_CATEGORIES) -> dict[int, InstanceHealth]:
    """Every instance's health from its kept records of ``categories`` (one query; an
    instance without such a record is absent: never contacted, or its records expired)."""
    with connection.cursor() as cursor:
        cursor.execute(_HEALTH_SQL, {"categories": list(categories)})
        rows = cursor.fetchall()
    return {
        iid: InstanceHealth(iid, status, last_at, last_ok, since if status == RecordStatus.FAILED else None, *rest)
        for iid, status, last_at, last_ok, since, *rest in rows
    }


def _records(visible: QuerySet | None) -> QuerySet[SyncInstanceRecord]:
    records = SyncInstanceRecord.objects.all()
    return records if visible is None else records.filter(instance_id__in=visible.values("pk"))


def records_failed(*, since: dt.datetime, visible: QuerySet | None = None) -> QuerySet[SyncInstanceRecord]:
    """Failed instance records finished since ``since`` (on ``visible`` instances — a team
    scope's — when given), newest first (with their session)."""
    return (
        _records(visible)
        .filter(status=RecordStatus.FAILED, completed_at__gte=since)
        .select_related("session")
        .order_by("-completed_at", "-pk")
    )


def records_finished_counts(*, since: dt.datetime, visible: QuerySet | None = None) -> dict[str, int]:
    """How many instance records (on ``visible`` instances when given) finished ``failed`` and how
    many ``partial`` (finished, not all read) since ``since``: ``{"failed": n, "partial": m}``, one query."""
    return (
        _records(visible)
        .filter(status__in=(RecordStatus.FAILED, RecordStatus.PARTIAL), completed_at__gte=since)
        .aggregate(
            failed=Count("pk", filter=Q(status=RecordStatus.FAILED)),
            partial=Count("pk", filter=Q(status=RecordStatus.PARTIAL)),
        )
    )


def records_latest_per_category(*, instance_id: int) -> list[SyncInstanceRecord]:
    """The latest record of each category for one instance (one query, DISTINCT ON)."""
    records = (
        SyncInstanceRecord.objects.filter(instance_id=instance_id)
        .order_by("sync_category", "-created_at", "-pk")
        .distinct("sync_category")
    )
    return sorted(records, key=lambda r: r.created_at, reverse=True)


#: the list's columns in a CSV export (admin "Export as CSV" and the API's ?format=csv)
SESSION_CSV_COLUMNS: CsvColumns = (
    ("session_id", "session_id"), ("category", "sync_category"), ("type", "sync_type"), ("status", "status"),
    ("started_at", "started_at"), ("completed_at", "completed_at"), ("instances", "total_instances"),
    ("successful", "successful_instances"), ("partial", "partial_instances"), ("failed", "failed_instances"),
    ("skipped", "skipped_instances"), ("cancelled", "cancelled_instances"), ("error", "error_message"),
)  # fmt: skip


RECORD_CSV_COLUMNS: CsvColumns = (
    ("session_id", "session_id"), ("instance", "instance_name"), ("category", "sync_category"),
    ("status", "status"), ("started_at", "started_at"), ("completed_at", "completed_at"),
    ("synced", "items_synced"), ("created", "items_created"), ("updated", "items_updated"),
    ("deleted", "items_deleted"), ("error_code", "error_code"), ("error", "error_message"),
)  # fmt: skip


def sessions_in_scope(queryset: QuerySet, visible: QuerySet) -> QuerySet:
    """Team scopes (README § Team scopes): the rows of ``queryset`` (sessions, or rows whose
    ``session_id`` is a session's uuid) whose session has records and only records on
    ``visible`` instances. A session that also ran elsewhere is not shown at all — its counts
    would tell how many runs the user cannot see; its in-scope runs stay in the list of
    instance runs."""
    records = SyncInstanceRecord.objects.filter(session_id=OuterRef("session_id"))
    return queryset.filter(Exists(records)).exclude(Exists(records.exclude(instance_id__in=visible.values("pk"))))
