"""History rows say whether an addition describes the instance's baseline (``at_baseline``, false for
every existing row): those are not high-risk additions (dashboard, alerts)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("classification", "0010_no_password_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="accountclassificationhistory",
            name="at_baseline",
            field=models.BooleanField(
                db_default=False, default=False, help_text="Found at the instance's baseline (not an addition)."
            ),
        ),
    ]
