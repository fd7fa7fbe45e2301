"""Database-level ON DELETE for every foreign key of this app that declares CASCADE or
SET_NULL (Django enforces on_delete in Python only; see whalefall/db/operations.py)."""

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [
        ('sync_sessions', '0002_session_unit'),
        ('instances', '0004_foreign_keys_on_delete'),
    ]

    operations = [
        ForeignKeyOnDelete('syncsession', 'created_by', 'SET NULL'),
        ForeignKeyOnDelete('syncinstancerecord', 'session', 'CASCADE'),
        ForeignKeyOnDelete('syncinstancerecord', 'instance', 'CASCADE'),
    ]
