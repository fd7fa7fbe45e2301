"""Pre-create monthly partitions and drop those past the retention."""

from django.core.management.base import BaseCommand, CommandError

from capacity.partitions import partitions_ensure
from whalefall.errors import WhalefallError


class Command(BaseCommand):
    help = "Create monthly partitions of the capacity fact tables ahead of time and drop expired ones."

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=None, help="Months to create after the current one.")
        parser.add_argument(
            "--retain-months", type=int, default=None, help="Months of history to keep before the current one."
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")

    def handle(self, *args, ahead, retain_months, dry_run, **options):
        try:
            plan = partitions_ensure(ahead=ahead, retain_months=retain_months, dry_run=dry_run)
        except (WhalefallError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        prefix = "would " if dry_run else ""
        for p in plan.created:
            self.stdout.write(f"{prefix}create {p.name} [{p.start}, {p.end})")
        for p in plan.dropped:
            self.stdout.write(f"{prefix}drop   {p.name} [{p.start}, {p.end})")
        summary = f"{len(plan.created)} to create, {len(plan.dropped)} to drop" if dry_run else (
            f"created {len(plan.created)}, dropped {len(plan.dropped)}"
        )
        self.stdout.write(self.style.SUCCESS(f"{summary}, {len(plan.kept)} kept"))
