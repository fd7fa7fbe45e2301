"""Schedules: cron strings (defaults, overridden by WHALEFALL_SCHEDULES), upserted by name,
run through console.jobs.job_run — once at a time per job — and "Run now" in the admin."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse
from django_q.models import Schedule

from console import jobs
from console.schedules import JOBS, job_crons, next_run_at, schedules_setup
from whalefall.db.locks import _namespace_key

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "whalefall.partitions": "30 0 * * *", "whalefall.accounts": "0 1 * * *", "whalefall.classification": "0 2 * * *",
    "whalefall.capacity": "0 3 * * *", "whalefall.aggregation": "0 4 * * *", "whalefall.sessions": "0 5 * * *",
    "whalefall.audit": "30 5 * * *",
    "whalefall.alerts": "*/5 * * * *", "whalefall.alerts_digest": "0 7 * * *",
}  # fmt: skip


def test_default_crons_and_overrides(settings):
    assert job_crons() == DEFAULTS
    settings.WHALEFALL_SCHEDULES = {"whalefall.capacity": "30 2 * * 1-5"}
    assert job_crons()["whalefall.capacity"] == "30 2 * * 1-5"
    settings.WHALEFALL_SCHEDULES = {"whalefall.capacity": "at three"}
    with pytest.raises(ImproperlyConfigured, match="whalefall.capacity: 'at three' is not a cron string"):
        job_crons()
    settings.WHALEFALL_SCHEDULES = {"whalefall.nope": "0 1 * * *"}
    with pytest.raises(ImproperlyConfigured, match="unknown jobs"):
        job_crons()


def test_next_run_follows_the_cron_in_local_time(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    now = dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)  # 00:00 in Berlin, the night DST starts
    assert next_run_at("30 0 * * *", now=now).isoformat() == "2026-03-29T00:30:00+01:00"


def test_setup_upserts_cron_schedules_by_name(settings):
    schedules_setup()
    settings.WHALEFALL_SCHEDULES = {"whalefall.accounts": "15 1 * * *"}
    schedules_setup()
    rows = {s.name: s for s in Schedule.objects.filter(name__startswith="whalefall.")}
    assert set(rows) == set(JOBS)
    accounts = rows["whalefall.accounts"]
    assert (accounts.func, accounts.args, accounts.schedule_type, accounts.cron) == (
        "console.jobs.job_run", "('whalefall.accounts',)", Schedule.CRON, "15 1 * * *",
    )  # fmt: skip


def test_a_job_already_running_elsewhere_is_skipped(monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, "import_string", lambda path: lambda: calls.append(path) or "ran")
    assert jobs.job_run("whalefall.sessions") == "ran"
    settings_dict = connection.settings_dict
    other = psycopg.connect(host=settings_dict["HOST"], port=settings_dict["PORT"], user=settings_dict["USER"],
                            dbname=settings_dict["NAME"], autocommit=True)  # fmt: skip
    try:  # another cluster's worker holds the job's lock
        other.execute("SELECT pg_advisory_lock(%s, 0)", [_namespace_key("console.job:whalefall.sessions")])
        result = jobs.job_run("whalefall.sessions")
    finally:
        other.close()
    assert result == {"skipped": "Scheduled job whalefall.sessions is already running; try again when it has finished."}
    assert calls == ["sync_sessions.tasks.sessions_maintenance"]  # the second start ran nothing


def test_run_now_from_the_admin(admin_client_logged_in, monkeypatch):
    started = []
    monkeypatch.setattr("console.admin.async_task", lambda func, name, **kw: started.append((func, name)))
    schedules_setup()
    pk = Schedule.objects.get(name="whalefall.sessions").pk
    response = admin_client_logged_in.post(
        reverse("admin:django_q_schedule_changelist"), {"action": "run_now", "_selected_action": [pk]}, follow=True
    )
    assert response.status_code == 200 and started == [("console.jobs.job_run", "whalefall.sessions")]
    assert "Started 1 job(s): whalefall.sessions." in response.content.decode()
