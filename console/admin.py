"""What the console adds to django-q2's schedule admin: "Run now" (through ``console.jobs.job_run``,
so a run already going is not doubled). django-q2's list shows each schedule's cron, next run
and last run with its outcome."""

from __future__ import annotations

from django.contrib import admin, messages
from django_q.models import Schedule
from django_q.tasks import async_task

from console.schedules import JOBS


@admin.action(description="Run now (in the task cluster)", permissions=["change"])
def run_now(modeladmin, request, queryset):
    names = [name for name in queryset.values_list("name", flat=True) if name in JOBS]
    for name in names:
        async_task("console.jobs.job_run", name, task_name=f"{name}-now", group="run-now")
    others = queryset.exclude(name__in=names).count()
    modeladmin.message_user(request, f"Started {len(names)} job(s): {', '.join(names) or '-'}.", messages.SUCCESS)
    if others:
        modeladmin.message_user(request, f"{others} schedule(s) are not WhaleFall jobs; not started.", messages.WARNING)


schedule_admin = admin.site._registry.get(Schedule)
if schedule_admin is not None:
    schedule_admin.actions = (*(schedule_admin.actions or ()), run_now)
