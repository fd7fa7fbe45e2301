"""MySQL 5.7 / 8.0 / 8.4 privilege tables, built in a scratch schema of the live MariaDB, so that
the MySQL adapter's MySQL-only catalog SQL is *executed* (joins, filters, ORDER BY and JSON paths
as written) instead of replayed.

No MySQL server runs here. ``MySQLServer(admin_conn, version)`` creates a schema named with the run
prefix (tests/live_targets.py) holding the grant tables with the columns and types the MySQL
Reference Manual documents, and fills them with the rows the documented account-management
statements create (``create_user``, ``grant_global``, ``grant_role``, ``partial_revoke`` …: one
helper per statement, each naming its manual section). ``connection(conn)`` wraps a real PyMySQL
connection to the MariaDB so that the adapter's statements run against that schema.

The one hook between the adapter's text and what MariaDB runs (``translate``):

- ``mysql.<table>`` → ```<scratch schema>`.<table>``: only the schema name changes.
- Three things MariaDB cannot answer as MySQL 8 would, because they are server state and not
  tables (each replaced by the documented equivalent over the emulated variables):
  ``SET SESSION MAX_EXECUTION_TIME`` / ``information_schema_stats_expiry`` (unknown variables on
  MariaDB: recorded in ``session_settings``, not sent); ``@@GLOBAL.<name>`` → the value of
  ``<name>`` in the emulated ``global_variables`` (``ON``/``OFF`` read as 1/0, as ``SELECT
  @@GLOBAL`` returns a boolean variable); ``SHOW GLOBAL VARIABLES LIKE p`` → the same rows from the
  emulated ``global_variables`` (MySQL 8 serves SHOW VARIABLES from performance_schema's table of
  that name, manual 29.12.14 "Performance Schema System Variable Tables").

Manual references are to the MySQL 8.4 Reference Manual (the 8.0 and 5.7 manuals have the same
text one chapter earlier: 8.2.x there is 6.2.x in 8.0 and 5.7):

- 8.2.3 "Grant Tables": which table holds what (user: accounts, global static privileges,
  account_locked, password_expired, User_attributes; db / tables_priv / columns_priv / procs_priv;
  global_grants: dynamic global privileges; default_roles; role_edges: "edges for role
  subgraphs"), and its tables "Grant Table Scope Column Properties" (Host CHAR(255) ASCII, User
  CHAR(32), Db / Table_name / Column_name / Routine_name CHAR(64), case-sensitive except Host) and
  "Grant Table Privilege Column Properties" (``*_priv`` ENUM('N','Y') DEFAULT 'N'; Table_priv,
  Column_priv, Proc_priv as SETs of the values below).
- role_edges, default_roles and global_grants: the manual names the tables but not every column
  type; their columns are those the manual's own examples select (``SELECT * FROM
  mysql.role_edges``, 8.2.10 "Using Roles"; ``mysql.default_roles``, same section;
  ``mysql.global_grants``, 8.2.2 "Privileges Provided by MySQL", "Static Versus Dynamic
  Privileges"), typed like the scope columns above.
- User_attributes (JSON, 8.0.14+) ``Restrictions``: 8.2.12 "Privilege Restriction Using Partial
  Revokes" (``[{"Database": "world", "Privileges": ["INSERT"]}]``).

MariaDB keeps its own ``mysql`` schema untouched: nothing here writes there.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from typing import Any

from tests.live_targets import RUN_PREFIX, mysql_ident

# 8.2.3 "Grant Table Privilege Column Properties": the static global privilege columns of
# mysql.user, in the table's order (Create_role_priv/Drop_role_priv are 8.0+).
USER_PRIVILEGE_COLUMNS = (
    "Select_priv", "Insert_priv", "Update_priv", "Delete_priv", "Create_priv", "Drop_priv", "Reload_priv",
    "Shutdown_priv", "Process_priv", "File_priv", "Grant_priv", "References_priv", "Index_priv", "Alter_priv",
    "Show_db_priv", "Super_priv", "Create_tmp_table_priv", "Lock_tables_priv", "Execute_priv", "Repl_slave_priv",
    "Repl_client_priv", "Create_view_priv", "Show_view_priv", "Create_routine_priv", "Alter_routine_priv",
    "Create_user_priv", "Event_priv", "Trigger_priv", "Create_tablespace_priv",
)  # fmt: skip
ROLE_PRIVILEGE_COLUMNS = ("Create_role_priv", "Drop_role_priv")
DB_PRIVILEGE_COLUMNS = (
    "Select_priv", "Insert_priv", "Update_priv", "Delete_priv", "Create_priv", "Drop_priv", "Grant_priv",
    "References_priv", "Index_priv", "Alter_priv", "Create_tmp_table_priv", "Lock_tables_priv", "Create_view_priv",
    "Show_view_priv", "Create_routine_priv", "Alter_routine_priv", "Execute_priv", "Event_priv", "Trigger_priv",
)  # fmt: skip
TABLE_PRIV_SET = ("Select", "Insert", "Update", "Delete", "Create", "Drop", "Grant", "References", "Index", "Alter",
                  "Create View", "Show view", "Trigger")  # fmt: skip
COLUMN_PRIV_SET = ("Select", "Insert", "Update", "References")
PROC_PRIV_SET = ("Execute", "Alter Routine", "Grant")

_FLAG = "ENUM('N','Y') CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NOT NULL DEFAULT 'N'"
_USER = "CHAR(32) BINARY NOT NULL DEFAULT ''"
_NAME = "CHAR(64) BINARY NOT NULL DEFAULT ''"


def _host(version: tuple[int, ...]) -> str:
    """Host is CHAR(255) ASCII since 8.0.17, CHAR(60) before ("Grant Table Scope Column Properties")."""
    length = 255 if version >= (8, 0, 17) else 60
    return f"CHAR({length}) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT ''"


def _set(values: Iterable[str]) -> str:
    items = ",".join(f"'{v}'" for v in values)
    return f"SET({items}) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NOT NULL DEFAULT ''"


def _flags(columns: Iterable[str]) -> str:
    return ", ".join(f"{c} {_FLAG}" for c in columns)


def ddl(version: tuple[int, ...]) -> dict[str, str]:
    """The grant tables of ``version`` (8.2.3 "Grant Tables"; 5.7 manual 6.2.3): table → column
    definitions, typed per "Grant Table Scope/Privilege Column Properties". MySQL 8.0 adds
    Create_role_priv/Drop_role_priv, the password-reuse columns, User_attributes (JSON) and the
    role_edges, default_roles and global_grants tables; 5.7 has none of them. The user table's
    non-privilege columns are those 8.2.3 lists for it (security, resource control, password
    management, account lock); authentication_string (the hash) is there too, so a query that
    selected it would find it."""
    mysql8, host = version >= (8, 0, 0), _host(version)
    user = (
        f"Host {host}, User {_USER}, {_flags(USER_PRIVILEGE_COLUMNS)}, "
        "ssl_type ENUM('','ANY','X509','SPECIFIED') NOT NULL DEFAULT '', ssl_cipher BLOB, x509_issuer BLOB, "
        "x509_subject BLOB, max_questions INT UNSIGNED NOT NULL DEFAULT 0, "
        "max_updates INT UNSIGNED NOT NULL DEFAULT 0, "
        "max_connections INT UNSIGNED NOT NULL DEFAULT 0, max_user_connections INT UNSIGNED NOT NULL DEFAULT 0, "
        f"plugin CHAR(64) BINARY NOT NULL DEFAULT '{'caching_sha2_password' if mysql8 else 'mysql_native_password'}', "
        f"authentication_string TEXT, password_expired {_FLAG}, password_last_changed TIMESTAMP NULL DEFAULT NULL, "
        f"password_lifetime SMALLINT UNSIGNED NULL DEFAULT NULL, account_locked {_FLAG}, "
    )
    if mysql8:
        user += (
            f"{_flags(ROLE_PRIVILEGE_COLUMNS)}, Password_reuse_history SMALLINT UNSIGNED NULL DEFAULT NULL, "
            "Password_reuse_time SMALLINT UNSIGNED NULL DEFAULT NULL, "
            "Password_require_current ENUM('N','Y') NULL DEFAULT NULL, User_attributes JSON NULL DEFAULT NULL, "
        )
    grantor = "VARCHAR(288)" if mysql8 else "CHAR(93)"
    tables = {
        "user": user + "PRIMARY KEY (Host, User)",
        "db": f"Host {host}, Db {_NAME}, User {_USER}, {_flags(DB_PRIVILEGE_COLUMNS)}, PRIMARY KEY (Host, Db, User)",
        "tables_priv": (
            f"Host {host}, Db {_NAME}, User {_USER}, Table_name {_NAME}, Grantor {grantor} NOT NULL DEFAULT '', "
            f"Timestamp TIMESTAMP NULL DEFAULT NULL, Table_priv {_set(TABLE_PRIV_SET)}, "
            f"Column_priv {_set(COLUMN_PRIV_SET)}, PRIMARY KEY (Host, Db, User, Table_name)"
        ),
        "columns_priv": (
            f"Host {host}, Db {_NAME}, User {_USER}, Table_name {_NAME}, Column_name {_NAME}, "
            f"Timestamp TIMESTAMP NULL DEFAULT NULL, Column_priv {_set(COLUMN_PRIV_SET)}, "
            "PRIMARY KEY (Host, Db, User, Table_name, Column_name)"
        ),
        "procs_priv": (
            f"Host {host}, Db {_NAME}, User {_USER}, Routine_name CHAR(64) NOT NULL DEFAULT '', "
            f"Routine_type ENUM('FUNCTION','PROCEDURE') NOT NULL, Grantor {grantor} NOT NULL DEFAULT '', "
            f"Proc_priv {_set(PROC_PRIV_SET)}, Timestamp TIMESTAMP NULL DEFAULT NULL, "
            "PRIMARY KEY (Host, Db, User, Routine_name, Routine_type)"
        ),
        # performance_schema.global_variables (29.12.14): what SHOW GLOBAL VARIABLES and @@GLOBAL read.
        "global_variables": "VARIABLE_NAME VARCHAR(64) NOT NULL PRIMARY KEY, VARIABLE_VALUE VARCHAR(1024)",
    }
    if mysql8:
        role_host = host.replace("DEFAULT ''", "DEFAULT '%'")
        tables["global_grants"] = (
            f"USER {_USER}, HOST {host}, PRIV CHAR(32) CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci NOT NULL "
            f"DEFAULT '', WITH_GRANT_OPTION {_FLAG}, PRIMARY KEY (USER, HOST, PRIV)"
        )
        tables["default_roles"] = (
            f"HOST {host}, USER {_USER}, "
            f"DEFAULT_ROLE_HOST {role_host}, "
            f"DEFAULT_ROLE_USER {_USER}, PRIMARY KEY (HOST, USER, DEFAULT_ROLE_HOST, DEFAULT_ROLE_USER)"
        )
        tables["role_edges"] = (
            f"FROM_HOST {host}, FROM_USER {_USER}, TO_HOST {host}, TO_USER {_USER}, WITH_ADMIN_OPTION {_FLAG}, "
            "PRIMARY KEY (FROM_HOST, FROM_USER, TO_HOST, TO_USER)"
        )
    return tables


# The defaults of the variables the adapter reads (7.1.8 "Server System Variables").
DEFAULT_VARIABLES = {"activate_all_roles_on_login": "OFF", "mandatory_roles": "", "partial_revokes": "OFF"}

_MYSQL_TABLE = re.compile(r"\bmysql\.(?=[A-Za-z_])")
_SESSION_SETTING = re.compile(r"^\s*SET\s+SESSION\s+(MAX_EXECUTION_TIME|information_schema_stats_expiry)\b", re.I)
_GLOBAL_VARIABLE = re.compile(r"@@GLOBAL\.(\w+)", re.I)
_SHOW_VARIABLES = re.compile(r"^\s*SHOW\s+GLOBAL\s+VARIABLES\s+LIKE\s+('(?:[^'\\]|\\.)*')\s*$", re.I)


class MySQLServer:
    """One emulated MySQL server's grant tables (``version`` as its handshake would say it:
    5.7.x, 8.0.x or 8.4.x)."""

    def __init__(self, admin_conn, version: str = "8.0.36"):
        self.admin, self.version = admin_conn, version
        self.release = tuple(int(part) for part in version.split("-")[0].split("."))
        self.mysql8 = self.release >= (8, 0, 0)
        self.plugin = "caching_sha2_password" if self.mysql8 else "mysql_native_password"
        self.global_columns = USER_PRIVILEGE_COLUMNS + (ROLE_PRIVILEGE_COLUMNS if self.mysql8 else ())
        self.schema = f"{RUN_PREFIX}my_{secrets.token_hex(2)}"
        self.session_settings: list[str] = []
        self.statements: list[str] = []
        self._run(f"CREATE DATABASE {mysql_ident(self.schema)}")
        for table, body in ddl(self.release).items():
            self._run(f"CREATE TABLE {self.table(table)} ({body})")
        if self.mysql8:
            for name, value in DEFAULT_VARIABLES.items():
                self.set_global(name, value)
        # A fresh server's reserved accounts ("Initializing the Data Directory"; mysql.infoschema
        # since 8.0): locked, not roles, never granted to anyone.
        for user in ("mysql.infoschema", "mysql.session", "mysql.sys")[0 if self.mysql8 else 1 :]:
            self.create_user(user, "localhost", locked=True)
        self.create_user("root", "localhost")
        self.grant_global("root", "localhost", "ALL", grant_option=True)

    def drop(self) -> None:
        self._run(f"DROP DATABASE IF EXISTS {mysql_ident(self.schema)}")

    def table(self, name: str) -> str:
        return f"{mysql_ident(self.schema)}.{name}"

    def _run(self, statement: str, args: Any = None) -> list[tuple]:
        with self.admin.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())

    # --- what the documented statements store ---------------------------------------------------
    def create_user(
        self,
        user: str,
        host: str = "%",
        *,
        plugin: str | None = None,
        locked: bool = False,
        password_expired: bool = False,
    ) -> None:
        """``CREATE USER`` (15.7.1.3): one mysql.user row, every privilege 'N'; ACCOUNT LOCK sets
        account_locked, PASSWORD EXPIRE password_expired."""
        self._run(f"INSERT INTO {self.table('user')} (Host, User, plugin, authentication_string, account_locked, "
                  "password_expired, ssl_cipher, x509_issuer, x509_subject) "
                  "VALUES (%s, %s, %s, %s, %s, %s, '', '', '')",
                  (host, user, plugin or self.plugin, "$A$005$not-a-real-hash", "Y" if locked else "N",
                   "Y" if password_expired else "N"))  # fmt: skip

    def create_role(self, role: str, host: str = "%") -> None:
        """``CREATE ROLE`` (15.7.1.2): "a role when created is locked, has no password, and is
        assigned the default authentication plugin" — a mysql.user row like any account."""
        self.create_user(role, host, locked=True, password_expired=True)

    def grant_global(self, user: str, host: str, *privileges: str, grant_option: bool = False) -> None:
        """``GRANT priv ON *.*`` of static privileges: their mysql.user columns 'Y' (``ALL``: every
        static one; WITH GRANT OPTION: Grant_priv)."""
        columns = [c for c in self.global_columns if c != "Grant_priv"]
        if privileges != ("ALL",):
            columns = [_column(p) for p in privileges]
        if grant_option:
            columns.append("Grant_priv")
        sets = ", ".join(f"{c} = 'Y'" for c in columns)
        self._run(f"UPDATE {self.table('user')} SET {sets} WHERE User = %s AND Host = %s", (user, host))

    def grant_dynamic(self, user: str, host: str, privilege: str, *, grant_option: bool = False) -> None:
        """``GRANT BACKUP_ADMIN ON *.*`` (dynamic privilege, 8.2.2): a mysql.global_grants row."""
        self._run(f"INSERT INTO {self.table('global_grants')} VALUES (%s, %s, %s, %s)",
                  (user, host, privilege, "Y" if grant_option else "N"))  # fmt: skip

    def grant_database(self, user: str, host: str, db: str, *privileges: str, grant_option: bool = False) -> None:
        """``GRANT priv ON db.*``: one mysql.db row."""
        flags = {c: "N" for c in DB_PRIVILEGE_COLUMNS}
        flags.update({_column(p): "Y" for p in privileges})
        if grant_option:
            flags["Grant_priv"] = "Y"
        names = ", ".join(flags)
        self._run(f"INSERT INTO {self.table('db')} (Host, Db, User, {names}) VALUES (%s, %s, %s"
                  + ", %s" * len(flags) + ")", (host, db, user, *flags.values()))  # fmt: skip

    def grant_table(
        self, user: str, host: str, db: str, table: str, *privileges: str, grant_option: bool = False
    ) -> None:
        """``GRANT priv ON db.table``: one mysql.tables_priv row (Table_priv a SET; Grant = the option)."""
        items = [p.title() if p.upper() != "SHOW VIEW" else "Show view" for p in privileges]
        items += ["Grant"] * grant_option
        self._run(f"INSERT INTO {self.table('tables_priv')} (Host, Db, User, Table_name, Grantor, Table_priv, "
                  "Column_priv) VALUES (%s, %s, %s, %s, 'root@localhost', %s, '')",
                  (host, db, user, table, ",".join(items)))  # fmt: skip

    def grant_column(self, user: str, host: str, db: str, table: str, column: str, *privileges: str) -> None:
        """``GRANT SELECT (col) ON db.table``: a mysql.columns_priv row, and the table's
        tables_priv row lists the privilege in its Column_priv (8.2.3, "tables_priv and
        columns_priv Grant Tables")."""
        items = ",".join(p.title() for p in privileges)
        self._run(f"INSERT INTO {self.table('columns_priv')} (Host, Db, User, Table_name, Column_name, Column_priv) "
                  "VALUES (%s, %s, %s, %s, %s, %s)", (host, db, user, table, column, items))  # fmt: skip
        self._run(f"INSERT INTO {self.table('tables_priv')} (Host, Db, User, Table_name, Grantor, Table_priv, "
                  "Column_priv) VALUES (%s, %s, %s, %s, 'root@localhost', '', %s) "
                  "ON DUPLICATE KEY UPDATE Column_priv = CONCAT_WS(',', NULLIF(Column_priv, ''), VALUES(Column_priv))",
                  (host, db, user, table, items))  # fmt: skip

    def grant_routine(self, user: str, host: str, db: str, routine: str, *privileges: str) -> None:
        """``GRANT EXECUTE ON PROCEDURE db.routine``: a mysql.procs_priv row."""
        self._run(f"INSERT INTO {self.table('procs_priv')} (Host, Db, User, Routine_name, Routine_type, Grantor, "
                  "Proc_priv) VALUES (%s, %s, %s, %s, 'PROCEDURE', 'root@localhost', %s)",
                  (host, db, user, routine, ",".join(p.title() for p in privileges)))  # fmt: skip

    def grant_role(self, role: tuple[str, str], to: tuple[str, str], *, admin_option: bool = False) -> None:
        """``GRANT role TO user_or_role [WITH ADMIN OPTION]`` (15.7.1.6, 8.2.10): a role_edges row,
        FROM the role TO the grantee."""
        self._run(f"INSERT INTO {self.table('role_edges')} VALUES (%s, %s, %s, %s, %s)",
                  (role[1], role[0], to[1], to[0], "Y" if admin_option else "N"))  # fmt: skip

    def set_default_role(self, user: tuple[str, str], *roles: tuple[str, str]) -> None:
        """``SET DEFAULT ROLE role TO user`` (15.7.1.9): one mysql.default_roles row per role."""
        for role in roles:
            self._run(f"INSERT INTO {self.table('default_roles')} VALUES (%s, %s, %s, %s)",
                      (user[1], user[0], role[1], role[0]))  # fmt: skip

    def partial_revoke(self, user: str, host: str, db: str, *privileges: str) -> None:
        """``REVOKE priv ON db.* FROM user`` with partial_revokes ON, the privilege held globally
        (8.2.12): the restriction is added to User_attributes' ``Restrictions`` list."""
        (raw,) = self._run(f"SELECT User_attributes FROM {self.table('user')} WHERE User = %s AND Host = %s",
                           (user, host))[0]  # fmt: skip
        attributes = json.loads(raw) if raw else {}
        restrictions = attributes.setdefault("Restrictions", [])
        restrictions.append({"Database": db, "Privileges": [p.upper() for p in privileges]})
        self._run(f"UPDATE {self.table('user')} SET User_attributes = %s WHERE User = %s AND Host = %s",
                  (json.dumps(attributes), user, host))  # fmt: skip

    def set_user_attribute(self, user: str, host: str, key: str, value: Any) -> None:
        """Another User_attributes key (8.0.14+ ``additional_password`` of a dual password,
        8.0.21+ ``metadata`` of ``CREATE USER … ATTRIBUTE``): stored next to Restrictions."""
        (raw,) = self._run(f"SELECT User_attributes FROM {self.table('user')} WHERE User = %s AND Host = %s",
                           (user, host))[0]  # fmt: skip
        attributes = json.loads(raw) if raw else {}
        attributes[key] = value
        self._run(f"UPDATE {self.table('user')} SET User_attributes = %s WHERE User = %s AND Host = %s",
                  (json.dumps(attributes), user, host))  # fmt: skip

    def set_global(self, name: str, value: str) -> None:
        """``SET GLOBAL name = value``, as performance_schema.global_variables shows it."""
        self._run(f"REPLACE INTO {self.table('global_variables')} VALUES (%s, %s)", (name, value))

    def install_validate_password(self, **variables: str) -> None:
        """``INSTALL COMPONENT 'file://component_validate_password'`` (8.4.3.2 "Password Validation
        Options and Variables"): its ``validate_password.*`` variables exist while it is installed.
        5.7: ``INSTALL PLUGIN validate_password``, the same variables named ``validate_password_*``
        (5.7 manual 6.5.3.2)."""
        values = {"check_user_name": "ON", "dictionary_file": "", "length": "8", "mixed_case_count": "1",
                  "number_count": "1", "policy": "MEDIUM", "special_char_count": "1"}  # fmt: skip
        values.update(variables)
        for name, value in values.items():
            self.set_global(f"validate_password{'.' if self.mysql8 else '_'}{name}", value)

    # --- running the adapter's statements ------------------------------------------------------
    def translate(self, statement: str) -> str | None:
        """The statement MariaDB runs for ``statement`` (None: a session setting only recorded).
        See the module docstring: the schema name, and the three server-state spellings."""
        if _SESSION_SETTING.match(statement):
            return None
        shown = _SHOW_VARIABLES.match(statement)
        if shown:
            return (f"SELECT VARIABLE_NAME AS Variable_name, VARIABLE_VALUE AS Value FROM "
                    f"{self.table('global_variables')} WHERE VARIABLE_NAME LIKE {shown.group(1)} "
                    "ORDER BY VARIABLE_NAME")  # fmt: skip
        statement = _MYSQL_TABLE.sub(f"{mysql_ident(self.schema)}.", statement)
        return _GLOBAL_VARIABLE.sub(
            lambda m: (f"(SELECT CASE VARIABLE_VALUE WHEN 'ON' THEN 1 WHEN 'OFF' THEN 0 ELSE VARIABLE_VALUE END "
                       f"FROM {self.table('global_variables')} WHERE VARIABLE_NAME = '{m.group(1)}')"),
            statement,
        )  # fmt: skip

    def connection(self, conn) -> _Connection:
        """``conn`` (a PyMySQL connection to the MariaDB) as this MySQL server's connection."""
        return _Connection(conn, self)


