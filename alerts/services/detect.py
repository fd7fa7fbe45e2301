"""Alert detection: what happened since the last run becomes events, once each.

``alerts_detect`` reads the account change log (changes, baselines), the classification history,
the capacity forecasts, the partial instance records and the scheduled runs since its watermark
(minus an overlap, for rows committed late), in one query each, and inserts the events with
``INSERT … ON CONFLICT (dedup_key) DO NOTHING``: a condition already recorded (read again, or by
a run at the same time) adds nothing. Each new event gets a pending delivery for every active channel that wants it.
Sending is alerts/services/deliver.py. Dedup keys: alerts/models.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts import selectors
from alerts.models import SEVERITY_RANK, AlertChannel, AlertDelivery, AlertEvent, AlertWatermark, EventKind, Severity

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


#: how long an account change waits for the classification that follows it (its reasons join the
#: change's one event); a change whose instance was classified after it goes at once. Kept well
#: inside the lookback, so a waiting change is read again by the next runs.
CLASSIFY_WAIT = dt.timedelta(minutes=15)

_FLAGS = (
    (EventKind.ACCOUNT_SUPERUSER, "is_superuser", Severity.CRITICAL, "became superuser"),
    (EventKind.ACCOUNT_CAN_GRANT, "can_grant", Severity.HIGH, "became able to grant"),
)
#: reason kinds, most telling first: an account change's event takes the first of its reasons' kinds
_KIND_ORDER = [EventKind.ACCOUNT_SUPERUSER, EventKind.ACCOUNT_CAN_GRANT, EventKind.CLASSIFICATION_HIGH_RISK]


def _max_severity(severities) -> str:
    return max(severities, key=SEVERITY_RANK.__getitem__)


def _classified_reason(row: dict) -> dict:
    return {"kind": EventKind.CLASSIFICATION_HIGH_RISK, "severity": row["classification__risk_level"],
            "what": f"classified {row['classification__name']}", "classification": row["classification__code"],
            "classification_name": row["classification__name"], "risk_level": row["classification__risk_level"],
            "source": row["source"], "why": row["why"], "history_id": row["pk"]}  # fmt: skip


def _reasons_event(key: str, *, account: str, instance: str, instance_id, account_id, reasons: list[dict],
                   payload: dict) -> dict:  # fmt: skip
    """One event for ``reasons`` (flags first, then classifications by priority): the title names
    them all, severity is the highest, kind the first reason's (``payload.kinds``: all of them)."""
    flags = [r["what"] for r in reasons if r["kind"] != EventKind.CLASSIFICATION_HIGH_RISK]
    classified = [r["classification_name"] for r in reasons if r["kind"] == EventKind.CLASSIFICATION_HIGH_RISK]
    parts = flags + (["classified " + " + ".join(classified)] if classified else [])
    kinds = sorted({r["kind"] for r in reasons}, key=_KIND_ORDER.index)
    return _event(
        kinds[0], _max_severity(r["severity"] for r in reasons), key, f"{account} on {instance} {', '.join(parts)}",
        instance_id=instance_id, account_id=account_id,
        payload={"instance": instance, "account": account, **payload, "kinds": kinds, "reasons": reasons,
                 "history_ids": [r["history_id"] for r in reasons if "history_id" in r]},
    )  # fmt: skip


