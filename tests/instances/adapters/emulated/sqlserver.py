"""An emulated SQL Server: the documented catalog views in DuckDB, one attached DuckDB
database per SQL Server database (so ``[db].sys.view`` three-part names resolve natively),
the functions the adapter's SQL calls, and a pymssql-shaped ``connect``.

Scenario helpers insert catalog rows the way the documented statements do
(``CREATE LOGIN`` → a ``sys.server_principals`` row, ``CONNECT SQL`` granted; ``CREATE
USER`` → a ``sys.database_principals`` row, ``CONNECT`` granted; …). They never produce
rows of the adapter's statements: those come from executing the adapter's SQL.

Emulated from the documentation (learn.microsoft.com, pages cited per helper):
``SERVERPROPERTY``, ``@@VERSION``, ``LOGINPROPERTY``, ``CONVERT`` binary styles 1 and 2,
``HAS_PERMS_BY_NAME`` (server permissions and database permissions, see
``_effective``), login (18456/18470/18486), database access (4060 at connect, 916 on a
``[db].sys`` read). Not emulated: metadata visibility (every row is visible, as to a
login with VIEW ANY DEFINITION), Windows group membership, contained users.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pymssql

from tests.instances.adapters import sqlcheck
from tests.instances.adapters.emulated.dbapi import (
    EmulatedConnection,
    columns_at,
    create_table,
    insert,
    referenced_tables,
)

CATALOG = sqlcheck.load_catalog(sqlcheck.SQLSERVER)
CREATED = datetime(2024, 1, 2, 3, 4, 5)

SERVER_TABLES = ("sys.server_principals", "sys.server_permissions", "sys.server_role_members", "sys.endpoints",
                 "sys.databases", "sys.master_files")  # fmt: skip
DATABASE_TABLES = ("sys.database_principals", "sys.database_permissions", "sys.database_role_members",
                   "sys.objects", "sys.all_columns", "sys.schemas", "sys.partitions", "sys.allocation_units",
                   "sys.indexes")  # fmt: skip

# "Server-level roles": the fixed server roles and their principal_id on every instance.
FIXED_SERVER_ROLES = {"public": 2, "sysadmin": 3, "securityadmin": 4, "serveradmin": 5, "setupadmin": 6,
                      "processadmin": 7, "diskadmin": 8, "dbcreator": 9, "bulkadmin": 10}  # fmt: skip
# "Database-level roles": the fixed database roles and their principal_id in every database.
FIXED_DATABASE_ROLES = {"db_owner": 16384, "db_accessadmin": 16385, "db_securityadmin": 16386, "db_ddladmin": 16387,
                        "db_backupoperator": 16389, "db_datareader": 16390, "db_datawriter": 16391,
                        "db_denydatareader": 16392, "db_denydatawriter": 16393}  # fmt: skip
SYSTEM_DATABASES = ("master", "tempdb", "model", "msdb")
# sys.endpoints of a default install (Dedicated Admin Connection and the TSQL endpoints).
ENDPOINTS = {1: "Dedicated Admin Connection", 2: "TSQL Local Machine", 3: "TSQL Named Pipes",
             4: "TSQL Default TCP", 5: "TSQL Default VIA"}  # fmt: skip

STATE_DESC = {"G": "GRANT", "W": "GRANT_WITH_GRANT_OPTION", "D": "DENY", "R": "REVOKE"}
TYPE_DESC = {"S": "SQL_LOGIN", "U": "WINDOWS_LOGIN", "G": "WINDOWS_GROUP", "R": "SERVER_ROLE",
             "C": "CERTIFICATE_MAPPED_LOGIN",
             "E": "EXTERNAL_LOGIN", "X": "EXTERNAL_GROUP"}  # fmt: skip
DB_TYPE_DESC = {"S": "SQL_USER", "U": "WINDOWS_USER", "G": "WINDOWS_GROUP", "R": "DATABASE_ROLE",
                "A": "APPLICATION_ROLE", "C": "CERTIFICATE_MAPPED_USER", "E": "EXTERNAL_USER"}  # fmt: skip
ALLOCATION_UNIT_TYPES = {1: "IN_ROW_DATA", 2: "LOB_DATA", 3: "ROW_OVERFLOW_DATA"}
# Permission names HAS_PERMS_BY_NAME knows here (a documented subset; any other name → NULL, as documented).
SERVER_PERMISSION_NAMES = {"CONNECT SQL", "CONTROL SERVER", "VIEW ANY DEFINITION", "VIEW ANY DATABASE",
                           "CONNECT ANY DATABASE", "VIEW SERVER STATE", "ALTER ANY LOGIN", "SHUTDOWN",
                           "SELECT ALL USER SECURABLES", "VIEW ANY SECURITY DEFINITION"}  # fmt: skip
DATABASE_PERMISSION_NAMES = {"CONNECT", "CONTROL", "SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE",
                             "VIEW DEFINITION", "ALTER", "VIEW DATABASE STATE"}  # fmt: skip
# Server permissions that exist only from a release on (HAS_PERMS_BY_NAME on older: NULL).
PERMISSION_SINCE = {"CONNECT ANY DATABASE": 12, "SELECT ALL USER SECURABLES": 12, "VIEW ANY SECURITY DEFINITION": 16}

_MACROS = """
CREATE TEMP MACRO serverproperty(property_arg) AS
    (SELECT p.value FROM master.emul.server_properties AS p WHERE lower(p.name) = lower(property_arg));
