"""parse.py of the PostgreSQL adapter: recorded catalog rows → dataclasses, no database.

Each rule of the module docstring decides at least one test."""

from __future__ import annotations

import dataclasses
import json
import zlib

import pytest

from instances.adapters.base import AccountFacts, DatabaseSize, Privilege, TableSize
from instances.adapters.matching import holds
from instances.adapters.postgresql import acl, parse
from instances.adapters.postgresql.features import PostgreSQLFeatures


def oid(name: str) -> int:
    return zlib.crc32(name.encode())


def role(name: str, **overrides) -> dict:
    row = {
        "oid": oid(name), "rolname": name, "rolsuper": False, "rolcreaterole": False, "rolcreatedb": False,
        "rolcanlogin": True, "rolinherit": True, "rolreplication": False, "rolbypassrls": False,
        "rolconnlimit": -1, "rolvaliduntil": None, "expired": False,
    }  # fmt: skip
    row.update(overrides)
    return row


def member(login: str, group: str, admin=False, inherit=True, set_option=True) -> dict:
    """A PG 16+ ``MEMBERSHIPS_16`` row (by oid, with the grant's options)."""
    return {"member": oid(login), "roleid": oid(group), "admin_option": admin, "inherit_option": inherit,
            "set_option": set_option}  # fmt: skip


def db_grant(database: str, grantee: str | None, privilege: str, grantable: bool = False) -> dict:
    return {"datname": database, "grantee": 0 if grantee is None else 16390, "grantee_name": grantee,
            "privilege_type": privilege, "is_grantable": grantable}  # fmt: skip


def obj(level: str, *acl: str, schema="public", table=None, column=None, owner="owner", objtype=None,
        owner_all=None) -> dict:  # fmt: skip
    """An ``OBJECT_PRIVILEGES`` row: the ACL as PostgreSQL prints it (``grantee=privs/grantor``);
    ``owner_all`` as the query computes it (schema and object rows): NULL ACL or the owner's default entry in it."""
    if owner_all is None and level in ("schema", "object"):
        owner_all = not acl
    return {"level": level, "schema_name": schema, "table_name": table, "column_name": column, "owner": owner,
            "acl": list(acl), "objtype": objtype, "owner_all": owner_all}  # fmt: skip


def accounts(roles=(), memberships=(), databases=(), objects=None, database_owners=None,
             shared=()) -> dict[str, AccountFacts]:  # fmt: skip
    roles = list(roles) or [role("alice")]
    known = {r["oid"] for r in roles}
    groups = {name for m in memberships for name in ("r1", "r2", "r3", "ops", "g") if oid(name) in
              (m["member"], m["roleid"])}  # fmt: skip
    roles += [role(g, rolcanlogin=False) for g in sorted(groups) if oid(g) not in known]
    parsed = parse.parse_accounts(roles, databases, objects or {}, membership_rows=memberships,
                                  database_owners=database_owners, shared_object_rows=shared)  # fmt: skip
    return {a.username: a for a in parsed}


def chain(**options) -> AccountFacts:
    """alice → r1 → r2 → r3 (NOLOGIN groups); r3 holds CONNECT on app WITH GRANT OPTION."""
    edges = [member("alice", "r1", **options), member("r1", "r2"), member("r2", "r3")]
    return accounts(memberships=edges, databases=[db_grant("app", "r3", "CONNECT", grantable=True)])["alice"]


# --- effective privileges ---------------------------------------------------------


def test_a_grant_option_inherited_through_roles_counts_for_can_grant():
    account = chain()
    assert account.privileges == (Privilege("database", "CONNECT", "app", True, via=("r1", "r2", "r3")),)
    assert account.roles == ("r1", "r2", "r3") and account.can_grant
    assert account.reasons["can_grant"] == ("CONNECT on app.* WITH GRANT OPTION via r1 → r2 → r3",)


