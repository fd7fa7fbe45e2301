"""Catalog SQL for PostgreSQL 10+ (tested on 15 and 18).

Each constant names its source view and minimum version. Per-database
queries run on a connection to that database (the name is a connection
parameter, never SQL text). Statements without parameters are sent as-is, so
``%`` in LIKE patterns needs no escaping; the one with parameters
(``OBJECT_PRIVILEGES``) doubles it.
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
# The same in a statement with parameters: there ``%`` is the driver's placeholder mark.
_USER_SCHEMAS_BOUND = _USER_SCHEMAS.replace("%", "%%")

# Any version.
VERSION = "SELECT current_setting('server_version') AS version"

# pg_roles, any version: every role (login roles are the accounts; group roles'
# rolinherit decides, before PG 16, what their memberships pass on). Memberships
# come from MEMBERSHIPS by oid and their closure is computed in parse.py: a plain
# scan cannot get a bad plan (with stale catalog statistics, per-role subqueries
# over the closure degrade to roles × memberships and time out at 10,000 roles).
ACCOUNTS = """
SELECT r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolinherit,
       r.rolreplication, r.rolbypassrls, r.rolconnlimit,
       to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS rolvaliduntil,
       (r.rolvaliduntil IS NOT NULL AND r.rolvaliduntil <= now()) AS expired
FROM pg_roles r
ORDER BY r.rolname
"""

# pg_auth_members: every direct membership edge (member → role, by oid) with what
# it passes on. PG 16+: per grant (one per grantor) inherit_option / set_option;
# before 16 a member inherits its roles' privileges when the MEMBER has
# rolinherit (ACCOUNTS), and every membership allows SET ROLE.
MEMBERSHIPS_16 = """
SELECT m.member, m.roleid, m.admin_option, m.inherit_option, m.set_option
FROM pg_auth_members m
ORDER BY 1, 2, 3, 4, 5
"""
MEMBERSHIPS = """
SELECT m.member, m.roleid, m.admin_option
FROM pg_auth_members m
ORDER BY 1, 2, 3
"""

# pg_database.datacl via aclexplode, 9.2+ (acldefault). A NULL ACL means the
# defaults (PUBLIC: CONNECT, TEMPORARY; the owner: all). Grantee 0 = PUBLIC
# (grantee_name NULL). The owner's own entries are what ownership gives it
# (an owner may revoke its own privileges): parse.py turns them into entries
# implied by ownership.
DATABASE_PRIVILEGES = f"""
SELECT d.datname, a.grantee, g.rolname AS grantee_name, a.privilege_type, a.is_grantable
FROM pg_database d
CROSS JOIN LATERAL aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE {_USER_DATABASES}
ORDER BY d.datname, grantee_name, a.privilege_type
"""

# pg_database, any version: the databases whose object privileges are read (one
# connection each), with whether the monitoring login may connect at all
# (datallowconn, has_database_privilege … CONNECT): one it may not is named in
# the sync record, not tried. ``owner``: the database's owner (its ownership
# rights, and pg_database_owner's members in it: PG 14+).
OBJECT_DATABASES = f"""
SELECT d.datname, d.datallowconn, has_database_privilege(d.oid, 'CONNECT') AS can_connect,
       pg_get_userbyid(d.datdba) AS owner
