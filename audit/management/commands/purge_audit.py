"""manage.py purge_audit [--days N]: delete audit events older than N days
(default WHALEFALL_AUDIT_RETENTION_DAYS; the daily schedule does the same)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.services import audit_purge


class Command(BaseCommand):
    help = "Delete audit events older than the retention (WHALEFALL_AUDIT_RETENTION_DAYS, or --days)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="keep this many days (default: the setting)")

    def handle(self, *args, days: int | None, **options):
        days = settings.WHALEFALL["AUDIT_RETENTION_DAYS"] if days is None else days
        if days < 1:
            if options["days"] is not None:
                raise CommandError("--days must be at least 1")
            self.stdout.write("WHALEFALL_AUDIT_RETENTION_DAYS is 0: audit events are kept forever")
            return
        before = timezone.now() - dt.timedelta(days=days)
        deleted = audit_purge(before=before)
        self.stdout.write(f"deleted {deleted} audit event(s) older than {days} day(s) (before {before:%Y-%m-%d %H:%M})")
