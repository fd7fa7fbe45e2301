"""The team scopes' link tables (Django's own for Scope.tags/users/groups, which the admin's
choosers edit): ON DELETE CASCADE in the database like every other foreign key, and no index
on scope_id alone — the unique (scope_id, x) index Django creates serves those lookups."""

from django.db import migrations

from whalefall.db.operations import ForeignKeyOnDelete

LINK_TABLES = ("instance_scopes_tags", "instance_scopes_users", "instance_scopes_groups")

TABLE_LIST = ", ".join(f"'{table}'" for table in LINK_TABLES)
DROP_SCOPE_ONLY_INDEXES = f"""
DO $$
DECLARE redundant regclass;
BEGIN
    FOR redundant IN
        SELECT i.indexrelid::regclass FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = ANY(ARRAY[{TABLE_LIST}]::regclass[]) AND NOT i.indisunique AND i.indnatts = 1
          AND a.attname = 'scope_id'
    LOOP
        EXECUTE format('DROP INDEX %s', redundant);
    END LOOP;
END $$;
"""

CREATE_SCOPE_ONLY_INDEXES = "".join(
    f'CREATE INDEX "{table}_scope_id" ON "{table}" (scope_id);' for table in LINK_TABLES
)


class Migration(migrations.Migration):
    dependencies = [("instances", "0009_team_scopes")]

    operations = [
        ForeignKeyOnDelete("scope_tags", "scope", "CASCADE"),
        ForeignKeyOnDelete("scope_tags", "tag", "CASCADE"),
        ForeignKeyOnDelete("scope_users", "scope", "CASCADE"),
        ForeignKeyOnDelete("scope_users", "user", "CASCADE"),
        ForeignKeyOnDelete("scope_groups", "scope", "CASCADE"),
        ForeignKeyOnDelete("scope_groups", "group", "CASCADE"),
        migrations.RunSQL(DROP_SCOPE_ONLY_INDEXES, reverse_sql=CREATE_SCOPE_ONLY_INDEXES),
    ]
