"""Catalog SQL for SQL Server (2012+; tested shapes recorded from 2019).

Every statement starts with a ``-- whalefall:<tag>`` line so that it can be
recognised in traces (and by the replaying fake connection in tests). Per
database statements are templates with one ``{db}`` placeholder that must be
filled with ``quote_name(name)`` only — never with a raw name.
"""

from __future__ import annotations

# Databases that are part of the engine, not user data: excluded from the
# inventory, from sizes and from per-database account reads.
SYSTEM_DATABASES = ("master", "tempdb", "model", "msdb")

# (and the replication distribution database, whatever its name)
_SYSTEM_NAMES = ", ".join(f"'{name}'" for name in SYSTEM_DATABASES)
_USER_DATABASE_FILTER = f"d.name NOT IN ({_SYSTEM_NAMES}) AND d.is_distributor = 0"


def quote_name(name: str) -> str:
    """``name`` as a bracketed identifier: ``we]ird`` → ``[we]]ird]`` (same as QUOTENAME)."""
    if not name or len(name) > 128:
        raise ValueError(f"Not a valid SQL Server identifier: {name!r}")
    return "[" + name.replace("]", "]]") + "]"


# SERVERPROPERTY / @@VERSION — SQL Server 2005+.
SERVER_VERSION = """-- whalefall:server_version
SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
       @@VERSION AS version"""

# sys.server_principals + sys.sql_logins + LOGINPROPERTY — SQL Server 2005+.
# Logins only (S SQL login, U Windows login, G Windows group, E/X Entra ID).
# '##…##' logins are certificate/policy logins created by setup and disabled
# by design; NT SERVICE\… logins are kept on purpose (they are often sysadmin).
SERVER_PRINCIPALS = """-- whalefall:server_principals
SELECT sp.principal_id, sp.name, sp.type, sp.type_desc, sp.is_disabled,
       CONVERT(varchar(172), sp.sid, 2) AS sid,
       sp.default_database_name, sp.create_date, sp.modify_date,
       CAST(LOGINPROPERTY(sp.name, 'IsLocked') AS int) AS is_locked_out,
       CAST(LOGINPROPERTY(sp.name, 'IsExpired') AS int) AS is_expired,
       sl.is_policy_checked, sl.is_expiration_checked
FROM sys.server_principals AS sp
LEFT JOIN sys.sql_logins AS sl ON sl.principal_id = sp.principal_id
WHERE sp.type IN ('S', 'U', 'G', 'E', 'X')
  AND sp.name NOT LIKE '##%##'
ORDER BY sp.name"""

# sys.server_role_members — SQL Server 2005+ (user-defined server roles, which
# may themselves be members of roles, since 2012). Membership in 'public' is
# implicit and has no row.
SERVER_ROLE_MEMBERS = """-- whalefall:server_role_members
SELECT r.name AS role_name, m.name AS member_name, m.type AS member_type
FROM sys.server_role_members AS srm
JOIN sys.server_principals AS r ON r.principal_id = srm.role_principal_id
JOIN sys.server_principals AS m ON m.principal_id = srm.member_principal_id
ORDER BY r.name, m.name"""

# sys.server_permissions — SQL Server 2005+. state: G grant, W grant with grant
# option, D deny. class 100 server, 101 server principal, 105 endpoint,
# 108 availability group (target named by id).
SERVER_PERMISSIONS = """-- whalefall:server_permissions
SELECT gp.name AS grantee_name, gp.type AS grantee_type,
       pe.class, pe.class_desc, pe.major_id, pe.permission_name, pe.state, pe.state_desc,
       tp.name AS principal_target, ep.name AS endpoint_target
FROM sys.server_permissions AS pe
JOIN sys.server_principals AS gp ON gp.principal_id = pe.grantee_principal_id
LEFT JOIN sys.server_principals AS tp ON pe.class = 101 AND tp.principal_id = pe.major_id
LEFT JOIN sys.endpoints AS ep ON pe.class = 105 AND ep.endpoint_id = pe.major_id
ORDER BY gp.name, pe.class, pe.major_id, pe.permission_name, pe.state"""

