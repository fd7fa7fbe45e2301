"""Semantic mutations of instances/adapters/sqlserver/sql.py for bin/mutate-catalog-sql.

Each is (description, exact substring of sql.py — it occurs exactly once —, replacement). Each one
changes what the SQL means (a join column, a filter, a class or type code, role and member
swapped), never only its spelling; the executed tests in ``TESTS`` should fail on every one.
"""

from __future__ import annotations

MUTATIONS: list[tuple[str, str, str]] = [
    ("ownerships: a schema's owner joined on the schema's id",
     "JOIN {db}.sys.database_principals AS op ON op.principal_id = s.principal_id",
     "JOIN {db}.sys.database_principals AS op ON op.principal_id = s.schema_id"),
    ("ownerships: the fixed roles' own schemas listed",
     "WHERE s.schema_id BETWEEN 5 AND 16383 AND", "WHERE s.schema_id >= 5 AND"),
    ("ownerships: dbo's schemas listed", "AND 16383 AND s.principal_id <> 1", "AND 16383"),
    ("ownerships: an object's owner read from its schema",
     "JOIN {db}.sys.database_principals AS op ON op.principal_id = o.principal_id",
     "JOIN {db}.sys.database_principals AS op ON op.principal_id = s.principal_id"),
    ("ownerships: objects with an owner of their own left out",
     "WHERE o.principal_id IS NOT NULL AND", "WHERE o.principal_id IS NULL AND"),
    ("allocation units: hobt_id and partition_id swapped in the container join",
     "THEN p.hobt_id ELSE p.partition_id END", "THEN p.partition_id ELSE p.hobt_id END"),
    ("allocation units: LOB_DATA (2) joined like ROW_OVERFLOW_DATA (3)",
     "CASE WHEN a.type IN (1, 3)", "CASE WHEN a.type IN (1, 2)"),
    ("table sizes: only Microsoft-shipped tables (is_ms_shipped = 1)",
     "WHERE t.is_ms_shipped = 0", "WHERE t.is_ms_shipped = 1"),
    ("table sizes: heaps (index_id 0) not counted as data",
     "SUM(CASE WHEN p.index_id IN (0, 1) THEN CAST(a.used_pages",
     "SUM(CASE WHEN p.index_id IN (1) THEN CAST(a.used_pages"),
    ("table sizes: the clustered index (1) counted as a nonclustered index",
     "WHEN p.index_id > 1 THEN", "WHEN p.index_id >= 1 THEN"),
    ("table sizes: rows counted once per allocation unit, not per partition",
     "WHEN p.index_id IN (0, 1) AND a.type = 1 THEN p.rows", "WHEN p.index_id IN (0, 1) THEN p.rows"),
    ("table sizes: rows of the LOB_DATA unit instead of IN_ROW_DATA",
     "AND a.type = 1 THEN p.rows", "AND a.type = 2 THEN p.rows"),
    ("server permissions: class 101 (server principal) target joined on class 100",
     "pe.class = 101 AND tp.principal_id", "pe.class = 100 AND tp.principal_id"),
    ("server permissions: endpoint target joined on class 101",
     "pe.class = 105 AND ep.endpoint_id", "pe.class = 101 AND ep.endpoint_id"),
    ("server permissions: grantor taken for the grantee",
     "JOIN sys.server_principals AS gp ON gp.principal_id = pe.grantee_principal_id",
     "JOIN sys.server_principals AS gp ON gp.principal_id = pe.grantor_principal_id"),
    ("server role members: role and member swapped",
     "JOIN sys.server_principals AS r ON r.principal_id = srm.role_principal_id\n"
     "JOIN sys.server_principals AS m ON m.principal_id = srm.member_principal_id",
     "JOIN sys.server_principals AS r ON r.principal_id = srm.member_principal_id\n"
     "JOIN sys.server_principals AS m ON m.principal_id = srm.role_principal_id"),
    ("database role members: role and member swapped",
     "JOIN {db}.sys.database_principals AS r ON r.principal_id = drm.role_principal_id\n"
     "JOIN {db}.sys.database_principals AS m ON m.principal_id = drm.member_principal_id",
     "JOIN {db}.sys.database_principals AS r ON r.principal_id = drm.member_principal_id\n"
     "JOIN {db}.sys.database_principals AS m ON m.principal_id = drm.role_principal_id"),
    ("database principals: only application roles (type A)", "WHERE dp.type <> 'A'", "WHERE dp.type = 'A'"),
    ("database permissions: column joined on the object id (major_id) instead of minor_id",
     "c.column_id = pe.minor_id", "c.column_id = pe.major_id"),
    ("database permissions: schema target joined on class 1 instead of 3",
     "pe.class = 3 AND s.schema_id = pe.major_id", "pe.class = 1 AND s.schema_id = pe.major_id"),
    ("database permissions: object target joined on class 0 instead of 1",
     "ON pe.class = 1 AND o.object_id = pe.major_id", "ON pe.class = 0 AND o.object_id = pe.major_id"),
    ("database permissions: the object's schema joined on its owner",
     "os.schema_id = o.schema_id", "os.schema_id = o.principal_id"),
    ("database permissions: grantor taken for the grantee",
     "JOIN {db}.sys.database_principals AS gp ON gp.principal_id = pe.grantee_principal_id",
     "JOIN {db}.sys.database_principals AS gp ON gp.principal_id = pe.grantor_principal_id"),
    ("logins: only the '##…##' certificate and policy logins",
     "AND sp.name NOT LIKE '##%##'", "AND sp.name LIKE '##%##'"),
    ("logins: server roles (R) read as logins",
     "WHERE sp.type IN ('S', 'U', 'G', 'E', 'X')", "WHERE sp.type IN ('S', 'U', 'G', 'E', 'X', 'R')"),
    ("logins: IsExpired read as the lockout flag",
     "LOGINPROPERTY(sp.name, 'IsLocked')", "LOGINPROPERTY(sp.name, 'IsExpired')"),
    ("logins: SID rendered with the 0x prefix (style 1), no longer matching database users",
     "CONVERT(varchar(172), sp.sid, 2)", "CONVERT(varchar(172), sp.sid, 1)"),
    ("database sizes: FILESTREAM (type 2) counted as log",
     "WHEN mf.type = 1 THEN CAST(mf.size AS bigint) * 8192", "WHEN mf.type = 2 THEN CAST(mf.size AS bigint) * 8192"),
    ("database sizes: data pages counted as 1 KB",
     "WHEN mf.type = 0 THEN CAST(mf.size AS bigint) * 8192", "WHEN mf.type = 0 THEN CAST(mf.size AS bigint) * 1024"),
    ("user databases: the distributor kept, the others dropped",
     "AND d.is_distributor = 0", "AND d.is_distributor = 1"),
    ("account databases: a database that is not ONLINE read as ONLINE",
     'if row["state"] == 0 and row["has_dbaccess"] == 1]', 'if row["has_dbaccess"] == 1]',
     "instances/adapters/sqlserver/adapter.py"),
    ("privilege check: CONTROL asked for instead of CONNECT",
     "HAS_PERMS_BY_NAME(d.name, 'DATABASE', 'CONNECT')", "HAS_PERMS_BY_NAME(d.name, 'DATABASE', 'CONTROL')"),
    ("privilege check: the two server permissions swapped",
     "'VIEW ANY DEFINITION') AS int) AS view_any_definition,\n"
     "       CAST(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DATABASE') AS int) AS view_any_database",
     "'VIEW ANY DATABASE') AS int) AS view_any_definition,\n"
     "       CAST(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION') AS int) AS view_any_database"),
]  # fmt: skip

# The tests that execute this SQL on the emulated catalog. Not test_catalog_sql.py: it checks the columns
# against the documentation, and its negative cases are derived from the SQL's text while collecting, so a
# mutation errors there on the text before any result is compared.
TESTS: list[str] = [
    "tests/instances/adapters/test_sqlserver_executed.py",
    "tests/instances/adapters/test_sqlserver_adapter.py",
]
