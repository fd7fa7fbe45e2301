"""Semantic mutations of instances/adapters/postgresql/sql.py (and its version gate in features.py) for
bin/mutate-catalog-sql.

Each is (description, exact substring of the file — it occurs exactly once —, replacement[, file]);
the file is the engine's sql.py unless named. Each one changes what the SQL means (a join column, a
filter, member and role swapped, a flag read from another column, the version branches crossed),
never only its spelling; the executed tests in ``TESTS`` should fail on every one. Mutations of the
PostgreSQL 16+ membership query are caught only by tests on a 16+ target (branch pg18-live).
"""

from __future__ import annotations

MUTATIONS: list[tuple[str, ...]] = [
    ("user databases: only the templates",
     '_USER_DATABASES = "NOT d.datistemplate AND',
     '_USER_DATABASES = "d.datistemplate AND'),
    ("user databases: only those left invalid by an interrupted DROP DATABASE",
     "AND d.datconnlimit <> -2",
     "AND d.datconnlimit = -2"),
    ("user schemas: only pg_catalog and information_schema",
     '"n.nspname NOT IN (\'pg_catalog\', \'information_schema\') "',
     '"n.nspname IN (\'pg_catalog\', \'information_schema\') "'),
    ("roles: SUPERUSER and CREATEROLE swapped",
     "SELECT r.oid, r.rolname, r.rolsuper, r.rolcreaterole,",
     "SELECT r.oid, r.rolname, r.rolcreaterole AS rolsuper, r.rolsuper AS rolcreaterole,"),
    ("roles: every role inherits (NOINHERIT ignored)",
     "r.rolcanlogin, r.rolinherit,",
     "r.rolcanlogin, true AS rolinherit,"),
    ("roles: LOGIN read from INHERIT",
     "r.rolcreatedb, r.rolcanlogin, r.rolinherit,",
     "r.rolcreatedb, r.rolinherit AS rolcanlogin, r.rolinherit,"),
    ("roles: expired when VALID UNTIL is in the future",
     "r.rolvaliduntil <= now()) AS expired",
     "r.rolvaliduntil > now()) AS expired"),
    ("memberships before 16: member and role swapped",
     "SELECT m.member, m.roleid, m.admin_option\nFROM",
     "SELECT m.roleid AS member, m.member AS roleid, m.admin_option\nFROM"),
    ("memberships before 16: every membership WITH ADMIN OPTION",
     "m.roleid, m.admin_option\nFROM",
     "m.roleid, true AS admin_option\nFROM"),
    ("database privileges: the grantor named instead of the grantee",
     "LEFT JOIN pg_roles g ON g.oid = a.grantee",
     "LEFT JOIN pg_roles g ON g.oid = a.grantor"),
    ("database privileges: WITH GRANT OPTION inverted",
     "a.privilege_type, a.is_grantable\nFROM pg_database d",
     "a.privilege_type, NOT a.is_grantable AS is_grantable\nFROM pg_database d"),
    ("database privileges: a NULL ACL read as no privileges instead of the defaults",
     "aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba)))",
     "aclexplode(d.datacl)"),
    ("databases read for objects: CREATE asked for instead of CONNECT",
     "has_database_privilege(d.oid, 'CONNECT') AS can_connect,\n",
     "has_database_privilege(d.oid, 'CREATE') AS can_connect,\n"),
    ("object privileges: the non-superusers' default-ACL objects hidden instead of the quiet superusers'",
     "WHERE r.rolsuper AND NOT EXISTS",
     "WHERE NOT r.rolsuper AND NOT EXISTS"),
    ("object privileges: ordinary tables (relkind r) left out",
     "WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND",
     "WHERE c.relkind IN ('v', 'm', 'f', 'p') AND"),
    ("object privileges: column ACLs joined on the column's type instead of its table",
     "JOIN pg_class c ON c.oid = at.attrelid",
     "JOIN pg_class c ON c.oid = at.atttypid"),
    ("object privileges: the owner's implied ALL read from the schema default on tables",
     "c.relacl @> (acldefault('r', c.relowner))[1]",
     "c.relacl @> (acldefault('n', c.relowner))[1]"),
    ("object privileges: default privileges for every schema (defaclnamespace 0) dropped",
     "FROM pg_default_acl d LEFT JOIN pg_namespace n",
     "FROM pg_default_acl d JOIN pg_namespace n"),
    ("object privileges: the default privileges' creator read as the schema owner",
     "pg_get_userbyid(d.defaclrole)",
     "pg_get_userbyid(n.nspowner)"),
    ("password check: session_preload_libraries read instead of shared_preload_libraries",
     "WHERE s.name = 'shared_preload_libraries'",
     "WHERE s.name = 'session_preload_libraries'"),
    ("password check: pg_roles (readable by all) checked instead of pg_authid",
     "has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS authid_readable",
     "has_table_privilege('pg_catalog.pg_roles', 'SELECT') AS authid_readable"),
    ("password check: the roles without a password",
     "WHERE a.rolpassword IS NOT NULL",
     "WHERE a.rolpassword IS NULL"),
    ("table sizes: partitioned parents instead of tables",
     "WHERE c.relkind IN ('r', 'm') AND",
     "WHERE c.relkind IN ('p', 'm') AND"),
    ("table sizes: data and index bytes swapped",
     "pg_relation_size(c.oid) AS data_bytes,\n       pg_indexes_size(c.oid) AS index_bytes",
     "pg_indexes_size(c.oid) AS data_bytes,\n       pg_relation_size(c.oid) AS index_bytes"),
    ("table sizes: pages read as the row estimate",
     "c.reltuples::bigint AS row_estimate",
     "c.relpages::bigint AS row_estimate"),
    ("privilege check: pg_read_all_settings checked instead of pg_read_all_stats",
     "pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')",
     "pg_has_role(current_user, 'pg_read_all_settings', 'USAGE')"),
    ("privilege check: CREATE asked for instead of CONNECT on each database",
     "has_database_privilege(d.oid, 'CONNECT') AS can_connect\nFROM",
     "has_database_privilege(d.oid, 'CREATE') AS can_connect\nFROM"),
    # PostgreSQL 16+ (executed on the live PostgreSQL 18 target: branch pg18-live)
    ("PG 16+ memberships: member and role swapped",
     "SELECT m.member, m.roleid, m.admin_option, m.inherit_option, m.set_option",
     "SELECT m.roleid AS member, m.member AS roleid, m.admin_option, m.inherit_option, m.set_option"),
    ("PG 16+ memberships: INHERIT and SET options swapped",
     "m.admin_option, m.inherit_option, m.set_option",
     "m.admin_option, m.set_option AS inherit_option, m.inherit_option AS set_option"),
    ("PG 16+ memberships: the per-grant INHERIT/SET query only from 19 on (the version gate crossed)",
     "return self.major >= 16",
     "return self.major >= 19",
     "instances/adapters/postgresql/features.py"),
    ("memberships: the 16+ query sent to 15 (the version gate crossed)",
     "return self.major >= 16",
     "return self.major >= 15",
     "instances/adapters/postgresql/features.py"),
]  # fmt: skip

