from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    """The top floor: root URLs, the admin index, quickstart, schedules and the operator groups.
    It may use every app; no app uses it."""

    name = "console"
    verbose_name = "Console"

    def ready(self) -> None:
        from audit.middleware import audit_view_register
        from console.roles import groups_after_migrate

        audit_view_register("api-token", records_itself=True)  # console.views.TokenView audits its logins
        post_migrate.connect(groups_after_migrate)
