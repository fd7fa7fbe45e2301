"""The admin index: what a DBA team checks every morning, read from every app's selectors.

Every figure carries the URL of the filtered list or the object it counts. The number of
queries does not depend on how many instances, accounts or records there are.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule, Task

from capacity import selectors as capacity_selectors
from capacity.admin.pages import database_page_url
from capacity.partitions import PARTITIONED_TABLES, add_months, month_start, partitions_list
from classification import selectors as classification_selectors
from console.schedules import SCHEDULES, ScheduledJob
from instances.models import DatabaseType, Instance
from sync_sessions import selectors as session_selectors
from sync_sessions.models import SyncSession
from whalefall.charts import line_chart
from whalefall.scoping import readable_instance_ids, visible_instances

#: how many rows each list on the dashboard shows (its link opens the full list)
LIST_ROWS = 10
#: days of the classification chart on the dashboard
CHART_DAYS = 30


def _admin_url(name: str, *args, query: str = "") -> str:
    return reverse(f"admin:{name}", args=args) + (f"?{query}" if query else "")


@dataclass
class EngineHealth:
    """Instances of one engine (not deleted): how many, and how their last contact went."""

    db_type: DatabaseType
    total: int = 0
    inactive: int = 0
    healthy: int = 0
    failing: int = 0
    never: int = 0  # no contact record kept

    @property
    def url(self) -> str:
        return _admin_url("instances_instance_changelist", query=f"db_type__name__exact={self.db_type.pk}")


@dataclass(frozen=True)
class FailingInstance:
    instance_id: int
    name: str
    health: session_selectors.InstanceHealth
    suspended_at: dt.datetime | None = None  # the circuit breaker stopped its scheduled contacts

    @property
    def url(self) -> str:
        return _admin_url("instances_instance_change", self.instance_id)


@dataclass(frozen=True)
class JobRun:
    """A scheduled job, its next run and its last run (the django-q2 task, and the session it
    started when it starts one)."""

    job: ScheduledJob
    cron: str
    next_run: dt.datetime | None
    task: Task | None
    session: SyncSession | None

    @property
    def status(self) -> str:
        if self.task is None:
            return "never run"
        if not self.task.success:
            return "failed"
        if self.session is not None:
            return self.session.status
        return "skipped" if isinstance(self.task.result, dict) and "skipped" in self.task.result else "completed"

    @property
    def task_url(self) -> str:
        if self.task is None:
            return ""
        return _admin_url("django_q_success_change" if self.task.success else "django_q_failure_change", self.task.pk)

    @property
    def session_url(self) -> str:
        return _admin_url("sync_sessions_syncsession_change", self.session.pk) if self.session else ""


@dataclass(frozen=True)
class PartitionHealth:
    table: str
    oldest: dt.date | None
    newest: dt.date | None
    months_ahead: int  # partitions starting after the current month
    wanted_ahead: int

    @property
    def ok(self) -> bool:
        return self.months_ahead >= self.wanted_ahead


@dataclass
class Dashboard:
    engines: list[EngineHealth] = field(default_factory=list)
    failing: list[FailingInstance] = field(default_factory=list)
    jobs: list[JobRun] = field(default_factory=list)
    failed_records: list = field(default_factory=list)
    failed_records_total: int = 0
    partial_records_total: int = 0  # finished, but something was not read or a follow-up failed
    top_growers: list = field(default_factory=list)  # (DatabaseGrowth, url)
    soonest_limits: list = field(default_factory=list)  # (DatabaseGrowth, url)
    classifications: list = field(default_factory=list)
    classification_chart: dict | None = None
    high_risk: list = field(default_factory=list)
    high_risk_total: int = 0
    partitions: list[PartitionHealth] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)


def _engines(
    health: dict[int, session_selectors.InstanceHealth], visible
) -> tuple[list[EngineHealth], list[FailingInstance]]:
    engines = {t.pk: EngineHealth(t) for t in DatabaseType.objects.all()}
    failing = []
    instances = (Instance.objects.all() if visible is None else visible).filter(deleted_at__isnull=True).values_list(
        "pk", "name", "db_type_id", "is_active", "suspended_at"
    )
    for pk, name, db_type, is_active, suspended_at in instances:
        engine = engines[db_type]
        engine.total += 1
        engine.inactive += not is_active
        state = health.get(pk)
        if state is None:
            engine.never += 1
        elif state.failing:
            engine.failing += 1
            failing.append(FailingInstance(pk, name, state, suspended_at))
        else:
            engine.healthy += 1
    failing.sort(key=lambda f: (f.health.failing_since or f.health.last_at, f.name))
    return [e for e in engines.values() if e.total or e.db_type.enabled], failing


def _session_id(task: Task) -> uuid.UUID | None:
    """The session a job's task started: the jobs that start one return its id."""
    try:
        return uuid.UUID(str(task.result)) if task.success else None
    except ValueError:
        return None