def _account_events(since: dt.datetime, now: dt.datetime) -> list[dict]:
    """One event per change of one account in one sync, listing every reason: the flags it turned
    on (change log) and the high or critical classifications the auto-classification after it
    added (history rows of the account within ``CLASSIFY_WAIT`` after the change, none in between). A
    flag change waits (is read again by the next run) until its instance was classified after it,
    at most ``CLASSIFY_WAIT``. Classifications no change explains (a new rule, by hand): one event
    per account and run or manual assignment (batch). Baseline classifications are not here (``_onboarded_events``)."""
    flag_rows = selectors.flag_changes_since(since=since)
    additions = list(selectors.high_risk_additions_since(since=since))
    changes = {row["pk"]: row for row in flag_rows}
    by_account: dict[int, list[dict]] = {}
    for row in selectors.account_changes_of(account_ids=sorted({a["account_id"] for a in additions}),
                                            since=since - CLASSIFY_WAIT):  # fmt: skip
        changes.setdefault(row["pk"], row)
        by_account.setdefault(row["instance_account_id"], []).append(row)
    linked: dict[int, list[dict]] = {}  # change id -> its classification additions
    loose: dict[tuple[int, str], list[dict]] = {}  # (account, batch) -> additions no change explains
    for addition in additions:
        before = [c for c in by_account.get(addition["account_id"], []) if c["changed_at"] <= addition["changed_at"]]
        change = before[-1] if before else None
        # an automatic classification right after a change follows from it; one by hand does not
        automatic = addition["source"] == "auto"
        if automatic and change is not None and addition["changed_at"] - change["changed_at"] <= CLASSIFY_WAIT:
            linked.setdefault(change["pk"], []).append(addition)
        else:
            loose.setdefault((addition["account_id"], str(addition["batch_id"])), []).append(addition)
    classified = selectors.classified_at(instance_ids={row["instance_id"] for row in flag_rows})
    keys = {pk: f"account_change:{row['instance_account_id'] or '-'}:{pk}" for pk, row in changes.items()}
    recorded = selectors.events_by_key(keys=list(keys.values()))
    events = []
    for pk, row in sorted(changes.items()):
        reasons = []
        for kind, flag, severity, what in _FLAGS:
            if row.get(flag):
                flag_reasons = row["reasons"].get(flag, [])
                reasons.append({"kind": kind, "severity": severity, "what": what, "why": flag_reasons})
        additions_of = linked.get(pk, [])
        if keys[pk] in recorded:  # alerted already (it waited its time): what it did not list goes on its own
            listed = set(recorded[keys[pk]].get("history_ids", []))
            for addition in additions_of:
                if addition["pk"] not in listed:
                    loose.setdefault((addition["account_id"], str(addition["batch_id"])), []).append(addition)
            additions_of = [a for a in additions_of if a["pk"] in listed]  # the insert conflicts: seen, not new
        elif reasons and not additions_of:
            seen_at = classified.get(row["instance_id"])
            if (seen_at is None or seen_at < row["changed_at"]) and now - row["changed_at"] < CLASSIFY_WAIT:
                continue  # its classification may add reasons: the next run reads it again
        reasons += [_classified_reason(a) for a in sorted(additions_of, key=lambda a: -a["classification__priority"])]
        if not reasons:
            continue
        account = _account_label(row["username"], row["host"])
        events.append(_reasons_event(
            keys[pk], account=account, instance=row["instance__name"], instance_id=row["instance_id"],
            account_id=row["instance_account_id"], reasons=reasons,
            payload={"change_log_id": pk, "change_type": row["change_type"],
                     "changed_at": row["changed_at"].isoformat()},
        ))  # fmt: skip
    for (account_id, batch), rows in loose.items():
        rows.sort(key=lambda a: -a["classification__priority"])
        first = rows[0]
        events.append(_reasons_event(
            f"{EventKind.CLASSIFICATION_HIGH_RISK}:{account_id}:{batch}",
            account=_account_label(first["account__username"], first["account__host"]),
            instance=first["account__instance__name"], instance_id=first["account__instance_id"],
            account_id=account_id, reasons=[_classified_reason(a) for a in rows],
            payload={"batch_id": batch, "changed_at": first["changed_at"].isoformat()},
        ))  # fmt: skip
    return events


#: accounts named per classification in an onboarding summary (the counts are complete)
ONBOARDED_NAMES = 20


