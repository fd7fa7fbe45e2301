"""Scheduled jobs, declared once; ``manage.py setup_schedules`` upserts them by name.

Each job has a default cron string (local time, settings.TIME_ZONE), which
``WHALEFALL_SCHEDULES`` overrides per job (settings or environment:
``"whalefall.accounts=0 1 * * *;whalefall.capacity=30 2 * * *"``). The django-q2
schedule runs ``console.jobs.job_run(<name>)``, which holds an advisory lock per
job, so a job started twice at once (two clusters, or "run now" during the
scheduled run) runs once.

After downtime, a missed run happens once, not once per missed slot:
``Q_CLUSTER["catch_up"] = False`` (django-q2 then moves ``next_run`` to the next
future slot).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from croniter import croniter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: str  # dotted path of a function without arguments
    cron: str  # default schedule, local time
    comment: str


SCHEDULES: list[ScheduledJob] = [
    ScheduledJob(
        "whalefall.partitions", "capacity.tasks.partitions_maintain", "30 0 * * *",
        "create capacity partitions ahead, drop expired ones",
    ),
    ScheduledJob(
        "whalefall.accounts", "accounts.tasks.accounts_sync_scheduled", "0 1 * * *",
        "account sync of every active instance, one task per instance",
    ),
    ScheduledJob(
        "whalefall.classification", "classification.tasks.classification_classify_scheduled", "0 2 * * *",
        "auto-classification of every active instance's accounts, one task per instance",
    ),
    ScheduledJob(
        "whalefall.capacity", "capacity.tasks.capacity_collect_scheduled", "0 3 * * *",
        "capacity collection of every active instance, one task per instance",
    ),
    ScheduledJob(
        "whalefall.aggregation", "capacity.tasks.capacity_aggregate_scheduled", "0 4 * * *",
        "capacity roll-ups of every period containing yesterday or today, one task per instance",
    ),
    ScheduledJob(
        "whalefall.sessions", "sync_sessions.tasks.sessions_maintenance", "0 5 * * *",
        "reap stuck sessions, delete old ones",
    ),
    ScheduledJob(
        "whalefall.audit", "audit.tasks.audit_purge_scheduled", "30 5 * * *",
        "delete audit events older than WHALEFALL_AUDIT_RETENTION_DAYS",
    ),
    ScheduledJob(
        "whalefall.alerts", "alerts.tasks.alerts_run_scheduled", "*/5 * * * *",
        "detect alert conditions, send the immediate channels' alerts",
    ),
    ScheduledJob(
        "whalefall.alerts_digest", "alerts.tasks.alerts_digest_scheduled", "0 7 * * *",
        "send each digest channel its alerts of the last day",
    ),
]  # fmt: skip
JOBS = {job.name: job for job in SCHEDULES}


def job_crons() -> dict[str, str]:
    """Every job's cron string: the default, or the WHALEFALL_SCHEDULES override (validated)."""
    overrides = getattr(settings, "WHALEFALL_SCHEDULES", {})
    unknown = sorted(set(overrides) - set(JOBS))
    if unknown:
        raise ImproperlyConfigured(f"WHALEFALL_SCHEDULES names unknown jobs {unknown}; known: {sorted(JOBS)}")
    crons = {name: overrides.get(name, job.cron) for name, job in JOBS.items()}
    for name, cron in crons.items():
        if not croniter.is_valid(cron):
            raise ImproperlyConfigured(f"WHALEFALL_SCHEDULES: {name}: {cron!r} is not a cron string")
    return crons


def next_run_at(cron: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """The next time ``cron`` (local time) fires after ``now``."""
    return croniter(cron, timezone.localtime(now or timezone.now())).get_next(dt.datetime)


def schedules_setup() -> list[tuple[str, bool]]:
    """Upsert every job as a django-q2 cron Schedule running ``console.jobs.job_run(name)``
    (idempotent; ``next_run`` recomputed from the cron string). Returns (name, created) pairs."""
    from django_q.models import Schedule

    result = []
    for name, cron in job_crons().items():
        _, created = Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "console.jobs.job_run",
                "args": repr((name,)),
                "schedule_type": Schedule.CRON,
                "cron": cron,
                "repeats": -1,
                "next_run": next_run_at(cron),
            },
        )
        result.append((name, created))
    return result