def test_a_noinherit_membership_is_reachable_by_set_role_only():
    account = chain(inherit=False)  # PG < 16: the member's rolinherit; 16+: the grant's INHERIT option
    assert account.privileges == (
        Privilege("database", "CONNECT", "app", True, via=("r1", "r2", "r3"), via_set_role=True),
    )
    assert not account.can_grant and account.roles == ("r1", "r2", "r3")


def test_pg16_a_membership_without_inherit_and_set_options_passes_nothing_but_is_a_membership():
    account = chain(inherit=False, set_option=False)
    # still a member (pg_has_role … 'MEMBER' is true on PG 18: test_postgresql_grant_options_live.py)
    assert account.privileges == () and account.roles == ("r1", "r2", "r3")


def test_noinherit_further_down_the_chain_stops_inheritance_there():
    edges = [member("alice", "r1"), member("r1", "r2", inherit=False), member("r2", "r3")]
    grants = [db_grant("app", "r1", "TEMPORARY"), db_grant("app", "r3", "CREATE")]
    account = accounts(memberships=edges, databases=grants)["alice"]
    assert account.privileges == (
        Privilege("database", "CREATE", "app", via=("r1", "r2", "r3"), via_set_role=True),
        Privilege("database", "TEMPORARY", "app", via=("r1",)),
    )


def test_object_column_and_default_privileges_of_several_databases():
    objects = {
        "app": [obj("schema", "alice=U/owner", "owner=UC/owner", schema="s"),
                obj("column", "alice=r/owner", table="t", column="c")],
        "crm": [obj("object", "alice=d/owner", table="orders"),
                obj("default", "alice=r/owner", schema="s", objtype="r"),
                obj("default", "alice=X/owner", schema=None, objtype="f")],
    }  # fmt: skip
    assert accounts(objects=objects)["alice"].privileges == (
        Privilege("database", "DEFAULT EXECUTE ON FUNCTIONS FOR ROLE owner", "crm"),
        Privilege("schema", "USAGE", "app.s"),
        Privilege("schema", "DEFAULT SELECT ON TABLES FOR ROLE owner", "crm.s"),
        Privilege("object", "DELETE", "crm.public.orders"),
        Privilege("column", "SELECT", "app.public.t.c"),
    )


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("alice=arwdDxt/owner", ("alice", (("INSERT", False), ("SELECT", False), ("UPDATE", False), ("DELETE", False),
                                           ("TRUNCATE", False), ("REFERENCES", False), ("TRIGGER", False)))),
        ("alice=r*w/owner", ("alice", (("SELECT", True), ("UPDATE", False)))),
        ("=Tc/owner", (None, (("TEMPORARY", False), ("CONNECT", False)))),
        ('"we""ird role"=UC*/"own=er"', ('we"ird role', (("USAGE", False), ("CREATE", True)))),
        ("alice=XsAm/owner", ("alice", (("EXECUTE", False), ("SET", False), ("ALTER SYSTEM", False),
                                        ("MAINTAIN", False)))),
    ],
)  # fmt: skip
def test_acl_items_are_decoded(item, expected):
    assert acl.acl_item(item) == expected


def test_a_malformed_acl_item_is_an_error():
    with pytest.raises(ValueError, match="aclitem"):
        acl.acl_item("no equals sign")


def test_the_owners_own_acl_entries_are_what_ownership_gives():
    objects = {"app": [obj("object", "owner=arwdDxt/owner", "alice=r*/owner", table="t", owner_all=True)]}
    every = accounts(roles=[role("alice"), role("owner")], objects=objects)
    assert every["owner"].privileges == (Privilege("object", "ALL", "app.public.t", True, implied_by="owner"),)
    assert every["alice"].privileges == (Privilege("object", "SELECT", "app.public.t", True),)
    # an owner that revoked DELETE and TRUNCATE from itself holds what its own entry still has
    revoked = {"app": [obj("object", "owner=arwxt/owner", table="t", owner_all=False)]}
    assert {p.privilege for p in accounts(roles=[role("owner")], objects=revoked)["owner"].privileges} == {
        "SELECT", "INSERT", "UPDATE", "REFERENCES", "TRIGGER"}  # fmt: skip
    assert not every["owner"].can_grant  # ownership's implicit grant options are not counted


