"""What alert detection reads (one query each, set-based) and the alert lists.

Every reader takes ``since``: the rows that happened from then on. The dedup keys of
``alerts/models.py`` make reading a row twice harmless, so detection re-reads an overlap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django_q.models import Schedule, Task

from accounts.models import AccountChangeLog, ChangeType
from alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertWatermark, DeliveryStatus, EventKind
from capacity.selectors import capacity_top_growers
from classification.models import AccountClassificationHistory, InstanceClassificationState
from classification.selectors import high_risk_additions
from sync_sessions.models import RecordStatus, SessionStatus, SyncInstanceRecord, SyncSession, SyncType

#: how many limited, growing databases the capacity check forecasts (the fastest-growing first)
LIMIT_CANDIDATES = 5000

WATERMARK = "detect"


def alerts_watermark() -> dt.datetime | None:
    """Up to when the last detection run read (None before the first run)."""
    return AlertWatermark.objects.filter(name=WATERMARK).values_list("detected_until", flat=True).first()


def channels_active() -> list[AlertChannel]:
    """Every active channel (a handful: read once per run)."""
    return list(AlertChannel.objects.filter(is_active=True).order_by("pk"))


def flag_changes_since(*, since: dt.datetime) -> list[dict]:
    """Change-log rows since ``since`` that turned ``is_superuser`` or ``can_grant`` on: an
    added account holding it (``diff.facts.<flag>``), or a modified/reactivated one whose diff
    has ``<flag>.new = true`` (accounts/diff.py). Each row with both flags' new values and
    ``reasons``: why each flag holds (an added account's from its row, a changed one's from its
    current facts: the diff names what changed, not why)."""
    changed = [ChangeType.MODIFY, ChangeType.REACTIVATE]
    turned_on = Q()
    for flag in ("is_superuser", "can_grant"):
        turned_on |= Q(change_type=ChangeType.ADD, **{f"diff__facts__{flag}": True})
        turned_on |= Q(change_type__in=changed, **{f"diff__{flag}__new": True})
    rows = (
        AccountChangeLog.objects.filter(turned_on, changed_at__gte=since)
        .order_by("changed_at", "pk")
        .values("pk", "instance_id", "instance__name", "instance_account_id", "username", "host", "change_type",
                "diff", "changed_at", current_reasons=F("instance_account__permission__facts__reasons"))
    )  # fmt: skip
    result = []
    for row in rows:
        diff = row["diff"] or {}
        facts = diff.get("facts") if row["change_type"] == ChangeType.ADD else None
        for flag in ("is_superuser", "can_grant"):
            on = bool(facts.get(flag)) if facts is not None else (diff.get(flag) or {}).get("new") is True
            row[flag] = on
        current = row.pop("current_reasons")
        row["reasons"] = (facts.get("reasons") if facts is not None else current) or {}
        result.append(row)
    return result


def high_risk_additions_since(*, since: dt.datetime) -> QuerySet:
    """Classification history "add" rows since ``since`` of a high or critical classification
    (classification.selectors.high_risk_additions: not those of a baseline), oldest first, as the
    values detection needs."""
    return (
        high_risk_additions(since=since)
        .order_by("changed_at", "pk")
        .values("pk", "account_id", "account__username", "account__host", "account__instance_id",
                "account__instance__name", "classification_id", "classification__code", "classification__name",
                "classification__risk_level", "classification__priority", "source", "why", "batch_id",
                "changed_at")
    )  # fmt: skip


def account_changes_of(*, account_ids: list[int], since: dt.datetime) -> list[dict]:
    """The add/modify/reactivate change-log rows of ``account_ids`` since ``since``, oldest first:
    the changes a classification addition may follow (one query over the account index)."""
    if not account_ids:
        return []
    return list(
        AccountChangeLog.objects.filter(
            instance_account_id__in=account_ids, changed_at__gte=since,
            change_type__in=[ChangeType.ADD, ChangeType.MODIFY, ChangeType.REACTIVATE],
        )
        .order_by("changed_at", "pk")
        .values("pk", "instance_id", "instance__name", "instance_account_id", "username", "host", "change_type",
                "changed_at")
    )  # fmt: skip


def classified_at(*, instance_ids: set[int]) -> dict[int, dt.datetime]:
    """When each instance was last auto-classified (its stored classification state; one query)."""
    if not instance_ids:
        return {}
    return dict(
        InstanceClassificationState.objects.filter(instance_id__in=instance_ids).values_list(
            "instance_id", "classified_at"
        )
    )


def baselines_since(*, since: dt.datetime) -> list[dict]:
    """Baseline change-log rows (instances' first account syncs) since ``since``, oldest first."""
    return list(
        AccountChangeLog.objects.filter(change_type=ChangeType.BASELINE, changed_at__gte=since)
        .order_by("changed_at", "pk")
        .values("pk", "instance_id", "instance__name", "diff", "session_id", "changed_at")
    )


def baseline_classifications(*, instance_ids: set[int]) -> list[dict]:
    """The classifications the baselines of ``instance_ids`` found (history "add" rows marked
    ``at_baseline``), riskiest classification first (one query)."""
    if not instance_ids:
        return []
    return list(
        AccountClassificationHistory.objects.filter(
            at_baseline=True, action=AccountClassificationHistory.Action.ADD, account__instance_id__in=instance_ids
        )
        .order_by("-classification__priority", "classification__code", "account__username", "account__host")
        .values("account__instance_id", "account__username", "account__host", "classification__code",
                "classification__name", "classification__risk_level")
    )  # fmt: skip


def partial_records_since(*, since: dt.datetime) -> QuerySet:
    """Instance records of any run that finished ``partial`` since ``since``, with their session.
    (No index on the records' completion time: the table holds the sessions' retention window.)"""
    return (
        SyncInstanceRecord.objects.filter(status=RecordStatus.PARTIAL, completed_at__gte=since)
        .order_by("completed_at", "pk")
        .values("pk", "instance_id", "instance_name", "sync_category", "session__session_id", "session__sync_type",
                "error_message", "completed_at")
    )  # fmt: skip


def events_by_key(*, keys: list[str]) -> dict[str, dict]:
    """The payloads of the recorded events among ``keys`` (one query over the unique key)."""
    if not keys:
        return {}
    return dict(AlertEvent.objects.filter(dedup_key__in=keys).values_list("dedup_key", "payload"))


@dataclass(frozen=True)
class LimitCondition:
    """A database whose forecast reaches its size limit within ``threshold_days`` days."""

    instance_id: int
    instance_name: str
    database_name: str
    threshold_days: int
    days_until_limit: int
    size_bytes: int
    size_limit_bytes: int
    bytes_per_day: float | None


def limit_conditions(*, thresholds: set[int], today: dt.date) -> list[LimitCondition]:
    """For each threshold, the databases (with an inventory limit, growing, of an active instance:
    a deactivated one is not watched) whose forecast ``days_until_limit`` is at most that threshold.
    One query (capacity_top_growers)."""
    growers = capacity_top_growers(limit=LIMIT_CANDIDATES, limited_only=True, active_only=True, today=today)
    return [
        LimitCondition(g.instance_id, g.instance_name, g.database_name, threshold, g.forecast.days_until_limit,
                       g.size_bytes, g.size_limit_bytes, g.forecast.bytes_per_day)
        for g in growers
        for threshold in sorted(thresholds)
        if g.forecast.days_until_limit is not None and g.forecast.days_until_limit <= threshold
    ]  # fmt: skip


def failed_scheduled_sessions_since(*, since: dt.datetime) -> QuerySet:
    """Scheduled batches that finished ``failed`` since ``since`` (partly: some instances
    succeeded; wholly: none did)."""
    return (
        SyncSession.objects.filter(sync_type=SyncType.SCHEDULED, status=SessionStatus.FAILED, completed_at__gte=since)
        .order_by("completed_at", "pk")
        .values("session_id", "sync_category", "total_instances", "successful_instances", "failed_instances",
                "skipped_instances", "error_message", "started_at", "completed_at")
    )  # fmt: skip


def failed_scheduled_tasks_since(*, since: dt.datetime) -> QuerySet:
    """django-q2 tasks of a schedule (their group is the schedule's name) that failed since
    ``since``: the job itself raised, so it may have left no session."""
    return (
        Task.objects.filter(success=False, stopped__gte=since, group__in=Schedule.objects.values("name"))
        .order_by("stopped")
        .values("id", "name", "group", "result", "started", "stopped")
    )


def limit_episodes() -> dict[tuple[int, str, int], tuple[int | None, int]]:
    """Capacity conditions recorded so far: ``(instance_id, database, threshold) → (id of the
    open event or None, how many events it has had)``. One query over the capacity events
    (one per onset of a condition: few)."""
    rows = AlertEvent.objects.filter(kind=EventKind.CAPACITY_LIMIT).values_list("pk", "payload", "cleared_at")
    result: dict[tuple[int, str, int], tuple[int | None, int]] = {}
    for pk, p, cleared_at in rows:
        key = (p["instance_id"], p["database"], p["threshold_days"])
        open_id, count = result.get(key, (None, 0))
        result[key] = (pk if cleared_at is None else open_id, count + 1)
    return result


def deliveries_due(*, mode: str) -> list[AlertDelivery]:
    """Unsent deliveries of active channels of ``mode`` (failed ones below the attempt limit),
    with event and channel, oldest event first, grouped by channel. One query."""
    return list(
        AlertDelivery.objects.filter(
            channel__is_active=True,
            channel__delivery_mode=mode,
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            attempts__lt=settings.WHALEFALL["ALERTS_MAX_ATTEMPTS"],
        )
        .select_related("event", "channel")
        .order_by("channel_id", "event__created_at", "event_id")
    )
