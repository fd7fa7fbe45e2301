"""The who-can index: one row per effective privilege of each account (accounts.models.PrivilegeEntry),
filled from the stored facts of every existing account, in SQL. The account sync writes the same
rows from the same privileges in Python (accounts/encoding.py:copy_entries); a test holds the two
equal (tests/accounts/test_who_can.py::test_the_migration_backfill_writes_what_the_sync_writes)."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

from whalefall.db.operations import ForeignKeyOnDelete


BACKFILL = r"""
INSERT INTO account_privilege_entries
    (account_id, ordinal, instance_id, privilege, level, target, grantable, state, via, via_set_role, implied_by,
     pattern_prefix, pattern_suffix)
SELECT e.account_id, e.n, e.instance_id, upper(e.x->>'privilege'), e.x->>'level', e.target,
       coalesce(e.x->'grantable' = 'true', false),
       CASE WHEN e.x->>'state' = 'DENY' THEN 'DENY' ELSE 'GRANT' END,
       CASE WHEN jsonb_typeof(e.x->'via') = 'array' AND e.x->'via' <> '[]'
            THEN ARRAY(SELECT jsonb_array_elements_text(e.x->'via')) ELSE '{}' END,
       coalesce(e.x->'via_set_role' = 'true', false),
       CASE WHEN jsonb_typeof(e.x->'implied_by') = 'string' THEN e.x->>'implied_by' END,
       CASE WHEN e.pattern THEN regexp_replace(substring(e.target FROM '^(([^%_\\]|\\.)*)'), '\\(.)', '\1', 'g') END,
       -- the text after the last wildcard: remove every (literals, wildcard) run from the start
       CASE WHEN e.pattern
            THEN regexp_replace(regexp_replace(e.target, '^(([^%_\\]|\\.)*[%_])*', ''), '\\(.)', '\1', 'g') END
FROM (
    SELECT p.instance_account_id AS account_id, a.instance_id, x.n, x.x,
           CASE WHEN jsonb_typeof(x.x->'target') = 'string' THEN x.x->>'target' ELSE '' END AS target,
           i.db_type = 'mysql' AND x.x->>'level' = 'database' AND x.x->>'target' ~ '[%_\\]' AS pattern
    FROM account_permissions p
    JOIN instance_accounts a ON a.id = p.instance_account_id
    JOIN instances i ON i.id = a.instance_id
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(p.facts->'privileges') = 'array' THEN p.facts->'privileges' ELSE '[]' END
    ) WITH ORDINALITY AS x(x, n)
) e
WHERE jsonb_typeof(e.x) = 'object' AND jsonb_typeof(e.x->'privilege') = 'string'
  AND e.x->>'level' IN ('global', 'database', 'schema', 'object', 'column')
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_console_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='PrivilegeEntry',
            fields=[
                ('pk', models.CompositePrimaryKey('account_id', 'ordinal', blank=True, editable=False, primary_key=True, serialize=False)),
                ('ordinal', models.PositiveIntegerField(help_text="Position in the account's facts.privileges, from 1.")),
                ('instance_id', models.BigIntegerField(help_text="The account's instance (a copy: see the class docstring).")),
                ('privilege', models.TextField(help_text='Upper case, as in the facts (DELETE, ALL, CONTROL, …).')),
                ('level', models.CharField(choices=[('global', 'Global'), ('database', 'Database'), ('schema', 'Schema'), ('object', 'Object'), ('column', 'Column')], max_length=8)),
                ('target', models.TextField(blank=True, db_collation='C', help_text="'' for global.")),
                ('grantable', models.BooleanField()),
                ('state', models.CharField(choices=[('GRANT', 'Grant'), ('DENY', 'Deny')], max_length=5)),
                ('via', django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), blank=True, help_text='Role path, the role holding the grant last.', size=None)),
                ('via_set_role', models.BooleanField()),
                ('implied_by', models.TextField(blank=True, null=True)),
                ('pattern_prefix', models.TextField(blank=True, db_collation='C', null=True)),
                ('pattern_suffix', models.TextField(blank=True, db_collation='C', null=True)),
                ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='privilege_entries', to='accounts.instanceaccount')),
            ],
            options={
                'db_table': 'account_privilege_entries',
                'indexes': [models.Index(fields=['privilege', 'target'], include=('instance_id', 'account_id', 'level', 'grantable', 'state', 'via_set_role', 'implied_by', 'via'), name='privilege_entries_on_idx'), models.Index(condition=models.Q(('pattern_prefix__isnull', False)), fields=['privilege', 'pattern_prefix', 'pattern_suffix'], include=('target', 'instance_id', 'account_id', 'level', 'grantable', 'state', 'via_set_role', 'implied_by', 'via'), name='privilege_entries_pattern_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('level__in', ['global', 'database', 'schema', 'object', 'column'])), name='privilege_entries_level_valid'), models.CheckConstraint(condition=models.Q(('state__in', ['GRANT', 'DENY'])), name='privilege_entries_state_valid')],
            },
        ),
        ForeignKeyOnDelete('privilegeentry', 'account', 'CASCADE'),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