CREATE TEMP MACRO tsql_global_version() AS
    (SELECT p.value FROM master.emul.server_properties AS p WHERE p.name = '@@VERSION');
CREATE TEMP MACRO loginproperty(login_arg, property_arg) AS
    (SELECT p.value FROM master.emul.login_properties AS p
     WHERE p.login_name = login_arg AND lower(p.property) = lower(property_arg));
CREATE TEMP MACRO tsql_convert_binary(value_arg, style_arg) AS
    CASE WHEN value_arg IS NULL THEN NULL WHEN style_arg = 1 THEN '0x' || hex(value_arg)
         WHEN style_arg = 2 THEN hex(value_arg) ELSE error('CONVERT style not emulated') END;
CREATE TEMP MACRO has_dbaccess(database_arg) AS
    (SELECT CASE WHEN h.answer = 1 THEN 1 ELSE 0 END FROM session_permissions AS h
     WHERE h.securable = database_arg AND h.securable_class = 'DATABASE' AND h.permission = 'CONNECT');
CREATE TEMP MACRO has_perms_by_name(securable_arg, class_arg, permission_arg) AS
    (SELECT h.answer FROM session_permissions AS h
     WHERE h.securable IS NOT DISTINCT FROM securable_arg AND h.securable_class IS NOT DISTINCT FROM upper(class_arg)
       AND h.permission = upper(permission_arg));