def test_owners_of_databases_schemas_and_tables_without_acls_hold_all_on_them():
    objects = {"app": [obj("schema", schema="s", owner="alice"), obj("object", table="t", owner="alice"),
                       obj("object", table="u", owner="bob")]}  # fmt: skip
    owners = accounts(roles=[role("alice"), role("bob")], objects=objects,
                      databases=[db_grant("app", "alice", p) for p in ("CONNECT", "CREATE", "TEMPORARY")],
                      database_owners={"app": "alice"})  # fmt: skip
    assert owners["alice"].privileges == (
        Privilege("database", "ALL", "app", True, implied_by="owner"),
        Privilege("schema", "ALL", "app.s", True, implied_by="owner"),
        Privilege("object", "ALL", "app.public.t", True, implied_by="owner"),
    )
    assert owners["bob"].privileges == (Privilege("object", "ALL", "app.public.u", True, implied_by="owner"),)
    # a database owner that revoked CREATE from itself: only what its entries still have
    partial = accounts(roles=[role("alice")], databases=[db_grant("app", "alice", "CONNECT")],
                       database_owners={"app": "alice"})["alice"]  # fmt: skip
    assert partial.privileges == (Privilege("database", "CONNECT", "app", True, implied_by="owner"),)


def test_a_sequences_owner_holds_its_privileges_by_name_not_all():
    """``ALL`` on an object means a table's privileges (matching.PG_PRIVILEGES): a sequence's owner
    holds USAGE, SELECT and UPDATE by name, with the default ACL (NULL) or its own entry kept whole."""
    objects = {"app": [obj("object", table="seq", owner="alice", objtype="S"),
                       obj("object", "bob=rwU/bob", "carol=U/bob", table="seq2", owner="bob", objtype="S",
                           owner_all=True)]}  # fmt: skip
    parsed = accounts(roles=[role("alice"), role("bob"), role("carol")], objects=objects)
    assert parsed["alice"].privileges == tuple(
        Privilege("object", name, "app.public.seq", True, implied_by="owner") for name in ("SELECT", "UPDATE", "USAGE"))
    assert [p.privilege for p in parsed["bob"].privileges] == ["SELECT", "UPDATE", "USAGE"]
    assert parsed["carol"].privileges == (Privilege("object", "USAGE", "app.public.seq2"),)
    assert holds(list(parsed["alice"].privileges), "USAGE", "object", "app.public.seq", db_type="postgresql")


def test_a_functions_default_acl_gives_public_and_its_owner_execute():
    """The query expands a function's NULL ACL (acldefault 'f': PUBLIC's EXECUTE and the owner's); a
    REVOKE from PUBLIC leaves the owner's only. The target is ``name(argument types)``."""
    objects = {"app": [obj("object", "=X/alice", "alice=X/alice", table="f(integer, text)", owner="alice",
                           owner_all=False),
                       obj("object", "alice=X/alice", "bob=X*/alice", table="g(integer)", owner="alice",
                           owner_all=False)]}  # fmt: skip
    parsed = accounts(roles=[role("alice"), role("bob")], objects=objects)
    assert parsed["alice"].privileges == (
        Privilege("object", "EXECUTE", "app.public.f(integer, text)", True, implied_by="owner"),
        Privilege("object", "EXECUTE", "app.public.g(integer)", True, implied_by="owner"),
    )
    assert parsed["bob"].privileges == (Privilege("object", "EXECUTE", "app.public.g(integer)", True),)
    assert parsed["PUBLIC"].privileges == (Privilege("object", "EXECUTE", "app.public.f(integer, text)"),)


