"""The base class of the batch commands (sync_accounts, collect_capacity, …)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from instances.commands import add_instance_arguments, resolve_instance_ids, validation_message
from sync_sessions.models import SessionStatus, SyncInstanceRecord, SyncSession
from sync_sessions.reporting import progress_line, summary_table


class BatchCommand(BaseCommand):
    """A batch command (sync_accounts, collect_capacity): --instance/--all/--enqueue,
    a progress line per instance, a summary table, non-zero exit when any failed.
    Subclasses implement ``run_batch(instance_ids=…, enqueue=…, progress=…)`` by
    calling their one service."""

    def run_batch(self, **kwargs) -> SyncSession:
        raise NotImplementedError

    def progress_note(self, record: SyncInstanceRecord) -> str:
        """Extra text after an instance's progress line (default: none)."""
        return ""

    def add_arguments(self, parser):
        add_instance_arguments(parser)
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand the work to the qcluster instead of running here."
        )

    def handle(self, *args, instance, all, enqueue, **options):
        if instance and all:
            raise CommandError("Use either --instance or --all.")
        instance_ids = resolve_instance_ids(instance)
        finished = []

        def progress(record):
            finished.append(record)
            self.stdout.write(progress_line(record, len(finished)) + self.progress_note(record))

        try:
            session = self.run_batch(instance_ids=instance_ids, enqueue=enqueue, progress=progress)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        if enqueue:
            self.stdout.write(enqueued_message(session))
            return
        self.stdout.write(summary_table(session))
        if session.status == SessionStatus.CANCELLED:
            raise CommandError(f"cancelled: {session.cancelled_instances} of {session.total_instances} instance(s) "
                               "not run")  # fmt: skip
        if session.status != SessionStatus.COMPLETED:
            raise CommandError(f"{session.failed_instances} of {session.total_instances} instance(s) failed")


def enqueued_message(session: SyncSession) -> str:
    """What a command that handed ``session`` to the task cluster says: what it queued, and that
    nothing runs until a ``qcluster`` takes it."""
    return (
        f"queued session {session.session_id}: {session.get_sync_category_display().lower()} of "
        f"{session.total_instances} instance(s), one task each for the task cluster. Nothing runs until a "
        "worker takes them: a `manage.py qcluster` must be running (work still queued after "
        f"{settings.WHALEFALL['SESSION_REAP_AFTER_MINUTES']} minutes is failed by the reaper)."
    )
