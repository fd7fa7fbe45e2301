"""Database-level ON DELETE for every foreign key of this app that declares CASCADE or
SET_NULL (Django enforces on_delete in Python only; see whalefall/db/operations.py)."""

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):
    dependencies = [
        ('classification', '0001_initial'),
        ('accounts', '0004_foreign_keys_on_delete'),
    ]

    operations = [
        ForeignKeyOnDelete('classificationrule', 'classification', 'CASCADE'),
        ForeignKeyOnDelete('accountclassificationassignment', 'account', 'CASCADE'),
        ForeignKeyOnDelete('accountclassificationassignment', 'classification', 'CASCADE'),
        ForeignKeyOnDelete('accountclassificationassignment', 'rule', 'SET NULL'),
        ForeignKeyOnDelete('accountclassificationassignment', 'assigned_by', 'SET NULL'),
        ForeignKeyOnDelete('accountclassificationhistory', 'account', 'CASCADE'),
        ForeignKeyOnDelete('accountclassificationhistory', 'classification', 'CASCADE'),
        ForeignKeyOnDelete('accountclassificationhistory', 'rule', 'SET NULL'),
        ForeignKeyOnDelete('accountclassificationhistory', 'session', 'SET NULL'),
        ForeignKeyOnDelete('accountclassificationhistory', 'changed_by', 'SET NULL'),
        ForeignKeyOnDelete('classificationdailystat', 'classification', 'CASCADE'),
        ForeignKeyOnDelete('classificationdailystat', 'instance', 'CASCADE'),
    ]