def test_types_languages_wrappers_and_servers_are_objects_of_their_database():
    """A type is ``db.schema.type``; what is not in a schema is ``db.KIND::name``. Their ACLs come
    expanded (acldefault: PUBLIC's USAGE for types and languages, the owner's alone for wrappers and
    servers); the owner's own entry is what ownership gives, by name."""
    objects = {"app": [obj("object", "=U/alice", "alice=U/alice", table="mood", owner="alice", owner_all=False),
                       obj("object", "=U/postgres", "postgres=U/postgres", "bob=U*/postgres", schema=None,
                           table="LANGUAGE::plpgsql", owner="postgres", owner_all=False),
                       obj("object", "postgres=U/postgres", "bob=U/postgres", schema=None,
                           table="FOREIGN DATA WRAPPER::w", owner="postgres", owner_all=False),
                       obj("object", "alice=U/alice", schema=None, table="FOREIGN SERVER::remote", owner="alice",
                           owner_all=False)]}  # fmt: skip
    parsed = accounts(roles=[role("alice"), role("bob"), role("postgres", rolsuper=True)], objects=objects)
    assert parsed["alice"].privileges == (
        Privilege("object", "USAGE", "app.FOREIGN SERVER::remote", True, implied_by="owner"),
        Privilege("object", "USAGE", "app.public.mood", True, implied_by="owner"),
    )
    assert parsed["bob"].privileges == (Privilege("object", "USAGE", "app.FOREIGN DATA WRAPPER::w"),
                                        Privilege("object", "USAGE", "app.LANGUAGE::plpgsql", True))  # fmt: skip
    assert parsed["PUBLIC"].privileges == (Privilege("object", "USAGE", "app.LANGUAGE::plpgsql"),
                                           Privilege("object", "USAGE", "app.public.mood"))  # fmt: skip
    # postgres, a superuser nobody is a member of, holds no owner entries: its ALL covers them
    assert [p.implied_by for p in parsed["postgres"].privileges] == ["superuser"]


def test_tablespaces_and_parameters_are_objects_of_no_database():
    """``SHARED_OBJECT_PRIVILEGES``: ``TABLESPACE::name`` / ``PARAMETER::name`` (a dotted name stays
    one part); a parameter's owner is the bootstrap superuser, whose own entry is left out."""
    shared = [obj("object", "alice=C/alice", "bob=C*/alice", schema=None, table="TABLESPACE::fast", owner="alice",
                  owner_all=False),
              obj("object", "postgres=sA/postgres", "=s/postgres", "bob=A/postgres", schema=None,
                  table="PARAMETER::auto_explain.log_min_duration", owner="postgres", owner_all=False)]  # fmt: skip
    parsed = accounts(roles=[role("alice"), role("bob"), role("postgres", rolsuper=True)], shared=shared)
    assert parsed["alice"].privileges == (Privilege("object", "CREATE", "TABLESPACE::fast", True, implied_by="owner"),)
    assert parsed["bob"].privileges == (
        Privilege("object", "ALTER SYSTEM", "PARAMETER::auto_explain.log_min_duration"),
        Privilege("object", "CREATE", "TABLESPACE::fast", True),
    )
    assert parsed["PUBLIC"].privileges == (Privilege("object", "SET", "PARAMETER::auto_explain.log_min_duration"),)
    assert holds(list(parsed["bob"].privileges), "ALTER SYSTEM", "object", "PARAMETER::auto_explain.log_min_duration",
                 db_type="postgresql")  # fmt: skip
    assert not holds(list(parsed["bob"].privileges), "SET", "object", "PARAMETER::auto_explain.log_min_duration",
                     db_type="postgresql")  # fmt: skip


