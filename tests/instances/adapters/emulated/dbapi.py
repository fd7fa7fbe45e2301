"""The part both emulators share: documented catalog → DuckDB tables, the mechanical
translation of a statement into DuckDB's dialect, and a DB-API 2.0 connection that
executes the adapter's statements on the emulated catalog.

Only mechanical rewriting happens between the adapter's SQL and what DuckDB runs
(see README.md): sqlglot's dialect transpilation, plus three spellings DuckDB has no
equivalent for, each replaced by a call to an emulated function of the same meaning:

- T-SQL ``CONVERT(<char type>, <binary>, 1|2)`` (binary → hex text, the documented
  styles) → ``tsql_convert_binary(<binary>, <style>)``;
- T-SQL ``@@NAME`` → ``tsql_global_name()``;
- Oracle's ``USER`` (a function written like a column) → ``ora_user()``.

Joins, filters, CASE, GROUP BY and ORDER BY run exactly as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from tests.instances.adapters import sqlcheck
from tests.instances.adapters.statements import bind_names, output_columns, tag_of

# Documented type (as printed in catalog/*.json) → DuckDB type of the emulated column.
_SQLSERVER_TYPES = {
    **dict.fromkeys(("sysname", "nvarchar", "varchar", "char", "nchar"), "VARCHAR"),
    "tinyint": "SMALLINT",  # 0..255: DuckDB's TINYINT is signed
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "bit": "BOOLEAN",
    "datetime": "TIMESTAMP",
    **dict.fromkeys(("varbinary", "binary"), "BLOB"),
    "uniqueidentifier": "UUID",
    "numeric": "DECIMAL(38,0)",
}
_ORACLE_TYPES = {
    **dict.fromkeys(("VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR", "VARCHAR"), "VARCHAR"),
    "NUMBER": "BIGINT",  # every NUMBER column read here is integral (python-oracledb returns int)
    "DATE": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMPTZ",
    "RAW": "BLOB",
}


class EmulatorError(AssertionError):
    """The emulator cannot run what it was given (not a server error: a test setup problem)."""


def duckdb_type(engine: sqlcheck.Engine, documented: str) -> str:
    base = re.match(r"[A-Za-z_0-9]+", documented.strip())
    key = base.group(0) if base else ""
    table = _ORACLE_TYPES if engine.dialect == "oracle" else _SQLSERVER_TYPES
    key = key.upper() if engine.dialect == "oracle" else key.lower()
    if key not in table:
        raise EmulatorError(f"No emulated type for documented type {documented!r}")
    return table[key]


def columns_at(catalog: sqlcheck.Catalog, view: str, version: str) -> dict[str, str]:
    """The documented columns of ``view`` that exist on ``version`` → their DuckDB types."""
    return {
        column: duckdb_type(catalog.engine, entry["type"])
        for column, entry in catalog.views[view].items()
        if not sqlcheck.newer(entry["since"], version)
    }


def create_table(duck: duckdb.DuckDBPyConnection, qualified: str, columns: Mapping[str, str]) -> None:
    body = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
    duck.execute(f"CREATE TABLE {qualified} ({body})")


def insert(duck: duckdb.DuckDBPyConnection, qualified: str, values: Mapping[str, Any]) -> None:
    """One catalog row; columns not given are NULL (an unknown column is an error, like on the server)."""
    names = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("?" for _ in values)
    duck.execute(f"INSERT INTO {qualified} ({names}) VALUES ({marks})", list(values.values()))


# --- translation ------------------------------------------------------------------------------------


def _mechanical(dialect: str) -> Callable[[exp.Expression], exp.Expression]:
    def rewrite(node: exp.Expression) -> exp.Expression:
        if dialect == "tsql":
            if isinstance(node, exp.Convert) and node.args.get("style") is not None:
                target = node.this
                if isinstance(target, exp.DataType) and target.is_type(*exp.DataType.TEXT_TYPES):
                    return exp.Anonymous(this="tsql_convert_binary", expressions=[node.expression, node.args["style"]])
                raise EmulatorError(f"CONVERT with a style to {target.sql('tsql')} is not emulated")
            if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Parameter):  # @@NAME
                return exp.Anonymous(this=f"tsql_global_{node.this.name.lower()}", expressions=[])
        if (dialect == "oracle" and isinstance(node, exp.Column) and not node.table and not node.this.quoted
                and node.name.upper() == "USER"):  # fmt: skip
            return exp.Anonymous(this="ora_user", expressions=[])
        return node

    return rewrite


@functools.lru_cache(maxsize=1024)
def translate(statement: str, dialect: str) -> str:
    """The statement in DuckDB's dialect (mechanical rewriting only, see the module doc)."""
    tree = sqlglot.parse_one(statement, read=dialect)
    return tree.transform(_mechanical(dialect)).sql(dialect="duckdb")


def referenced_tables(statement: str, dialect: str) -> list[exp.Table]:
    return list(sqlglot.parse_one(statement, read=dialect).find_all(exp.Table))


# --- DB-API 2.0 -----------------------------------------------------------------------------------------


class EmulatedCursor:
    def __init__(self, connection: EmulatedConnection):
        self.connection = connection
        self.description: list[tuple] | None = None
        self.arraysize = 100
        self.rowcount = -1
        self._rows: list[tuple] = []

    def execute(self, statement: str, params: Any = None) -> None:
        connection = self.connection
        if connection.closed:
            raise EmulatorError("execute on a closed connection")
        connection.executed.append((statement, params))
        injected = connection.server.failures.get(tag_of(statement))
        if injected is not None:  # a driver or server failure that executing catalog SQL cannot produce
            raise injected
        connection.server.before_statement(connection, statement)  # may raise the driver's error
        engine = connection.server.engine
        binds = self._binds(statement, params)
        result = connection.duck.execute(translate(statement, engine.dialect), binds)
        names = output_columns(statement, engine.dialect)  # the driver's naming rule
        if len(result.description) != len(names):
            raise EmulatorError(f"{len(result.description)} result columns, the statement names {len(names)}")
        rows = result.fetchall()
        mismatches = sqlcheck.type_mismatches(engine, statement, [dict(zip(names, row, strict=True)) for row in rows])
        if mismatches:
            raise EmulatorError(f"the emulated catalog returned values the driver would not: {mismatches[:3]}")
        self._rows = rows
        self.description = [(name, None, None, None, None, None, None) for name in names]
        self.rowcount = len(rows)

    def _binds(self, statement: str, params: Any) -> dict[str, Any] | None:
        placeholders = bind_names(statement, self.connection.server.engine.dialect)
        if self.connection.server.engine.dialect == "oracle":
            given = dict(params or {})
            if set(given) != placeholders:
                raise EmulatorError(f"bind variables {sorted(given)} for placeholders {sorted(placeholders)}")
            return given or None
        if params:
            raise EmulatorError(f"parameters {params!r} for a statement without placeholders")
        return None

    def fetchall(self) -> list[tuple]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def close(self) -> None:
        pass


class EmulatedConnection:
    """A session on an emulated server: its own DuckDB connection (current database, session variables)."""

    def __init__(self, server: Any, duck: duckdb.DuckDBPyConnection, *, login: str, database: str, **attributes):
        self.server = server
        self.duck = duck
        self.login = login
        self.database = database
        self.executed: list[tuple[str, Any]] = []
        self.closed = False
        self.call_timeout = 0
        for name, value in attributes.items():
            setattr(self, name, value)

    @property
    def statements(self) -> list[str]:
        return [statement for statement, _ in self.executed]

    def cursor(self) -> EmulatedCursor:
        return EmulatedCursor(self)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.duck.close()
