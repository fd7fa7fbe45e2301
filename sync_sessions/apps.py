from django.apps import AppConfig


class SyncSessionsConfig(AppConfig):
    name = "sync_sessions"
    verbose_name = "Sync sessions"
