"""Database-level ON DELETE for the event's user (Django enforces on_delete in Python only; see
whalefall/db/operations.py): deleting a user keeps their events, with the username."""

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        ForeignKeyOnDelete("auditevent", "user", "SET NULL"),
    ]
