"""One command from a fresh clone to a console with data; safe to run again."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import accounts_sync_all
from capacity.partitions import partitions_ensure
from capacity.services import capacity_collect_all
from console.roles import groups_ensure
from console.schedules import schedules_setup
from instances.models import Credential, Instance
from instances.services import credential_create, credential_update, instance_create, instance_update
from sync_sessions.models import RECORD_SUCCEEDED

METADATA_INSTANCE = "whalefall-metadata"


class Command(BaseCommand):
    help = (
        "Migrate, create partitions, schedules and groups, create the admin user and register the "
        "metadata PostgreSQL itself as a monitored instance (reused when it exists, even renamed); --demo adds the "
        "demo set. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", help="Admin password (default: generated and printed once).")
        parser.add_argument(
            "--demo",
            choices=("yes", "no", "if-empty"),
            default="no",
            help="Add the labelled demo set (manage.py demo_data): always, never (default), or only when the "
            "database had no instance before this run (what bin/start passes).",
        )

    def handle(self, *args, username, password, demo: str, **options):
        call_command("migrate", interactive=False, verbosity=0)
        was_empty = not Instance.objects.exists()
        plan = partitions_ensure()
        self.stdout.write(f"partitions: {len(plan.created)} created, {len(plan.kept)} present")
        schedules_setup()
        groups_ensure()
        self._admin_user(username, password)
        instance = self._metadata_instance()
        self._first_data(instance)
        if demo == "yes" or (demo == "if-empty" and was_empty):
            call_command("demo_data", stdout=self.stdout, stderr=self.stderr)

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

    def _first_data(self, instance: Instance) -> None:
        """One account sync and one capacity collection of the metadata
        PostgreSQL, so the console shows real data at once. A failure is
        reported (the console still starts); the sessions record it."""
        for label, run in (("account sync", accounts_sync_all), ("capacity collection", capacity_collect_all)):
            record = run(instance_ids=[instance.pk]).records.get()
            if record.status in RECORD_SUCCEEDED:
                self.stdout.write(f"{label} of {instance.name}: {record.items_synced} item(s)")
            else:
                self.stderr.write(f"{label} of {instance.name} failed: {record.error_code}: {record.error_message}")

    @transaction.atomic
    def _metadata_instance(self) -> Instance:
        """The instance that monitors the metadata database: found by name, else
        by its connection (renamed), else restored (soft-deleted), else created.
        Its connection is brought up to date (the embedded server's socket may move)."""
        db = settings.DATABASES["default"]
        connection = {
            "db_type": "postgresql",
            "host": db.get("HOST") or "127.0.0.1",
            "port": int(db.get("PORT") or 5432),
            "database_name": db.get("NAME") or "postgres",
        }
        username, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
        live = Instance.objects.filter(deleted_at__isnull=True).select_related("credential")
        instance = live.filter(name=METADATA_INSTANCE).first() or live.filter(**connection).order_by("pk").first()
        restore = instance is None
        if restore:
            instance = Instance.objects.filter(name=METADATA_INSTANCE).select_related("credential").first()
        if instance is not None:
            credential = self._credential(instance, username, password)
            state = {"deleted_at": None, "is_active": True} if restore else {}
            instance_update(instance=instance, credential=credential, **state, **connection)
            how = "restoring deleted" if restore else "reusing"
            self.stdout.write(f"{how} instance {instance.name} (id {instance.pk}) for the metadata PostgreSQL")
            return instance
        credential = self._credential(None, username, password)
        instance = instance_create(
            name=METADATA_INSTANCE,
            environment="development",
            description="WhaleFall's own metadata PostgreSQL, registered by quickstart.",
            credential=credential,
            tags=["whalefall"],
            **connection,
        )
        self.stdout.write(self.style.SUCCESS(f"registered instance {instance.name} (id {instance.pk})"))
        return instance

    def _credential(self, instance: Instance | None, username: str, password: str) -> Credential:
        """The metadata login: the instance's own credential, else the one named like the
        instance, updated (and said so); a credential other instances share is kept as it is."""
        credential = (instance.credential if instance else None) or Credential.objects.filter(
            name=METADATA_INSTANCE
        ).first()
        if credential is None:
            return credential_create(name=METADATA_INSTANCE, username=username, password=password)
        if credential.instances.exclude(pk=instance.pk if instance else None).exists():
            self.stdout.write(f"keeping credential {credential.name} (id {credential.pk}): other instances use it")
            return credential
        self.stdout.write(f"reusing credential {credential.name} (id {credential.pk})")
        return credential_update(credential=credential, username=username, password=password)
