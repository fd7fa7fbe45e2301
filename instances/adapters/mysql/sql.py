"""Catalog SQL for MySQL 5.7+/8.x and MariaDB 10.x.

Each constant names its source and the minimum server version. Values are
always passed as ``%s`` parameters; the only text composed here is from the
fixed column lists below (never from names read from a server or a user).
Password hashes (``authentication_string``/``Password``) are never selected.
"""

from __future__ import annotations

from instances.adapters.mysql.features import MySQLFeatures

# Schemas that are the server's own, excluded from inventory and sizes.
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
_SYSTEM_SCHEMAS_SQL = ", ".join(f"'{name}'" for name in SYSTEM_SCHEMAS)

# Any server.
VERSION = "SELECT VERSION() AS version"

# Session deadlines. MariaDB 10.1+: max_statement_time in seconds (any statement).
MARIADB_SESSION = "SET SESSION max_statement_time = %s"
# MySQL 5.7.8+: MAX_EXECUTION_TIME in milliseconds (read-only SELECTs, which is all we run).
MYSQL_SESSION = "SET SESSION MAX_EXECUTION_TIME = %s"
# MySQL 8.0.3+: read live sizes instead of the statistics cached for up to a day.
MYSQL_STATS_EXPIRY = "SET SESSION information_schema_stats_expiry = 0"

# mysql.user global privilege columns present on MySQL 5.7+ and MariaDB 10.x.
USER_PRIV_COLUMNS = (
    "Select_priv", "Insert_priv", "Update_priv", "Delete_priv", "Create_priv", "Drop_priv",
    "Reload_priv", "Shutdown_priv", "Process_priv", "File_priv", "Grant_priv", "References_priv",
    "Index_priv", "Alter_priv", "Show_db_priv", "Super_priv", "Create_tmp_table_priv",
    "Lock_tables_priv", "Execute_priv", "Repl_slave_priv", "Repl_client_priv", "Create_view_priv",
    "Show_view_priv", "Create_routine_priv", "Alter_routine_priv", "Create_user_priv", "Event_priv",
    "Trigger_priv", "Create_tablespace_priv",
)  # fmt: skip


# MariaDB 10.4+: every account and role straight from mysql.global_priv. The
# mysql.user view over it decodes the JSON once per privilege column (~45
# JSON_VALUE calls per row, 5× slower at 10,000 accounts); here only the keys
# needed are extracted and ``access`` — the global privilege bitmask — is
# decoded in parse.py. Never the authentication_string (nor ``auth_or``, whose
# entries may hold one). ``password_last_changed`` = 0 means expired.
MARIADB_ACCOUNTS = (
    "SELECT Host, User, JSON_VALUE(Priv, '$.access') AS access, JSON_VALUE(Priv, '$.is_role') AS is_role, "
    "JSON_VALUE(Priv, '$.default_role') AS default_role, JSON_VALUE(Priv, '$.account_locked') AS account_locked, "
    "JSON_VALUE(Priv, '$.plugin') AS plugin, JSON_VALUE(Priv, '$.password_last_changed') AS password_last_changed "
    "FROM mysql.global_priv ORDER BY User, Host"
)


def accounts_table(features: MySQLFeatures) -> str:
    """The table ``accounts_sql`` reads (named in errors)."""
    return "mysql.global_priv" if features.has_global_priv else "mysql.user"


def accounts_sql(features: MySQLFeatures) -> str:
    """Every account and role with its global privileges, one row each.

    MariaDB 10.4+: ``MARIADB_ACCOUNTS`` (mysql.global_priv). MySQL 5.7.6+:
    ``mysql.user`` table with ``account_locked``; 8.0.16+ also the partial revokes
    (``restrictions``: the JSON list ``[{"Database": …, "Privileges": […]}]``, or NULL). MariaDB 10.0.5–10.3:
    ``mysql.user`` with is_role/default_role. Older servers: ``mysql.user``
    without a lock column.
    """
    if features.has_global_priv:
        return MARIADB_ACCOUNTS
    columns = list(USER_PRIV_COLUMNS)
    if features.has_delete_history_priv:
        columns.append("Delete_history_priv")
    if features.has_role_privs_columns:
        columns += ["Create_role_priv", "Drop_role_priv"]
    privs = ", ".join(f"u.{name}" for name in columns)
    base = f"SELECT u.Host, u.User, u.plugin, u.password_expired, {privs}"
    if features.has_roles_mapping:  # MariaDB 10.0.5–10.3: mysql.user is a table, no lock flag
        return f"{base}, u.is_role, u.default_role FROM mysql.user u ORDER BY u.User, u.Host"
    if features.has_partial_revokes:  # only the Restrictions key: User_attributes also holds a dual password's hash
        return (f"{base}, u.account_locked, JSON_EXTRACT(u.User_attributes, '$.Restrictions') AS restrictions "
                "FROM mysql.user u ORDER BY u.User, u.Host")  # fmt: skip
    if features.has_account_locked_column:
        return f"{base}, u.account_locked FROM mysql.user u ORDER BY u.User, u.Host"
    return f"{base} FROM mysql.user u ORDER BY u.User, u.Host"


