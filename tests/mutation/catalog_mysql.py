"""Semantic mutations of instances/adapters/mysql/sql.py (and its version gates in features.py) for
bin/mutate-catalog-sql.

Each is (description, exact substring of the file — it occurs exactly once —, replacement[, file]);
the file is the engine's sql.py unless named. Each one changes what the SQL means (a JSON key, a
column read as another, a filter, grantee and role swapped, the version branches crossed), never only
its spelling; the executed tests in ``TESTS`` should fail on every one. Mutations of the MySQL 8
statements (role_edges, default_roles, global_grants, the mysql.user table) are caught only by tests
that execute them on a MySQL-8-shaped catalog.
"""

from __future__ import annotations

MUTATIONS: list[tuple[str, ...]] = [
    # MariaDB 10.4+: mysql.global_priv (live)
    ("accounts: the lock flag read from the is_role key",
     "JSON_VALUE(Priv, '$.account_locked') AS account_locked",
     "JSON_VALUE(Priv, '$.is_role') AS account_locked"),
    ("accounts: is_role read from the account_locked key (roles read as users)",
     "JSON_VALUE(Priv, '$.is_role') AS is_role",
     "JSON_VALUE(Priv, '$.account_locked') AS is_role"),
    ("accounts: the default role dropped",
     "JSON_VALUE(Priv, '$.default_role') AS default_role",
     "NULL AS default_role"),
    ("accounts: every password expired (password_last_changed = 0)",
     "JSON_VALUE(Priv, '$.password_last_changed') AS password_last_changed",
     "0 AS password_last_changed"),
    ("accounts: the global privilege bitmask dropped",
     "JSON_VALUE(Priv, '$.access') AS access",
     "0 AS access"),
    ("accounts: mysql.global_priv read on MariaDB 10.4+ crossed with the mysql.user branches",
     "if features.has_global_priv:\n        return MARIADB_ACCOUNTS",
     "if not features.has_global_priv:\n        return MARIADB_ACCOUNTS"),
    # any version (live on MariaDB)
    ("database grants: user and host swapped",
     'return f"SELECT Host, User, Db, CONCAT({flags})',
     'return f"SELECT User AS Host, Host AS User, Db, CONCAT({flags})'),
    ("database grants: Delete_history_priv expected where it is not (the version gate crossed)",
     'columns = DB_PRIV_COLUMNS + (("Delete_history_priv",) if features.has_delete_history_priv else ())',
     'columns = DB_PRIV_COLUMNS + (("Delete_history_priv",) if not features.has_delete_history_priv else ())'),
    ("table grants: database and table name swapped",
     "SELECT Host, User, Db, Table_name, Table_priv FROM",
     "SELECT Host, User, Table_name AS Db, Db AS Table_name, Table_priv FROM"),
    ("column grants: table and column name swapped",
     "SELECT Host, User, Db, Table_name, Column_name, Column_priv FROM",
     "SELECT Host, User, Db, Column_name AS Table_name, Table_name AS Column_name, Column_priv FROM"),
    ("MariaDB role grants: grantee and role swapped",
     "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping",
     "SELECT Host, Role AS User, User AS Role, Admin_option FROM mysql.roles_mapping"),
    ("MariaDB role grants: every role granted WITH ADMIN OPTION",
     "SELECT Host, User, Role, Admin_option FROM mysql.roles_mapping",
     "SELECT Host, User, Role, 'Y' AS Admin_option FROM mysql.roles_mapping"),
    ("password check: the inactive validation plugins read",
     "PLUGIN_STATUS = 'ACTIVE'",
     "PLUGIN_STATUS <> 'ACTIVE'"),
    ("inventory: only the system schemas",
     'f"WHERE SCHEMA_NAME NOT IN ({_SYSTEM_SCHEMAS_SQL}) ORDER BY SCHEMA_NAME"',
     'f"WHERE SCHEMA_NAME IN ({_SYSTEM_SCHEMAS_SQL}) ORDER BY SCHEMA_NAME"'),
    ("database sizes: tables joined on their name instead of their schema",
     "t.TABLE_SCHEMA = s.SCHEMA_NAME",
     "t.TABLE_NAME = s.SCHEMA_NAME"),
    ("database sizes: empty schemas dropped (inner join)",
     '"LEFT JOIN information_schema.TABLES t',
     '"JOIN information_schema.TABLES t'),
    ("database sizes: data and index bytes swapped",
     "COALESCE(SUM(t.DATA_LENGTH), 0) AS data_bytes, COALESCE(SUM(t.INDEX_LENGTH), 0) AS index_bytes",
     "COALESCE(SUM(t.INDEX_LENGTH), 0) AS data_bytes, COALESCE(SUM(t.DATA_LENGTH), 0) AS index_bytes"),
    ("database exists: any other schema answers",
     "WHERE SCHEMA_NAME = %s",
     "WHERE SCHEMA_NAME <> %s"),
    ("table sizes: data and index bytes swapped",
     'DATA_LENGTH AS data_bytes, "\n    "INDEX_LENGTH AS index_bytes',
     'INDEX_LENGTH AS data_bytes, "\n    "DATA_LENGTH AS index_bytes'),
    ("table sizes: the average row length read as the row count",
     "TABLE_ROWS AS row_count",
     "AVG_ROW_LENGTH AS row_count"),
    ("table sizes: only views",
     "TABLE_TYPE NOT IN ('VIEW', 'SYSTEM VIEW')",
     "TABLE_TYPE IN ('VIEW', 'SYSTEM VIEW')"),
    ("privilege check: the global privileges of every other account",
     "USER_PRIVILEGES WHERE GRANTEE = %s",
     "USER_PRIVILEGES WHERE GRANTEE <> %s"),
    ("privilege check: mysql.roles_mapping probed on MySQL 8 instead of MariaDB (the gate crossed)",
     'if features.has_roles_mapping:\n        tables.append("mysql.roles_mapping")',
     'if features.has_role_edges:\n        tables.append("mysql.roles_mapping")'),
    # MySQL 8.0+ (executed on a MySQL-8-shaped catalog in the live MariaDB: branch mysql8-emul)
    ("MySQL 8 role edges: role (FROM) and grantee (TO) swapped",
     "SELECT FROM_HOST, FROM_USER, TO_HOST, TO_USER, WITH_ADMIN_OPTION FROM mysql.role_edges",
     "SELECT TO_HOST AS FROM_HOST, TO_USER AS FROM_USER, FROM_HOST AS TO_HOST, FROM_USER AS TO_USER, "
     "WITH_ADMIN_OPTION FROM mysql.role_edges"),
    ("MySQL 8 role edges: ADMIN OPTION dropped",
     "TO_USER, WITH_ADMIN_OPTION FROM mysql.role_edges",
     "TO_USER, 'N' AS WITH_ADMIN_OPTION FROM mysql.role_edges"),
    ("MySQL 8 default roles: account and default role swapped",
     "SELECT HOST, USER, DEFAULT_ROLE_HOST, DEFAULT_ROLE_USER FROM mysql.default_roles",
     "SELECT DEFAULT_ROLE_HOST AS HOST, DEFAULT_ROLE_USER AS USER, HOST AS DEFAULT_ROLE_HOST, USER AS "
     "DEFAULT_ROLE_USER FROM mysql.default_roles"),
    ("MySQL 8 dynamic privileges: WITH GRANT OPTION dropped",
     "SELECT USER, HOST, PRIV, WITH_GRANT_OPTION FROM mysql.global_grants",
     "SELECT USER, HOST, PRIV, 'N' AS WITH_GRANT_OPTION FROM mysql.global_grants"),
    ("MySQL 8 dynamic privileges: user and host swapped",
     "SELECT USER, HOST, PRIV, WITH_GRANT_OPTION FROM mysql.global_grants",
     "SELECT HOST AS USER, USER AS HOST, PRIV, WITH_GRANT_OPTION FROM mysql.global_grants"),
    ("MySQL 8 accounts: the lock flag read from password_expired (5.7.6 – 8.0.15)",
     'return f"{base}, u.account_locked FROM mysql.user u',
     'return f"{base}, u.password_expired AS account_locked FROM mysql.user u'),
    ("MySQL 8 accounts: the lock flag read from password_expired (8.0.16+)",
     "return (f\"{base}, u.account_locked, JSON_EXTRACT",
     "return (f\"{base}, u.password_expired AS account_locked, JSON_EXTRACT"),
    ("MySQL 8 accounts: partial revokes read from another key of User_attributes",
     "'$.Restrictions') AS restrictions", "'$.additional_password') AS restrictions"),
    ("MySQL 8 role edges: role host (FROM) and grantee host (TO) swapped",
     '"SELECT FROM_HOST, FROM_USER, TO_HOST, TO_USER, WITH_ADMIN_OPTION FROM mysql.role_edges "',
     '"SELECT TO_HOST AS FROM_HOST, FROM_USER, FROM_HOST AS TO_HOST, TO_USER, WITH_ADMIN_OPTION "'
     '"FROM mysql.role_edges "'),
    ("MySQL 8 roles: mandatory_roles never read",
     "@@GLOBAL.mandatory_roles AS mandatory_roles", "'' AS mandatory_roles"),
    ("MySQL 8 accounts: the MariaDB 10.0–10.3 branch (is_role, default_role) taken (the gate crossed)",
     "if features.has_roles_mapping:  # MariaDB",
     "if features.has_role_edges:  # MariaDB"),
    ("MySQL 8 roles: role_edges read on MySQL 5.7 only (the version gate crossed)",
     "return not self.is_mariadb and self.version >= (8, 0, 0)\n\n    @cached_property\n    def "
     "has_account_locked_column",
     "return not self.is_mariadb and self.version < (8, 0, 0)\n\n    @cached_property\n    def "
     "has_account_locked_column",
     "instances/adapters/mysql/features.py"),
]  # fmt: skip

# The tests that execute this SQL: the adapter against the live MariaDB (its accounts compared with what
# each login can run), its privilege check, password policy and size collection.
TESTS: list[str] = [
    "tests/instances/adapters/test_mysql_live.py",
    "tests/instances/adapters/test_mysql_holds_live.py",
    "tests/accounts/test_live_who_can.py::test_mariadb_answers_equal_what_each_login_can_run",
    "tests/instances/adapters/test_privileges_live.py::test_mariadb_names_the_missing_grants_and_they_are_enough",
    "tests/instances/adapters/test_privileges_live.py::test_mariadb_documented_monitor_passes",
    "tests/instances/adapters/test_password_policy_live.py::test_mariadb_simple_password_check_flips_the_fact",
    "tests/instances/adapters/test_password_policy_live.py::test_mariadb_without_strict_validation_is_not_enforced",
    "tests/capacity/test_live.py::test_mariadb_collect_grow_drop_and_table_sizes",
    "tests/instances/adapters/test_mysql_executed.py",
]
