"""What a driver does with a catalog statement's *text*, shared by the column checker (``sqlcheck``)
and the emulated catalogs (``emulated/dbapi.py``):

- ``tag_of``: the ``-- whalefall:<tag>`` first line every catalog statement starts with;
- ``parse_statement``: the statement as a sqlglot tree (``tsql`` / ``oracle``), SELECT (or a UNION of
  SELECTs) only;
- ``output_columns``: the names ``cursor.description`` reports, by the driver's rule — SQL
  Server (pymssql) returns an alias or column name as written and no name for an unaliased
  expression, Oracle returns unquoted identifiers in upper case (a quoted alias keeps its case)
  and names an expression by its text;
- ``bind_names``: the ``:name`` placeholders of an Oracle statement.
"""

from __future__ import annotations

import functools
import re

import sqlglot
from sqlglot import exp

TAG = re.compile(r"-- whalefall:(\S+)")


class StatementError(AssertionError):
    """A statement a driver would not accept as the adapters use it."""


def tag_of(statement: str) -> str:
    match = TAG.match(statement)
    if match is None:
        raise StatementError(f"Statement does not start with '-- whalefall:<tag>': {statement[:80]!r}")
    return match.group(1)


@functools.lru_cache(maxsize=512)
def parse_statement(statement: str, dialect: str) -> exp.Expression:
    """The statement as a sqlglot tree (cached: treat the result as read-only)."""
    try:
        tree = sqlglot.parse_one(statement, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise StatementError(f"The {dialect} statement does not parse: {exc}") from exc
    # a SELECT, or a UNION of SELECTs (its columns are its first SELECT's)
    parts = [tree] if not isinstance(tree, exp.Union) else [tree.left, tree.right]
    while any(isinstance(part, exp.Union) for part in parts):
        parts = [p for part in parts for p in ([part.left, part.right] if isinstance(part, exp.Union) else [part])]
    wrong = [type(part).__name__ for part in parts if not isinstance(part, exp.Select)]
    if wrong:
        raise StatementError(f"Only SELECT statements are catalog reads, got {wrong[0]}")
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
            raise StatementError("SELECT * has no stable columns: name them")
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
        raise StatementError(f"Duplicate output column names {duplicates}: rows keyed by name would lose values")
    return tuple(names)


def bind_names(statement: str, dialect: str) -> set[str]:
    return {placeholder.name for placeholder in parse_statement(statement, dialect).find_all(exp.Placeholder)}
