"""``covers_privileges`` names a privilege exactly, or a prefix when it ends in a space
(``UnreadScope.contains``): MySQL's table and routine privileges are both object-level. Help text
only; nothing changes in the database."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_accounts_fillfactor")]

    operations = [
        migrations.AlterField(
            model_name="accountunreadscope",
            name="covers_privileges",
            field=models.JSONField(db_default=[], default=list, help_text="[[level, privilege or prefix], …]"),
        ),
    ]