def _onboarded_events(since: dt.datetime, now: dt.datetime) -> list[dict]:
    """One event per instance baseline: what its first sync found (accounts, superusers,
    grantors: the baseline row) and what its first classification found (every classification
    added at the baseline, with counts; the high and critical ones with the first names). Waits
    for that classification (the instance classified after the baseline) at most ``CLASSIFY_WAIT``."""
    kind, events = EventKind.INSTANCE_ONBOARDED, []
    baselines = selectors.baselines_since(since=since)
    instance_ids = {b["instance_id"] for b in baselines}
    classified = selectors.classified_at(instance_ids=instance_ids)
    found: dict[int, dict[str, dict]] = {}
    for row in selectors.baseline_classifications(instance_ids=instance_ids):
        entry = found.setdefault(row["account__instance_id"], {}).setdefault(row["classification__code"], {
            "classification": row["classification__code"], "name": row["classification__name"],
            "risk_level": row["classification__risk_level"], "accounts": 0, "names": []})  # fmt: skip
        entry["accounts"] += 1
        if row["classification__risk_level"] in ("high", "critical") and len(entry["names"]) < ONBOARDED_NAMES:
            entry["names"].append(_account_label(row["account__username"], row["account__host"]))
    for b in baselines:
        seen_at = classified.get(b["instance_id"])
        if (seen_at is None or seen_at < b["changed_at"]) and now - b["changed_at"] < CLASSIFY_WAIT:
            continue  # its classification is still to come: read again by the next run
        summary = (b["diff"] or {}).get("baseline", {})
        classifications = list(found.get(b["instance_id"], {}).values())
        risky = ", ".join(f"{c['name']} {c['accounts']}" for c in classifications
                          if c["risk_level"] in ("high", "critical"))  # fmt: skip
        title = (f"{b['instance__name']} onboarded: {summary.get('account_count', 0):,} accounts, "
                 f"{summary.get('superusers', 0):,} superusers, {summary.get('can_grant', 0):,} can grant"
                 + (f"; {risky}" if risky else ""))  # fmt: skip
        events.append(_event(
            kind, Severity.MEDIUM, f"{kind}:{b['instance_id']}:{b['pk']}", title, instance_id=b["instance_id"],
            payload={"instance": b["instance__name"], "instance_id": b["instance_id"], "change_log_id": b["pk"],
                     "session_id": str(b["session_id"]) if b["session_id"] else None,
                     "baselined_at": b["changed_at"].isoformat(), "baseline": summary,
                     "classified": seen_at is not None and seen_at >= b["changed_at"],
                     "classifications": classifications},
        ))  # fmt: skip
    return events


def _partial_events(since: dt.datetime) -> list[dict]:
    """An event per instance record that finished ``partial`` (a scope not read, a follow-up that
    failed): the instance, the run and the record's message — once a day per instance, kind of
    run and message (a database the monitor never may read makes every run partial: one event a
    day says so, not one per run)."""
    kind, events = EventKind.SYNC_PARTIAL, []
    for r in selectors.partial_records_since(since=since):
        said = hashlib.blake2b(r["error_message"].encode(), digest_size=8).hexdigest()
        day = timezone.localdate(r["completed_at"]).isoformat()
        events.append(_event(
            kind, Severity.MEDIUM, f"{kind}:{r['instance_id']}:{r['sync_category']}:{day}:{said}",
            f"{r['sync_category'].capitalize()} run on {r['instance_name']} finished partial: {r['error_message']}",
            instance_id=r["instance_id"],
            payload={"instance": r["instance_name"], "instance_id": r["instance_id"], "record_id": r["pk"],
                     "session_id": str(r["session__session_id"]), "category": r["sync_category"],
                     "sync_type": r["session__sync_type"], "message": r["error_message"][:2000],
                     "completed_at": r["completed_at"].isoformat()},
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
        payload = json.loads(payload) if isinstance(payload, str) else payload
        threshold, kinds = payload.get("threshold_days"), payload.get("kinds")
        deliveries += [
            AlertDelivery(event_id=event_id, channel_id=channel.pk) for channel in channels
            if channel.wants(kind=kind, severity=severity, threshold_days=threshold, kinds=kinds)
        ]  # fmt: skip
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
    events = _account_events(since, now) + _onboarded_events(since, now) + _partial_events(since)
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
