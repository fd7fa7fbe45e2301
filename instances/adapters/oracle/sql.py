"""Catalog SQL for Oracle Database (12.1+, what thin mode reaches; tested shapes recorded from 19c).

Every statement starts with a ``-- whalefall:<tag>`` line (visible in
v$sql and used by the replaying fake connection in tests). Values such as a
tablespace name are always bind variables, never pasted into the text.

Oracle has no ALL_SEGMENTS view: when DBA_* views are denied, sizes fall back
to USER_SEGMENTS / USER_TABLESPACES (the connected user's own segments only).
"""

from __future__ import annotations

# PRODUCT_COMPONENT_VERSION — readable by PUBLIC, Oracle 8+.
SERVER_VERSION = """-- whalefall:server_version
SELECT product, version FROM product_component_version WHERE product LIKE 'Oracle%'"""

# 18c+: VERSION_FULL carries the release update (VERSION reads 19.0.0.0.0 for every 19c RU).
SERVER_VERSION_FULL = """-- whalefall:server_version
SELECT product, version_full AS version FROM product_component_version WHERE product LIKE 'Oracle%'"""

# DBA_USERS — ORACLE_MAINTAINED (12.1+, the oldest release thin mode reaches):
# accounts created by Oracle scripts (SYS, SYSTEM, XDB, …) are excluded here.
USERS = """-- whalefall:dba_users
SELECT username, user_id, account_status, lock_date, expiry_date, default_tablespace,
       temporary_tablespace, profile, authentication_type, created, oracle_maintained
FROM dba_users
WHERE oracle_maintained = 'N'
ORDER BY username"""

# DBA_ROLE_PRIVS — Oracle 7+. All grantees (users, roles, PUBLIC): role→role
# rows are needed to compute inherited roles.
ROLE_PRIVS = """-- whalefall:dba_role_privs
SELECT grantee, granted_role, admin_option, default_role FROM dba_role_privs ORDER BY grantee, granted_role"""

# DBA_SYS_PRIVS — Oracle 7+. All grantees: privileges held through roles
# (e.g. CREATE SESSION via CONNECT) decide can_login.
SYS_PRIVS = """-- whalefall:dba_sys_privs
SELECT grantee, privilege, admin_option FROM dba_sys_privs ORDER BY grantee, privilege"""

# DBA_TAB_PRIVS — Oracle 7+ (TYPE column 12.1+, not selected). Grants made to
# users and to roles that are not Oracle-maintained (DBA_ROLES.ORACLE_MAINTAINED,
# 12.1+): those reach users through roles (effective privileges); and PUBLIC's on
# the objects of users that are not Oracle-maintained (every user holds them).
# PUBLIC's grants on the dictionary and Oracle-maintained roles' (SELECT_CATALOG_ROLE
# alone holds thousands) are not read: such roles show by name.
TAB_PRIVS = """-- whalefall:dba_tab_privs
SELECT p.grantee, p.owner, p.table_name, p.privilege, p.grantable
FROM dba_tab_privs p
WHERE p.grantee IN (SELECT u.username FROM dba_users u
                    UNION ALL SELECT r.role FROM dba_roles r WHERE r.oracle_maintained = 'N')
   OR p.grantee = 'PUBLIC' AND p.owner IN (SELECT o.username FROM dba_users o WHERE o.oracle_maintained = 'N')
ORDER BY p.grantee, p.owner, p.table_name, p.privilege"""

# DBA_COL_PRIVS — Oracle 7+. Column grants, same grantees as TAB_PRIVS.
COL_PRIVS = """-- whalefall:dba_col_privs
SELECT p.grantee, p.owner, p.table_name, p.column_name, p.privilege, p.grantable
FROM dba_col_privs p
WHERE p.grantee IN (SELECT u.username FROM dba_users u
                    UNION ALL SELECT r.role FROM dba_roles r WHERE r.oracle_maintained = 'N')
   OR p.grantee = 'PUBLIC' AND p.owner IN (SELECT o.username FROM dba_users o WHERE o.oracle_maintained = 'N')
ORDER BY p.grantee, p.owner, p.table_name, p.column_name, p.privilege"""

# DBA_OBJECTS — Oracle 7+: the users (not Oracle-maintained) that own at least one object. A
# user holds every object privilege on the objects of its own schema (parse.py).
OBJECT_OWNERS = """-- whalefall:dba_objects
SELECT u.username FROM dba_users u
WHERE u.oracle_maintained = 'N' AND u.username IN (SELECT o.owner FROM dba_objects o)
ORDER BY u.username"""

# V$PWFILE_USERS — Oracle 8+: who holds SYSDBA/SYSOPER (password file).
PWFILE_USERS = """-- whalefall:v$pwfile_users
SELECT username, sysdba, sysoper FROM v$pwfile_users ORDER BY username"""

# DBA_PROFILES — Oracle 7+: the password limits of every profile (RESOURCE_TYPE PASSWORD),
# PASSWORD_VERIFY_FUNCTION among them; LIMIT 'DEFAULT' means the DEFAULT profile's value (the
# column is quoted: LIMIT reads as a keyword to some parsers; "LIMIT" is the same name to Oracle).
PROFILES = """-- whalefall:dba_profiles
SELECT p.profile, p.resource_name, p."LIMIT"
FROM dba_profiles p WHERE p.resource_type = 'PASSWORD' ORDER BY p.profile, p.resource_name"""

