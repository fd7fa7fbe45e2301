from django.db import migrations

DATABASE_TYPES = [
    ("mysql", "MySQL / MariaDB", 3306),
    ("postgresql", "PostgreSQL", 5432),
    ("sqlserver", "SQL Server", 1433),
    ("oracle", "Oracle", 1521),
]


def seed(apps, schema_editor):
    DatabaseType = apps.get_model("instances", "DatabaseType")
    for name, display_name, port in DATABASE_TYPES:
        DatabaseType.objects.update_or_create(
            name=name, defaults={"display_name": display_name, "default_port": port, "enabled": True}
        )


def unseed(apps, schema_editor):
    apps.get_model("instances", "DatabaseType").objects.filter(name__in=[t[0] for t in DATABASE_TYPES]).delete()


class Migration(migrations.Migration):
    dependencies = [("instances", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
