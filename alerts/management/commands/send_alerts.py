"""Detect alert conditions and send the pending alerts now (what the 5-minute schedule does)."""

from django.core.management.base import BaseCommand, CommandError

from alerts.services import alerts_preview, alerts_run
from whalefall.errors import WhalefallError


class Command(BaseCommand):
    help = (
        "Detect new alert conditions since the last run and send the immediate channels' pending alerts "
        "(--digest: the daily digests instead; --dry-run: only say what would be recorded and sent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="record and send nothing")
        parser.add_argument("--digest", action="store_true", help="send the digest channels' digests now")

    def handle(self, *args, dry_run=False, digest=False, **options):
        if dry_run:
            detected, due = alerts_preview()
            per_channel = ", ".join(f"{name}: {n}" for name, n in sorted(due.items())) or "none"
            self.stdout.write(f"dry run: {detected.new} new events; would send {sum(due.values())} ({per_channel})")
            return
        try:
            detected, delivered = alerts_run(digest=digest)
        except WhalefallError as exc:
            raise CommandError(exc.message) from exc
        for outcome in delivered.channels:
            if outcome.error:
                self.stderr.write(f"  {outcome.channel}: {outcome.events} events not sent: {outcome.error}")
        self.stdout.write(
            f"alerts: {detected.new} new events, {detected.cleared} cleared; "
            f"{delivered.sent} sent, {delivered.failed} failed on {len(delivered.channels)} channels"
        )
        if delivered.failed:
            raise CommandError(f"{delivered.failed} alerts not sent (retried on the next run)")