# sys.databases — SQL Server 2005+. Only ONLINE (state 0) user databases: the
# others cannot be read, so they are not inventoried.
ONLINE_USER_DATABASES = f"""-- whalefall:databases
SELECT d.database_id, d.name, d.state_desc, d.recovery_model_desc, d.compatibility_level, d.is_read_only
FROM sys.databases AS d
WHERE {_USER_DATABASE_FILTER} AND d.state = 0
ORDER BY d.name"""

# The same databases for the account sync, with HAS_DBACCESS (SQL Server 2005+: 1 when the login can
# open the database — a user for its SID, the guest user, CONNECT ANY DATABASE, sysadmin): one it
# cannot open is not read (its four per-database statements would fail with error 916) and is
# named as an unread scope.
ACCOUNT_DATABASES = f"""-- whalefall:account_databases
SELECT d.name, d.state, d.state_desc, HAS_DBACCESS(d.name) AS has_dbaccess
FROM sys.databases AS d
WHERE {_USER_DATABASE_FILTER}
ORDER BY d.name"""

# sys.master_files — SQL Server 2005+. size is in 8 KB pages; type 0 = ROWS
# (data), 1 = LOG. FILESTREAM (2) and full-text (4) containers are not counted.
DATABASE_SIZES = f"""-- whalefall:database_sizes
SELECT d.name,
       SUM(CASE WHEN mf.type = 0 THEN CAST(mf.size AS bigint) * 8192 ELSE 0 END) AS data_bytes,
       SUM(CASE WHEN mf.type = 1 THEN CAST(mf.size AS bigint) * 8192 ELSE 0 END) AS log_bytes
FROM sys.master_files AS mf
JOIN sys.databases AS d ON d.database_id = mf.database_id
WHERE {_USER_DATABASE_FILTER} AND d.state = 0 AND mf.type IN (0, 1)
GROUP BY d.name
ORDER BY d.name"""

# <db>.sys.database_principals — SQL Server 2005+ (per database, three-part
# name). Users and roles; application roles (A) are not mapped to logins.
DATABASE_PRINCIPALS = """-- whalefall:database_principals
SELECT dp.principal_id, dp.name, dp.type, dp.type_desc,
       CONVERT(varchar(172), dp.sid, 2) AS sid, dp.default_schema_name, dp.is_fixed_role
FROM {db}.sys.database_principals AS dp
WHERE dp.type <> 'A'
ORDER BY dp.principal_id"""

# <db>.sys.database_role_members — SQL Server 2005+. Roles may be members of
# roles; dbo is listed as a member of db_owner.
DATABASE_ROLE_MEMBERS = """-- whalefall:database_role_members
SELECT r.name AS role_name, m.name AS member_name, m.type AS member_type
FROM {db}.sys.database_role_members AS drm
JOIN {db}.sys.database_principals AS r ON r.principal_id = drm.role_principal_id
JOIN {db}.sys.database_principals AS m ON m.principal_id = drm.member_principal_id
ORDER BY r.name, m.name"""

# <db>.sys.database_permissions — SQL Server 2005+. class 0 database,
# 1 object or column (minor_id = column_id), 3 schema; other classes are
# reported by class and id.
DATABASE_PERMISSIONS = """-- whalefall:database_permissions
SELECT gp.name AS grantee_name, pe.class, pe.class_desc, pe.major_id, pe.minor_id,
       pe.permission_name, pe.state, pe.state_desc,
       os.name AS object_schema, o.name AS object_name, c.name AS column_name, s.name AS schema_name
FROM {db}.sys.database_permissions AS pe
JOIN {db}.sys.database_principals AS gp ON gp.principal_id = pe.grantee_principal_id
LEFT JOIN {db}.sys.all_objects AS o ON pe.class = 1 AND o.object_id = pe.major_id
LEFT JOIN {db}.sys.schemas AS os ON os.schema_id = o.schema_id
LEFT JOIN {db}.sys.all_columns AS c
       ON pe.class = 1 AND pe.minor_id > 0 AND c.object_id = pe.major_id AND c.column_id = pe.minor_id
LEFT JOIN {db}.sys.schemas AS s ON pe.class = 3 AND s.schema_id = pe.major_id
ORDER BY gp.name, pe.class, pe.major_id, pe.minor_id, pe.permission_name, pe.state"""

