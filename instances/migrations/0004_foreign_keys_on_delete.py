"""Database-level ON DELETE for every foreign key of this app that declares CASCADE or
SET_NULL (Django enforces on_delete in Python only; see whalefall/db/operations.py)."""

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [
        ('instances', '0003_instance_sync_permission'),
    ]

    operations = [
        ForeignKeyOnDelete('instance', 'credential', 'SET NULL'),
        ForeignKeyOnDelete('instancetag', 'instance', 'CASCADE'),
        ForeignKeyOnDelete('instancetag', 'tag', 'CASCADE'),
    ]
