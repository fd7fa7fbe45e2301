"""A replaying DB-API 2.0 connection for the SQL Server and Oracle adapter tests.

No SQL Server or Oracle server exists here, so the adapters run against recorded
rows. To keep that from being circular, the fake does what the server would do
with the *statement*, not with the fixture:

- ``cursor.description`` is built from the output names of the statement's
  outermost SELECT (parsed with sqlglot), named the way the driver reports them:
  SQL Server (pymssql) returns an alias or column name as written, Oracle
  returns unquoted identifiers in upper case (a quoted alias keeps its case);
- every recorded row must have exactly those keys: a missing or extra key
  raises ``FakeDBError``, so a fixture that drifted from the SQL fails;
- Oracle bind variables must match the statement's ``:name`` placeholders;
- a per-database response (a dict keyed by database name) is picked by the
  three-part ``[db].sys.view`` prefix of the statement, decoded like the server
  decodes a bracket-quoted identifier.

Responses are looked up by the ``-- whalefall:<tag>`` first line. A response
that is an exception instance is raised by ``execute``.

Fixture values are typed as the drivers return them. JSON has no datetime or
bytes, so fixtures use explicit markers decoded by ``load_fixture``:
``{"$datetime": "2019-03-01T10:00:00"}``, ``{"$date": "2019-03-01"}``,
``{"$bytes": "0105AB"}`` (hex) and ``{"$decimal": "1.5"}``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

FIXTURES = Path(__file__).parent / "fixtures"
TAG = re.compile(r"-- whalefall:(\S+)")

# Fixture file of a statement tag, per engine (the ``v$`` of Oracle views is not in file names).
FIXTURE_PREFIX = {"tsql": "sqlserver2019_", "oracle": "oracle19_"}

_MARKERS: dict[str, Callable[[str], Any]] = {
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$bytes": bytes.fromhex,
    "$decimal": Decimal,
}


class FakeDBError(AssertionError):
    """The code under test (or a fixture) did something a real server would not accept."""


def _decode_marker(value: dict[str, Any]) -> Any:
    markers = [key for key in value if key.startswith("$")]
    if not markers:
        return value
    if len(value) != 1 or markers[0] not in _MARKERS:
        raise FakeDBError(f"Unknown typed marker in fixture: {value!r} (known: {sorted(_MARKERS)})")
    (marker,) = markers
    return _MARKERS[marker](value[marker])


def decode_fixture_text(text: str) -> Any:
    """JSON with typed markers decoded to datetime/date/bytes/Decimal."""
    return json.loads(text, object_hook=_decode_marker)


def fixture_path(dialect: str, tag: str) -> Path:
    return FIXTURES / f"{FIXTURE_PREFIX[dialect]}{tag.replace('v$', '')}.json"


def load_fixture(dialect: str, tag: str) -> Any:
    """Recorded rows for a statement tag: a list of rows, or ``{database: rows}`` for per-database reads."""
    return decode_fixture_text(fixture_path(dialect, tag).read_text())


def tag_of(statement: str) -> str:
    match = TAG.match(statement)
    if match is None:
        raise FakeDBError(f"Statement does not start with '-- whalefall:<tag>': {statement[:80]!r}")
    return match.group(1)


@functools.lru_cache(maxsize=512)
def parse_statement(statement: str, dialect: str) -> exp.Expression:
    """The statement as a sqlglot tree (cached: treat the result as read-only)."""
    try:
        tree = sqlglot.parse_one(statement, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise FakeDBError(f"The {dialect} statement does not parse: {exc}") from exc
    if not isinstance(tree, exp.Select):
        raise FakeDBError(f"Only SELECT statements are replayed, got {type(tree).__name__}")
    return tree


def _driver_name(identifier: exp.Identifier, dialect: str) -> str:
    if dialect == "oracle" and not identifier.quoted:
        return identifier.name.upper()
    return identifier.name


@functools.lru_cache(maxsize=512)
def output_columns(statement: str, dialect: str) -> tuple[str, ...]:
    """Column names of the outermost SELECT, as the driver reports them in ``cursor.description``."""
    names = []
    for projection in parse_statement(statement, dialect).selects:
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            raise FakeDBError("SELECT * cannot be replayed: name the columns")
        if isinstance(projection, exp.Alias):
            names.append(_driver_name(projection.args["alias"], dialect))
        elif isinstance(projection, exp.Column):
            names.append(_driver_name(projection.this, dialect))
        elif dialect == "oracle":
            names.append(projection.sql(dialect="oracle").upper())  # Oracle names an expression by its text
        else:
            names.append("")  # SQL Server returns no name for an unaliased expression
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise FakeDBError(f"Duplicate output column names {duplicates}: rows keyed by name would lose values")
    return tuple(names)


def database_of(statement: str, dialect: str) -> str | None:
    """The database named by three-part ``[db].sys.view`` references (one per statement), else None."""
    catalogs = {table.catalog for table in parse_statement(statement, dialect).find_all(exp.Table) if table.catalog}
    if len(catalogs) > 1:
        raise FakeDBError(f"A statement reads several databases: {sorted(catalogs)}")
    return next(iter(catalogs), None)


def bind_names(statement: str, dialect: str) -> set[str]:
    return {placeholder.name for placeholder in parse_statement(statement, dialect).find_all(exp.Placeholder)}


def check_row(columns: Sequence[str], row: Mapping[str, Any], where: str) -> tuple:
    """The row as a tuple in ``columns`` order; raises when its keys are not exactly ``columns``."""
    keys = set(row)
    missing, extra = [c for c in columns if c not in keys], sorted(keys - set(columns))
    if missing or extra:
        raise FakeDBError(f"{where}: row keys differ from the statement's columns: missing {missing}, extra {extra}")
    return tuple(row[column] for column in columns)


class FakeCursor:
    def __init__(self, connection: FakeConnection):
        self.connection = connection
        self.description: list[tuple] | None = None
        self.arraysize = 100
        self.rowcount = -1
        self._rows: list[tuple] = []

    def execute(self, statement: str, params: Any = None) -> None:
        connection = self.connection
        connection.executed.append((statement, params))
        tag = tag_of(statement)
        if tag not in connection.responses:
            raise FakeDBError(f"No recorded response for statement tag {tag!r}")
        response = connection.responses[tag]
        if isinstance(response, BaseException):
            raise response
        dialect = connection.dialect
        columns = output_columns(statement, dialect)
        self._check_params(statement, params)
        if isinstance(response, Mapping):  # per-database reads: {database: rows}
            database = database_of(statement, dialect)
            if database not in response:
                raise FakeDBError(f"{tag}: no recorded rows for database {database!r}")
            response = response[database]
        self._rows = [check_row(columns, row, f"{tag} row {i}") for i, row in enumerate(response)]
        self.description = [(column, None, None, None, None, None, None) for column in columns]
        self.rowcount = len(self._rows)

    def _check_params(self, statement: str, params: Any) -> None:
        expected = bind_names(statement, self.connection.dialect)
        if self.connection.dialect == "oracle":
            given = set(params or {})
            if not isinstance(params or {}, Mapping) or given != expected:
                raise FakeDBError(f"Bind variables {sorted(given)} do not match the statement's {sorted(expected)}")
        elif params:
            raise FakeDBError(f"Parameters {params!r} given, but the statement has no placeholders")

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


class FakeConnection:
    """Replays ``responses`` ({tag: rows | {database: rows} | exception}) for statements of ``dialect``."""

    def __init__(self, responses: dict[str, Any], *, dialect: str, version: str | None = None):
        if dialect not in FIXTURE_PREFIX:
            raise ValueError(f"Unknown dialect {dialect!r}")
        self.responses = responses
        self.dialect = dialect
        self.executed: list[tuple[str, Any]] = []
        self.closed = False
        self.call_timeout = 0
        if version is not None:
            self.version = version  # python-oracledb's Connection.version

    @property
    def statements(self) -> list[str]:
        return [statement for statement, _ in self.executed]

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