# <db>.sys.schemas and sys.objects — SQL Server 2005+: who owns what (an owner holds CONTROL on it,
# DENY does not apply to it). A schema's owner is sys.schemas.principal_id; a schema-contained
# object's is sys.objects.principal_id when it has one of its own (NULL: the schema's owner, read
# with the schema). Left out: what dbo owns (its ALL covers the database), the built-in schemas
# (dbo, guest, INFORMATION_SCHEMA, sys: schema_id 1–4) and the fixed roles' own schemas (schema_id
# 16384 and up, each owned by its role), and objects shipped by Microsoft.
DATABASE_OWNERSHIPS = """-- whalefall:database_ownerships
SELECT 'schema' AS level, op.name AS owner_name, s.name AS schema_name, NULL AS object_name
FROM {db}.sys.schemas AS s
JOIN {db}.sys.database_principals AS op ON op.principal_id = s.principal_id
WHERE s.schema_id BETWEEN 5 AND 16383 AND s.principal_id <> 1
UNION ALL
SELECT 'object', op.name, s.name, o.name
FROM {db}.sys.objects AS o
JOIN {db}.sys.schemas AS s ON s.schema_id = o.schema_id
JOIN {db}.sys.database_principals AS op ON op.principal_id = o.principal_id
WHERE o.principal_id IS NOT NULL AND o.principal_id <> 1 AND o.is_ms_shipped = 0
ORDER BY 1, 2, 3, 4"""

# sys.tables/sys.schemas/sys.partitions/sys.allocation_units — SQL Server
# 2005+, run on a connection opened with database=<name>. Pages are 8 KB.
# Needs only metadata visibility (sys.dm_db_partition_stats would need VIEW
# DATABASE STATE). index_id 0/1 = heap/clustered (data), >1 = nonclustered.
# rows counted once per partition via its IN_ROW_DATA (type 1) unit.
TABLE_SIZES = """-- whalefall:table_sizes
SELECT s.name AS schema_name, t.name AS table_name,
       SUM(CAST(a.total_pages AS bigint)) * 8192 AS reserved_bytes,
       SUM(CASE WHEN p.index_id IN (0, 1) THEN CAST(a.used_pages AS bigint) ELSE 0 END) * 8192 AS data_bytes,
       SUM(CASE WHEN p.index_id > 1 THEN CAST(a.used_pages AS bigint) ELSE 0 END) * 8192 AS index_bytes,
       SUM(CASE WHEN p.index_id IN (0, 1) AND a.type = 1 THEN p.rows ELSE 0 END) AS row_count
FROM sys.tables AS t
JOIN sys.schemas AS s ON s.schema_id = t.schema_id
JOIN sys.partitions AS p ON p.object_id = t.object_id
JOIN sys.allocation_units AS a
  ON a.container_id = CASE WHEN a.type IN (1, 3) THEN p.hobt_id ELSE p.partition_id END
WHERE t.is_ms_shipped = 0
GROUP BY s.name, t.name
ORDER BY s.name, t.name"""


def per_database(template: str, database: str) -> str:
    """A per-database template with ``{db}`` replaced by the bracket-quoted name."""
    return template.replace("{db}", quote_name(database))


# --- privilege self-check (instances/adapters/privileges.py) ---------------------------------
# HAS_PERMS_BY_NAME — SQL Server 2005+: 1 when the login holds the permission effectively
# (granted, implied by a higher one, or through a role or group, and not denied), 0 when not,
# NULL for an unknown permission name. Server-level: securable and class NULL.
SERVER_PERMISSION_CHECK = """-- whalefall:server_permission_check
SELECT CAST(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION') AS int) AS view_any_definition,
       CAST(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DATABASE') AS int) AS view_any_database"""

# CONNECT on each ONLINE user database (what the account sync and table sizes read), as
# CONNECT ANY DATABASE (2014+) or a user in the database grants it.
DATABASE_CONNECT_CHECK = f"""-- whalefall:database_connect_check
SELECT d.name, CAST(HAS_PERMS_BY_NAME(d.name, 'DATABASE', 'CONNECT') AS int) AS can_connect
FROM sys.databases AS d
WHERE {_USER_DATABASE_FILTER} AND d.state = 0
ORDER BY d.name"""
