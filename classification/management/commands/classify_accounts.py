"""Auto-classify the accounts of one, several or all active instances."""

from classification.services import classification_auto_classify
from sync_sessions.commands import BatchCommand
from sync_sessions.models import RECORD_SUCCEEDED


class Command(BatchCommand):
    help = (
        "Evaluate the active classification rules for the accounts of instances and update the automatic "
        "assignments (manual ones are never touched). Inline by default, --enqueue for the cluster."
    )

    def run_batch(self, **kwargs):
        return classification_auto_classify(**kwargs)

    def progress_note(self, record) -> str:
        details = (record.sync_details or {}) if record.status in RECORD_SUCCEEDED else {}
        notes = [details["note"]] if details.get("no_rules") else []
        notes += [f"rule {e['rule']!r} is invalid, skipped: {e['error']}" for e in details.get("rule_errors", [])]
        return "".join(f"\n    {note}" for note in notes)