def test_ownership_passes_to_members_like_a_grant():
    objects = {"app": [obj("object", table="t", owner="app_owner")]}
    edges = [member("alice", "app_owner"), member("bob", "app_owner", inherit=False)]
    every = accounts(roles=[role("alice"), role("bob"), role("app_owner", rolcanlogin=False)], memberships=edges,
                     objects=objects)  # fmt: skip
    assert every["alice"].privileges == (
        Privilege("object", "ALL", "app.public.t", True, via=("app_owner",), implied_by="owner"),)  # fmt: skip
    assert every["bob"].privileges == (Privilege("object", "ALL", "app.public.t", True, via=("app_owner",),
                                                 via_set_role=True, implied_by="owner"),)  # fmt: skip


def test_pg_database_owner_is_the_owner_of_each_database():
    """PG 14+: what pg_database_owner owns or is granted in a database belongs to that database's owner."""
    objects = {"app": [obj("schema", "pg_database_owner=UC/pg_database_owner", "=U/pg_database_owner",
                           owner="pg_database_owner", owner_all=True),
                       obj("object", "pg_database_owner=r/o", table="t", owner="o", owner_all=True)],
               "crm": [obj("schema", owner="pg_database_owner")]}  # fmt: skip
    every = accounts(
        roles=[role("alice"), role("bob"), role("carol", rolcanlogin=False)],
        objects=objects,
        memberships=[member("bob", "carol")],
        database_owners={"app": "alice", "crm": "carol"},
    )
    assert every["alice"].privileges == (
        Privilege("schema", "ALL", "app.public", True, via=("pg_database_owner",), implied_by="owner"),
        Privilege("object", "SELECT", "app.public.t", via=("pg_database_owner",)),
    )
    assert every["bob"].privileges == (Privilege("schema", "ALL", "crm.public", True,
                                                 via=("carol", "pg_database_owner"), implied_by="owner"),)  # fmt: skip
    assert Privilege("schema", "USAGE", "app.public") in every["PUBLIC"].privileges


def test_before_pg16_a_noinherit_database_owner_holds_pg_database_owners_privileges_by_set_role_only():
    """PG < 16: the owner's implicit membership of pg_database_owner inherits like any membership then,
    only when the owner has rolinherit (PG 15: has_schema_privilege(owner, 'public', 'CREATE') is false
    for a NOINHERIT owner and for its members; test_postgresql_random_live.py); PG 16+: always."""
    objects = {"app": [obj("schema", "pg_database_owner=UC/pg_database_owner", owner="pg_database_owner",
                           owner_all=True)]}  # fmt: skip
    roles = [role("alice", rolinherit=False), role("bob")]
    owned = Privilege("schema", "ALL", "app.public", True, via=("pg_database_owner",), implied_by="owner")
    pg15 = accounts(roles=roles, memberships=[{"member": oid("bob"), "roleid": oid("alice"), "admin_option": False}],
                    objects=objects, database_owners={"app": "alice"})  # fmt: skip
    assert pg15["alice"].privileges == (dataclasses.replace(owned, via_set_role=True),)
    assert pg15["bob"].privileges == (dataclasses.replace(owned, via=("alice", "pg_database_owner"),
                                                          via_set_role=True),)  # fmt: skip
    pg16 = accounts(roles=roles, memberships=[member("bob", "alice")], objects=objects,
                    database_owners={"app": "alice"})  # fmt: skip
    assert pg16["alice"].privileges == (owned,)
    assert pg16["bob"].privileges == (dataclasses.replace(owned, via=("alice", "pg_database_owner")),)


def test_the_server_version_decides_for_a_noinherit_database_owner_without_any_membership():
    """The adapter says whether the server has per-grant options (PG 16+): without memberships the
    rows cannot show it."""
    objects = {"app": [obj("schema", "pg_database_owner=UC/pg_database_owner", owner="pg_database_owner",
                           owner_all=True)]}  # fmt: skip
    roles = [role("alice", rolinherit=False)]

    def alice(per_grant_options):
        (parsed,) = parse.parse_accounts(roles, (), objects, database_owners={"app": "alice"},
                                         per_grant_options=per_grant_options)  # fmt: skip
        return [p.via_set_role for p in parsed.privileges]

    assert alice(True) == [False]
    assert alice(False) == [True]


