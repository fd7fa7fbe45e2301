"""One command from a fresh clone to a console with data; safe to run again."""

import argparse
import getpass
import os
import secrets
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
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


class _RefusePassword(argparse.Action):
    """``--password`` (gone): refused without repeating the value."""

    def __call__(self, parser, namespace, values, option_string=None):
        raise CommandError(
            "--password is not accepted: a password on the command line is seen by every process on the machine "
            "and kept in the shell's history. Use --password-env VAR, or answer the prompt."
        )


class Command(BaseCommand):
    help = (
        "Migrate, create partitions, schedules and groups, create the admin user and register the "
        "metadata PostgreSQL itself as a monitored instance (reused when it exists, even renamed); --demo adds the "
        "demo set. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--password-env", metavar="VAR",
            help="Set the admin password from this environment variable (a password is never taken from the "
            "command line). Without it a new admin user's password is asked for (empty: generated), or, with "
            "--no-input or no terminal, generated and printed once; an existing user's is left as it is.",
        )  # fmt: skip
        parser.add_argument(
            "--no-input", "--noinput", action="store_false", dest="interactive",
            help="Never prompt (what bin/start passes).",
        )  # fmt: skip
        parser.add_argument("--password", nargs="?", action=_RefusePassword, help=argparse.SUPPRESS)
        parser.allow_abbrev = False  # "--pass…" never means --password-env
        parser.add_argument(
            "--demo",
            choices=("yes", "no", "if-empty"),
            default="no",
            help="Add the labelled demo set (manage.py demo_data): always, never (default), or only when the "
            "database had no instance before this run (what bin/start passes).",
        )

    def handle(self, *args, username, password_env, interactive, demo: str, **options):
        password = self._password_from_env(password_env)
        call_command("migrate", interactive=False, verbosity=0)
        was_empty = not Instance.objects.exists()
        plan = partitions_ensure()
        self.stdout.write(f"partitions: {len(plan.created)} created, {len(plan.kept)} present")
        schedules_setup()
        groups_ensure()
        self._admin_user(username, password, interactive=interactive)
        instance = self._metadata_instance()
        self._first_data(instance)
        if demo == "yes" or (demo == "if-empty" and was_empty):
            call_command("demo_data", stdout=self.stdout, stderr=self.stderr)

    @staticmethod
    def _password_from_env(variable: str | None) -> str | None:
        if variable is None:
            return None
        password = os.environ.get(variable, "")
        if not password:
            raise CommandError(f"--password-env {variable}: the environment variable is not set or empty.")
        return password

    def _admin_user(self, username: str, password: str | None, *, interactive: bool) -> None:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user and not password:
            self.stdout.write(f"admin user {username!r} exists; password unchanged")
            return
        generated = False
        if password is None and interactive and sys.stdin.isatty():
            password = self._prompt(username)
        if not password:
            password, generated = secrets.token_urlsafe(12), True
        if user:
            user.set_password(password)
            user.save(update_fields=["password"])
        else:
            User.objects.create_superuser(username, f"{username}@localhost", password)
        if generated:  # shown this once: nobody else knows it
            self.stdout.write(self.style.SUCCESS(f"admin login: {username} / {password}"))
        else:
            self.stdout.write(self.style.SUCCESS(f"admin login: {username} (the password you gave)"))

    @staticmethod
    def _prompt(username: str) -> str:
        """The new admin user's password, typed twice (empty: generate one)."""
        while True:
            password = getpass.getpass(f"Password for the admin user {username!r} (empty: generate one): ")
            if not password or password == getpass.getpass("Again: "):
                return password
            sys.stderr.write("The passwords differ; again.\n")

    def _first_data(self, instance: Instance) -> None:
        """One account sync and one capacity collection of the metadata
        PostgreSQL, so the console shows real data at once. A failure is
        reported (the console still starts); the sessions record it. Both run here, with the
        account sync's re-classification: nothing is left queued for a worker."""
        for label, run in (("account sync", accounts_sync_all), ("capacity collection", capacity_collect_all)):
            record = run(instance_ids=[instance.pk]).records.get()
            if record.status in RECORD_SUCCEEDED:
                classified = record.sync_details.get("classification_status")
                after = f"; accounts classified ({classified})" if classified else ""
                partial = f" (partial: {record.error_message})" if record.status == "partial" else ""
                self.stdout.write(f"{label} of {instance.name}: {record.items_synced} item(s){after}{partial}")
            else:
                self.stderr.write(f"{label} of {instance.name} failed: {record.error_code}: {record.error_message}")

    @transaction.atomic(durable=True)
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
