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
    # plain SQL: the ORM collector would look at related tables already dropped
    schema_editor.execute("DELETE FROM database_types WHERE name = ANY(%s)", [[t[0] for t in DATABASE_TYPES]])


class Migration(migrations.Migration):
    dependencies = [("instances", "0001_initial")]
    operations = [
        migrations.RunPython(seed, unseed),
        # Django adds a varchar_pattern_ops twin to a CharField primary key; nothing
        # here runs LIKE on database_types.name, so the twin is a duplicate index.
        migrations.RunSQL(
            sql="""
            DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT indexrelid::regclass::text AS name FROM pg_index
                       WHERE indrelid = 'database_types'::regclass
                         AND pg_get_indexdef(indexrelid) LIKE '%varchar_pattern_ops%'
              LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP;
            END $$;
            """,
            reverse_sql="CREATE INDEX database_types_name_like ON database_types (name varchar_pattern_ops)",
        ),
    ]
