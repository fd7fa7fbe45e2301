"""Sync accounts of one, several or all instances."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import accounts_sync_all
from sync_sessions.commands import add_instance_arguments, resolve_instance_ids, validation_message
from sync_sessions.reporting import progress_line, summary_table


class Command(BaseCommand):
    help = "Sync the accounts and permissions of instances (inline by default, --enqueue for the cluster)."

    def add_arguments(self, parser):
        add_instance_arguments(parser)

    def handle(self, *args, instance, all, enqueue, **options):
        if instance and all:
            raise CommandError("Use either --instance or --all.")
        instance_ids = resolve_instance_ids(instance)
        finished = []

        def progress(record):
            finished.append(record)
            self.stdout.write(progress_line(record, len(finished)))

        try:
            session = accounts_sync_all(
                instance_ids=instance_ids,
                sync_type="manual_single" if instance_ids and len(instance_ids) == 1 else "manual_batch",
                enqueue=enqueue,
                progress=progress,
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        if enqueue:
            self.stdout.write(f"enqueued session {session.session_id} ({session.total_instances} instance(s))")
            return
        self.stdout.write(summary_table(session))
        if session.status != "completed":
            raise CommandError(f"{session.failed_instances} of {session.total_instances} instance(s) failed")
