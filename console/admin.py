"""What the console does to the admins other packages register: each is put on the console's
unfold base (so every page, users and django-q2 included, shares one look), and django-q2's
schedule list gets readable columns and "Run now" (through ``console.jobs.job_run``, so a run
already going is not doubled)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.utils.html import format_html
from django_q.admin import ScheduleAdmin as DjangoQScheduleAdmin
from django_q.models import Schedule
from django_q.tasks import async_task
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from console.schedules import JOBS
from whalefall.admin_tools import ModelAdmin, prose


@admin.action(description="Run now (in the task cluster)", permissions=["change"])
def run_now(modeladmin, request, queryset):
    names = [name for name in queryset.values_list("name", flat=True) if name in JOBS]
    for name in names:
        async_task("console.jobs.job_run", name, task_name=f"{name}-now", group="run-now")
    others = queryset.exclude(name__in=names).count()
    modeladmin.message_user(request, f"Started {len(names)} job(s): {', '.join(names) or '-'}.", messages.SUCCESS)
    if others:
        modeladmin.message_user(request, f"{others} schedule(s) are not WhaleFall jobs; not started.", messages.WARNING)


def _on_console_base(model, **attrs) -> None:
    """Re-register ``model``'s admin as a subclass of its own class and the console's base,
    with ``attrs`` (a shorter ``list_display``) on top."""
    registered = admin.site._registry.get(model)
    if registered is None:
        return
    base = type(registered)
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (base, ModelAdmin), {"__module__": __name__, **attrs}))


@admin.display(description="Result")
def _task_result(task) -> str:
    return prose(str(task.result), limit=120)


class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


for _model, _admin in ((User, UserAdmin), (Group, GroupAdmin)):
    if _model in admin.site._registry:
        admin.site.unregister(_model)
    admin.site.register(_model, _admin)


class ScheduleAdmin(DjangoQScheduleAdmin, ModelAdmin):
    """django-q2's schedules: what runs when, and how its last run went."""

    list_display = ("name", "when", "next_run", "last_run", "last_success")
    list_display_links = ("name",)
    actions = (run_now,)

    @admin.display(description="When", ordering="cron")
    def when(self, schedule: Schedule) -> str:
        if schedule.cron:
            return format_html("<code>{}</code>", schedule.cron)
        return schedule.get_schedule_type_display()

    @admin.display(description="Last run")
    def last_run(self, schedule: Schedule) -> str:
        return self.get_last_run(schedule) or "-"

    @admin.display(description="Last run succeeded", boolean=True)
    def last_success(self, schedule: Schedule) -> bool | None:
        return schedule.task_success


if Schedule in admin.site._registry:
    admin.site.unregister(Schedule)
admin.site.register(Schedule, ScheduleAdmin)
# the columns that fit a list; the rest (user agents, task ids, arguments) are on each row's page
_LIST_DISPLAY = {
    "django_q.Success": ("name", "func", "started", "time_taken"),
    "django_q.Failure": ("name", "func", "started", _task_result),
    "django_q.OrmQ": ("name", "func", "lock"),
    "authtoken.TokenProxy": None,
    "axes.AccessAttempt": ("attempt_time", "username", "ip_address", "path_info", "failures_since_start"),
    "axes.AccessLog": ("attempt_time", "logout_time", "username", "ip_address", "path_info"),
    "axes.AccessFailureLog": ("attempt_time", "username", "ip_address", "path_info", "locked_out"),
}
for _model in [m for m in admin.site._registry if m._meta.label in _LIST_DISPLAY]:
    _columns = _LIST_DISPLAY[_model._meta.label]
    _on_console_base(_model, **({"list_display": _columns} if _columns else {}))