def _jobs(visible) -> list[JobRun]:
    schedules = {s.name: s for s in Schedule.objects.filter(name__in=[job.name for job in SCHEDULES])}
    task_ids = [s.task for s in schedules.values() if s.task]
    tasks = {t.pk: t for t in Task.objects.filter(pk__in=task_ids)} if task_ids else {}
    session_ids = [sid for sid in map(_session_id, tasks.values()) if sid]
    shown = SyncSession.objects.all()
    if visible is not None:  # a team scope's user sees a job's session only when it is all in the scope
        shown = session_selectors.sessions_in_scope(shown, visible)
    sessions = {s.session_id: s for s in shown.filter(session_id__in=session_ids)} if session_ids else {}
    runs = []
    for job in SCHEDULES:
        schedule = schedules.get(job.name)
        task = tasks.get(schedule.task) if schedule and schedule.task else None
        session = sessions.get(_session_id(task)) if task else None
        cron, next_run = (schedule.cron, schedule.next_run) if schedule else (job.cron, None)
        runs.append(JobRun(job, cron, next_run, task, session))
    return runs


def _partitions(today: dt.date) -> list[PartitionHealth]:
    wanted = settings.WHALEFALL["PARTITIONS_AHEAD_MONTHS"]
    result = []
    for table in PARTITIONED_TABLES:
        partitions = partitions_list(table=table)
        ahead = sum(p.start >= add_months(month_start(today), 1) for p in partitions)
        oldest = partitions[0].start if partitions else None
        newest = partitions[-1].start if partitions else None
        result.append(PartitionHealth(table, oldest, newest, ahead, wanted))
    return result


def _classification_chart(today: dt.date, visible) -> dict:
    start = today - dt.timedelta(days=CHART_DAYS - 1)
    series = classification_selectors.classification_count_series(start=start, end=today, visible=visible)
    return line_chart(
        [(c.name, counts) for c, counts in series],
        start=start,
        end=today,
        colors=[c.color for c, _ in series] or None,
        height=200,
    )


def dashboard_callback(request, context: dict) -> dict:
    """``UNFOLD["DASHBOARD_CALLBACK"]``: the admin index's context with the dashboard."""
    return {**context, "dashboard": dashboard_build(user=request.user)}


def dashboard_build(*, user, now: dt.datetime | None = None) -> Dashboard:
    """The dashboard's figures for ``user``: each section only when the user may view what it
    counts (a viewer sees all of them); with a team scope, each figure counts the scope's
    instances only (README § Team scopes)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    board = Dashboard()
    visible = visible_instances(user)
    ids = readable_instance_ids(user)  # for the SQL selectors: the scope's instances (None: all)
    if user.has_perm("instances.view_instance") and user.has_perm("sync_sessions.view_syncinstancerecord"):
        board.engines, board.failing = _engines(session_selectors.instance_health(), visible)
        since = now - dt.timedelta(hours=24)
        board.failed_records = list(session_selectors.records_failed(since=since, visible=visible)[:LIST_ROWS])
        counts = session_selectors.records_finished_counts(since=since, visible=visible)
        board.failed_records_total, board.partial_records_total = counts["failed"], counts["partial"]
    if user.has_perm("django_q.view_schedule"):
        board.jobs = _jobs(visible)
    if user.has_perm("capacity.view_databasesizestat"):
        growers = capacity_selectors.capacity_top_growers(days=30, limit=5, today=today, instance_ids=ids)
        soonest = capacity_selectors.capacity_soonest_limits(limit=5, today=today, instance_ids=ids)
        board.top_growers = [(g, database_page_url(g.instance_id, g.database_name)) for g in growers]
        board.soonest_limits = [(g, database_page_url(g.instance_id, g.database_name)) for g in soonest]
        board.partitions = _partitions(today)
    if user.has_perm("classification.view_accountclassificationassignment"):
        board.classifications = list(classification_selectors.classifications_with_counts(visible=visible))
        board.classification_chart = _classification_chart(today, visible)
        additions = classification_selectors.high_risk_additions(since=now - dt.timedelta(days=7), visible=visible)
        board.high_risk = list(additions[:LIST_ROWS])
        board.high_risk_total = additions.count()
    board.links = {
        "failed_records": _admin_url(
            "sync_sessions_syncinstancerecord_changelist", query="status__exact=failed&completed_at__recent=1"
        ),
        "partial_records": _admin_url(
            "sync_sessions_syncinstancerecord_changelist", query="status__exact=partial&completed_at__recent=1"
        ),
        "sessions": _admin_url("sync_sessions_syncsession_changelist"),
        "schedules": _admin_url("django_q_schedule_changelist"),
        "top_growers": _admin_url("capacity_top_growers"),
        "high_risk": _admin_url(
            "classification_accountclassificationhistory_changelist", query="action__exact=add&changed_at__recent=7"
        ),
        "accounts": _admin_url("accounts_instanceaccount_changelist"),
        "stats": _admin_url("classification_classificationdailystat_changelist"),
    }
    return board