# Privilege columns of mysql.db on MySQL 5.7/8.x and MariaDB up to 11.2 (+ Delete_history_priv on MariaDB 10.3.4+).
DB_PRIV_COLUMNS = (
    "Select_priv", "Insert_priv", "Update_priv", "Delete_priv", "Create_priv", "Drop_priv", "Grant_priv",
    "References_priv", "Index_priv", "Alter_priv", "Create_tmp_table_priv", "Lock_tables_priv", "Create_view_priv",
    "Show_view_priv", "Create_routine_priv", "Alter_routine_priv", "Execute_priv", "Event_priv", "Trigger_priv",
)  # fmt: skip


def db_privileges_sql(features: MySQLFeatures) -> tuple[str, tuple[str, ...] | None]:
    """Database-level grants (db.*), any version, and the privilege columns concatenated into
    ``privs`` (one 'Y'/'N' per column, in that order) — one text column instead of twenty per
    row: the driver decodes each column in Python, so 10,000 grants read in half the time.
    Servers whose mysql.db may have more columns (MariaDB 11.3+) are read with ``*`` (None)."""
    if features.is_mariadb and features.version >= (11, 3, 0):
        return "SELECT * FROM mysql.db ORDER BY User, Host, Db", None
    columns = DB_PRIV_COLUMNS + (("Delete_history_priv",) if features.has_delete_history_priv else ())
    flags = ", ".join(columns)
    return f"SELECT Host, User, Db, CONCAT({flags}) AS privs FROM mysql.db ORDER BY User, Host, Db", columns


# Table-level grants (db.table): Table_priv is a SET ('Select,Insert,Grant'). Any version.
TABLE_PRIVILEGES = (
    "SELECT Host, User, Db, Table_name, Table_priv FROM mysql.tables_priv ORDER BY User, Host, Db, Table_name"
)

# Column-level grants (db.table.column): Column_priv is a SET. Any version.
COLUMN_PRIVILEGES = (
    "SELECT Host, User, Db, Table_name, Column_name, Column_priv FROM mysql.columns_priv "
    "ORDER BY User, Host, Db, Table_name, Column_name"
)

# Routine-level grants (db.routine: EXECUTE, ALTER ROUTINE; Grant = the grant option): Proc_priv
# is a SET. Any version.
ROUTINE_PRIVILEGES = (
    "SELECT Host, User, Db, Routine_name, Routine_type, Proc_priv FROM mysql.procs_priv "
    "ORDER BY User, Host, Db, Routine_name, Routine_type"
)

# MariaDB 10.0.5+: role grants; Host = '' when the grantee is itself a role.
MARIADB_ROLE_GRANTS = "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping ORDER BY User, Host, Role"

# MySQL 8.0+: role grants (FROM = role, TO = grantee) and default roles.
MYSQL_ROLE_EDGES = (
    "SELECT FROM_HOST, FROM_USER, TO_HOST, TO_USER, WITH_ADMIN_OPTION FROM mysql.role_edges "
    "ORDER BY TO_USER, TO_HOST, FROM_USER, FROM_HOST"
)
MYSQL_DEFAULT_ROLES = (
    "SELECT HOST, USER, DEFAULT_ROLE_HOST, DEFAULT_ROLE_USER FROM mysql.default_roles ORDER BY 1, 2, 3, 4"
)

# MySQL 8.0.2+: with activate_all_roles_on_login ON every granted role is active at login, not only
# the default roles; mandatory_roles ('r1,r2@host,`r3`@`%`') are granted to every account.
MYSQL_ROLE_SETTINGS = (
    "SELECT @@GLOBAL.activate_all_roles_on_login AS activate_all, @@GLOBAL.mandatory_roles AS mandatory_roles"
)

