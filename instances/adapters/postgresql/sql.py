"""Catalog SQL for PostgreSQL 10+ (tested on 15 and 18).

Each constant names its source view and minimum version. None takes
parameters: per-database queries run on a connection to that database (the
name is a connection parameter, never SQL text). Statements without
parameters are sent as-is, so ``%`` in LIKE patterns needs no escaping.
All catalogs read here are readable by any role; only sizes need more (see
docs/adapters.md).
"""

from __future__ import annotations

# Databases that are not user data: the templates, and (PG 15+) databases left
# invalid by an interrupted DROP DATABASE (datconnlimit = -2).
_USER_DATABASES = "NOT d.datistemplate AND d.datname NOT IN ('template0', 'template1') AND d.datconnlimit <> -2"

# Schemas that belong to the server.
_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"
)

# Any version.
VERSION = "SELECT current_setting('server_version') AS version"

# pg_roles, any version. Login roles only. Memberships come from MEMBERSHIPS
# and their transitive closure is computed in parse.py: a plain scan cannot get a
# bad plan (with stale catalog statistics, per-role subqueries over the closure
# degrade to roles × memberships and time out at 10,000 roles).
ACCOUNTS = """
SELECT r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolinherit,
       r.rolreplication, r.rolbypassrls, r.rolconnlimit,
       to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS rolvaliduntil,
       (r.rolvaliduntil IS NOT NULL AND r.rolvaliduntil <= now()) AS expired
FROM pg_roles r
WHERE r.rolcanlogin
ORDER BY r.rolname
"""

# pg_auth_members, any version: every direct membership edge (member → role).
# PG 16+ may hold several grants of one role (one per grantor).
MEMBERSHIPS = """
SELECT r.rolname AS member, g.rolname AS role, m.admin_option
FROM pg_auth_members m
JOIN pg_roles r ON r.oid = m.member
JOIN pg_roles g ON g.oid = m.roleid
ORDER BY 1, 2
"""

# pg_database.datacl via aclexplode, 9.2+ (acldefault). A NULL ACL means the
# defaults (PUBLIC: CONNECT, TEMPORARY). Grantee 0 = PUBLIC (grantee_name NULL).
# The owner's implicit privileges are left out: ownership is not a grant.
DATABASE_PRIVILEGES = f"""
SELECT d.datname, a.grantee, g.rolname AS grantee_name, a.privilege_type, a.is_grantable
FROM pg_database d
CROSS JOIN LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE {_USER_DATABASES} AND a.grantee <> d.datdba
ORDER BY d.datname, grantee_name, a.privilege_type
"""

# Schema, table (relkind r/v/m/f/p) and column ACLs of the CONNECTED database
# only, 9.2+. Explicit grants only: NULL ACLs (defaults) and owners' entries are skipped.
OBJECT_PRIVILEGES = f"""
SELECT 'schema' AS level, n.nspname AS schema_name, NULL::name AS table_name, NULL::name AS column_name,
       a.grantee, g.rolname AS grantee_name, a.privilege_type, a.is_grantable
FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE {_USER_SCHEMAS} AND a.grantee <> n.nspowner
UNION ALL
SELECT 'object', n.nspname, c.relname, NULL, a.grantee, g.rolname, a.privilege_type, a.is_grantable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND {_USER_SCHEMAS} AND a.grantee <> c.relowner
UNION ALL
SELECT 'column', n.nspname, c.relname, at.attname, a.grantee, g.rolname, a.privilege_type, a.is_grantable
FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(at.attacl) a LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE at.attnum > 0 AND NOT at.attisdropped AND {_USER_SCHEMAS} AND a.grantee <> c.relowner
ORDER BY 1, 2, 3, 4, 6, 7
"""

# pg_database, any version. The inventory.
DATABASES = f"SELECT d.datname AS name FROM pg_database d WHERE {_USER_DATABASES} ORDER BY d.datname"

# pg_database_size, any version. Needs CONNECT on each database or pg_read_all_stats (10+).
DATABASE_SIZES = f"""
SELECT d.datname AS name, pg_database_size(d.oid) AS size_bytes
FROM pg_database d WHERE {_USER_DATABASES} ORDER BY d.datname
"""

# pg_class sizes in the CONNECTED database, 9.0+ (pg_indexes_size). Tables,
# partitions and materialized views; partitioned parents (relkind p) hold no
# data and are left out. reltuples is -1 (PG 14+) until the first ANALYZE.
TABLE_SIZES = f"""
SELECT n.nspname AS schema_name, c.relname AS table_name,
       pg_total_relation_size(c.oid) AS total_bytes,
       pg_relation_size(c.oid) AS data_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       c.reltuples::bigint AS row_estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND {_USER_SCHEMAS}
ORDER BY n.nspname, c.relname
"""
