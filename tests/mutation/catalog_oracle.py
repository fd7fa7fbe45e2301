"""Semantic mutations of instances/adapters/oracle/sql.py for bin/mutate-catalog-sql.

Each is (description, exact substring of sql.py — it occurs exactly once —, replacement). Each one
changes what the SQL means (a join column, a filter, a grantee set, columns swapped, the version
branches crossed), never only its spelling; the executed tests in ``TESTS`` should fail on every one.
"""

from __future__ import annotations

MUTATIONS: list[tuple[str, str, str]] = [
    ("object owners: the users that own nothing",
     "AND u.username IN (SELECT o.owner FROM dba_objects o)",
     "AND u.username NOT IN (SELECT o.owner FROM dba_objects o)"),
    ("object owners: the Oracle-maintained users instead",
     "WHERE u.oracle_maintained = 'N' AND u.username IN", "WHERE u.oracle_maintained = 'Y' AND u.username IN"),
    ("users: only Oracle-maintained accounts",
     "WHERE oracle_maintained = 'N'\nORDER BY username", "WHERE oracle_maintained = 'Y'\nORDER BY username"),
    ("object privileges: grants of Oracle-maintained roles read instead of the others",
     "FROM dba_tab_privs p\nWHERE p.grantee IN (SELECT u.username FROM dba_users u\n"
     "                    UNION ALL SELECT r.role FROM dba_roles r WHERE r.oracle_maintained = 'N')",
     "FROM dba_tab_privs p\nWHERE p.grantee IN (SELECT u.username FROM dba_users u\n"
     "                    UNION ALL SELECT r.role FROM dba_roles r WHERE r.oracle_maintained = 'Y')"),
    ("column privileges: grants of Oracle-maintained roles read instead of the others",
     "FROM dba_col_privs p\nWHERE p.grantee IN (SELECT u.username FROM dba_users u\n"
     "                    UNION ALL SELECT r.role FROM dba_roles r WHERE r.oracle_maintained = 'N')",
     "FROM dba_col_privs p\nWHERE p.grantee IN (SELECT u.username FROM dba_users u\n"
     "                    UNION ALL SELECT r.role FROM dba_roles r WHERE r.oracle_maintained = 'Y')"),
    ("object privileges: PUBLIC's grants on the dictionary read instead of those on users' objects",
     "o.oracle_maintained = 'N')\nORDER BY p.grantee, p.owner, p.table_name, p.privilege",
     "o.oracle_maintained = 'Y')\nORDER BY p.grantee, p.owner, p.table_name, p.privilege"),
    ("column privileges: PUBLIC's grants on the dictionary read instead of those on users' objects",
     "o.oracle_maintained = 'N')\nORDER BY p.grantee, p.owner, p.table_name, p.column_name",
     "o.oracle_maintained = 'Y')\nORDER BY p.grantee, p.owner, p.table_name, p.column_name"),
    ("object privileges: PUBLIC's grants left out",
     "   OR p.grantee = 'PUBLIC' AND p.owner IN (SELECT o.username FROM dba_users o WHERE o.oracle_maintained = 'N')\n"
     "ORDER BY p.grantee, p.owner, p.table_name, p.privilege",
     "   OR p.grantee = 'PUBLIX' AND p.owner IN (SELECT o.username FROM dba_users o WHERE o.oracle_maintained = 'N')\n"
     "ORDER BY p.grantee, p.owner, p.table_name, p.privilege"),
    ("object privileges: every grantee but users and roles (PUBLIC only)",
     "FROM dba_tab_privs p\nWHERE p.grantee IN", "FROM dba_tab_privs p\nWHERE p.grantee NOT IN"),
    ("column privileges: every grantee but users and roles (PUBLIC only)",
     "FROM dba_col_privs p\nWHERE p.grantee IN", "FROM dba_col_privs p\nWHERE p.grantee NOT IN"),
    ("role grants: grantee and granted role swapped",
     "SELECT grantee, granted_role, admin_option, default_role FROM dba_role_privs",
     "SELECT granted_role AS grantee, grantee AS granted_role, admin_option, default_role FROM dba_role_privs"),
    ("role grants: ADMIN OPTION and DEFAULT ROLE swapped",
     "SELECT grantee, granted_role, admin_option, default_role FROM dba_role_privs",
     "SELECT grantee, granted_role, default_role AS admin_option, admin_option AS default_role FROM dba_role_privs"),
    ("system privileges: ADMIN OPTION dropped",
     "SELECT grantee, privilege, admin_option FROM dba_sys_privs",
     "SELECT grantee, privilege, 'NO' AS admin_option FROM dba_sys_privs"),
    ("password file: SYSDBA and SYSOPER swapped",
     "SELECT username, sysdba, sysoper FROM v$pwfile_users",
     "SELECT username, sysoper AS sysdba, sysdba AS sysoper FROM v$pwfile_users"),
    ("table sizes: index segments joined on the table name instead of the index name",
     "i.index_name = s.segment_name", "i.table_name = s.segment_name"),
    ("table sizes: LOBINDEX segments not attributed to their LOB's table",
     "(l.segment_name = s.segment_name OR l.index_name = s.segment_name)", "(l.segment_name = s.segment_name)"),
    ("table sizes: only recycle-bin objects", "segment_name NOT LIKE 'BIN$%'", "segment_name LIKE 'BIN$%'"),
    ("table sizes: every tablespace but the one asked for",
     "WHERE tablespace_name = :tablespace", "WHERE tablespace_name <> :tablespace"),
    ("table sizes: LOB bytes counted as index bytes",
     "SUM(CASE WHEN s.segment_type LIKE 'INDEX%' THEN s.bytes",
     "SUM(CASE WHEN s.segment_type LIKE 'LOB%' THEN s.bytes"),
    ("table sizes: statistics joined on the segment, not on its table",
     "t.table_name = COALESCE(i.table_name, l.table_name, s.segment_name)", "t.table_name = s.segment_name"),
    ("table sizes: partition segments left out",
     "WHERE s.segment_type IN ('TABLE', 'TABLE PARTITION',", "WHERE s.segment_type IN ('TABLE',"),
    ("fallback table sizes: segments attributed to SYS instead of the connected user",
     'owner="USER", segments="user_segments"', "owner=\"'SYS'\", segments=\"user_segments\""),
    ("version: VERSION read on 18c+ (the branches crossed: 19.0.0.0.0 for every release update)",
     "SELECT product, version_full AS version FROM", "SELECT product, version AS version FROM"),
    ("version: VERSION_FULL read before 18c (the branches crossed: no such column on 12c)",
     "SELECT product, version FROM product_component_version",
     "SELECT product, version_full AS version FROM product_component_version"),
    ("tablespaces: CONTENTS and STATUS swapped",
     "SELECT tablespace_name, contents, status FROM dba_tablespaces",
     "SELECT tablespace_name, status AS contents, contents AS status FROM dba_tablespaces"),
    ("database sizes: the largest data file instead of their sum",
     "SELECT tablespace_name, SUM(bytes) AS bytes, COUNT(*) AS file_count",
     "SELECT tablespace_name, MAX(bytes) AS bytes, COUNT(*) AS file_count"),
    ("database sizes: the largest segment instead of their sum",
     "SELECT tablespace_name, SUM(bytes) AS bytes FROM dba_segments GROUP BY",
     "SELECT tablespace_name, MAX(bytes) AS bytes FROM dba_segments GROUP BY"),
    ("fallback database sizes: segments counted instead of their bytes",
     "SELECT tablespace_name, SUM(bytes) AS bytes FROM user_segments GROUP BY",
     "SELECT tablespace_name, COUNT(bytes) AS bytes FROM user_segments GROUP BY"),
    ("profiles: the KERNEL limits read instead of the PASSWORD ones",
     "WHERE p.resource_type = 'PASSWORD'", "WHERE p.resource_type = 'KERNEL'"),
    ("profiles: resource name and limit swapped",
     'SELECT p.profile, p.resource_name, p."LIMIT"',
     'SELECT p.profile, p."LIMIT" AS resource_name, p.resource_name AS "LIMIT"'),
    ("privilege check: the privileges read as the enabled roles",
     "SELECT role FROM session_roles ORDER BY role", "SELECT privilege AS role FROM session_privs ORDER BY role"),
]  # fmt: skip

# The tests that execute this SQL on the emulated dictionary. Not test_catalog_sql.py: it checks the columns
# against the documentation, and its negative cases are derived from the SQL's text while collecting, so a
# mutation errors there on the text before any result is compared.
TESTS: list[str] = [
    "tests/instances/adapters/test_oracle_executed.py",
    "tests/instances/adapters/test_oracle_adapter.py",
]
