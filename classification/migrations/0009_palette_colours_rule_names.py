"""The built-in classifications take colours people tell apart on the charts (two of them were
almost the same red), and the built-in rules are named after the engine's display name
("Superuser (MySQL / MariaDB)", not the internal "(mysql)"). Only rows still as migration 0004
made them change: a colour or a name someone edited stays."""

from django.db import migrations

#: code → (colour migration 0004 gave it, the palette colour it takes)
COLOURS = {
    "superuser": ("#b02a37", "#D55E00"),
    "can_grant": ("#dc3545", "#E69F00"),
    "ddl_anywhere": ("#fd7e14", "#CC79A7"),
    "write_delete": ("#ffc107", "#0072B2"),
    "public_grants": ("#6f42c1", "#56B4E9"),
}


def _rules(apps):
    Rule = apps.get_model("classification", "ClassificationRule")
    display = dict(apps.get_model("instances", "DatabaseType").objects.values_list("name", "display_name"))
    for rule in Rule.objects.select_related("classification").filter(classification__is_system=True):
        yield rule, f"{rule.classification.name} ({rule.db_type_id})", f"{rule.classification.name} ({display[rule.db_type_id]})"


def forward(apps, schema_editor):
    Classification = apps.get_model("classification", "AccountClassification")
    for code, (old, new) in COLOURS.items():
        Classification.objects.filter(code=code, is_system=True, color__iexact=old).update(color=new)
    for rule, seeded, readable in _rules(apps):
        if rule.name == seeded:
            rule.name = readable
            rule.save(update_fields=["name"])


def backward(apps, schema_editor):
    Classification = apps.get_model("classification", "AccountClassification")
    for code, (old, new) in COLOURS.items():
        Classification.objects.filter(code=code, is_system=True, color__iexact=new).update(color=old)
    for rule, seeded, readable in _rules(apps):
        if rule.name == readable:
            rule.name = seeded
            rule.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("classification", "0008_console_names"),
        ("instances", "0008_port_validated_timeout_help"),
    ]

    operations = [migrations.RunPython(forward, backward)]
