"""Migration operations Django lacks: range-partitioned tables and DB-level
``ON DELETE CASCADE`` foreign keys."""

from __future__ import annotations

from django.db import migrations


class CreatePartitionedModel(migrations.CreateModel):
    """CreateModel whose table is ``PARTITION BY RANGE (<partition_key>)``.

    The Django model keeps ``id`` as its primary key (admin and DRF need a
    single pk); the table gets ``PRIMARY KEY (id, <partition_key>)`` because a
    partitioned table's unique constraints must include the partition key.
    Meta constraints become table constraints and Meta indexes become
    partitioned indexes on the parent, inherited by every partition. Each
    ``cascade_fks`` field gets ``REFERENCES … ON DELETE CASCADE``.
    """

    def __init__(self, *args, partition_key: str, cascade_fks: tuple[str, ...] = (), **kwargs):
        self.partition_key = partition_key
        self.cascade_fks = tuple(cascade_fks)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        kwargs["partition_key"] = self.partition_key
        kwargs["cascade_fks"] = self.cascade_fks
        return name, args, kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        qn = schema_editor.quote_name
        pk = model._meta.pk
        key_column = model._meta.get_field(self.partition_key).column
        parts: list[str] = []
        params: list = []
        for field in model._meta.local_concrete_fields:
            definition, extra = schema_editor.column_sql(model, field)
            if field is pk:
                # the composite primary key below replaces the column's own
                definition = definition.replace(" PRIMARY KEY", "")
            suffix = field.db_type_suffix(connection=schema_editor.connection)
            if suffix:
                definition += " " + suffix
            parts.append(f"{qn(field.column)} {definition}")
            params.extend(extra)
        parts.append(f"CONSTRAINT {qn(model._meta.db_table + '_pkey')} PRIMARY KEY ({qn(pk.column)}, {qn(key_column)})")
        for constraint in model._meta.constraints:
            parts.append(constraint.constraint_sql(model, schema_editor))
        for field_name in self.cascade_fks:
            field = model._meta.get_field(field_name)
            target = field.remote_field.model._meta
            parts.append(
                f"CONSTRAINT {qn(model._meta.db_table + '_' + field.column + '_fk')} "
                f"FOREIGN KEY ({qn(field.column)}) REFERENCES {qn(target.db_table)} "
                f"({qn(target.pk.column)}) ON DELETE CASCADE"
            )
        schema_editor.execute(
            f"CREATE TABLE {qn(model._meta.db_table)} ({', '.join(parts)}) PARTITION BY RANGE ({qn(key_column)})",
            params or None,
        )
        # Partitioned indexes: created once on the parent, inherited by partitions.
        for index in model._meta.indexes:
            schema_editor.execute(index.create_sql(model, schema_editor))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(model._meta.db_table)} CASCADE")

    def describe(self):
        return f"Create range-partitioned model {self.name} on {self.partition_key}"


def cascade_fk(table: str, column: str, target: str) -> migrations.RunSQL:
    """Reversible RunSQL adding ``table.column → target(id) ON DELETE CASCADE``
    (for FK fields declared with ``db_constraint=False``)."""
    name = f"{table}_{column}_fk"
    return migrations.RunSQL(
        sql=f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" FOREIGN KEY ("{column}") '
        f'REFERENCES "{target}" ("id") ON DELETE CASCADE',
        reverse_sql=f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
    )


class ForeignKeyOnDelete(migrations.operations.base.Operation):
    """Give one foreign key the database-level ``ON DELETE`` its field declares.

    Django 5.2 enforces ``on_delete`` in Python only: its constraints are plain
    ``REFERENCES … DEFERRABLE INITIALLY DEFERRED``, so a raw ``DELETE`` (session
    cleanup, a DBA at psql) either fails or orphans rows. This operation
    replaces the field's FK constraint (same name) with one that also says
    ``ON DELETE CASCADE`` / ``ON DELETE SET NULL``; backwards it restores
    Django's plain constraint. The model state is unchanged.
    """

    reversible = True
    ACTIONS = ("CASCADE", "SET NULL")

    def __init__(self, model_name: str, field_name: str, on_delete: str):
        if on_delete not in self.ACTIONS:
            raise ValueError(f"on_delete must be one of {self.ACTIONS}, not {on_delete!r}")
        self.model_name, self.field_name, self.on_delete = model_name, field_name, on_delete

    def deconstruct(self):
        return self.__class__.__name__, [], {
            "model_name": self.model_name, "field_name": self.field_name, "on_delete": self.on_delete
        }

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, to_state, f" ON DELETE {self.on_delete}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, from_state, "")

    def _replace(self, app_label, schema_editor, state, on_delete_sql: str) -> None:
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        field = model._meta.get_field(self.field_name)
        qn = schema_editor.quote_name
        names = schema_editor._constraint_names(model, [field.column], foreign_key=True)
        if not names and schema_editor.deferred_sql:
            # a table created earlier in this migration gets its FKs at the end: create them now
            for statement in schema_editor.deferred_sql:
                schema_editor.execute(statement)
            schema_editor.deferred_sql = []
            names = schema_editor._constraint_names(model, [field.column], foreign_key=True)
        if len(names) != 1:
            raise ValueError(f"{model._meta.db_table}.{field.column}: expected one foreign key, found {names}")
        (name,) = names
        target = field.target_field
        schema_editor.execute(
            f"ALTER TABLE {qn(model._meta.db_table)} DROP CONSTRAINT {qn(name)}, "
            f"ADD CONSTRAINT {qn(name)} FOREIGN KEY ({qn(field.column)}) "
            f"REFERENCES {qn(target.model._meta.db_table)} ({qn(target.column)}){on_delete_sql} "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def describe(self):
        return f"ON DELETE {self.on_delete} in the database for {self.model_name}.{self.field_name}"
