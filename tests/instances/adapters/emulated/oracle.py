"""An emulated Oracle Database (one PDB): the documented data-dictionary views in DuckDB,
the session-dependent views (USER_*, ALL_*, SESSION_ROLES, SESSION_PRIVS) defined from
the DBA_ views as the Reference describes them, ``USER``, bind variables, and a
python-oracledb-shaped ``connect``.

Scenario helpers insert dictionary rows the way the documented statements do
(``CREATE USER`` → a DBA_USERS row; ``GRANT role TO x WITH ADMIN OPTION`` → a
DBA_ROLE_PRIVS row; ``CREATE TABLE … TABLESPACE`` → DBA_TABLES and a DBA_SEGMENTS row;
…). They never produce rows of the adapter's statements.

Access is emulated as documented: the DBA_ and V$ views are readable with
SELECT_CATALOG_ROLE enabled or SELECT ANY DICTIONARY, else ORA-00942 (Oracle Database
Security Guide, "Managing Access to Objects": dictionary protection); a login fails
with ORA-01017 (no such user), ORA-28000 (locked), ORA-28001 (expired) or ORA-01045 (no
CREATE SESSION); an object grant on one dictionary view (``GRANT SELECT ON SYS.DBA_USERS``) opens that
view alone. Not emulated: proxy users,
password-protected roles (treated like the adapter does: enabled when DEFAULT).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import oracledb

from tests.instances.adapters import sqlcheck
from tests.instances.adapters.emulated.dbapi import (
    EmulatedConnection,
    columns_at,
    create_table,
    insert,
    referenced_tables,
)

CATALOG = sqlcheck.load_catalog(sqlcheck.ORACLE)
CREATED = datetime(2024, 1, 2, 3, 4, 5)

# Base tables: the DBA_ views, V$PWFILE_USERS and PRODUCT_COMPONENT_VERSION. DBA_INDEXES/LOBS/
# TABLES have the columns of their ALL_ page ("same_as" in the catalog).
TABLES = ("DBA_USERS", "DBA_ROLE_PRIVS", "DBA_ROLES", "DBA_SYS_PRIVS", "DBA_TAB_PRIVS", "DBA_COL_PRIVS",
          "V$PWFILE_USERS", "DBA_PROFILES", "DBA_TABLESPACES", "DBA_DATA_FILES", "DBA_SEGMENTS", "DBA_INDEXES",
          "DBA_LOBS", "DBA_TABLES", "DBA_OBJECTS", "PRODUCT_COMPONENT_VERSION")  # fmt: skip
SOURCES = {"DBA_INDEXES": "ALL_INDEXES", "DBA_LOBS": "ALL_LOBS", "DBA_TABLES": "ALL_TABLES",
           "DBA_OBJECTS": "ALL_OBJECTS"}  # fmt: skip
SESSION_USER = "getvariable('ora_session_user')"
# Views over the base tables, as the Database Reference defines their rows.
VIEWS = {
    # "SESSION_ROLES describes the roles currently enabled to the user": the default roles granted
    # to the user and every role granted to an enabled role.
    "SESSION_ROLES": f"""WITH RECURSIVE enabled(role) AS (
        SELECT granted_role FROM dba_role_privs WHERE grantee = {SESSION_USER} AND default_role = 'YES'
        UNION SELECT p.granted_role FROM dba_role_privs AS p JOIN enabled AS e ON p.grantee = e.role)
        SELECT role FROM enabled""",
    # "SESSION_PRIVS describes the privileges that are currently available to the user."
    "SESSION_PRIVS": f"""SELECT DISTINCT privilege FROM dba_sys_privs
        WHERE grantee IN ({SESSION_USER}, 'PUBLIC') OR grantee IN (SELECT role FROM session_roles)""",
    # "USER_SEGMENTS describes the storage allocated for the segments owned by the current user's objects."
    "USER_SEGMENTS": f"SELECT {{columns}} FROM dba_segments WHERE owner = {SESSION_USER}",
    # "USER_TABLESPACES describes the tablespaces accessible to the current user."
    "USER_TABLESPACES": "SELECT {columns} FROM dba_tablespaces",
    # "ALL_TABLES describes the relational tables accessible to the current user": owned, or with an
    # object privilege granted to the user, to PUBLIC or to an enabled role, or with SELECT ANY TABLE.
    "ALL_TABLES": f"""SELECT {{columns}} FROM dba_tables AS t WHERE t.owner = {SESSION_USER}
        OR EXISTS (SELECT 1 FROM dba_tab_privs AS p WHERE p.owner = t.owner AND p.table_name = t.table_name
                   AND (p.grantee IN ({SESSION_USER}, 'PUBLIC') OR p.grantee IN (SELECT role FROM session_roles)))
        OR EXISTS (SELECT 1 FROM session_privs WHERE privilege = 'SELECT ANY TABLE')""",
    # "ALL_INDEXES describes the indexes on the tables accessible to the current user."
    "ALL_INDEXES": """SELECT {columns} FROM dba_indexes AS i WHERE EXISTS (SELECT 1 FROM all_tables AS t
        WHERE t.owner = i.table_owner AND t.table_name = i.table_name)""",
    # "ALL_LOBS describes the LOBs contained in tables accessible to the current user."
    "ALL_LOBS": """SELECT {columns} FROM dba_lobs AS l WHERE EXISTS (SELECT 1 FROM all_tables AS t
        WHERE t.owner = l.owner AND t.table_name = l.table_name)""",
}
# The views the dictionary protection covers (readable with SELECT_CATALOG_ROLE / SELECT ANY DICTIONARY).
PROTECTED_PREFIXES = ("DBA_", "V$")

_MACROS = f"CREATE TEMP MACRO ora_user() AS {SESSION_USER}"


def yes(flag: bool) -> str:
    return "YES" if flag else "NO"


class Oracle:
    """An emulated Oracle Database after creation (``Oracle("19.21.0.0.0")``): SYS, SYSTEM and the
    other Oracle-maintained accounts and roles, the default tablespaces, SYSDBA for SYS."""

    def __init__(self, version: str = "19.21.0.0.0"):
        self.engine = sqlcheck.ORACLE
        self.version = version
        self.major = int(version.split(".")[0])
        self.duck = duckdb.connect()
        # statement tag → exception raised instead of running it: timeouts, lost connections and other
        # failures that executing catalog SQL cannot produce (the error-mapping tests inject them)
        self.failures: dict[str, BaseException] = {}
        self._ids = iter(range(100, 1_000_000))
        self._build()

    def insert(self, view: str, **values: Any) -> None:
        """One row; a documented column this release does not have yet is left out (DBA_ROLE_PRIVS.
        DELEGATE_OPTION on 12.1.0.1, V$PWFILE_USERS.ACCOUNT_STATUS before 12.2, …)."""
        source = SOURCES.get(view, view)
        present = columns_at(CATALOG, source, self.version)
        insert(self.duck, view.lower(), {k: v for k, v in values.items()
                                         if k in present or k not in CATALOG.views[source]})  # fmt: skip

    def _build(self) -> None:
        duck = self.duck
        for table in TABLES:
            create_table(duck, table.lower(), columns_at(CATALOG, SOURCES.get(table, table), self.version))
        for view, body in VIEWS.items():
            columns = ", ".join(f'"{c}"' for c in columns_at(CATALOG, view, self.version))
            duck.execute(f"CREATE VIEW {view.lower()} AS {body.format(columns=columns)}")
        # PRODUCT_COMPONENT_VERSION: 18c+ VERSION reads <major>.0.0.0.0, VERSION_FULL the release update.
        major_version = f"{self.major}.0.0.0.0" if self.major >= 18 else self.version
        release = {12: "12c", 18: "18c", 19: "19c", 21: "21c", 23: "23ai"}.get(self.major, "")
        self.insert("PRODUCT_COMPONENT_VERSION", PRODUCT=f"Oracle Database {release} Enterprise Edition ",
                    VERSION=major_version, VERSION_FULL=self.version, STATUS="Production")  # fmt: skip
        # A new database: Oracle-maintained accounts and roles (ORACLE_MAINTAINED = 'Y').
        for name in ("SYS", "SYSTEM", "DBSNMP", "XDB"):
            self.user(name, maintained=True, default_tablespace="SYSTEM")
        for role in ("CONNECT", "RESOURCE", "DBA", "SELECT_CATALOG_ROLE"):
            self.role(role, maintained=True)
        self.grant_system("CREATE SESSION", "CONNECT")
        self.grant_system("SET CONTAINER", "CONNECT")
        for privilege in ("CREATE TABLE", "CREATE SEQUENCE", "CREATE PROCEDURE"):
            self.grant_system(privilege, "RESOURCE")
        for privilege in ("CREATE SESSION", "CREATE USER", "SELECT ANY TABLE", "GRANT ANY PRIVILEGE"):
            self.grant_system(privilege, "DBA", admin=True)
        self.grant_role("SELECT_CATALOG_ROLE", "DBA", admin=True)
        self.grant_role("DBA", "SYS", admin=True)
        self.grant_role("DBA", "SYSTEM", admin=True)
        self.grant_system("SELECT ANY DICTIONARY", "SYS", admin=True)
        # SELECT_CATALOG_ROLE and PUBLIC hold thousands of dictionary grants; a few stand for them.
        for view in ("DBA_USERS", "DBA_ROLE_PRIVS", "DBA_SEGMENTS"):
            self.grant_object("SELECT", "SYS", view, "SELECT_CATALOG_ROLE")
        self.grant_object("SELECT", "SYS", "DUAL", "PUBLIC")
        self.grant_object("EXECUTE", "SYS", "DBMS_OUTPUT", "PUBLIC")
        self.sysdba("SYS", sysoper=True)
        # The DEFAULT profile as a new database has it (Database Security Guide, "Managing Resources with
        # Profiles"; 12.2+ INACTIVE_ACCOUNT_TIME, 21c+ PASSWORD_ROLLOVER_TIME), kernel limits among them.
        self.profile("DEFAULT", FAILED_LOGIN_ATTEMPTS="10", PASSWORD_LIFE_TIME="180", PASSWORD_REUSE_TIME="UNLIMITED",
                     PASSWORD_REUSE_MAX="UNLIMITED", PASSWORD_VERIFY_FUNCTION="NULL", PASSWORD_LOCK_TIME="1",
                     PASSWORD_GRACE_TIME="7", INACTIVE_ACCOUNT_TIME="UNLIMITED", PASSWORD_ROLLOVER_TIME="0",
                     kernel={"SESSIONS_PER_USER": "UNLIMITED", "CPU_PER_SESSION": "UNLIMITED"})  # fmt: skip
        for name, contents, size in (("SYSTEM", "PERMANENT", 900 << 20), ("SYSAUX", "PERMANENT", 600 << 20),
                                     ("UNDOTBS1", "UNDO", 300 << 20), ("TEMP", "TEMPORARY", 0),
                                     ("USERS", "PERMANENT", 5 << 20)):  # fmt: skip
            self.tablespace(name, contents=contents, files=(size,) if size else ())
        self.table("SYS", "OBJ$", "SYSTEM", 80 << 20, num_rows=70000)

    # -- users, roles, grants --------------------------------------------------------------------------

    def user(self, name: str, *, status: str = "OPEN", profile: str = "DEFAULT", authentication: str = "PASSWORD",
             default_tablespace: str = "USERS", maintained: bool = False, lock_date: datetime | None = None,
             expiry_date: datetime | None = None) -> None:  # fmt: skip
        """CREATE USER (DBA_USERS: ACCOUNT_STATUS OPEN, LOCKED, EXPIRED, EXPIRED(GRACE), EXPIRED & LOCKED, …;
        AUTHENTICATION_TYPE PASSWORD, EXTERNAL, GLOBAL, NONE for schema-only accounts on 18c+)."""
        self.insert("DBA_USERS", USERNAME=name, USER_ID=next(self._ids), ACCOUNT_STATUS=status, LOCK_DATE=lock_date,
                    EXPIRY_DATE=expiry_date, DEFAULT_TABLESPACE=default_tablespace, TEMPORARY_TABLESPACE="TEMP",
                    CREATED=CREATED, PROFILE=profile, AUTHENTICATION_TYPE=authentication, COMMON="NO",
                    ORACLE_MAINTAINED="Y" if maintained else "N")  # fmt: skip

    def role(self, name: str, *, maintained: bool = False) -> None:
        """CREATE ROLE (DBA_ROLES)."""
        self.insert("DBA_ROLES", ROLE=name, PASSWORD_REQUIRED="NO", AUTHENTICATION_TYPE="NONE", COMMON="NO",
                    ORACLE_MAINTAINED="Y" if maintained else "N")  # fmt: skip

    def grant_role(self, role: str, grantee: str, *, admin: bool = False, default: bool = True) -> None:
        """GRANT <role> TO <grantee> [WITH ADMIN OPTION]; ``default=False`` is ALTER USER … DEFAULT ROLE ALL
        EXCEPT <role> (DBA_ROLE_PRIVS.DEFAULT_ROLE; a role granted to a role is enabled with it)."""
        self.insert("DBA_ROLE_PRIVS", GRANTEE=grantee, GRANTED_ROLE=role, ADMIN_OPTION=yes(admin),
                    DELEGATE_OPTION="NO", DEFAULT_ROLE=yes(default), COMMON="NO")  # fmt: skip

    def grant_system(self, privilege: str, grantee: str, *, admin: bool = False) -> None:
        """GRANT <system privilege> TO <grantee> [WITH ADMIN OPTION] (DBA_SYS_PRIVS)."""
        self.insert("DBA_SYS_PRIVS", GRANTEE=grantee, PRIVILEGE=privilege, ADMIN_OPTION=yes(admin), COMMON="NO")

    def grant_object(self, privilege: str, owner: str, table: str, grantee: str, *, grantable: bool = False,
                     grantor: str | None = None) -> None:  # fmt: skip
        """GRANT <privilege> ON <owner>.<table> TO <grantee> [WITH GRANT OPTION] (DBA_TAB_PRIVS)."""
        self.insert("DBA_TAB_PRIVS", GRANTEE=grantee, OWNER=owner, TABLE_NAME=table, GRANTOR=grantor or owner,
                    PRIVILEGE=privilege, GRANTABLE=yes(grantable), HIERARCHY="NO", COMMON="NO",
                    TYPE="TABLE")  # fmt: skip

    def grant_column(self, privilege: str, owner: str, table: str, column: str, grantee: str, *,
                     grantable: bool = False) -> None:  # fmt: skip
        """GRANT <INSERT|UPDATE|REFERENCES> (<column>) ON <owner>.<table> TO <grantee> (DBA_COL_PRIVS)."""
        self.insert("DBA_COL_PRIVS", GRANTEE=grantee, OWNER=owner, TABLE_NAME=table, COLUMN_NAME=column,
                    GRANTOR=owner, PRIVILEGE=privilege, GRANTABLE=yes(grantable), COMMON="NO")  # fmt: skip

    def sysdba(self, user: str, *, sysoper: bool = False) -> None:
        """GRANT SYSDBA TO <user> (V$PWFILE_USERS: SYSDBA/SYSOPER 'TRUE'/'FALSE')."""
        self.insert("V$PWFILE_USERS", USERNAME=user, SYSDBA="TRUE", SYSOPER="TRUE" if sysoper else "FALSE",
                    SYSASM="FALSE", SYSBACKUP="FALSE", SYSDG="FALSE", SYSKM="FALSE", CON_ID=0,
                    ACCOUNT_STATUS="OPEN")  # fmt: skip

    def profile(self, name: str, *, kernel: dict[str, str] | None = None, **password_limits: str) -> None:
        """CREATE PROFILE <name> LIMIT …: one DBA_PROFILES row per resource (RESOURCE_TYPE PASSWORD or KERNEL;
        LIMIT 'DEFAULT' takes the DEFAULT profile's value; PASSWORD_VERIFY_FUNCTION 'NULL' is none).
        INACTIVE_ACCOUNT_TIME exists from 12.2, PASSWORD_ROLLOVER_TIME from 21c."""
        since = {"INACTIVE_ACCOUNT_TIME": 12.2, "PASSWORD_ROLLOVER_TIME": 21}
        release = float(".".join(self.version.split(".")[:2]))
        for resource, limit in password_limits.items():
            if release >= since.get(resource, 0):
                self.insert("DBA_PROFILES", PROFILE=name, RESOURCE_NAME=resource, RESOURCE_TYPE="PASSWORD",
                            LIMIT=limit, COMMON="NO")  # fmt: skip
        for resource, limit in (kernel or {}).items():
            self.insert("DBA_PROFILES", PROFILE=name, RESOURCE_NAME=resource, RESOURCE_TYPE="KERNEL", LIMIT=limit,
                        COMMON="NO")  # fmt: skip

    # -- storage -----------------------------------------------------------------------------------------

    def tablespace(self, name: str, *, contents: str = "PERMANENT", files: tuple[int, ...] = (100 << 20,)) -> None:
        """CREATE [TEMPORARY|UNDO] TABLESPACE with its data files (DBA_TABLESPACES, DBA_DATA_FILES; temp
        files are in DBA_TEMP_FILES, not here)."""
        self.insert("DBA_TABLESPACES", TABLESPACE_NAME=name, BLOCK_SIZE=8192, STATUS="ONLINE", CONTENTS=contents,
                    LOGGING="LOGGING", EXTENT_MANAGEMENT="LOCAL", ALLOCATION_TYPE="SYSTEM",
                    SEGMENT_SPACE_MANAGEMENT="AUTO")  # fmt: skip
        for size in files:
            file_id = next(self._ids)
            self.insert("DBA_DATA_FILES", FILE_NAME=f"/u01/oradata/{name.lower()}{file_id}.dbf", FILE_ID=file_id,
                        TABLESPACE_NAME=name, BYTES=size, BLOCKS=size // 8192, STATUS="AVAILABLE",
                        RELATIVE_FNO=file_id, AUTOEXTENSIBLE="YES", ONLINE_STATUS="ONLINE")  # fmt: skip

    def segment(self, owner: str, name: str, segment_type: str, tablespace: str, size: int,
                partition: str | None = None) -> None:  # fmt: skip
        """One DBA_SEGMENTS row (TABLE, TABLE PARTITION, INDEX, LOBSEGMENT, LOBINDEX, …)."""
        self.insert("DBA_SEGMENTS", OWNER=owner, SEGMENT_NAME=name, PARTITION_NAME=partition,
                    SEGMENT_TYPE=segment_type, TABLESPACE_NAME=tablespace, BYTES=size, BLOCKS=size // 8192,
                    EXTENTS=1)  # fmt: skip

    def table(self, owner: str, name: str, tablespace: str, size: int, *, num_rows: int | None = None,
              partitions: tuple[str, ...] = ()) -> None:  # fmt: skip
        """CREATE TABLE … TABLESPACE: DBA_TABLES (NUM_ROWS from statistics, NULL if never analysed) and its
        segment (one TABLE PARTITION segment of ``size`` per partition when partitioned)."""
        self.insert("DBA_TABLES", OWNER=owner, TABLE_NAME=name, TABLESPACE_NAME=None if partitions else tablespace,
                    STATUS="VALID", NUM_ROWS=num_rows)  # fmt: skip
        self.object(owner, name, "TABLE")
        for partition in partitions:
            self.segment(owner, name, "TABLE PARTITION", tablespace, size, partition)
        if not partitions:
            self.segment(owner, name, "TABLE", tablespace, size)

    def object(self, owner: str, name: str, object_type: str) -> None:
        """One DBA_OBJECTS row: what CREATE TABLE / VIEW / PROCEDURE / SEQUENCE … adds to the owner's schema."""
        self.insert("DBA_OBJECTS", OWNER=owner, OBJECT_NAME=name, OBJECT_ID=next(self._ids), OBJECT_TYPE=object_type,
                    CREATED=datetime(2024, 1, 1), LAST_DDL_TIME=datetime(2024, 1, 1), STATUS="VALID", TEMPORARY="N",
                    GENERATED="N", SECONDARY="N", NAMESPACE=1)  # fmt: skip

    def index(self, owner: str, name: str, table: str, tablespace: str, size: int, *,
              table_owner: str | None = None) -> None:  # fmt: skip
        """CREATE INDEX <owner>.<name> ON <table_owner>.<table> … TABLESPACE (DBA_INDEXES: OWNER is the index's
        owner, TABLE_OWNER the table's — another schema's with CREATE ANY INDEX; and its INDEX segment, owned
        by the index's owner)."""
        self.insert("DBA_INDEXES", OWNER=owner, INDEX_NAME=name, INDEX_TYPE="NORMAL", TABLE_OWNER=table_owner or owner,
                    TABLE_NAME=table, TABLE_TYPE="TABLE", UNIQUENESS="NONUNIQUE",
                    TABLESPACE_NAME=tablespace)  # fmt: skip
        self.segment(owner, name, "INDEX", tablespace, size)

    def lob(self, owner: str, table: str, column: str, tablespace: str, size: int, index_size: int) -> None:
        """A LOB column stored out of line: DBA_LOBS, its LOBSEGMENT (SYS_LOB…) and LOBINDEX (SYS_IL…)."""
        number = next(self._ids)
        segment, index = f"SYS_LOB{number:010d}C00002$$", f"SYS_IL{number:010d}C00002$$"
        self.insert("DBA_LOBS", OWNER=owner, TABLE_NAME=table, COLUMN_NAME=column, SEGMENT_NAME=segment,
                    TABLESPACE_NAME=tablespace, INDEX_NAME=index, CHUNK=8192)  # fmt: skip
        self.segment(owner, segment, "LOBSEGMENT", tablespace, size)
        self.segment(owner, index, "LOBINDEX", tablespace, index_size)

    # -- sessions ------------------------------------------------------------------------------------------

    def connect(self, *, user: str, password: str = "", host: str = "", port: int = 0, service_name: str | None = None,
                **options: Any) -> EmulatedConnection:  # fmt: skip
        """oracledb.connect (thin mode): ORA-01017 unknown user, ORA-28000 locked, ORA-28001 expired,
        ORA-01045 without CREATE SESSION; ``connection.version`` is the server's."""
        row = self.duck.execute("SELECT account_status FROM dba_users WHERE username = ?", [user]).fetchone()
        if row is None:
            raise oracledb.DatabaseError("ORA-01017: invalid credential or not authorized; logon denied")
        status = row[0]
        if "LOCKED" in status:
            raise oracledb.DatabaseError("ORA-28000: The account is locked.")
        if "EXPIRED" in status and "GRACE" not in status:
            raise oracledb.DatabaseError("ORA-28001: The password has expired.")
        duck = self.duck.cursor()
        duck.execute("SET VARIABLE ora_session_user = ?", [user])
        duck.execute(_MACROS)
        if not duck.execute("SELECT 1 FROM session_privs WHERE privilege = 'CREATE SESSION'").fetchall():
            duck.close()
            raise oracledb.DatabaseError(f"ORA-01045: user {user} lacks CREATE SESSION privilege; logon denied")
        return EmulatedConnection(self, duck, login=user, database=service_name or "", version=self.version)

    def before_statement(self, connection: EmulatedConnection, statement: str) -> None:
        """DBA_ and V$ views without SELECT_CATALOG_ROLE or SELECT ANY DICTIONARY: ORA-00942."""
        protected = [t.name.upper() for t in referenced_tables(statement, self.engine.dialect)
                     if t.name.upper().startswith(PROTECTED_PREFIXES)]  # fmt: skip
        if not protected:
            return
        allowed = connection.duck.execute(
            "SELECT (SELECT count(*) FROM session_roles WHERE role = 'SELECT_CATALOG_ROLE') "
            "+ (SELECT count(*) FROM session_privs WHERE privilege = 'SELECT ANY DICTIONARY')"
        ).fetchone()[0]
        if allowed:
            return
        # an object privilege on the view itself (GRANT SELECT|READ ON SYS.<view> TO the login, one of
        # its enabled roles or PUBLIC) opens that view alone (Security Guide, "Managing Access to Objects")
        for view in protected:
            granted = connection.duck.execute(
                "SELECT count(*) FROM dba_tab_privs WHERE owner = 'SYS' AND table_name = ? "
                "AND privilege IN ('SELECT', 'READ') AND (grantee IN (?, 'PUBLIC') "
                "OR grantee IN (SELECT role FROM session_roles))",
                [view, connection.login],
            ).fetchone()[0]
            if not granted:
                raise oracledb.DatabaseError(f'ORA-00942: table or view "{view}" does not exist')
