"""Event kinds instance_onboarded (what an instance's baseline found) and sync_partial (a run that
finished partial on an instance): model choices and the CHECKs on events and channels."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_change_log_baseline"),
        ("alerts", "0004_chat_kind_labels"),
        ("instances", "0008_port_validated_timeout_help"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="alertchannel",
            name="alert_channels_event_kinds_valid",
        ),
        migrations.RemoveConstraint(
            model_name="alertevent",
            name="alert_events_kind_valid",
        ),
        migrations.AlterField(
            model_name="alertchannel",
            name="event_kinds",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    choices=[
                        ("account_superuser", "Account became superuser"),
                        ("account_can_grant", "Account became able to grant"),
                        ("classification_high_risk", "High-risk classification added"),
                        ("capacity_limit", "Database near its size limit"),
                        ("job_failed", "Scheduled job failed"),
                        ("instance_onboarded", "Instance onboarded (what its baseline found)"),
                        ("sync_partial", "Run finished partial on an instance"),
                    ],
                    max_length=32,
                ),
                blank=True,
                db_default=[],
                default=list,
                help_text="Which kinds of event; empty: every kind.",
                size=None,
            ),
        ),
        migrations.AlterField(
            model_name="alertevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("account_superuser", "Account became superuser"),
                    ("account_can_grant", "Account became able to grant"),
                    ("classification_high_risk", "High-risk classification added"),
                    ("capacity_limit", "Database near its size limit"),
                    ("job_failed", "Scheduled job failed"),
                    ("instance_onboarded", "Instance onboarded (what its baseline found)"),
                    ("sync_partial", "Run finished partial on an instance"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddConstraint(
            model_name="alertchannel",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "event_kinds__contained_by",
                        [
                            "account_superuser",
                            "account_can_grant",
                            "classification_high_risk",
                            "capacity_limit",
                            "job_failed",
                            "instance_onboarded",
                            "sync_partial",
                        ],
                    )
                ),
                name="alert_channels_event_kinds_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="alertevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "account_superuser",
                            "account_can_grant",
                            "classification_high_risk",
                            "capacity_limit",
                            "job_failed",
                            "instance_onboarded",
                            "sync_partial",
                        ],
                    )
                ),
                name="alert_events_kind_valid",
            ),
        ),
        # backwards: events and channel choices of the new kinds go before the old CHECKs come back
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql=[
                "DELETE FROM alert_events WHERE kind IN ('instance_onboarded', 'sync_partial')",
                "UPDATE alert_channels SET event_kinds = array_remove(array_remove(event_kinds, "
                "'instance_onboarded'), 'sync_partial')",
            ],
        ),
    ]
