from django.apps import AppConfig


class SyncSessionsConfig(AppConfig):
    name = "sync_sessions"
    verbose_name = "Sync sessions"

    def ready(self) -> None:
        # the batch checks on /api/v1/instances/, before any URL conf is built
        from sync_sessions.api.views import register_instance_actions

        register_instance_actions()
