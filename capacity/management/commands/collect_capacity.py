"""Collect the database sizes of one, several or all active instances."""

from capacity.services import capacity_collect_all
from sync_sessions.commands import BatchCommand


class Command(BatchCommand):
    help = "Collect today's database sizes of instances (inline by default, --enqueue for the cluster)."

    def run_batch(self, **kwargs):
        return capacity_collect_all(**kwargs)

    def progress_note(self, record) -> str:
        zero = record.status == "completed" and (record.sync_details or {}).get("zero_databases")
        return "  (zero databases)" if zero else ""