# The tests that execute this SQL: the adapter against the live PostgreSQL (its accounts compared with
# has_*_privilege), its privilege check, password policy and size collection.
TESTS: list[str] = [
    "tests/instances/adapters/test_postgresql_live.py",
    "tests/instances/adapters/test_postgresql_holds_live.py",
    "tests/accounts/test_live_who_can.py::test_postgresql_answers_equal_has_privilege",
    "tests/instances/adapters/test_privileges_live.py::test_postgresql_names_the_missing_grants_and_they_are_enough",
    "tests/instances/adapters/test_privileges_live.py::test_postgresql_documented_monitor_passes",
    "tests/instances/adapters/test_password_policy_live.py::test_postgresql_monitor_cannot_see_shared_preload_libraries",
    "tests/instances/adapters/test_password_policy_live.py::test_postgresql_superuser_monitor_sees_no_passwordcheck_and_who_has_a_password",
    "tests/instances/adapters/test_password_policy_live.py::"
    "test_postgresql_passwordcheck_loaded_for_one_session_only_is_not_enforced",
    "tests/capacity/test_live.py::test_postgresql_collect_grow_drop_and_table_sizes",
]

# Executed tests being added on other branches, run as soon as they exist (path: where from). The live
# tests above run on PostgreSQL 15 and 18 once branch pg18-live parametrizes the target.
PENDING_TESTS: dict[str, str] = {
    "tests/instances/adapters/test_postgresql_grant_options_live.py": "branch pg18-live: PG 16+ INHERIT/SET options",
}

# Mutations no test executes until a pending test exists (description prefix: test): run, and scored, then.
# (The PostgreSQL 18 target runs every live test above, but arrives with this file.)
NEEDS: dict[str, str] = {"PG 16+": "tests/instances/adapters/test_postgresql_grant_options_live.py"}
