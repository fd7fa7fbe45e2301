"""Scheduled jobs, declared once; ``manage.py setup_schedules`` upserts them by name.

Times are local (settings.TIME_ZONE) "HH:MM" and may be overridden in
``settings.WHALEFALL_SCHEDULES``. Later features add their rows here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: str
    at: str  # "HH:MM", daily
    comment: str


SCHEDULES: list[ScheduledJob] = [
    ScheduledJob(
        "whalefall.accounts",
        "accounts.tasks.accounts_sync_scheduled",
        "01:00",
        "account sync of every active instance, one task per instance",
    ),
    ScheduledJob(
        "whalefall.partitions",
        "capacity.tasks.partitions_maintain",
        "00:30",
        "create capacity partitions ahead, drop expired ones",
    ),
    ScheduledJob(
        "whalefall.classification",
        "classification.tasks.classification_classify_scheduled",
        "02:00",
        "auto-classification of every active instance's accounts, one task per instance",
    ),
    ScheduledJob(
        "whalefall.capacity",
        "capacity.tasks.capacity_collect_scheduled",
        "03:00",
        "capacity collection of every active instance, one task per instance",
    ),
    ScheduledJob(
        "whalefall.aggregation",
        "capacity.tasks.capacity_aggregate_scheduled",
        "04:00",
        "capacity roll-ups of every period containing yesterday or today, one task per instance",
    ),
    ScheduledJob(
        "whalefall.sessions",
        "sync_sessions.tasks.sessions_maintenance",
        "05:00",
        "reap stuck sessions, delete old ones",
    ),
]


def next_run_at(at: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """Next occurrence of local time ``at`` ("HH:MM") after ``now``."""
    now = timezone.localtime(now or timezone.now())
    hour, minute = (int(x) for x in at.split(":"))
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + dt.timedelta(days=1)


def schedules_setup() -> list[tuple[str, bool]]:
    """Upsert every job in SCHEDULES as a daily django-q2 Schedule (idempotent).
    Returns (name, created) pairs."""
    from django_q.models import Schedule

    overrides = getattr(settings, "WHALEFALL_SCHEDULES", {})
    result = []
    for job in SCHEDULES:
        at = overrides.get(job.name, job.at)
        _, created = Schedule.objects.update_or_create(
            name=job.name,
            defaults={
                "func": job.func,
                "schedule_type": Schedule.DAILY,
                "repeats": -1,
                "next_run": next_run_at(at),
            },
        )
        result.append((job.name, created))
    return result
