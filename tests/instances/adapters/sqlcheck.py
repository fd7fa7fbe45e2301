"""Check catalog SQL against the documented columns of the views it reads (tests only).

``catalog/sqlserver.json`` and ``catalog/oracle.json`` list, per system view, the
columns the vendor documentation shows, with their documented type and the
release they appeared in (see ``catalog/README.md``). ``check_statement`` parses
a statement with sqlglot, resolves every column reference to the view (or
derived table) it comes from with sqlglot's ``qualify`` against a schema built
from the catalog, and reports every column that the documentation does not show
or that is newer than the oldest supported server release.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from instances.adapters.oracle import sql as oracle_sql
from instances.adapters.sqlserver import sql as sqlserver_sql
from tests.instances.adapters.statements import output_columns, parse_statement, tag_of

CATALOG_DIR = Path(__file__).parent / "catalog"
STATEMENT_PREFIX = "-- whalefall:"
# A concrete database name for the per-database templates (``{db}``), stripped again before checking.
TEMPLATE_DATABASE = "catalog_check"

# Python types the drivers return for a documented base type. bool is not an int
# here: pymssql returns bool only for bit, and int columns must not hold bools.
_SQLSERVER_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("bit",), (bool,)),
    **dict.fromkeys(("tinyint", "smallint", "int", "integer", "bigint"), (int,)),
    **dict.fromkeys(("decimal", "numeric", "money", "smallmoney"), (Decimal,)),
    **dict.fromkeys(("float", "real"), (float,)),
    **dict.fromkeys(("char", "varchar", "nchar", "nvarchar", "sysname", "text", "ntext"), (str,)),
    **dict.fromkeys(("datetime", "datetime2", "smalldatetime"), (datetime,)),
    **dict.fromkeys(("date",), (date,)),
    **dict.fromkeys(("binary", "varbinary", "image"), (bytes,)),
    **dict.fromkeys(("uniqueidentifier",), (uuid.UUID,)),
}
_ORACLE_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR", "VARCHAR"), (str,)),
    # python-oracledb: an integral NUMBER value comes back as int, others as float.
    **dict.fromkeys(("NUMBER", "INTEGER"), (int, float)),
    **dict.fromkeys(("DATE", "TIMESTAMP"), (datetime,)),
    **dict.fromkeys(("RAW",), (bytes,)),
}


class CatalogError(AssertionError):
    """A statement reads something the documented catalog does not have."""


@dataclass(frozen=True)
class Engine:
    name: str
    dialect: str
    module: ModuleType
    python_types: dict[str, tuple[type, ...]]
    # Constants that look like statements but are not checked, with the reason.
    skipped: dict[str, str] = field(default_factory=dict)

    def normalize(self, identifier: str) -> str:
        return identifier.upper() if self.dialect == "oracle" else identifier.lower()


SQLSERVER = Engine("sqlserver", "tsql", sqlserver_sql, _SQLSERVER_TYPES)
ORACLE = Engine(
    "oracle",
    "oracle",
    oracle_sql,
    _ORACLE_TYPES,
    skipped={"USERS_11G": "Oracle 11.2 is not supported (python-oracledb thin mode needs 12.1+); being removed"},
)
ENGINES = {engine.name: engine for engine in (SQLSERVER, ORACLE)}


def version_key(version: str) -> tuple[int, ...]:
    """``"12.1.0.2"`` → (12, 1, 0, 2); ``"18.0"`` → (18, 0)."""
    parts = tuple(int(part) for part in re.findall(r"\d+", version))
    if not parts:
        raise ValueError(f"Not a version: {version!r}")
    return parts


def newer(version: str, than: str) -> bool:
    left, right = version_key(version), version_key(than)
    width = max(len(left), len(right))
    return left + (0,) * (width - len(left)) > right + (0,) * (width - len(right))


# --- the catalog ----------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    engine: Engine
    minimum_version: str
    views: dict[str, dict[str, dict[str, Any]]]  # normalized view → normalized column → {type, since, ...}
    functions: dict[str, dict[str, Any]]  # upper-case function name → entry
    raw: dict[str, Any]

    def python_types(self, documented_type: str | None) -> tuple[type, ...] | None:
        if not documented_type:
            return None
        base = re.match(r"[A-Za-z_0-9]+", documented_type.strip())
        key = base.group(0) if base else ""
        key = key.upper() if self.engine.dialect == "oracle" else key.lower()
        if key not in self.engine.python_types:
            raise CatalogError(f"No driver type mapping for documented type {documented_type!r}")
        return self.engine.python_types[key]


def _view_columns(name: str, views: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    if name in seen:
        raise CatalogError(f"Catalog cycle through {name}")
    view = views[name]
    columns: dict[str, dict[str, Any]] = {}
    for base in filter(None, (view.get("inherits"), view.get("same_as"))):
        columns.update(_view_columns(base, views, (*seen, name)))
    for column in view.get("except", ()):
        columns.pop(column, None)
    columns.update(view.get("columns", {}))
    if not columns:
        raise CatalogError(f"Catalog view {name} has no columns")
    return columns


def load_catalog(engine: Engine) -> Catalog:
    raw = json.loads((CATALOG_DIR / f"{engine.name}.json").read_text())
    views = {
        engine.normalize(name): {engine.normalize(c): entry for c, entry in _view_columns(name, raw["views"]).items()}
        for name in raw["views"]
    }
    functions = {name.upper(): entry for name, entry in raw.get("functions", {}).items()}
    return Catalog(engine, raw["minimum_version"], views, functions, raw)


# --- statements -----------------------------------------------------------------


def statements(engine: Engine) -> dict[str, str]:
    """Every public module-level str constant of the engine's sql module that starts with ``-- whalefall:``.

    Private constants (``_TABLE_SIZES``) are ``str.format`` templates whose
    formatted results are public constants; the engine's ``skipped`` names are left out.
    """
    return {
        name: value
        for name, value in vars(engine.module).items()
        if isinstance(value, str)
        and value.startswith(STATEMENT_PREFIX)
        and not name.startswith("_")
        and name not in engine.skipped
    }


def concrete(engine: Engine, text: str) -> str:
    """A runnable statement: per-database templates get a database name (``sql.per_database``)."""
    if "{db}" in text:
        return engine.module.per_database(text, TEMPLATE_DATABASE)
    return text


# --- checking -------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnUse:
    view: str
    column: str
    entry: dict[str, Any]


@dataclass
class Checked:
    tree: exp.Select  # qualified
    uses: list[ColumnUse]  # every column reference, resolved to its documented view column
    calls: list[str]  # documented functions / properties used


def _view_key(table: exp.Table, engine: Engine) -> str:
    parts = [table.db, table.name] if engine.dialect == "tsql" else [table.name]
    if engine.dialect == "oracle" and table.db:
        parts = [table.name] if table.db.upper() == "SYS" else [table.db, table.name]
    return engine.normalize(".".join(part for part in parts if part))


def _schema(catalog: Catalog) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    for view, columns in catalog.views.items():
        node = schema
        *path, leaf = view.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = dict.fromkeys(columns, "VARCHAR")  # column types are not needed to qualify
    return schema


def _prepare(tree: exp.Expression, catalog: Catalog) -> exp.Select:
    tree = tree.copy()
    for table in tree.find_all(exp.Table):
        if table.args.get("catalog") is not None:
            table.set("catalog", None)  # [db].sys.view → sys.view: per-database views are the same everywhere
    pseudo = {name for name, entry in catalog.functions.items() if entry.get("pseudo_column")}
    for column in list(tree.find_all(exp.Column)):
        if not column.table and not column.this.quoted and column.name.upper() in pseudo:
            column.replace(exp.Anonymous(this=column.name.upper()))  # Oracle's USER is a function, not a column
    return tree


def _function_problems(tree: exp.Expression, catalog: Catalog, calls: list[str]) -> list[str]:
    problems = []
    for call in tree.find_all(exp.Anonymous):
        name = call.name.upper()
        entry = catalog.functions.get(name)
        if entry is None:
            problems.append(f"function {call.name} is not in the catalog's functions")
            continue
        if "property_argument" in entry:
            arguments = call.expressions
            position = entry["property_argument"]
            argument = arguments[position] if len(arguments) > position else None
            if not isinstance(argument, exp.Literal) or not argument.is_string:
                problems.append(f"{call.name}: property name must be a string literal, got {argument}")
                continue
            properties = {key.lower(): value for key, value in entry["properties"].items()}
            prop = properties.get(argument.name.lower())
            if prop is None:
                problems.append(f"{call.name}: property {argument.name!r} is not documented")
            elif newer(prop["since"], catalog.minimum_version):
                problems.append(f"{call.name}: property {argument.name!r} needs {prop['since']}")
            else:
                calls.append(f"{name}({argument.name!r})")
        else:
            calls.append(name)
    for parameter in tree.find_all(exp.Parameter):
        if isinstance(parameter.parent, exp.Parameter):
            continue
        name = parameter.sql(dialect=catalog.engine.dialect).upper()
        if name not in catalog.functions:
            problems.append(f"{name} is not in the catalog's functions")
        else:
            calls.append(name)
    return problems


def check_statement(catalog: Catalog, text: str, *, gated_version: str | None = None) -> Checked:
    """Resolve every column of ``text`` to a documented view column; raise CatalogError listing all problems.

    Columns newer than the catalog's minimum version are problems unless
    ``gated_version`` (the release the caller only runs the statement on) covers them.
    """
    engine = catalog.engine
    tree = _prepare(parse_statement(text, engine.dialect), catalog)
    calls: list[str] = []
    problems = _function_problems(tree, catalog, calls)
    unknown_views = sorted({_view_key(t, engine) for t in tree.find_all(exp.Table)} - set(catalog.views))
    if unknown_views:
        raise CatalogError(f"views not in the catalog: {unknown_views}")
    try:
        qualified = qualify(
            tree,
            schema=_schema(catalog),
            dialect=engine.dialect,
            validate_qualify_columns=True,
            quote_identifiers=False,
        )
    except OptimizeError as exc:
        raise CatalogError(f"column not in the documented views: {exc}") from exc

    limit = gated_version or catalog.minimum_version
    uses = []
    for scope in traverse_scope(qualified):
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                view = _view_key(source, engine)
                entry = catalog.views[view].get(engine.normalize(column.name))
                if entry is None:
                    problems.append(f"{view}.{column.name} is not a documented column")
                    continue
                uses.append(ColumnUse(view, engine.normalize(column.name), entry))
                if newer(entry["since"], limit):
                    problems.append(f"{view}.{column.name} needs {entry['since']} (minimum supported {limit})")
            elif not column.table and column.name in {s.alias_or_name for s in scope.expression.selects}:
                continue  # ORDER BY <output alias>
            elif not isinstance(source, Scope):
                problems.append(f"column {column.sql()} does not resolve to a table or derived table")
    if problems:
        raise CatalogError("; ".join(problems))
    return Checked(qualified, uses, calls)


# --- output column types --------------------------------------------------------


def _data_type_python(data_type: exp.DataType, catalog: Catalog) -> tuple[type, ...] | None:
    return catalog.python_types(data_type.sql(dialect=catalog.engine.dialect))


def _expression_types(expression: exp.Expression, scope: Scope, catalog: Catalog) -> tuple[type, ...] | None:
    """Python types the driver returns for ``expression``, where the documented catalog determines them."""
    if isinstance(expression, exp.Alias):
        expression = expression.this
    if isinstance(expression, exp.Column):
        source = scope.sources.get(expression.table)
        if isinstance(source, exp.Table):
            entry = catalog.views[_view_key(source, catalog.engine)][catalog.engine.normalize(expression.name)]
            return catalog.python_types(entry.get("type"))
        if isinstance(source, Scope):  # a derived table: follow the column into its SELECT
            for inner in source.expression.selects:
                if inner.alias_or_name == expression.name:
                    return _expression_types(inner, source, catalog)
        return None
    if isinstance(expression, exp.Cast):
        return _data_type_python(expression.to, catalog)
    if isinstance(expression, exp.Convert) and isinstance(expression.this, exp.DataType):
        return _data_type_python(expression.this, catalog)
    if isinstance(expression, exp.Max | exp.Min):
        return _expression_types(expression.this, scope, catalog)
    if isinstance(expression, exp.Coalesce):  # known when every argument has the same known types
        types = {_expression_types(e, scope, catalog) for e in (expression.this, *expression.expressions)}
        return types.pop() if len(types) == 1 else None
    if isinstance(expression, exp.Anonymous):
        entry = catalog.functions.get(expression.name.upper(), {})
        return catalog.python_types(entry.get("returns")) if "properties" not in entry else None
    if isinstance(expression, exp.Parameter):  # @@VERSION
        entry = catalog.functions.get(expression.sql(dialect=catalog.engine.dialect).upper(), {})
        return catalog.python_types(entry.get("returns"))
    return None


def output_types(catalog: Catalog, text: str) -> list[tuple[type, ...] | None]:
    """For each output column, in SELECT order: the Python types the driver returns, or None when unknown.

    Known are plain references to documented columns (also through derived
    tables), CAST/CONVERT targets, MAX/MIN of a known column, COALESCE of columns of
    one type and documented functions.
    """
    checked = check_statement(catalog, text, gated_version="99")
    first = checked.tree
    while isinstance(first, exp.Union):  # a UNION's columns are its first SELECT's
        first = first.left
    root = next(scope for scope in traverse_scope(checked.tree) if scope.expression is first)
    return [_expression_types(projection, root, catalog) for projection in first.selects]


# --- rows typed as the driver returns them ----------------------------------------


@functools.cache
def _cached_catalog(engine_name: str) -> Catalog:
    return load_catalog(ENGINES[engine_name])


@functools.cache
def _columns_and_types(engine_name: str, text: str) -> tuple[tuple[str, ...], tuple[tuple[type, ...] | None, ...]]:
    engine = ENGINES[engine_name]
    text = concrete(engine, text)
    return output_columns(text, engine.dialect), tuple(output_types(_cached_catalog(engine_name), text))


def type_mismatches(engine: Engine, text: str, rows: list[dict[str, Any]]) -> list[str]:
    """Values of ``rows`` (keyed by the statement's columns) that the driver would not return for those columns."""
    columns, types = _columns_and_types(engine.name, text)
    mismatches = []
    for i, row in enumerate(rows):
        for column, expected in zip(columns, types, strict=True):
            value = row[column]
            if expected is not None and value is not None and type(value) not in expected:
                names = "/".join(t.__name__ for t in expected)
                mismatches.append(f"row {i} {column}={value!r}: the driver returns {names}")
    return mismatches


def driver_row(engine: Engine, text: str, **values: Any) -> dict[str, Any]:
    """A row of ``text``'s result: every output column (None unless given), each value of the driver's type."""
    columns, _ = _columns_and_types(engine.name, text)
    unknown = sorted(set(values) - set(columns))
    if unknown:
        raise CatalogError(f"{tag_of(text)} has no columns {unknown} (it returns {list(columns)})")
    row = {column: values.get(column) for column in columns}
    mismatches = type_mismatches(engine, text, [row])
    if mismatches:
        raise CatalogError(f"{tag_of(text)}: {mismatches}")
    return row


def by_tag(engine: Engine, tag: str) -> str:
    """The one checked statement of ``engine`` whose first line is ``-- whalefall:<tag>``."""
    found = [text for text in statements(engine).values() if tag_of(text) == tag]
    if len(found) != 1:
        raise CatalogError(f"{len(found)} {engine.name} statements are tagged {tag!r}")
    return found[0]
