"""Fail sessions stuck in ``queued`` or ``running`` and delete sessions past the retention."""

import datetime as dt

from django.core.management.base import BaseCommand

from sync_sessions.services import sessions_cleanup, sessions_reap


class Command(BaseCommand):
    help = "Mark sessions stuck in 'queued' or 'running' as failed; with --cleanup also delete old finished sessions."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes", type=int, default=None, help="Reap sessions queued or running longer than this."
        )
        parser.add_argument("--cleanup", action="store_true", help="Also delete finished sessions past retention.")
        parser.add_argument("--retention-days", type=int, default=None, help="Retention for --cleanup.")

    def handle(self, *args, older_than_minutes, cleanup, retention_days, **options):
        older_than = dt.timedelta(minutes=older_than_minutes) if older_than_minutes is not None else None
        reaped = sessions_reap(older_than=older_than)
        self.stdout.write(f"reaped {reaped} stuck session(s)")
        if cleanup:
            deleted = sessions_cleanup(older_than_days=retention_days)
            self.stdout.write(f"deleted {deleted} old session(s)")
