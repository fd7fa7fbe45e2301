"""Sync accounts of one, several or all instances."""

from accounts.services import accounts_sync_all
from sync_sessions.commands import BatchCommand
from sync_sessions.models import RECORD_SUCCEEDED


class Command(BatchCommand):
    help = (
        "Sync the accounts and permissions of instances (inline by default, --enqueue for the cluster). An "
        "instance whose accounts changed is re-classified right after, inline too (its own classification session)."
    )

    def run_batch(self, **kwargs):
        return accounts_sync_all(**kwargs)

    def progress_note(self, record) -> str:
        details = (record.sync_details or {}) if record.status in RECORD_SUCCEEDED else {}
        notes = []
        if details.get("unchanged_listing"):
            notes.append("catalog unchanged since the last sync")
        if details.get("classification_session"):
            session = details["classification_session"][:8]
            notes.append(f"re-classified: {details.get('classification_status', '?')}, session {session}")
        return f"  ({'; '.join(notes)})" if notes else ""
