from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InstancesConfig(AppConfig):
    name = "instances"
    verbose_name = "Instances"

    def ready(self) -> None:
        from whalefall.roles import groups_after_migrate

        post_migrate.connect(groups_after_migrate)