# MySQL 8.0+: dynamic global privileges (SYSTEM_VARIABLES_ADMIN, …).
MYSQL_DYNAMIC_PRIVILEGES = "SELECT USER, HOST, PRIV, WITH_GRANT_OPTION FROM mysql.global_grants ORDER BY 1, 2, 3"

# Password policy (no privilege needed). MariaDB 10.1.2+: the ACTIVE password validation
# plugins (simple_password_check, cracklib_password_check, password_reuse_check) and whether a
# password given as a hash must pass them too (strict_password_validation).
MARIADB_PASSWORD_CHECK = (
    "SELECT (SELECT GROUP_CONCAT(PLUGIN_NAME ORDER BY PLUGIN_NAME) FROM information_schema.PLUGINS "
    "WHERE PLUGIN_TYPE = 'PASSWORD VALIDATION' AND PLUGIN_STATUS = 'ACTIVE') AS plugins, "
    "@@GLOBAL.strict_password_validation AS strict_validation"
)
# MySQL 5.6+: the validate_password plugin (5.6/5.7: validate_password_policy …) or component (8.0+:
# validate_password.policy …) defines these variables only while it is installed.
MYSQL_PASSWORD_CHECK = "SHOW GLOBAL VARIABLES LIKE 'validate\\_password%'"

# Any version. Lists every schema only with SHOW DATABASES (see docs/adapters.md).
DATABASES = (
    "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA "
    f"WHERE SCHEMA_NAME NOT IN ({_SYSTEM_SCHEMAS_SQL}) ORDER BY SCHEMA_NAME"
)

# Any version, all storage engines. Empty schemas come from SCHEMATA with 0 bytes;
# views have NULL lengths. Tables are visible only with some privilege on them (SHOW VIEW).
DATABASE_SIZES = (
    "SELECT s.SCHEMA_NAME AS name, "
    "COALESCE(SUM(t.DATA_LENGTH), 0) AS data_bytes, COALESCE(SUM(t.INDEX_LENGTH), 0) AS index_bytes "
    "FROM information_schema.SCHEMATA s "
    "LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME "
    f"WHERE s.SCHEMA_NAME NOT IN ({_SYSTEM_SCHEMAS_SQL}) "
    "GROUP BY s.SCHEMA_NAME ORDER BY s.SCHEMA_NAME"
)

# Any version: does the schema exist (so a typo is an error, not an empty list)?
DATABASE_EXISTS = "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"

# Any version. TABLE_ROWS is the engine's estimate (exact for MyISAM). Views excluded.
TABLE_SIZES = (
    "SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name, DATA_LENGTH AS data_bytes, "
    "INDEX_LENGTH AS index_bytes, TABLE_ROWS AS row_count "
    "FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE NOT IN ('VIEW', 'SYSTEM VIEW') ORDER BY TABLE_NAME"
)

# --- privilege self-check (instances/adapters/privileges.py), any version ------------------
# The account the server matched the login to, as 'user@host' (its host part may be a pattern).
CURRENT_ACCOUNT = "SELECT CURRENT_USER() AS account"

# Global privileges of that account, held directly (GRANTEE is spelled 'user'@'host').
GLOBAL_PRIVILEGES = (
    "SELECT PRIVILEGE_TYPE AS privilege FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s "
    "ORDER BY PRIVILEGE_TYPE"
)


def account_tables(features: MySQLFeatures) -> tuple[str, ...]:
    """The privilege tables ``read_account_rows`` reads on this server, in the order it reads them."""
    tables = [accounts_table(features), "mysql.db", "mysql.tables_priv", "mysql.columns_priv", "mysql.procs_priv"]
    if features.has_roles_mapping:
        tables.append("mysql.roles_mapping")
    if features.has_role_edges:
        tables += ["mysql.role_edges", "mysql.default_roles"]
    if features.has_dynamic_privileges:
        tables.append("mysql.global_grants")
    return tuple(tables)


def table_probe_sql(table: str) -> str:
    """The read of ``table`` without its rows: fails exactly when the account's read would.
    ``table`` is one of ``account_tables`` (fixed names, never from a server or a user)."""
    if table not in _PROBED_TABLES:
        raise ValueError(f"Not a privilege table the adapter reads: {table!r}")
    return f"SELECT 1 FROM {table} LIMIT 0"


_PROBED_TABLES = frozenset({
    "mysql.user", "mysql.global_priv", "mysql.db", "mysql.tables_priv", "mysql.columns_priv", "mysql.procs_priv",
    "mysql.roles_mapping", "mysql.role_edges", "mysql.default_roles", "mysql.global_grants",
})  # fmt: skip
