"""Check that the monitoring login of one, several or all active instances can run every collector."""

from django.core.management.base import BaseCommand, CommandError

from instances.commands import add_instance_arguments, instances_from_arguments
from instances.selectors import instances_check_privileges
from whalefall.errors import describe


class Command(BaseCommand):
    help = (
        "Check whether each instance's monitoring login can run every collector (account sync, database sizes, "
        "table sizes, and CONNECT per database where needed). One line per instance, then one line per failing "
        "check with the GRANT that fixes it. Only reads. Exits non-zero if a check failed or an instance could "
        "not be reached."
    )

    def add_arguments(self, parser):
        add_instance_arguments(parser, help_all="Every active instance (the default).")

    def handle(self, *args, instance, all, **options):
        instances = instances_from_arguments(instance=instance, all=all)
        if not instances:
            self.stdout.write("No active instances to check.")
            return
        width = max(len(i.name) for i in instances)
        failing_instances = unreachable = failing_checks = 0
        for target in instances:
            try:
                report = instances_check_privileges(instance=target)
            except Exception as exc:  # reported per instance (typed code + message), counted in the exit code
                unreachable += 1
                code, message = describe(exc)
                self.stdout.write(f"{target.name:<{width}}  FAILED  {code}: {message}")
                continue
            failures = report.failures
            if not failures:
                self.stdout.write(f"{target.name:<{width}}  ok      {len(report.checks)} checks")
                continue
            failing_instances += 1
            failing_checks += len(failures)
            self.stdout.write(f"{target.name:<{width}}  MISSING {len(failures)} of {len(report.checks)} checks")
            for check in failures:
                where = f"{check.collector} {check.target}".strip()
                self.stdout.write(f"  {where}: {check.detail}")
                if check.fix:
                    self.stdout.write(f"    {check.fix}")
        ok = len(instances) - failing_instances - unreachable
        summary = (f"{len(instances)} instance(s): {ok} ok, {failing_instances} missing privileges "
                   f"({failing_checks} check(s)), {unreachable} not reached")  # fmt: skip
        if failing_instances or unreachable:
            raise CommandError(summary)
        self.stdout.write(summary)
