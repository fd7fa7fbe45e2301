"""Test the connection to one, several or all active instances."""

from django.core.management.base import BaseCommand, CommandError

from instances.commands import add_instance_arguments, instances_from_arguments
from instances.services import instance_test_connection
from whalefall.errors import describe


class Command(BaseCommand):
    help = (
        "Connect to instances (default: every active one), store their server version and print one line each: "
        "'ok <version> <latency>' or 'FAILED <code> <message>'. Exits non-zero if any failed."
    )

    def add_arguments(self, parser):
        add_instance_arguments(parser, help_all="Every active instance (the default).")

    def handle(self, *args, instance, all, **options):
        instances = instances_from_arguments(instance=instance, all=all)
        if not instances:
            self.stdout.write("No active instances to test.")
            return
        failed = 0
        width = max(len(i.name) for i in instances)
        for target in instances:
            try:
                result = instance_test_connection(instance=target)
            except Exception as exc:  # reported per instance (typed code + message), counted in the exit code
                failed += 1
                code, message = describe(exc)
                self.stdout.write(f"{target.name:<{width}}  FAILED  {code}: {message}")
            else:
                self.stdout.write(f"{target.name:<{width}}  ok      {result.version}  ({result.latency_ms:.1f} ms)")
        if failed:
            raise CommandError(f"{failed} of {len(instances)} instance(s) failed the connection test")
