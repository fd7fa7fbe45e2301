"""Schema checks read pg_catalog / information_schema, never model attributes.

One test per item of the upstream model review (seed 000), named after it.
"""

import re

import pytest
from django.db import IntegrityError, connection, transaction

from capacity.partitions import PARTITIONED_TABLES

pytestmark = [pytest.mark.schema, pytest.mark.django_db]

WHALEFALL_TABLES_PREFIXES = (
    "database_types", "credentials", "tags", "instance", "account", "sync_", "database_", "classification",
    "alert_", "audit_",
)


WHALEFALL_APPS = ("audit", "instances", "sync_sessions", "accounts", "capacity", "classification", "alerts")


def rows(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def constraint_columns(table, contype):
    """{constraint name: [columns in order]} for one table and constraint type."""
    result = rows(
        """
        SELECT c.conname, array_agg(a.attname ORDER BY k.ord)
        FROM pg_constraint c
        CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.conrelid = %s::regclass AND c.contype = %s
        GROUP BY c.conname
        """,
        [table, contype],
    )
    return {name: list(cols) for name, cols in result}


def index_signatures(table):
    """Index "shapes" of a table: (columns/expressions, unique, predicate), names stripped."""
    result = rows(
        """
        SELECT i.indisunique, pg_get_indexdef(i.indexrelid), pg_get_expr(i.indpred, i.indrelid)
        FROM pg_index i WHERE i.indrelid = %s::regclass
        """,
        [table],
    )
    shapes = []
    for unique, definition, predicate in result:
        columns = re.search(r"USING \w+ \((.*)\)", definition).group(1)
        columns = re.sub(r"\) WHERE .*", "", columns)
        # an opclass twin (name varchar_pattern_ops) duplicates the plain index for our purposes
        columns = re.sub(r" \w+_pattern_ops", "", columns)
        shapes.append((columns, unique, predicate))
    return shapes


def whalefall_tables():
    return [
        name
        for (name,) in rows(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            """
        )
        if name.startswith(WHALEFALL_TABLES_PREFIXES)
    ]


def test_p0_partitioned_fact_tables_have_primary_key_including_partition_key():
    for table, key in PARTITIONED_TABLES.items():
        (kind,) = rows("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])[0]
        assert kind == "p", f"{table} is not partitioned"
        (strategy, key_column) = rows(
            """
            SELECT p.partstrat, a.attname FROM pg_partitioned_table p
            JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
            WHERE p.partrelid = %s::regclass
            """,
            [table],
        )[0]
        assert (strategy, key_column) == ("r", key)
        assert list(constraint_columns(table, "p").values()) == [["id", key]]
        identity = rows(
            "SELECT is_identity FROM information_schema.columns WHERE table_name = %s AND column_name = 'id'",
            [table],
        )
        assert identity == [("YES",)]


def test_p0_partitioned_fact_tables_have_instance_fk_on_delete_cascade():
    for table in [*PARTITIONED_TABLES, "database_size_current", "database_table_size_stats", "instance_databases"]:
        fks = rows(
            """
            SELECT a.attname, c.confrelid::regclass::text, c.confdeltype
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.conrelid = %s::regclass AND c.contype = 'f'
            """,
            [table],
        )
        assert ("instance_id", "instances", "c") in fks, f"{table}: {fks}"


def test_p0_partitioned_business_key_is_unique_and_includes_partition_key():
    expected = {
        "database_size_stats": ["instance_id", "database_name", "collected_date"],
        "instance_size_stats": ["instance_id", "collected_date"],
        "database_size_aggregations": ["instance_id", "database_name", "period_type", "period_start"],
        "instance_size_aggregations": ["instance_id", "period_type", "period_start"],
    }
    for table, columns in expected.items():
        assert columns in constraint_columns(table, "u").values(), table


def test_p0_account_permissions_one_row_per_account_indexed_no_redundant_identity():
    columns = {c for (c,) in rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'account_permissions'"
    )}
    assert "instance_account_id" in columns
    assert not columns & {"instance_id", "db_type", "username"}, "redundant identity columns"
    # exactly one unique constraint, on instance_account_id alone: one row per account, and its index serves lookups
    assert list(constraint_columns("account_permissions", "u").values()) == [["instance_account_id"]]
    fks = rows(
        """SELECT confrelid::regclass::text FROM pg_constraint
           WHERE conrelid = 'account_permissions'::regclass AND contype = 'f'"""
    )
    assert fks == [("instance_accounts",)]
    # whether the planner *can* use an index, not whether the table's current statistics (an empty,
    # analysed table costs nothing to scan) make it prefer one: sequential scans off for this query
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT * FROM account_permissions WHERE instance_account_id = 42")
        plan = "\n".join(r[0] for r in cursor.fetchall())
    assert "account_permissions_instance_account_id" in plan or "Index" in plan, plan


def test_accounts_leave_room_for_heap_only_updates_of_last_seen():
    # every sync rewrites last_seen_at of each active account: half-empty pages keep those updates
    # off the indexes (accounts/migrations/0009_accounts_fillfactor.py)
    assert rows("SELECT reloptions FROM pg_class WHERE oid = 'instance_accounts'::regclass") == [(["fillfactor=50"],)]
    # an index on the column (in its keys, an expression or a partial index's condition) would
    # rule heap-only updates out
    definitions = rows("SELECT indexdef FROM pg_indexes WHERE tablename = 'instance_accounts'")
    assert definitions and not [d for (d,) in definitions if "last_seen_at" in d]


def test_p0_account_permissions_rejects_second_row_for_account(instance):
    from accounts.models import AccountPermission, InstanceAccount

    account = InstanceAccount.objects.create(instance=instance, username="app")
    AccountPermission.objects.create(instance_account=account)
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountPermission.objects.create(instance_account=account)


def test_p0_sync_sessions_insert_without_status_gets_queued_and_passes_check():
    from sync_sessions.models import SessionStatus, SyncSession

    (status,) = rows(
        "INSERT INTO sync_sessions (sync_type, sync_category) VALUES ('scheduled', 'account') RETURNING status"
    )[0]
    assert status == "queued"
    (column_default,) = rows(
        """SELECT column_default FROM information_schema.columns
           WHERE table_name = 'sync_sessions' AND column_name = 'status'"""
    )[0]
    assert column_default.startswith("'queued'")
    # the ORM default is the same value, and the CHECK allows exactly the ORM choices
    assert SyncSession(sync_type="scheduled", sync_category="account").status == status
    (check,) = rows(
        """SELECT pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = 'sync_sessions'::regclass AND conname = 'sync_sessions_status_valid'"""
    )[0]
    assert set(re.findall(r"'(\w+)'", check)) == set(SessionStatus.values)
    with pytest.raises(IntegrityError), transaction.atomic():
        rows("INSERT INTO sync_sessions (sync_type, sync_category, status) VALUES ('scheduled', 'account', 'pending')")


def test_p0_choice_checks_match_orm_choices_everywhere():
    from django.apps import apps

    checked = 0
    for model in apps.get_models():
        if model._meta.app_label not in WHALEFALL_APPS:
            continue
        defs = [d for (d,) in rows(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
            [model._meta.db_table],
        )]
        for field in model._meta.concrete_fields:
            if not field.choices:
                continue
            matching = [d for d in defs if re.search(rf"\b{field.column}\b", d) and "ANY" in d]
            assert matching, f"{model._meta.db_table}.{field.column} has choices but no CHECK"
            assert set(re.findall(r"'(\w+)'", matching[0])) == {v for v, _ in field.choices}
            checked += 1
    assert checked >= 10


def test_p0_orm_defaults_equal_database_defaults():
    from django.apps import apps
    from django.db.models.expressions import Value

    compared = 0
    for model in apps.get_models():
        if model._meta.app_label not in WHALEFALL_APPS:
            continue
        db_defaults = dict(rows(
            "SELECT column_name, column_default FROM information_schema.columns WHERE table_name = %s",
            [model._meta.db_table],
        ))
        for field in model._meta.concrete_fields:
            if not field.has_default() or callable(field.default) or field.primary_key:
                continue
            assert field.has_db_default(), f"{model.__name__}.{field.name}: ORM default without DB default"
            assert db_defaults[field.column] is not None, f"{model._meta.db_table}.{field.column} has no DB default"
            db_value = field.db_default.value if isinstance(field.db_default, Value) else field.db_default
            assert db_value == field.default, f"{model.__name__}.{field.name}"
            compared += 1
    assert compared >= 15


def test_p0_no_triggers_anywhere():
    triggers = rows(
        """
        SELECT t.tgrelid::regclass::text, t.tgname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal AND n.nspname = current_schema()
        """
    )
    assert triggers == []


def test_p1_each_partition_has_exactly_the_parents_indexes():
    for table in PARTITIONED_TABLES:
        parent = sorted(index_signatures(table))
        partitions = rows(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", [table]
        )
        assert partitions, f"{table} has no partitions (post_migrate should pre-create them)"
        for (partition,) in partitions:
            assert sorted(index_signatures(partition)) == parent, partition
            # every partition index is attached to a parent (partitioned) index: nothing hand-made
            loose = rows(
                """
                SELECT i.indexrelid::regclass::text FROM pg_index i
                WHERE i.indrelid = %s::regclass
                  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
                """,
                [partition],
            )
            assert loose == [], partition


def test_p1_no_duplicate_indexes_anywhere():
    for table in whalefall_tables():
        shapes = index_signatures(table)
        column_lists = [(cols, pred) for cols, _unique, pred in shapes]
        duplicates = {c for c in column_lists if column_lists.count(c) > 1}
        assert not duplicates, f"{table}: duplicate indexes on {duplicates}"
        # a plain index that is a leading prefix of another index is redundant too
        for cols, unique, pred in shapes:
            if unique or pred:
                continue
            longer = [o for o, _u, p in shapes if o != cols and not p and o.startswith(cols + ",")]
            assert not longer, f"{table}: index ({cols}) is a prefix of {longer}"


def test_p1_tags_have_one_unique_and_no_duplicate_index():
    assert sorted(index_signatures("tags")) == [("id", True, None), ("name", True, None)]


def test_p1_credentials_have_no_instance_list_and_instances_credential_is_fk():
    columns = {c for (c,) in rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'credentials'"
    )}
    assert not [c for c in columns if "instance" in c]
    assert "password" not in columns and "password_encrypted" in columns
    fk = rows(
        """
        SELECT c.confrelid::regclass::text FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.conrelid = 'instances'::regclass AND c.contype = 'f' AND a.attname = 'credential_id'
        """
    )
    assert fk == [("credentials",)]


def test_p1_classification_assignments_cannot_hold_duplicates(instance):
    from accounts.models import InstanceAccount
    from classification.models import AccountClassification, AccountClassificationAssignment

    uniques = list(constraint_columns("account_classification_assignments", "u").values())
    assert uniques == [["account_id", "classification_id"]]
    nullable = dict(rows(
        """SELECT column_name, is_nullable FROM information_schema.columns
           WHERE table_name = 'account_classification_assignments'"""
    ))
    assert nullable["account_id"] == nullable["classification_id"] == "NO"
    account = InstanceAccount.objects.create(instance=instance, username="app")
    cls = AccountClassification.objects.create(code="dup-check", name="Duplicate check")
    AccountClassificationAssignment.objects.create(account=account, classification=cls, source="manual")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountClassificationAssignment.objects.create(account=account, classification=cls, source="auto")


def test_p1_every_timestamp_column_is_timestamptz():
    naive = rows(
        """
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND data_type = 'timestamp without time zone'
        """
    )
    assert naive == []
    aware = rows(
        """SELECT count(*) FROM information_schema.columns
           WHERE table_schema = current_schema() AND data_type = 'timestamp with time zone'"""
    )[0][0]
    assert aware > 20


def test_p2_every_db_type_column_references_database_types():
    columns = rows(
        """
        SELECT c.table_name FROM information_schema.columns c
        JOIN pg_class t ON t.relname = c.table_name AND NOT t.relispartition
        WHERE c.table_schema = current_schema() AND c.column_name = 'db_type'
        """
    )
    assert len(columns) >= 3
    for (table,) in columns:
        fk = rows(
            """
            SELECT c.confrelid::regclass::text, fa.attname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
            WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = 'db_type'
            """,
            [table],
        )
        assert fk == [("database_types", "name")], table
    seeded = {name for (name,) in rows("SELECT name FROM database_types")}
    assert {"mysql", "postgresql", "sqlserver", "oracle"} <= seeded


# --- foreign keys: the database does what the model says on delete --------------------------------------------------
# pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default
EXPECTED_ON_DELETE = {"CASCADE": "c", "SET_NULL": "n", "PROTECT": "a", "DO_NOTHING": "c"}


def test_every_foreign_key_has_its_on_delete_in_the_database():
    """CASCADE → ON DELETE CASCADE and SET_NULL → ON DELETE SET NULL in pg_constraint, for
    every FK of every WhaleFall model (seed 001 § 外键关系). The only DO_NOTHING FKs are
    the capacity tables', whose constraint is created by the migration with ON DELETE
    CASCADE (db_constraint=False: the database owns the cascade over the history)."""
    from django.apps import apps

    actual = {
        (table, column): (deltype, target)
        for table, column, deltype, target in rows(
            """
            SELECT c.conrelid::regclass::text, a.attname, c.confdeltype, c.confrelid::regclass::text
            FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
            """
        )
    }
    checked = 0
    for app in WHALEFALL_APPS:
        # with the link tables Django makes for a ManyToManyField (the team scopes')
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            for field in model._meta.concrete_fields:
                if not field.is_relation or field.remote_field is None:
                    continue
                rule = field.remote_field.on_delete.__name__
                if rule == "DO_NOTHING":
                    assert not field.db_constraint, f"{model.__name__}.{field.name}: DO_NOTHING with a Django FK"
                key = (model._meta.db_table, field.column)
                assert key in actual, f"{key}: no foreign key constraint in the database"
                deltype, target = actual[key]
                assert target == field.related_model._meta.db_table, key
                assert deltype == EXPECTED_ON_DELETE[rule], f"{key}: on_delete {rule} but confdeltype {deltype!r}"
                checked += 1
    assert checked >= 30  # every FK of the six apps, not a vacuous pass


def test_session_cleanup_is_one_delete_the_foreign_keys_finish(instance):
    """Deleting a session row with plain SQL removes its records and keeps the change log
    (session_id set NULL): the FKs carry the rule, no app-specific cleanup code."""
    from accounts.models import AccountChangeLog, InstanceAccount
    from sync_sessions.models import SyncInstanceRecord, SyncSession
    from sync_sessions.services import session_create

    session = session_create(sync_type="manual_single", sync_category="account", instances=[instance])
    account = InstanceAccount.objects.create(instance=instance, username="u")
    change = AccountChangeLog.objects.create(
        instance=instance, instance_account=account, username="u", change_type="add", diff={}, session=session
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sync_sessions WHERE session_id = %s", [session.session_id])
    assert not SyncSession.objects.filter(pk=session.pk).exists()
    assert not SyncInstanceRecord.objects.filter(session_id=session.session_id).exists()
    change.refresh_from_db()
    assert change.session_id is None