"""


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Table:
    database: str
    schema: str
    name: str
    object_id: int


class Database:
    """One database's catalog (``[name].sys.*``) and the documented statements that fill it."""

    def __init__(self, server: SQLServer, name: str, database_id: int, owner_sid: bytes):
        self.server = server
        self.name = name
        self.database_id = database_id
        self.q = quoted(name)
        self._principal_ids = itertools.count(5)
        self._schema_ids = itertools.count(5)
        self._object_ids = itertools.count(245575913 + 1000000 * database_id, 16)
        self.principals: dict[str, int] = {}
        self.schemas: dict[str, int] = {}
        self._build(owner_sid)

    def _build(self, owner_sid: bytes) -> None:
        duck, version = self.server.duck, self.server.version
        if self.name != "master":  # attached with the server-level views
            duck.execute(f"ATTACH ':memory:' AS {self.q}")
            duck.execute(f"CREATE SCHEMA {self.q}.sys; CREATE SCHEMA {self.q}.emul")
        for view in DATABASE_TABLES:
            create_table(duck, f"{self.q}.{view}", columns_at(CATALOG, view, version))
        objects = columns_at(CATALOG, "sys.objects", version)
        create_table(duck, f"{self.q}.emul.system_objects", objects)
        # sys.all_objects: "the union of all schema-scoped user-defined objects and system objects".
        duck.execute(f"CREATE VIEW {self.q}.sys.all_objects AS SELECT * FROM {self.q}.sys.objects "
                     f"UNION ALL SELECT * FROM {self.q}.emul.system_objects")  # fmt: skip
        # sys.tables: "a row for each user table", the columns of sys.objects and its own.
        own = {c: t for c, t in columns_at(CATALOG, "sys.tables", version).items() if c not in objects}
        create_table(self.server.duck, f"{self.q}.emul.table_options", {"object_id": "INTEGER", **own})
        duck.execute(
            f"CREATE VIEW {self.q}.sys.tables AS SELECT o.*, "
            + ", ".join(f"x.{c}" for c in own)
            + f" FROM {self.q}.sys.objects AS o JOIN {self.q}.emul.table_options AS x ON x.object_id = o.object_id"
            " WHERE o.type = 'U'"
        )
        if self.name != "master":  # server-scoped views are visible from every database
            for view in (*SERVER_TABLES, "sys.sql_logins"):
                duck.execute(f"CREATE VIEW {self.q}.{view} AS SELECT * FROM master.{view}")
        # A new database (sys.database_principals, "Principals (Database Engine)"): public, dbo
        # (the owner's SID), guest (no CONNECT in a user database), INFORMATION_SCHEMA, sys and
        # the fixed roles; dbo is a member of db_owner.
        self._principal("public", "R", principal_id=0)
        self._principal("dbo", "S", sid=owner_sid, principal_id=1)
        self._principal("guest", "S", sid=b"\x00", principal_id=2)
        self._principal("INFORMATION_SCHEMA", "S", principal_id=3)
        self._principal("sys", "S", principal_id=4)
        for role, principal_id in FIXED_DATABASE_ROLES.items():
            self._principal(role, "R", principal_id=principal_id, fixed=True)
        self.add_member("db_owner", "dbo")
        # the built-in schemas, each owned by its principal, and one per fixed role owned by that role
        # (sys.schemas: schema_id = principal_id; "Ownership and user-schema separation")
        for name, schema_id in (("dbo", 1), ("guest", 2), ("INFORMATION_SCHEMA", 3), ("sys", 4),
                                *FIXED_DATABASE_ROLES.items()):  # fmt: skip
            self.schema(name, schema_id=schema_id, owner=name)
        if self.name in ("master", "tempdb", "msdb"):  # guest is enabled in these
            self.grant("CONNECT", "guest")
        # public's SELECT on system objects (negative object ids), present in every database.
        for object_id, name in ((-385, "objects"), (-410, "all_objects")):
            self.server.insert(f"{self.q}.emul.system_objects", name=name, object_id=object_id, schema_id=4,
                               principal_id=None, parent_object_id=0, type="V", type_desc="VIEW",
                               create_date=CREATED, modify_date=CREATED, is_ms_shipped=True, is_published=False,
                               is_schema_published=False)  # fmt: skip
            self._permission("SELECT", "public", "G", 1, object_id, 0)

    # -- principals ---------------------------------------------------------------------------------

    def _principal(self, name: str, kind: str, *, sid: bytes | None = None, principal_id: int | None = None,
                   fixed: bool = False, default_schema: str | None = None) -> int:  # fmt: skip
        principal_id = next(self._principal_ids) if principal_id is None else principal_id
        values = dict(name=name, principal_id=principal_id, type=kind, type_desc=DB_TYPE_DESC[kind],
                      default_schema_name=default_schema, create_date=CREATED, modify_date=CREATED,
                      owning_principal_id=1 if kind in "RA" and not fixed and principal_id else None, sid=sid,
                      is_fixed_role=fixed, authentication_type=1 if sid else 0,
                      authentication_type_desc="INSTANCE" if sid else "NONE")  # fmt: skip
        self.server.insert(f"{self.q}.sys.database_principals", **values)
        self.principals[name] = principal_id
        return principal_id

    def user(self, name: str, login: str | None = None, *, default_schema: str = "dbo") -> int:
        """CREATE USER <name> FOR LOGIN <login> — the user carries the login's SID and gets CONNECT
        ("CREATE USER (Transact-SQL)"; sys.database_principals)."""
        login_row = self.server.logins[login or name]
        kind = {"S": "S", "U": "U", "G": "G", "E": "E", "X": "E"}[login_row.kind]
        principal_id = self._principal(name, kind, sid=login_row.sid, default_schema=default_schema)
        self.grant("CONNECT", name)
        return principal_id

    def role(self, name: str) -> int:
        """CREATE ROLE (a user-defined database role, type R)."""
        return self._principal(name, "R")

    def application_role(self, name: str) -> int:
        """CREATE APPLICATION ROLE (type A: activated by sp_setapprole, never mapped to a login)."""
        return self._principal(name, "A", default_schema="dbo")

    def add_member(self, role: str, member: str) -> None:
        """ALTER ROLE <role> ADD MEMBER <member> (sys.database_role_members)."""
        self.server.insert(f"{self.q}.sys.database_role_members", role_principal_id=self.principals[role],
                           member_principal_id=self.principals[member])  # fmt: skip

    # -- securables ---------------------------------------------------------------------------------

    def schema(self, name: str, *, schema_id: int | None = None, owner: str = "dbo") -> int:
        """CREATE SCHEMA [AUTHORIZATION owner] (sys.schemas; dbo owns it unless named)."""
        schema_id = next(self._schema_ids) if schema_id is None else schema_id
        self.server.insert(f"{self.q}.sys.schemas", name=name, schema_id=schema_id,
                           principal_id=self.principals[owner])  # fmt: skip
        self.schemas[name] = schema_id
        return schema_id

    def table(self, schema: str, name: str, columns: tuple[str, ...] = ("id",), *, ms_shipped: bool = False,
              owner: str | None = None) -> Table:  # fmt: skip
        """CREATE TABLE: a sys.objects row of type U (sys.tables), its sys.all_columns and a heap
        (index_id 0) partition without pages; ``ms_shipped`` is what an internal component's table has;
        ``owner``: ALTER AUTHORIZATION ON OBJECT (principal_id; NULL: the schema's owner owns it)."""
        object_id = next(self._object_ids)
        self.server.insert(f"{self.q}.sys.objects", name=name, object_id=object_id,
                           principal_id=None if owner is None else self.principals[owner],
                           schema_id=self.schemas[schema], parent_object_id=0, type="U", type_desc="USER_TABLE",
                           create_date=CREATED, modify_date=CREATED, is_ms_shipped=ms_shipped, is_published=False,
                           is_schema_published=False)  # fmt: skip
        self.server.insert(f"{self.q}.emul.table_options", object_id=object_id)
        for column_id, column in enumerate(columns, start=1):
            self.server.insert(f"{self.q}.sys.all_columns", object_id=object_id, name=column, column_id=column_id,
                               system_type_id=56, user_type_id=56, max_length=4, precision=10, scale=0,
                               is_nullable=True)  # fmt: skip
        return Table(self.name, schema, name, object_id)

    def partition(self, table: Table, *, index_id: int = 0, rows: int = 0, partition_number: int = 1,
                  in_row: tuple[int, int] = (0, 0), lob: tuple[int, int] | None = None,
                  row_overflow: tuple[int, int] | None = None) -> None:  # fmt: skip
        """One partition of a heap (index_id 0), clustered index (1) or nonclustered index (>1)
        (sys.partitions) and its allocation units (sys.allocation_units), (total_pages,
        used_pages) each. As documented, container_id is the partition's hobt_id for
        IN_ROW_DATA (1) and ROW_OVERFLOW_DATA (3) units and its partition_id for LOB_DATA (2);
        the two ids are different numbers here, so a join on the wrong one finds nothing."""
        partition_id = self.server.next_id()
        hobt_id = self.server.next_id()
        if (
            index_id
            and not self.server.duck.execute(
                f"SELECT 1 FROM {self.q}.sys.indexes WHERE object_id = ? AND index_id = ?", [table.object_id, index_id]
            ).fetchall()
        ):
            self.server.insert(f"{self.q}.sys.indexes", object_id=table.object_id, name=f"ix_{table.name}_{index_id}",
                               index_id=index_id, type=1 if index_id == 1 else 2,
                               type_desc="CLUSTERED" if index_id == 1 else "NONCLUSTERED")  # fmt: skip
        if index_id in (0, 1):
            # the heap (index_id 0) is replaced by the clustered index (1): one data partition per table
            self.server.duck.execute(f"DELETE FROM {self.q}.sys.partitions WHERE object_id = ? AND index_id = 0 "
                                     "AND rows = 0", [table.object_id])  # fmt: skip
        self.server.insert(f"{self.q}.sys.partitions", partition_id=partition_id, object_id=table.object_id,
                           index_id=index_id, partition_number=partition_number, hobt_id=hobt_id, rows=rows,
                           data_compression=0, data_compression_desc="NONE")  # fmt: skip
        for unit_type, pages in ((1, in_row), (2, lob), (3, row_overflow)):
            if pages is None:
                continue
            total, used = pages
            self.server.insert(f"{self.q}.sys.allocation_units", allocation_unit_id=self.server.next_id(),
                               type=unit_type, type_desc=ALLOCATION_UNIT_TYPES[unit_type],
                               container_id=partition_id if unit_type == 2 else hobt_id, data_space_id=1,
                               total_pages=total, used_pages=used, data_pages=used)  # fmt: skip

    # -- permissions --------------------------------------------------------------------------------

    def _permission(self, permission: str, grantee: str, state: str, klass: int, major: int, minor: int) -> None:
        class_desc = {0: "DATABASE", 1: "OBJECT_OR_COLUMN", 3: "SCHEMA", 4: "DATABASE_PRINCIPAL"}[klass]
        self.server.insert(f"{self.q}.sys.database_permissions", **{"class": klass}, class_desc=class_desc,
                           major_id=major, minor_id=minor, grantee_principal_id=self.principals[grantee],
                           grantor_principal_id=1, type=permission[:4].upper(), permission_name=permission,
                           state=state, state_desc=STATE_DESC[state])  # fmt: skip

    def grant(self, permission: str, to: str, *, state: str = "G", schema: str | None = None,
              table: Table | None = None, column: str | None = None) -> None:  # fmt: skip
        """GRANT/DENY <permission> [ON SCHEMA::s | ON object [(column)]] TO <to> [WITH GRANT OPTION]
        (sys.database_permissions: class 0 database, 3 schema, 1 object; a column permission is class 1
        with minor_id = the column's column_id). state G grant, W with grant option, D deny."""
        if table is not None:
            minor = 0
            if column is not None:
                (minor,) = self.server.duck.execute(
                    f"SELECT column_id FROM {self.q}.sys.all_columns WHERE object_id = ? AND name = ?",
                    [table.object_id, column],
                ).fetchone()
            self._permission(permission, to, state, 1, table.object_id, minor)
        elif schema is not None:
            self._permission(permission, to, state, 3, self.schemas[schema], 0)
        else:
            self._permission(permission, to, state, 0, 0, 0)


