"""Add (or remove) the labelled demo set: inactive ``demo-…`` instances with history."""

from django.core.management.base import BaseCommand

from console.demo import HISTORY_DAYS, demo_data_load, demo_data_remove


class Command(BaseCommand):
    help = (
        f"Add the demo set (inactive demo-… instances tagged 'demo': {HISTORY_DAYS} days of sizes with a step "
        "change and their roll-ups, accounts with changes, classifications, a run with a failure), unless present; "
        "--remove deletes it. The real instances are never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--remove", action="store_true", help="Delete the demo set.")

    def handle(self, *args, remove: bool, **options):
        if remove:
            count = demo_data_remove()
            self.stdout.write(f"demo data: {count} demo instance(s) and everything recorded about them deleted")
            return
        load = demo_data_load()
        names = ", ".join(i.name for i in load.instances)
        if load.created:
            self.stdout.write(self.style.SUCCESS(f"demo data: added {names} (manage.py demo_data --remove deletes it)"))
        else:
            self.stdout.write(f"demo data: present already ({names}); nothing written")