# DBA_TABLESPACES — Oracle 7+. Inventory filter (PERMANENT, not SYSTEM/SYSAUX)
# is applied in parse.py so that both paths share it.
TABLESPACES = """-- whalefall:dba_tablespaces
SELECT tablespace_name, contents, status FROM dba_tablespaces ORDER BY tablespace_name"""

# USER_TABLESPACES — fallback when DBA_TABLESPACES is denied (same columns).
USER_TABLESPACES = """-- whalefall:user_tablespaces
SELECT tablespace_name, contents, status FROM user_tablespaces ORDER BY tablespace_name"""

# DBA_DATA_FILES — Oracle 7+: allocated bytes per tablespace (temp files are
# in DBA_TEMP_FILES and not counted).
DATA_FILE_BYTES = """-- whalefall:dba_data_files
SELECT tablespace_name, SUM(bytes) AS bytes, COUNT(*) AS file_count
FROM dba_data_files GROUP BY tablespace_name"""

# DBA_SEGMENTS — Oracle 7+: bytes used by segments per tablespace.
SEGMENT_BYTES = """-- whalefall:dba_segments
SELECT tablespace_name, SUM(bytes) AS bytes FROM dba_segments GROUP BY tablespace_name"""

# USER_SEGMENTS — fallback: the connected user's segments per tablespace.
USER_SEGMENT_BYTES = """-- whalefall:user_segments
SELECT tablespace_name, SUM(bytes) AS bytes FROM user_segments GROUP BY tablespace_name"""

# DBA_SEGMENTS + DBA_INDEXES + DBA_LOBS + DBA_TABLES — Oracle 10g+. Segments
# in one tablespace (:tablespace) attributed to their table: index and LOB
# segments through their parent table — an index may belong to another schema
# than its table (DBA_INDEXES.OWNER vs TABLE_OWNER); a LOB is its table owner's.
# Recycle-bin objects (BIN$…) excluded. num_rows is the optimizer statistics
# estimate (NULL when never analysed).
_TABLE_SIZES = """-- whalefall:{tag}
SELECT COALESCE(i.table_owner, s.owner) AS owner,
       COALESCE(i.table_name, l.table_name, s.segment_name) AS table_name,
       SUM(CASE WHEN s.segment_type LIKE 'TABLE%' THEN s.bytes ELSE 0 END) AS data_bytes,
       SUM(CASE WHEN s.segment_type LIKE 'INDEX%' THEN s.bytes ELSE 0 END) AS index_bytes,
       SUM(CASE WHEN s.segment_type LIKE 'LOB%' THEN s.bytes ELSE 0 END) AS lob_bytes,
       SUM(s.bytes) AS bytes,
       MAX(t.num_rows) AS num_rows
FROM (SELECT {owner} AS owner, segment_name, segment_type, bytes
      FROM {segments} WHERE tablespace_name = :tablespace AND segment_name NOT LIKE 'BIN$%') s
LEFT JOIN {prefix}_indexes i
       ON s.segment_type LIKE 'INDEX%' AND i.owner = s.owner AND i.index_name = s.segment_name
LEFT JOIN {prefix}_lobs l
       ON s.segment_type LIKE 'LOB%' AND l.owner = s.owner
      AND (l.segment_name = s.segment_name OR l.index_name = s.segment_name)
LEFT JOIN {prefix}_tables t
       ON t.owner = COALESCE(i.table_owner, s.owner)
      AND t.table_name = COALESCE(i.table_name, l.table_name, s.segment_name)
WHERE s.segment_type IN ('TABLE', 'TABLE PARTITION', 'TABLE SUBPARTITION', 'INDEX', 'INDEX PARTITION',
                         'INDEX SUBPARTITION', 'LOBSEGMENT', 'LOBINDEX', 'LOB PARTITION', 'LOB SUBPARTITION')
GROUP BY COALESCE(i.table_owner, s.owner), COALESCE(i.table_name, l.table_name, s.segment_name)
ORDER BY 1, 2"""

TABLE_SIZES = _TABLE_SIZES.format(tag="dba_segments_tables", owner="owner", segments="dba_segments", prefix="dba")

# Fallback: USER_SEGMENTS has no OWNER column (it is USER); ALL_INDEXES,
# ALL_LOBS and ALL_TABLES are readable by every user.
USER_TABLE_SIZES = _TABLE_SIZES.format(tag="user_segments_tables", owner="USER", segments="user_segments", prefix="all")

# --- privilege self-check (instances/adapters/privileges.py) ---------------------------------
# SESSION_ROLES / SESSION_PRIVS — any release: the roles enabled in this session (also those
# granted through other roles) and the system privileges available to it.
SESSION_ROLES = """-- whalefall:session_roles
SELECT role FROM session_roles ORDER BY role"""

SESSION_PRIVS = """-- whalefall:session_privs
SELECT privilege FROM session_privs ORDER BY privilege"""
