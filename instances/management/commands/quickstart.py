"""One command from a fresh clone to a console with data."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from capacity.partitions import partitions_ensure
from instances.models import Instance
from instances.services import credential_create, instance_create
from whalefall.q import schedules_setup
from whalefall.roles import groups_ensure

METADATA_INSTANCE = "whalefall-metadata"


class Command(BaseCommand):
    help = (
        "Migrate, create partitions, schedules and groups, create the admin user and register the "
        "metadata PostgreSQL itself as a monitored instance. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", help="Admin password (default: generated and printed once).")

    def handle(self, *args, username, password, **options):
        call_command("migrate", interactive=False, verbosity=0)
        plan = partitions_ensure()
        self.stdout.write(f"partitions: {len(plan.created)} created, {len(plan.kept)} present")
        schedules_setup()
        groups_ensure()
        self._admin_user(username, password)
        self._metadata_instance()
        self._first_data()

    def _admin_user(self, username: str, password: str | None) -> None:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user and not password:
            self.stdout.write(f"admin user {username!r} exists; password unchanged")
            return
        password = password or secrets.token_urlsafe(12)
        if user:
            user.set_password(password)
            user.save(update_fields=["password"])
        else:
            User.objects.create_superuser(username, f"{username}@localhost", password)
        self.stdout.write(self.style.SUCCESS(f"admin login: {username} / {password}"))

    def _first_data(self) -> None:
        """One account sync and one capacity collection of the metadata
        PostgreSQL, so the console shows real data at once. A failure is
        reported (the console still starts); the sessions record it."""
        from accounts.services import accounts_sync_all
        from capacity.services import capacity_collect_all

        instance_ids = list(Instance.objects.filter(name=METADATA_INSTANCE).values_list("pk", flat=True))
        for label, run in (("account sync", accounts_sync_all), ("capacity collection", capacity_collect_all)):
            session = run(instance_ids=instance_ids, sync_type="manual_single")
            record = session.records.get()
            if record.status == "completed":
                self.stdout.write(f"{label} of {METADATA_INSTANCE}: {record.items_synced} item(s)")
            else:
                self.stderr.write(f"{label} of {METADATA_INSTANCE} failed: {record.error_code}: {record.error_message}")

    @transaction.atomic
    def _metadata_instance(self) -> None:
        if Instance.objects.filter(name=METADATA_INSTANCE).exists():
            return
        db = settings.DATABASES["default"]
        credential = credential_create(
            name=METADATA_INSTANCE, username=db.get("USER") or "postgres", password=db.get("PASSWORD") or ""
        )
        instance_create(
            name=METADATA_INSTANCE,
            db_type="postgresql",
            host=db.get("HOST") or "127.0.0.1",
            port=int(db.get("PORT") or 5432),
            database_name=db.get("NAME") or "postgres",
            environment="development",
            description="WhaleFall's own metadata PostgreSQL, registered by quickstart.",
            credential=credential,
            tags=["whalefall"],
        )
        self.stdout.write(self.style.SUCCESS(f"registered instance {METADATA_INSTANCE}"))