FROM pg_database d WHERE {_USER_DATABASES} ORDER BY d.datname
"""

# Schemas, tables (relkind r/v/m/f/p), sequences (S; an object's ``objtype`` is its relkind),
# functions and procedures (``name(argument types)`` as oidvectortypes prints them: a type outside
# pg_catalog, the session's whole search_path, with its schema),
# column ACLs and default privileges (pg_default_acl, ALTER DEFAULT PRIVILEGES) of the CONNECTED database, 9.2+;
# run once per database. The ACLs are read as they are stored (text of each
# aclitem, decoded in parse.py): one row per object instead of one per grantee
# and privilege, without a join per entry — at 10,000 grants a seventh of the
# time of aclexplode. Every schema, table and sequence is listed, also those with the
# default (NULL) ACL: its ``owner`` holds what ownership gives — everything the
# owner's own default entry has (``owner_all``: the ACL is NULL or holds that
# entry, acldefault's one item for 'n'/'r') or else the owner's own entries (a
# sequence's owner gets its privileges by name either way: parse.py).
# Columns are listed only with an ACL. ``owner`` is the creator for default
# privileges (its own entries there are left out). Default privileges: objtype
# r/S/f/T/n (tables, sequences, functions, types, schemas), defaclnamespace 0
# = every schema (schema_name NULL). Objects with the default ACL owned by a
# superuser nobody is a member of (``quiet``, e.g. postgres) are not listed:
# that superuser's ALL covers them (parse.py leaves their ownership out), so
# they cost no rows and creating one does not change the listing. Those
# superusers' oids are the parameter ``quiet`` (an oid list): the adapter takes
# them from the ACCOUNTS and MEMBERSHIPS rows it has just read (roles are
# shared by every database), where a subquery over pg_roles in each database
# scanned every role again — on a new connection to each database that was
# half of the statement's time at 10,000 roles (benchmarks/README.md).
# Functions are the exception: their default ACL also gives PUBLIC EXECUTE, so
# each is listed, its ACL expanded (acldefault 'f': PUBLIC's item and the
# owner's, which parse.py reads by name, as for a non-default ACL) — except an
# extension's function with the default ACL (thousands with PostGIS, each
# executable by PUBLIC as its extension intends); one whose ACL was changed is listed.
# Types likewise (acldefault 'T': PUBLIC's USAGE and the owner's), as ``db.schema.type``:
# base, composite (CREATE TYPE … AS, not a table's row type), domain, enum and range types —
# not arrays nor multiranges, whose privileges are their element's or range's, nor a table's
# row type. Then what is not in a schema, named ``db.KIND::name`` (matching.KIND_MARK):
# trusted languages (acldefault 'l': PUBLIC's USAGE; an untrusted one — c, internal,
# plpython3u — only a superuser may use, whatever has_language_privilege says of its
# ACL), foreign-data wrappers and foreign servers (acldefault 'F' / 'S': the owner's USAGE).
OBJECT_PRIVILEGES = f"""
SELECT 'schema' AS level, n.nspname AS schema_name, NULL::name AS table_name, NULL::name AS column_name,
       pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text[] AS acl, NULL::"char" AS objtype,
       (n.nspacl IS NULL OR n.nspacl @> (acldefault('n', n.nspowner))[1]) AS owner_all
FROM pg_namespace n
WHERE {_USER_SCHEMAS_BOUND} AND (n.nspacl IS NOT NULL OR n.nspowner <> ALL (%(quiet)s::oid[]))
UNION ALL
SELECT 'object', n.nspname, c.relname, NULL, pg_get_userbyid(c.relowner), c.relacl::text[], c.relkind,
       (c.relacl IS NULL OR c.relacl @> (acldefault('r', c.relowner))[1])
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S') AND {_USER_SCHEMAS_BOUND}
  AND (c.relacl IS NOT NULL OR c.relowner <> ALL (%(quiet)s::oid[]))
UNION ALL
SELECT 'object', n.nspname, p.proname || '(' || oidvectortypes(p.proargtypes) || ')', NULL,
       pg_get_userbyid(p.proowner), COALESCE(p.proacl, acldefault('f', p.proowner))::text[], NULL, false
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_SCHEMAS_BOUND}
  AND (p.proacl IS NOT NULL OR NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                                           AND e.objid = p.oid AND e.deptype = 'e'))
UNION ALL
SELECT 'object', n.nspname, t.typname, NULL, pg_get_userbyid(t.typowner),
       COALESCE(t.typacl, acldefault('T', t.typowner))::text[], NULL, false
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_USER_SCHEMAS_BOUND} AND t.typtype IN ('b', 'c', 'd', 'e', 'r') AND NOT (t.typelem <> 0 AND t.typlen = -1)
  AND NOT EXISTS (SELECT FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind <> 'c')
  AND (t.typacl IS NOT NULL OR NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                                           AND e.objid = t.oid AND e.deptype = 'e'))
UNION ALL
SELECT 'object', NULL, 'LANGUAGE::' || l.lanname, NULL, pg_get_userbyid(l.lanowner),
       COALESCE(l.lanacl, acldefault('l', l.lanowner))::text[], NULL, false
FROM pg_language l WHERE l.lanpltrusted
UNION ALL
SELECT 'object', NULL, 'FOREIGN DATA WRAPPER::' || w.fdwname, NULL, pg_get_userbyid(w.fdwowner),
       COALESCE(w.fdwacl, acldefault('F', w.fdwowner))::text[], NULL, false
FROM pg_foreign_data_wrapper w
UNION ALL
SELECT 'object', NULL, 'FOREIGN SERVER::' || f.srvname, NULL, pg_get_userbyid(f.srvowner),
       COALESCE(f.srvacl, acldefault('S', f.srvowner))::text[], NULL, false
