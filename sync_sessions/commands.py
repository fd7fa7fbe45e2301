"""Shared option handling and the base class of the batch commands (sync_accounts, collect_capacity, …)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from instances.models import Instance
from sync_sessions.models import SyncInstanceRecord, SyncSession
from sync_sessions.reporting import progress_line, summary_table


def add_instance_arguments(parser) -> None:
    parser.add_argument(
        "--instance", action="append", default=[], metavar="ID|NAME", help="Instance id or name; repeatable."
    )
    parser.add_argument("--all", action="store_true", help="Every active instance (the default without --instance).")
    parser.add_argument("--enqueue", action="store_true", help="Hand the work to the qcluster instead of running here.")


def resolve_instance_ids(values: list[str]) -> list[int] | None:
    """Ids for ``--instance`` values (ids or names); None means all active."""
    if not values:
        return None
    ids, names = [], []
    for value in values:
        (ids if value.isdigit() else names).append(int(value) if value.isdigit() else value)
    by_name = dict(Instance.objects.filter(name__in=names).values_list("name", "pk"))
    unknown = sorted(set(names) - by_name.keys())
    if unknown:
        raise CommandError(f"Unknown instance name(s): {', '.join(unknown)}")
    return ids + list(by_name.values())


def validation_message(exc: ValidationError) -> str:
    return "; ".join(" ".join(m) for m in exc.message_dict.values()) if hasattr(exc, "error_dict") else str(exc)


class BatchCommand(BaseCommand):
    """A batch command (sync_accounts, collect_capacity): --instance/--all/--enqueue,
    a progress line per instance, a summary table, non-zero exit when any failed.
    Subclasses implement ``run_batch(**options)`` by calling their one service."""

    def run_batch(self, **kwargs) -> SyncSession:
        raise NotImplementedError

    def progress_note(self, record: SyncInstanceRecord) -> str:
        """Extra text after an instance's progress line (default: none)."""
        return ""

    def add_arguments(self, parser):
        add_instance_arguments(parser)

    def handle(self, *args, instance, all, enqueue, **options):
        if instance and all:
            raise CommandError("Use either --instance or --all.")
        instance_ids = resolve_instance_ids(instance)
        finished = []

        def progress(record):
            finished.append(record)
            self.stdout.write(progress_line(record, len(finished)) + self.progress_note(record))

        try:
            session = self.run_batch(
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
