"""The default classifications (is_system) and one rule per engine each (classification/defaults.py)."""

from django.db import migrations

from classification.defaults import CLASSIFICATIONS


def load(apps, schema_editor):
    Classification = apps.get_model("classification", "AccountClassification")
    Rule = apps.get_model("classification", "ClassificationRule")
    known = set(apps.get_model("instances", "DatabaseType").objects.values_list("name", flat=True))
    for code, (name, risk, color, priority, description, rules) in CLASSIFICATIONS.items():
        classification, _ = Classification.objects.get_or_create(
            code=code,
            defaults={"name": name, "risk_level": risk, "color": color, "priority": priority,
                      "description": description, "is_system": True},
        )  # fmt: skip
        for db_type, expression in rules.items():
            if db_type in known:
                Rule.objects.get_or_create(
                    classification=classification, db_type_id=db_type, name=f"{name} ({db_type})",
                    defaults={"expression": expression},
                )  # fmt: skip


def unload(apps, schema_editor):
    apps.get_model("classification", "AccountClassification").objects.filter(
        code__in=list(CLASSIFICATIONS), is_system=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("classification", "0003_assignment_why"),
        ("instances", "0005_printable_names"),
    ]

    operations = [migrations.RunPython(load, unload)]
