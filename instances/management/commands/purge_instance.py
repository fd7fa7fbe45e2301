"""Delete instances for good, with everything recorded about them (the admin's and the API's
"delete" is a soft delete; this is the only way to remove the history)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from instances.commands import resolve_instance_ids
from instances.models import Instance
from instances.services import instances_purge


class Command(BaseCommand):
    help = (
        "Delete instances for good with their accounts, change log, capacity history, classifications, runs and "
        "alerts (deleted or not). Asks you to type each instance's name unless --yes is given; cannot be undone."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--instance", action="append", required=True, metavar="ID|NAME", help="Instance id or name; repeatable."
        )
        parser.add_argument("--yes", action="store_true", help="Do not ask (scripts).")

    def handle(self, *args, instance, yes: bool, **options):
        ids = resolve_instance_ids(instance)
        instances = list(Instance.objects.filter(pk__in=ids).order_by("name"))
        missing = sorted(set(ids) - {i.pk for i in instances})
        if missing:
            raise CommandError(f"Unknown instance id(s): {missing}")
        names = [i.name for i in instances]
        self.stdout.write("This deletes for good, with everything recorded about them: " + ", ".join(names))
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("Not purged: confirm with --yes when no one can type the names.")
            for name in names:
                typed = input(f"Type the name of the instance to purge ({name}): ")
                if typed.strip() != name:
                    raise CommandError(f"Not purged: {typed.strip()!r} is not {name!r}.")
        purged = instances_purge(instance_ids=[i.pk for i in instances])
        self.stdout.write(self.style.SUCCESS(f"Purged {purged} instance(s): {', '.join(names)}."))
