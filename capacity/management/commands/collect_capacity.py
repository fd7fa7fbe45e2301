"""Collect the database sizes of one, several or all active instances."""

from capacity.services import capacity_collect_all
from sync_sessions.commands import BatchCommand
from sync_sessions.models import RECORD_SUCCEEDED


class Command(BatchCommand):
    help = "Collect today's database sizes of instances (inline by default, --enqueue for the cluster)."

    def run_batch(self, **kwargs):
        return capacity_collect_all(**kwargs)

    def progress_note(self, record) -> str:
        details = (record.sync_details or {}) if record.status in RECORD_SUCCEEDED else {}
        notes = []
        if details.get("zero_databases"):
            notes.append("zero databases")
        if details.get("incomplete"):
            notes.append(f"incomplete sizes: {', '.join(details['incomplete'])}")
        return f"  ({'; '.join(notes)})" if notes else ""