@dataclass(frozen=True)
class Login:
    name: str
    principal_id: int
    kind: str
    sid: bytes


class SQLServer:
    """An emulated instance: ``SQLServer("15.0.4345.5")`` is SQL Server 2019 after setup
    (master, tempdb, model, msdb; sa; the fixed server roles; public's default permissions)."""

    def __init__(self, version: str = "15.0.4345.5", edition: str = "Developer Edition (64-bit)"):
        self.engine = sqlcheck.SQLSERVER
        self.version = version
        self.major = int(version.split(".")[0])
        self.duck = duckdb.connect()
        # statement tag → exception raised instead of running it: timeouts, lost connections and other
        # failures that executing catalog SQL cannot produce (the error-mapping tests inject them)
        self.failures: dict[str, BaseException] = {}
        self.duck.execute("SET default_collation = 'nocase'")  # the default server collation is case-insensitive
        self._ids = itertools.count(72057594037927936, 65536)
        self._principal_ids = itertools.count(256)
        self._database_ids = itertools.count(1)
        self.logins: dict[str, Login] = {}
        self.databases: dict[str, Database] = {}
        self._build(edition)

    def next_id(self) -> int:
        return next(self._ids)

    def insert(self, qualified: str, **values: Any) -> None:
        insert(self.duck, qualified, values)

    def _build(self, edition: str) -> None:
        duck = self.duck
        duck.execute("ATTACH ':memory:' AS master; USE master; CREATE SCHEMA master.sys; CREATE SCHEMA master.emul")
        for view in SERVER_TABLES:
            create_table(duck, f"master.{view}", columns_at(CATALOG, view, self.version))
        duck.execute("CREATE TABLE master.emul.server_properties (name VARCHAR, value VARCHAR)")
        duck.execute("CREATE TABLE master.emul.login_properties (login_name VARCHAR, property VARCHAR, value VARCHAR)")
        duck.execute("CREATE TABLE master.emul.sql_login_options (principal_id INTEGER, is_policy_checked BOOLEAN, "
                     "is_expiration_checked BOOLEAN, password_hash BLOB)")  # fmt: skip
        # sys.sql_logins "returns one row for every SQL Server authentication login" (inherits sys.server_principals).
        duck.execute("CREATE VIEW master.sys.sql_logins AS SELECT sp.*, o.is_policy_checked, o.is_expiration_checked, "
                     "o.password_hash FROM master.sys.server_principals AS sp JOIN master.emul.sql_login_options AS o "
                     "ON o.principal_id = sp.principal_id WHERE sp.type = 'S'")  # fmt: skip
        year = {11: "2012", 12: "2014", 13: "2016", 14: "2017", 15: "2019", 16: "2022"}.get(self.major, "")
        banner = f"Microsoft SQL Server {year} - {self.version} (X64) {edition}"
        for name, value in (("ProductVersion", self.version), ("Edition", edition), ("ProductLevel", "RTM"),
                            ("@@VERSION", banner)):  # fmt: skip
            self.insert("master.emul.server_properties", name=name, value=value)
        for role, principal_id in FIXED_SERVER_ROLES.items():
            self._server_principal(role, "R", principal_id=principal_id, fixed=role != "public")
        for endpoint_id, name in ENDPOINTS.items():
            self.insert("master.sys.endpoints", name=name, endpoint_id=endpoint_id, principal_id=1, protocol=2,
                        protocol_desc="TCP", type=2, type_desc="TSQL", state=0, state_desc="STARTED",
                        is_admin_endpoint=endpoint_id == 1)  # fmt: skip
        # public: VIEW ANY DATABASE and CONNECT on the TSQL endpoints ("sys.server_permissions", default install).
        self.grant("VIEW ANY DATABASE", "public")
        for endpoint_id in (2, 3, 4, 5):
            self.grant("CONNECT", "public", endpoint=endpoint_id)
        self.login("sa", sid=b"\x01", principal_id=1)
        self.add_member("sysadmin", "sa")
        # certificate-based and policy logins created by setup ('##…##'; disabled by design)
        self._server_principal("##MS_SQLResourceSigningCertificate##", "C", principal_id=101, sid=b"\x01\x06" * 8)
        self.login("##MS_PolicyEventProcessingLogin##", disabled=True)
        for name in SYSTEM_DATABASES:
            self.database(name)

    # -- server principals ------------------------------------------------------------------------------

    def _server_principal(self, name: str, kind: str, *, principal_id: int | None = None, sid: bytes | None = None,
                          disabled: bool = False, fixed: bool = False) -> int:  # fmt: skip
        principal_id = next(self._principal_ids) if principal_id is None else principal_id
        sid = sid if sid is not None else principal_id.to_bytes(4, "big") * 4
        self.insert("master.sys.server_principals", name=name, principal_id=principal_id, sid=sid, type=kind,
                    type_desc=TYPE_DESC[kind], is_disabled=int(disabled), create_date=CREATED, modify_date=CREATED,
                    default_database_name="master" if kind != "R" else None,
                    default_language_name="us_english" if kind != "R" else None, credential_id=None,
                    owning_principal_id=1 if kind == "R" and not fixed and name != "public" else None,
                    is_fixed_role=fixed)  # fmt: skip
        self.logins[name] = Login(name, principal_id, kind, sid)
        return principal_id

    def login(self, name: str, *, kind: str = "S", disabled: bool = False, locked: bool = False,
              expired: bool = False, policy: bool = True, expiration: bool = False, sid: bytes | None = None,
              principal_id: int | None = None) -> Login:  # fmt: skip
        """CREATE LOGIN: a sys.server_principals row (S SQL login, U Windows login, G Windows group,
        E/X Entra ID), for a SQL login its sys.sql_logins options and LOGINPROPERTY values
        (IsLocked/IsExpired: "LOGINPROPERTY (Transact-SQL)"), and CONNECT SQL granted to it."""
        if kind == "U" and sid is None:
            sid = bytes.fromhex("010500000000000515000000") + (principal_id or 0).to_bytes(16, "big")
        self._server_principal(name, kind, principal_id=principal_id, sid=sid, disabled=disabled)
        login = self.logins[name]
        if kind == "S":
            self.insert("master.emul.sql_login_options", principal_id=login.principal_id, is_policy_checked=policy,
                        is_expiration_checked=expiration, password_hash=b"\x02\x00" + bytes(10))  # fmt: skip
            for prop, value in (("IsLocked", locked), ("IsExpired", expired), ("IsMustChange", False),
                                ("BadPasswordCount", 0)):  # fmt: skip
                self.insert("master.emul.login_properties", login_name=name, property=prop, value=str(int(value)))
        self.grant("CONNECT SQL", name)
        return login

    def server_role(self, name: str) -> int:
        """CREATE SERVER ROLE (2012+: user-defined server roles, type R)."""
        return self._server_principal(name, "R")

    def add_member(self, role: str, member: str) -> None:
        """ALTER SERVER ROLE <role> ADD MEMBER <member> (sys.server_role_members)."""
        self.insert("master.sys.server_role_members", role_principal_id=self.logins[role].principal_id,
                    member_principal_id=self.logins[member].principal_id)  # fmt: skip

    def grant(self, permission: str, to: str, *, state: str = "G", on_login: str | None = None,
              endpoint: int | None = None) -> None:  # fmt: skip
        """GRANT/DENY a server permission (class 100), on a login (101: IMPERSONATE, CONTROL, …) or on an
        endpoint (105) (sys.server_permissions; major_id is the target's id)."""
        klass, major, desc = 100, 0, "SERVER"
        if on_login is not None:
            klass, major, desc = 101, self.logins[on_login].principal_id, "SERVER_PRINCIPAL"
        elif endpoint is not None:
            klass, major, desc = 105, endpoint, "ENDPOINT"
        self.insert("master.sys.server_permissions", **{"class": klass}, class_desc=desc, major_id=major, minor_id=0,
                    grantee_principal_id=self.logins[to].principal_id, grantor_principal_id=1,
                    type=permission[:4].upper(), permission_name=permission, state=state,
                    state_desc=STATE_DESC[state])  # fmt: skip

    def database(self, name: str, *, owner: str = "sa", state: int = 0, data_pages: tuple[int, ...] = (1024,),
                 log_pages: tuple[int, ...] = (256,), other_files: tuple[tuple[int, int], ...] = (),
                 is_distributor: bool = False) -> Database:  # fmt: skip
        """CREATE DATABASE: a sys.databases row (state 0 ONLINE, 1 RESTORING, 6 OFFLINE, …), its files
        in sys.master_files (type 0 ROWS, 1 LOG, 2 FILESTREAM, 4 FULLTEXT; size in 8 KB pages) and
        the database's own catalog, dbo mapped to the owner's SID."""
        database_id = next(self._database_ids)
        states = {0: "ONLINE", 1: "RESTORING", 2: "RECOVERING", 4: "SUSPECT", 6: "OFFLINE"}
        self.insert("master.sys.databases", name=name, database_id=database_id, owner_sid=self.logins[owner].sid,
                    create_date=CREATED, compatibility_level=10 * self.major, state=state, state_desc=states[state],
                    is_read_only=False, recovery_model=1, recovery_model_desc="FULL", is_distributor=is_distributor,
                    user_access=0, user_access_desc="MULTI_USER")  # fmt: skip
        files = [(0, pages) for pages in data_pages] + [(1, pages) for pages in log_pages] + list(other_files)
        for file_id, (kind, pages) in enumerate(files, start=1):
            self.insert("master.sys.master_files", database_id=database_id, file_id=file_id, type=kind,
                        type_desc={0: "ROWS", 1: "LOG", 2: "FILESTREAM", 4: "FULLTEXT"}[kind],
                        name=f"{name}_{file_id}", physical_name=f"/var/opt/mssql/data/{name}_{file_id}",
                        state=0, state_desc="ONLINE", size=pages, max_size=-1, growth=8192, is_read_only=False,
                        is_percent_growth=False)  # fmt: skip
        database = Database(self, name, database_id, self.logins[owner].sid)
        self.databases[name] = database
        return database

    # -- sessions ---------------------------------------------------------------------------------------

    def connect(self, *, user: str, password: str = "", database: str = "", server: str = "", port: str = "",
                **options: Any) -> EmulatedConnection:  # fmt: skip
        """pymssql.connect: logs ``user`` in (18456 unknown, 18470 disabled, 18486 locked out) and opens
        ``database`` (its default: master) — 4060 when the login cannot access it."""
        login = self.logins.get(user)
        reason = None
        if login is None or login.kind != "S":
            reason = 18456, f"Login failed for user '{user}'."
        elif self.duck.execute("SELECT is_disabled FROM master.sys.server_principals WHERE name = ?",
                               [user]).fetchone()[0]:  # fmt: skip
            reason = 18470, f"Login failed for user '{user}'. Reason: The account is disabled."
        elif self._login_property(user, "IsLocked") == "1":
            reason = 18486, f"Login failed for user '{user}' because the account is currently locked out."
        if reason is not None:
            raise pymssql.OperationalError((reason[0], reason[1].encode()))
        database = database or "master"
        answers = self._effective(user)
        if not self._can_access(answers, database):
            raise pymssql.OperationalError((4060, f"Cannot open database \"{database}\" requested by the login. "
                                                  f"The login failed.".encode()))  # fmt: skip
        duck = self.duck.cursor()
        duck.execute(f"SET default_collation = 'nocase'; USE {quoted(database)}")
        duck.execute("CREATE TEMP TABLE session_permissions (securable VARCHAR, securable_class VARCHAR, "
                     "permission VARCHAR, answer INTEGER)")  # fmt: skip
        duck.executemany("INSERT INTO session_permissions VALUES (?, ?, ?, ?)", answers)
        duck.execute(_MACROS)
        return EmulatedConnection(self, duck, login=user, database=database, permissions=answers)

    def before_statement(self, connection: EmulatedConnection, statement: str) -> None:
        """A ``[db].sys.…`` read of a database the login cannot access fails with 916, as documented."""
        for table in referenced_tables(statement, self.engine.dialect):
            if table.catalog and not self._can_access(connection.permissions, table.catalog):
                raise pymssql.OperationalError((916, (
                    f"The server principal \"{connection.login}\" is not able to access the database "
                    f"\"{table.catalog}\" under the current security context.").encode()))  # fmt: skip

    def _login_property(self, login: str, prop: str) -> str | None:
        row = self.duck.execute("SELECT value FROM master.emul.login_properties WHERE login_name = ? AND property = ?",
                                [login, prop]).fetchone()  # fmt: skip
        return row[0] if row else None

    @staticmethod
    def _can_access(answers: list[tuple], database: str) -> bool:
        return any(a[:3] == (database, "DATABASE", "CONNECT") and a[3] == 1 for a in answers)

    def _reach(self, rows: list[tuple[str, str]], start: str) -> set[str]:
        """``start`` and every role it is a member of, through nested roles (member → role rows)."""
        roles: dict[str, set[str]] = defaultdict(set)
        for role, member in rows:
            roles[member].add(role)
        seen, todo = {start}, [start]
        while todo:
            for role in roles[todo.pop()] - seen:
                seen.add(role)
                todo.append(role)
        return seen

    def _effective(self, login: str) -> list[tuple]:
        """HAS_PERMS_BY_NAME's answers for ``login`` ("HAS_PERMS_BY_NAME (Transact-SQL)": 1 when the
        permission is held effectively — granted to the principal, to a role it is a member of or to
        public, or implied by a covering permission — and not denied; 0 when not; NULL for a name that
        is not a permission of the class). Covering permissions emulated: CONTROL SERVER covers every
        server permission and CONNECT ANY DATABASE (2014+) covers CONNECT on a database; sysadmin and
        db_owner members are never denied ("Permissions Hierarchy"). As in ``Permissions (Database
        Engine)``, a DENY of the covering permission denies the covered one."""
        server_members = self.duck.execute(
            "SELECT r.name, m.name FROM master.sys.server_role_members AS x "
            "JOIN master.sys.server_principals AS r ON r.principal_id = x.role_principal_id "
            "JOIN master.sys.server_principals AS m ON m.principal_id = x.member_principal_id").fetchall()  # fmt: skip
        holders = self._reach(server_members, login) | {"public"}
        server_rows = self.duck.execute(
            "SELECT p.name, pe.permission_name, pe.state FROM master.sys.server_permissions AS pe "
            "JOIN master.sys.server_principals AS p ON p.principal_id = pe.grantee_principal_id "
            "WHERE pe.class = 100").fetchall()  # fmt: skip
        sysadmin = "sysadmin" in holders

        def held(rows: list[tuple], names: set[str], permission: str, covering: str, owner: bool) -> int:
            if owner:
                return 1
            states = {state for grantee, name, state in rows if grantee in names and name in (permission, covering)}
            return 0 if "D" in states else int(bool(states & {"G", "W"}))

        answers = []
        for permission in sorted(SERVER_PERMISSION_NAMES):
            known = self.major >= PERMISSION_SINCE.get(permission, 0)
            answer = held(server_rows, holders, permission, "CONTROL SERVER", sysadmin) if known else None
            answers.append((None, None, permission, answer))
        server = {permission: answer for _, _, permission, answer in answers}
        sid = self.logins[login].sid if login in self.logins else None
        for name, database in self.databases.items():
            principals = dict(self.duck.execute(
                f"SELECT name, sid FROM {database.q}.sys.database_principals WHERE type <> 'R' AND type <> 'A'"
            ).fetchall())  # fmt: skip
            user = next((n for n, s in principals.items() if s == sid and n != "guest"), None)
            members = self.duck.execute(
                f"SELECT r.name, m.name FROM {database.q}.sys.database_role_members AS x "
                f"JOIN {database.q}.sys.database_principals AS r ON r.principal_id = x.role_principal_id "
                f"JOIN {database.q}.sys.database_principals AS m ON m.principal_id = x.member_principal_id"
            ).fetchall()  # fmt: skip
            rows = self.duck.execute(
                f"SELECT p.name, pe.permission_name, pe.state FROM {database.q}.sys.database_permissions AS pe "
                f"JOIN {database.q}.sys.database_principals AS p ON p.principal_id = pe.grantee_principal_id "
                "WHERE pe.class = 0").fetchall()  # fmt: skip
            (state,) = self.duck.execute("SELECT state FROM master.sys.databases WHERE name = ?", [name]).fetchone()
            online = state == 0
            for permission in sorted(DATABASE_PERMISSION_NAMES):
                if not online:
                    answer = 0
                elif (
                    sysadmin
                    or server["CONTROL SERVER"] == 1
                    or (permission == "CONNECT" and server["CONNECT ANY DATABASE"] == 1)
                ):
                    answer = 1
                else:
                    as_user = user or "guest"  # no user for the login: the guest user, if it may connect
                    names = self._reach(members, as_user) | {"public"}
                    answer = held(rows, names, permission, "CONTROL", "db_owner" in names)
                answers.append((name, "DATABASE", permission, answer))
        return answers