def test_before_pg16_a_grant_option_of_pg_database_owner_lets_only_an_inheriting_database_owner_grant():
    """What a NOINHERIT owner holds only by SET ROLE is not counted (PG: a grantor's options must be
    its own or inherited)."""
    objects = {"app": [obj("schema", "pg_database_owner=U*/x", schema="s", owner="x")]}

    def alice(per_grant_options, inherit):
        roles = [role("alice", rolinherit=inherit), role("x", rolcanlogin=False)]
        parsed = parse.parse_accounts(roles, (), objects, database_owners={"app": "alice"},
                                      per_grant_options=per_grant_options)  # fmt: skip
        return next(a for a in parsed if a.username == "alice")

    assert not alice(False, inherit=False).can_grant
    assert alice(False, inherit=True).can_grant
    held = alice(True, inherit=False)
    reason = "USAGE on schema app.s WITH GRANT OPTION via pg_database_owner"
    assert held.can_grant and held.reasons["can_grant"] == (reason,)


def test_a_superuser_holds_all_and_its_members_only_by_set_role():
    edges = [member("alice", "admins"), member("admins", "root"), member("bob", "root", set_option=False)]
    objects = {"app": [obj("object", table="t", owner="postgres"), obj("object", table="u", owner="root")]}
    every = accounts(roles=[role("postgres", rolsuper=True), role("root", rolsuper=True, rolcanlogin=False),
                            role("alice"), role("bob"), role("admins", rolcanlogin=False)],
                     memberships=edges, objects=objects)  # fmt: skip
    superuser = Privilege("global", "ALL", "", True, implied_by="superuser")
    # postgres's ownership is covered by its ALL (nobody is a member of it); root's passes to its members
    assert every["postgres"].privileges == (superuser,)
    assert every["alice"].privileges == (
        Privilege("global", "ALL", "", True, via=("admins", "root"), via_set_role=True, implied_by="superuser"),
        Privilege("object", "ALL", "app.public.u", True, via=("admins", "root"), implied_by="owner"),
    )
    # bob inherits root's ownership but may not SET ROLE root (PG 16: no SET option)
    assert every["bob"].privileges == (
        Privilege("object", "ALL", "app.public.u", True, via=("root",), implied_by="owner"),)  # fmt: skip
    assert not every["alice"].is_superuser and not every["alice"].can_grant


def test_predefined_roles_read_and_write_all_data():
    edges = [member("alice", "pg_read_all_data"), member("bob", "pg_write_all_data")]
    roles = [role("alice"), role("bob"), role("pg_read_all_data", rolcanlogin=False),
             role("pg_write_all_data", rolcanlogin=False)]  # fmt: skip
    every = accounts(roles=roles, memberships=edges)
    assert every["alice"].privileges == tuple(
        Privilege("global", name, via=("pg_read_all_data",), implied_by="pg_read_all_data")
        for name in ("SELECT", "USAGE"))  # fmt: skip
    assert {p.privilege for p in every["bob"].privileges} == {"INSERT", "UPDATE", "DELETE", "USAGE"}


def test_pg15_memberships_pass_privileges_on_when_the_member_inherits():
    pg15 = [{"member": oid("alice"), "roleid": oid("r1"), "admin_option": False}]
    grant = [db_grant("app", "r1", "CREATE")]
    assert accounts(memberships=pg15, databases=grant)["alice"].privileges == (
        Privilege("database", "CREATE", "app", via=("r1",)),)  # fmt: skip
    noinherit = accounts(roles=[role("alice", rolinherit=False)], memberships=pg15, databases=grant)["alice"]
    assert noinherit.privileges == (Privilege("database", "CREATE", "app", via=("r1",), via_set_role=True),)


