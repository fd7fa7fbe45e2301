"""Refresh the per-table sizes of one database, or of every active database of an instance."""

from django.core.management.base import BaseCommand, CommandError

from capacity.services import table_sizes_refresh
from instances.commands import resolve_instance_ids
from instances.models import Instance
from whalefall.errors import WhalefallError, describe


class Command(BaseCommand):
    help = (
        "Collect per-table sizes now (synchronously) and replace the stored snapshot. Without --database, "
        "every active database of the instance's inventory (run collect_capacity first)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--instance", required=True, metavar="ID|NAME", help="Instance id or name.")
        parser.add_argument("--database", metavar="NAME", help="One database (default: all active ones).")

    def handle(self, *args, instance, database, **options):
        (instance_id,) = resolve_instance_ids([instance])
        target = Instance.objects.filter(pk=instance_id, deleted_at__isnull=True).first()
        if target is None:
            raise CommandError(f"Unknown or deleted instance: {instance}")
        names = [database] if database else list(
            target.databases.filter(is_active=True).order_by("name").values_list("name", flat=True)
        )
        if not names:
            raise CommandError(f"{target.name} has no active databases in its inventory; run collect_capacity first.")
        failed = 0
        for index, name in enumerate(names, 1):
            try:
                result = table_sizes_refresh(instance=target, database=name)
            except WhalefallError as exc:
                failed += 1
                code, message = describe(exc)
                self.stdout.write(f"[{index}/{len(names)}] {name}: FAILED  {code}: {message}")
                continue
            self.stdout.write(
                f"[{index}/{len(names)}] {name}: ok  tables={result.tables} created={result.created} "
                f"updated={result.updated} deleted={result.deleted} elapsed_ms={result.elapsed_ms}"
            )
        if failed:
            raise CommandError(f"{failed} of {len(names)} database(s) failed; their previous snapshots are kept.")
