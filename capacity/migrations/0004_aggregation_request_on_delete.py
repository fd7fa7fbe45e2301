# Django creates foreign keys at the end of a migration: the ON DELETE rule is set in the next one.

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete


class Migration(migrations.Migration):

    dependencies = [
        ('capacity', '0003_aggregation'),
    ]

    operations = [
        ForeignKeyOnDelete('aggregationrequest', 'session', 'CASCADE'),
    ]
