"""Upsert WhaleFall's django-q2 schedules by name (safe to run on every deploy)."""

from django.core.management.base import BaseCommand

from console.schedules import schedules_setup


class Command(BaseCommand):
    help = "Create or update the scheduled jobs (django-q2) by name."

    def handle(self, *args, **options):
        for name, created in schedules_setup():
            self.stdout.write(f"{'created' if created else 'updated'} {name}")
