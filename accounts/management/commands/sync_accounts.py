"""Sync accounts of one, several or all instances."""

from accounts.services import accounts_sync_all
from sync_sessions.commands import BatchCommand
from sync_sessions.models import RECORD_SUCCEEDED


class Command(BatchCommand):
    help = "Sync the accounts and permissions of instances (inline by default, --enqueue for the cluster)."

    def run_batch(self, **kwargs):
        return accounts_sync_all(**kwargs)

    def progress_note(self, record) -> str:
        unchanged = record.status in RECORD_SUCCEEDED and (record.sync_details or {}).get("unchanged_listing")
        return "  (catalog unchanged since the last sync)" if unchanged else ""