def _column(privilege: str) -> str:
    """GRANT name → its privilege column (8.2.3 "Grant Table Privilege Column Properties")."""
    irregular = {"CREATE TEMPORARY TABLES": "Create_tmp_table_priv", "SHOW DATABASES": "Show_db_priv",
                 "REPLICATION SLAVE": "Repl_slave_priv", "REPLICATION CLIENT": "Repl_client_priv"}  # fmt: skip
    name = privilege.upper()
    column = irregular.get(name) or name.title().replace(" ", "_") + "_priv"
    return _COLUMNS.get(column.lower(), column)


_COLUMNS = {c.lower(): c for c in USER_PRIVILEGE_COLUMNS + ROLE_PRIVILEGE_COLUMNS + DB_PRIVILEGE_COLUMNS}


class _Connection:
    """A PyMySQL connection whose handshake says ``server.version`` and whose statements pass
    through ``server.translate``."""

    def __init__(self, conn, server: MySQLServer):
        self._conn, self._server = conn, server

    @property
    def open(self) -> bool:
        return self._conn.open

    def get_server_info(self) -> str:
        return self._server.version

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor(), self._server)

    def close(self) -> None:
        self._conn.close()


class _Cursor:
    def __init__(self, cursor, server: MySQLServer):
        self._cursor, self._server = cursor, server
        self.description = None

    def execute(self, statement: str, args: Any = None) -> int:
        self._server.statements.append(statement)
        translated = self._server.translate(statement)
        if translated is None:
            self._server.session_settings.append(statement if args is None else f"{statement} ← {args!r}")
            self.description = None
            return 0
        count = self._cursor.execute(translated, args)
        self.description = self._cursor.description
        return count

    def fetchall(self):
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()
