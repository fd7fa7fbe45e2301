"""The default classification "No password policy" (classification/defaults.py) with one rule per engine:
a login whose engine reports that new passwords are not checked against a policy."""

from django.db import migrations

from classification.defaults import CLASSIFICATIONS

CODE = "no_password_policy"


def load(apps, schema_editor):
    Classification = apps.get_model("classification", "AccountClassification")
    Rule = apps.get_model("classification", "ClassificationRule")
    # rules are named after the engine's display name, like the others since 0009
    display = dict(apps.get_model("instances", "DatabaseType").objects.values_list("name", "display_name"))
    name, risk, color, priority, description, rules = CLASSIFICATIONS[CODE]
    classification, _ = Classification.objects.get_or_create(
        code=CODE,
        defaults={"name": name, "risk_level": risk, "color": color, "priority": priority,
                  "description": description, "is_system": True},
    )
    for db_type, expression in rules.items():
        if db_type in display:
            Rule.objects.get_or_create(
                classification=classification, db_type_id=db_type, name=f"{name} ({display[db_type]})",
                defaults={"expression": expression},
            )


def unload(apps, schema_editor):
    apps.get_model("classification", "AccountClassification").objects.filter(code=CODE, is_system=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("classification", "0009_palette_colours_rule_names"),
    ]

    operations = [migrations.RunPython(load, unload)]
