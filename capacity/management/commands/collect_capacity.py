"""Collect the database sizes of one, several or all active instances."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from capacity.services import capacity_collect_all
from sync_sessions.commands import add_instance_arguments, resolve_instance_ids, validation_message
from sync_sessions.reporting import progress_line, summary_table


class Command(BaseCommand):
    help = "Collect today's database sizes of instances (inline by default, --enqueue for the cluster)."

    def add_arguments(self, parser):
        add_instance_arguments(parser)

    def handle(self, *args, instance, all, enqueue, **options):
        if instance and all:
            raise CommandError("Use either --instance or --all.")
        instance_ids = resolve_instance_ids(instance)
        finished = []

        def progress(record):
            finished.append(record)
            line = progress_line(record, len(finished))
            if record.status == "completed" and (record.sync_details or {}).get("zero_databases"):
                line += "  (zero databases)"
            self.stdout.write(line)

        try:
            session = capacity_collect_all(
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
