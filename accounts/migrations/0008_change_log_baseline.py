"""The change type ``baseline``: the first successful sync of an instance writes one row for the
instance instead of one ``add`` row per account (accounts.models.AccountChangeLog); at most one per
instance. Existing instances keep their ``add`` rows (their first sync happened before)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_unread_scopes"),
        ("instances", "0008_port_validated_timeout_help"),
        ("sync_sessions", "0008_console_names"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="accountchangelog",
            name="account_change_log_type_valid",
        ),
        migrations.AlterField(
            model_name="accountchangelog",
            name="change_type",
            field=models.CharField(
                choices=[
                    ("baseline", "Baseline"),
                    ("add", "Added"),
                    ("modify", "Modified"),
                    ("remove", "Removed"),
                    ("reactivate", "Reactivated"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="accountchangelog",
            constraint=models.CheckConstraint(
                condition=models.Q(("change_type__in", ["baseline", "add", "modify", "remove", "reactivate"])),
                name="account_change_log_type_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="accountchangelog",
            constraint=models.UniqueConstraint(
                condition=models.Q(("change_type", "baseline")),
                fields=("instance",),
                name="account_change_log_one_baseline",
            ),
        ),
        # backwards: baseline rows go before the old CHECK comes back
        migrations.RunSQL(
            migrations.RunSQL.noop, reverse_sql="DELETE FROM account_change_log WHERE change_type = 'baseline'"
        ),
    ]
