"""Alert detection: what happened since the last run becomes events, once each.

``alerts_detect`` reads the account change log, the classification history, the capacity
forecasts and the scheduled runs since its watermark (minus an overlap, for rows committed
late), in one query each, and inserts the events with ``INSERT … ON CONFLICT (dedup_key) DO
NOTHING``: a condition already recorded (read again, or by a run at the same time) adds
nothing. Each new event gets a pending delivery for every active channel that wants it.
Sending is alerts/services/deliver.py. Dedup keys: alerts/models.py.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts import selectors
from alerts.models import AlertChannel, AlertDelivery, AlertEvent, AlertWatermark, EventKind, Severity

_INSERT_EVENTS = """
INSERT INTO alert_events (kind, severity, dedup_key, title, instance_id, account_id, database_name, payload,
                          created_at)
SELECT r.kind, r.severity, r.dedup_key, r.title, i.id, a.id, r.database_name, r.payload, %(now)s
FROM jsonb_to_recordset(%(doc)s::jsonb) AS r(kind text, severity text, dedup_key text, title text,
                                              instance_id bigint, account_id bigint, database_name text,
                                              payload jsonb)
-- a subject deleted since: the event keeps its names in the payload, without the link
LEFT JOIN instances i ON i.id = r.instance_id
LEFT JOIN instance_accounts a ON a.id = r.account_id
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id, kind, severity, payload
"""


@dataclass
class DetectResult:
    """One detection run: conditions ``seen`` (new or already recorded), ``new`` events by
    kind, capacity conditions ``cleared``, pending ``deliveries`` created."""

    since: dt.datetime
    seen: int = 0
    new: int = 0
    cleared: int = 0
    deliveries: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _event(kind: str, severity: str, key: str, title: str, *, instance_id=None, account_id=None, database="",
           payload: dict) -> dict:  # fmt: skip
    return {"kind": kind, "severity": severity, "dedup_key": key, "title": title[:500], "instance_id": instance_id,
            "account_id": account_id, "database_name": database, "payload": payload}  # fmt: skip


def _account_label(username: str, host: str) -> str:
    return f"{username}@{host}" if host else username


_FLAGS = (
    (EventKind.ACCOUNT_SUPERUSER, "is_superuser", Severity.CRITICAL, "became superuser"),
    (EventKind.ACCOUNT_CAN_GRANT, "can_grant", Severity.HIGH, "became able to grant"),
)


def _flag_events(since: dt.datetime) -> list[dict]:
    events = []
    for row in selectors.flag_changes_since(since=since):
        account = _account_label(row["username"], row["host"])
        reasons = ((row["diff"] or {}).get("facts") or {}).get("reasons", {})
        for kind, flag, severity, what in _FLAGS:
            if row[flag]:
                events.append(_event(
                    kind, severity, f"{kind}:{row['instance_account_id'] or '-'}:{row['pk']}",
                    f"{account} on {row['instance__name']} {what}",
                    instance_id=row["instance_id"], account_id=row["instance_account_id"],
                    payload={"instance": row["instance__name"], "account": account, "change_log_id": row["pk"],
                             "change_type": row["change_type"], "changed_at": row["changed_at"].isoformat(),
                             "reasons": reasons.get(flag, [])},
                ))  # fmt: skip
    return events


def _classification_events(since: dt.datetime) -> list[dict]:
    kind, events = EventKind.CLASSIFICATION_HIGH_RISK, []
    for row in selectors.high_risk_additions_since(since=since):
        account = _account_label(row["account__username"], row["account__host"])
        events.append(_event(
            kind, row["classification__risk_level"],
            f"{kind}:{row['account_id']}:{row['classification_id']}:{row['pk']}",
            f"{account} on {row['account__instance__name']} classified {row['classification__name']} "
            f"({row['classification__risk_level']})",
            instance_id=row["account__instance_id"], account_id=row["account_id"],
            payload={"instance": row["account__instance__name"], "account": account, "history_id": row["pk"],
                     "classification": row["classification__code"],
                     "classification_name": row["classification__name"],
                     "risk_level": row["classification__risk_level"], "source": row["source"], "why": row["why"],
                     "changed_at": row["changed_at"].isoformat()},
        ))  # fmt: skip
    return events


def _limit_severity(days: int) -> str:
    return Severity.CRITICAL if days == 0 else Severity.HIGH if days <= 7 else Severity.MEDIUM


def _limit_events(channels: list[AlertChannel], today: dt.date) -> tuple[list[dict], list[int], int]:
    """Events of capacity conditions not open yet, ids of open ones that no longer hold, and
    how many conditions hold. Thresholds: the ``limit_days`` of the channels that want
    capacity events (the ALERTS_LIMIT_DAYS setting when none does)."""
    kind = EventKind.CAPACITY_LIMIT
    thresholds = {c.limit_days for c in channels if not c.event_kinds or kind in c.event_kinds}
    conditions = selectors.limit_conditions(
        thresholds=thresholds or {settings.WHALEFALL["ALERTS_LIMIT_DAYS"]}, today=today
    )
    episodes = selectors.limit_episodes()
    holding = {(c.instance_id, c.database_name, c.threshold_days) for c in conditions}
    cleared = [open_id for key, (open_id, _n) in episodes.items() if open_id is not None and key not in holding]
    events = []
    for c in conditions:
        open_id, count = episodes.get((c.instance_id, c.database_name, c.threshold_days), (None, 0))
        if open_id is not None:
            continue  # still the same condition: alerted when it began
        events.append(_event(
            kind, _limit_severity(c.days_until_limit),
            f"{kind}:{c.instance_id}:{c.database_name}:{c.threshold_days}d:#{count + 1}",
            f"{c.database_name} on {c.instance_name} reaches its size limit in {c.days_until_limit} days",
            instance_id=c.instance_id, database=c.database_name,
            payload={"instance": c.instance_name, "instance_id": c.instance_id, "database": c.database_name,
                     "threshold_days": c.threshold_days, "days_until_limit": c.days_until_limit,
                     "size_bytes": c.size_bytes, "size_limit_bytes": c.size_limit_bytes,
                     "bytes_per_day": c.bytes_per_day, "forecast_date": today.isoformat()},
        ))  # fmt: skip
    return events, cleared, len(conditions)


def _job_events(since: dt.datetime) -> list[dict]:
    kind, events = EventKind.JOB_FAILED, []
    for s in selectors.failed_scheduled_sessions_since(since=since):
        partly = s["successful_instances"] > 0
        events.append(_event(
            kind, Severity.MEDIUM if partly else Severity.HIGH, f"{kind}:session:{s['session_id']}",
            f"Scheduled {s['sync_category']} run {'partly ' if partly else ''}failed: "
            f"{s['failed_instances']} of {s['total_instances']} instances failed",
            payload={"session_id": str(s["session_id"]), "category": s["sync_category"],
                     "partly": partly, "total_instances": s["total_instances"],
                     "successful_instances": s["successful_instances"], "failed_instances": s["failed_instances"],
                     "skipped_instances": s["skipped_instances"], "error": s["error_message"][:2000],
                     "started_at": s["started_at"].isoformat(), "completed_at": s["completed_at"].isoformat()},
        ))  # fmt: skip
    for t in selectors.failed_scheduled_tasks_since(since=since):
        events.append(_event(
            kind, Severity.HIGH, f"{kind}:task:{t['id']}", f"Scheduled job {t['group']} failed",
            payload={"job": t["group"], "task": t["name"], "task_id": t["id"],
                     "error": str(t["result"] or "")[-2000:], "stopped_at": t["stopped"].isoformat()},
        ))  # fmt: skip
    return events


def _deliveries(new_rows, channels: list[AlertChannel]) -> list[AlertDelivery]:
    deliveries = []
    for event_id, kind, severity, payload in new_rows:
        threshold = (json.loads(payload) if isinstance(payload, str) else payload).get("threshold_days")
        deliveries += [AlertDelivery(event_id=event_id, channel_id=channel.pk) for channel in channels
                       if channel.wants(kind=kind, severity=severity, threshold_days=threshold)]  # fmt: skip
    return deliveries


def alerts_detect(*, now: dt.datetime | None = None) -> DetectResult:
    """Record what happened since the last run (its watermark minus ALERTS_LOOKBACK_MINUTES;
    the first run looks back that far only, not over all history) as events, each once, with
    a pending delivery per channel that wants it; clear capacity conditions that no longer
    hold. A fixed number of queries, whatever the number of rows."""
    now = now or timezone.now()
    overlap = dt.timedelta(minutes=settings.WHALEFALL["ALERTS_LOOKBACK_MINUTES"])
    since = (selectors.alerts_watermark() or now) - overlap
    channels = selectors.channels_active()
    events = _flag_events(since) + _classification_events(since)
    limit_events, cleared, holding = _limit_events(channels, timezone.localdate(now))
    events += limit_events + _job_events(since)
    result = DetectResult(since=since, seen=len(events) + holding - len(limit_events))
    with transaction.atomic():
        new_rows = []
        if events:
            with connection.cursor() as cursor:
                cursor.execute(_INSERT_EVENTS, {"now": now, "doc": json.dumps(events)})
                new_rows = cursor.fetchall()
        if cleared:
            result.cleared = AlertEvent.objects.filter(pk__in=cleared).update(cleared_at=now)
        deliveries = _deliveries(new_rows, channels)
        if deliveries:
            AlertDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        AlertWatermark.objects.bulk_create(
            [AlertWatermark(name=selectors.WATERMARK, detected_until=now)],
            update_conflicts=True, unique_fields=["name"], update_fields=["detected_until"],
        )  # fmt: skip
    result.new, result.deliveries = len(new_rows), len(deliveries)
    for _id, kind, _severity, _payload in new_rows:
        result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
    return result
