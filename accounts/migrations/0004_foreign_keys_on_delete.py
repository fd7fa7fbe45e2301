"""Database-level ON DELETE for every foreign key of this app that declares CASCADE or
SET_NULL (Django enforces on_delete in Python only; see whalefall/db/operations.py)."""

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0003_account_listing'),
        ('sync_sessions', '0003_foreign_keys_on_delete'),
    ]

    operations = [
        ForeignKeyOnDelete('instanceaccount', 'instance', 'CASCADE'),
        ForeignKeyOnDelete('accountpermission', 'instance_account', 'CASCADE'),
        ForeignKeyOnDelete('accountlisting', 'instance', 'CASCADE'),
        ForeignKeyOnDelete('accountchangelog', 'instance', 'CASCADE'),
        ForeignKeyOnDelete('accountchangelog', 'instance_account', 'SET NULL'),
        ForeignKeyOnDelete('accountchangelog', 'session', 'SET NULL'),
    ]