def test_public_grants_form_one_pseudo_account():
    everyone = accounts(databases=[db_grant("app", None, "CONNECT"), db_grant("app", "alice", "CREATE")],
                        objects={"crm": [obj("object", "=r/owner", table="t")]})  # fmt: skip
    assert everyone["PUBLIC"].privileges == (
        Privilege("database", "CONNECT", "app"), Privilege("object", "SELECT", "crm.public.t"),
    )  # fmt: skip
    assert not everyone["PUBLIC"].can_login and everyone["PUBLIC"].snapshot["pseudo_role"] == "PUBLIC"
    assert everyone["alice"].privileges == (Privilege("database", "CREATE", "app"),)
    assert "PUBLIC" not in accounts()


def test_group_roles_are_not_accounts():
    assert list(accounts(memberships=[member("alice", "r1")])) == ["alice"]


# --- flags and reasons -------------------------------------------------------------


def test_superuser_and_createrole():
    a = accounts(roles=[role("postgres", rolsuper=True), role("carol", rolcreaterole=True), role("dave")])
    assert a["postgres"].is_superuser and a["postgres"].reasons["is_superuser"] == ("SUPERUSER",)
    assert a["carol"].can_grant and not a["carol"].is_superuser and a["carol"].reasons["can_grant"] == ("CREATEROLE",)
    assert not a["dave"].can_grant and a["dave"].reasons == {}


def test_admin_option_directly_or_through_an_inherited_role():
    direct = accounts(memberships=[member("alice", "ops", admin=True)])["alice"]
    assert direct.reasons["can_grant"] == ("ADMIN OPTION on role ops",)
    edges = [member("alice", "r1"), member("r1", "ops", admin=True)]
    assert accounts(memberships=edges)["alice"].reasons["can_grant"] == ("ADMIN OPTION on role ops via r1",)
    edges[0] = member("alice", "r1", inherit=False)
    assert not accounts(memberships=edges)["alice"].can_grant


def test_expired_password_locks():
    bob = accounts(roles=[role("bob", rolvaliduntil="2000-01-01T00:00:00Z", expired=True)])["bob"]
    assert bob.is_locked and not bob.can_login
    assert bob.reasons == {"is_locked": ("VALID UNTIL 2000-01-01T00:00:00Z has passed",)}


def test_snapshot_records_the_membership_options():
    alice = accounts(memberships=[member("alice", "ops", admin=True, inherit=False)])["alice"]
    assert alice.snapshot["direct_roles"] == [
        {"role": "ops", "admin_option": True, "inherit_option": False, "set_option": True}
    ]
    assert "object_privileges_database" not in alice.snapshot
    json.dumps(alice.snapshot)


def test_features():
    assert PostgreSQLFeatures(160002).has_grant_inherit_set_options
    assert not PostgreSQLFeatures(150019).has_grant_inherit_set_options
    assert PostgreSQLFeatures(150019).has_parameter_acl
    assert not PostgreSQLFeatures(140012).has_parameter_acl


def test_sizes():
    assert parse.parse_database_sizes([{"name": "app", "size_bytes": 7708007}]) == [DatabaseSize("app", 7708007)]
    rows = [
        {"schema_name": "public", "table_name": "t", "total_bytes": 245760, "data_bytes": 131072,
         "index_bytes": 65536, "row_estimate": 2000},
        {"schema_name": "public", "table_name": "new", "total_bytes": 8192, "data_bytes": 8192,
         "index_bytes": 0, "row_estimate": -1},
    ]  # fmt: skip
    assert parse.parse_table_sizes(rows) == [
        TableSize("public", "t", 245760, 131072, 65536, 2000),
        TableSize("public", "new", 8192, 8192, 0, None),
    ]
