from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CapacityConfig(AppConfig):
    name = "capacity"
    verbose_name = "Capacity"

    def ready(self) -> None:
        from capacity.partitions import partitions_ensure_after_migrate

        post_migrate.connect(partitions_ensure_after_migrate, sender=self)