FROM pg_foreign_server f
UNION ALL
SELECT 'column', n.nspname, c.relname, at.attname, pg_get_userbyid(c.relowner), at.attacl::text[], NULL, NULL
FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE at.attacl IS NOT NULL AND at.attnum > 0 AND NOT at.attisdropped AND {_USER_SCHEMAS_BOUND}
UNION ALL
SELECT 'default', n.nspname, NULL, NULL, pg_get_userbyid(d.defaclrole), d.defaclacl::text[], d.defaclobjtype, NULL
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
ORDER BY 1, 2, 3, 4, 5, 7
"""

# pg_tablespace, any version, and (PG 15+) pg_parameter_acl: privileges on what the whole server
# shares, read once from the instance's database, in the shape of OBJECT_PRIVILEGES' rows, named
# ``TABLESPACE::name`` / ``PARAMETER::name`` (a parameter's name may hold a dot: it stays one part,
# matching.target_parts). A tablespace's default ACL gives its owner CREATE (acldefault 't'); a
# parameter has a row only while its ACL differs from the default, which gives the bootstrap
# superuser (oid 10) SET and ALTER SYSTEM (acldefault 'p'): that superuser is the row's owner.
_TABLESPACE_PRIVILEGES = """
SELECT 'object' AS level, NULL::name AS schema_name, 'TABLESPACE::' || t.spcname AS table_name,
       NULL::name AS column_name, pg_get_userbyid(t.spcowner) AS owner,
       COALESCE(t.spcacl, acldefault('t', t.spcowner))::text[] AS acl, NULL::"char" AS objtype, false AS owner_all
FROM pg_tablespace t
"""
SHARED_OBJECT_PRIVILEGES = _TABLESPACE_PRIVILEGES + "ORDER BY 3\n"
SHARED_OBJECT_PRIVILEGES_15 = _TABLESPACE_PRIVILEGES + """UNION ALL
SELECT 'object', NULL, 'PARAMETER::' || p.parname, NULL, pg_get_userbyid(10),
       COALESCE(p.paracl, acldefault('p', 10))::text[], NULL, false
FROM pg_parameter_acl p
ORDER BY 3
"""

# Password policy, any version: shared_preload_libraries (does it load passwordcheck?) is visible
# to superusers and pg_read_all_settings members only — pg_settings hides the row from others, NULL
# here — and pg_authid (which roles have a password) is readable by superusers only unless granted.
PASSWORD_CHECK = """
SELECT (SELECT s.setting FROM pg_settings s WHERE s.name = 'shared_preload_libraries') AS shared_preload_libraries,
       has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS authid_readable
"""
# The roles that have a password (whether, never the hash); read only when pg_authid is readable.
ROLES_WITH_PASSWORD = "SELECT a.rolname FROM pg_authid a WHERE a.rolpassword IS NOT NULL ORDER BY a.rolname"

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

# --- privilege self-check (instances/adapters/privileges.py), 10+ (pg_read_all_stats) ---------
# The login as a GRANT names it (quote_ident), and whether it uses pg_read_all_stats' privileges
# without SET ROLE (pg_has_role … USAGE: true for superusers too).
PRIVILEGE_LOGIN = """
SELECT quote_ident(current_user) AS login,
       pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS read_all_stats
"""

# The catalogs the account sync and the inventory read (readable by PUBLIC unless revoked).
CATALOG_PRIVILEGES = """
SELECT c.name, has_table_privilege(c.name, 'SELECT') AS readable
FROM unnest(ARRAY['pg_catalog.pg_roles', 'pg_catalog.pg_auth_members', 'pg_catalog.pg_database',
                  'pg_catalog.pg_namespace', 'pg_catalog.pg_class', 'pg_catalog.pg_proc', 'pg_catalog.pg_depend',
                  'pg_catalog.pg_attribute', 'pg_catalog.pg_default_acl', 'pg_catalog.pg_type',
                  'pg_catalog.pg_language', 'pg_catalog.pg_foreign_data_wrapper', 'pg_catalog.pg_foreign_server',
                  'pg_catalog.pg_tablespace']) WITH ORDINALITY AS c(name, n)
ORDER BY c.n
"""
# PG 15+: also pg_parameter_acl.
CATALOG_PRIVILEGES_15 = CATALOG_PRIVILEGES.replace("'pg_catalog.pg_tablespace'",
                                                   "'pg_catalog.pg_tablespace', 'pg_catalog.pg_parameter_acl'")

# Every user database (as the inventory lists them) with whether the login may connect.
DATABASE_CONNECT_PRIVILEGES = f"""
SELECT d.datname, quote_ident(d.datname) AS quoted, d.datallowconn,
       has_database_privilege(d.oid, 'CONNECT') AS can_connect
FROM pg_database d WHERE {_USER_DATABASES} ORDER BY d.datname
"""
