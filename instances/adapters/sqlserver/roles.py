"""SQL Server principals whose permissions no catalog row lists: the fixed server and database
roles (as Microsoft documents them), and the names of the principals and implications the parse
gives meaning to (``parse`` builds the effective permissions from them)."""

from __future__ import annotations

# What the fixed roles hold without a catalog row, as Microsoft documents it ("Server-level roles",
# "Database-level roles"; the permission tables of "Permissions of Fixed Server Roles" / "… Fixed
# Database Roles"): (state, permission, WITH GRANT OPTION). Each entry is ``implied_by`` its role;
# ``ALL`` stands for "any activity": sysadmin bypasses every check, DENY included ("DENY
# (Transact-SQL)"); db_owner has CONTROL on the database, but DENY applies to its members.
_G, _W, _D = ("GRANT", False), ("GRANT", True), ("DENY", False)
FIXED_SERVER_ROLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    role: tuple((state, permission, grantable) for (state, grantable), permission in held)
    for role, held in {
        "sysadmin": ((_W, "CONTROL SERVER"), (_W, "ALL")),
        "securityadmin": ((_G, "ALTER ANY LOGIN"),),
        "serveradmin": ((_G, "ALTER ANY ENDPOINT"), (_G, "ALTER RESOURCES"), (_G, "ALTER SERVER STATE"),
                        (_G, "ALTER SETTINGS"), (_G, "SHUTDOWN"), (_G, "VIEW SERVER STATE")),
        "setupadmin": ((_G, "ALTER ANY LINKED SERVER"),),
        "processadmin": ((_G, "ALTER ANY CONNECTION"), (_G, "ALTER SERVER STATE")),
        "diskadmin": ((_G, "ALTER RESOURCES"),),
        "dbcreator": ((_G, "CREATE ANY DATABASE"),),
        "bulkadmin": ((_G, "ADMINISTER BULK OPERATIONS"),),
    }.items()
}  # fmt: skip
_DDLADMIN = (
    "ALTER ANY ASSEMBLY", "ALTER ANY ASYMMETRIC KEY", "ALTER ANY CERTIFICATE", "ALTER ANY CONTRACT",
    "ALTER ANY DATABASE DDL TRIGGER", "ALTER ANY DATABASE EVENT NOTIFICATION", "ALTER ANY DATASPACE",
    "ALTER ANY FULLTEXT CATALOG", "ALTER ANY MESSAGE TYPE", "ALTER ANY REMOTE SERVICE BINDING", "ALTER ANY ROUTE",
    "ALTER ANY SCHEMA", "ALTER ANY SERVICE", "ALTER ANY SYMMETRIC KEY", "CHECKPOINT", "CREATE AGGREGATE",
    "CREATE DEFAULT", "CREATE FUNCTION", "CREATE PROCEDURE", "CREATE QUEUE", "CREATE RULE", "CREATE SYNONYM",
    "CREATE TABLE", "CREATE TYPE", "CREATE VIEW", "CREATE XML SCHEMA COLLECTION", "REFERENCES",
)  # fmt: skip
FIXED_DATABASE_ROLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    role: tuple((state, permission, grantable) for (state, grantable), permission in held)
    for role, held in {
        "db_owner": ((_W, "CONTROL"), (_W, "ALL")),
        "db_accessadmin": ((_G, "ALTER ANY USER"), (_G, "CREATE SCHEMA"), (_W, "CONNECT")),
        "db_backupoperator": ((_G, "BACKUP DATABASE"), (_G, "BACKUP LOG"), (_G, "CHECKPOINT")),
        "db_datareader": ((_G, "SELECT"),),
        "db_datawriter": ((_G, "INSERT"), (_G, "UPDATE"), (_G, "DELETE")),
        "db_ddladmin": tuple((_G, permission) for permission in _DDLADMIN),
        "db_denydatareader": ((_D, "SELECT"),),
        "db_denydatawriter": ((_D, "INSERT"), (_D, "UPDATE"), (_D, "DELETE")),
        "db_securityadmin": ((_G, "ALTER ANY APPLICATION ROLE"), (_G, "ALTER ANY ROLE"), (_G, "CREATE SCHEMA"),
                             (_G, "VIEW DEFINITION")),
    }.items()
}  # fmt: skip
#: the database user that maps the database's owner; it bypasses every check in its database, DENY
#: included (Microsoft Learn, "Permissions hierarchy" / "DENY (Transact-SQL)")
DBO = "dbo"
#: the user a login without a user of its own enters a database as, when it may connect there
#: (Microsoft Learn, "Principals (Database Engine)": guest)
GUEST = "guest"
#: what owning a schema or an object implies: CONTROL on it, which DENY does not take away
#: (Microsoft Learn, "DENY (Transact-SQL)": "DENY does not apply to object owners")
OWNER = "owner"
PUBLIC = "public"
CONTROL_SERVER = "control_server"
