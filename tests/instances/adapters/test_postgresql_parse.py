"""parse.py of the PostgreSQL adapter: recorded catalog rows → dataclasses, no database."""

from __future__ import annotations

import json

from instances.adapters.base import DatabaseSize, Privilege, TableSize
from instances.adapters.postgresql import parse


def role(name: str, **overrides) -> dict:
    row = {
        "oid": 16384, "rolname": name, "rolsuper": False, "rolcreaterole": False, "rolcreatedb": False,
        "rolcanlogin": True, "rolinherit": True, "rolreplication": False, "rolbypassrls": False,
        "rolconnlimit": -1, "rolvaliduntil": None, "expired": False, "all_roles": [], "direct_roles": [],
    }  # fmt: skip
    row.update(overrides)
    return row


ROLES = [
    role("alice", all_roles=["base", "reader"], direct_roles=[{"role": "reader", "admin_option": False}]),
    role("bob", rolvaliduntil="2000-01-01T00:00:00Z", expired=True),
    role("carol", rolcreaterole=True),
    role("dave", direct_roles=[{"role": "ops", "admin_option": True}], all_roles=["ops"]),
    role("postgres", rolsuper=True, rolcreaterole=True),
]
DATABASE_ROWS = [
    {"datname": "app", "grantee": 0, "grantee_name": None, "privilege_type": "CONNECT", "is_grantable": False},
    {"datname": "app", "grantee": 0, "grantee_name": None, "privilege_type": "CREATE", "is_grantable": False},
    {"datname": "app", "grantee": 16390, "grantee_name": "alice", "privilege_type": "CONNECT", "is_grantable": True},
]
OBJECT_ROWS = [
    {"level": "schema", "schema_name": "s", "table_name": None, "column_name": None, "grantee": 16390,
     "grantee_name": "alice", "privilege_type": "USAGE", "is_grantable": False},
    {"level": "object", "schema_name": "public", "table_name": "t", "column_name": None, "grantee": 0,
     "grantee_name": None, "privilege_type": "SELECT", "is_grantable": False},
    {"level": "column", "schema_name": "public", "table_name": "t", "column_name": "note", "grantee": 16390,
     "grantee_name": "alice", "privilege_type": "SELECT", "is_grantable": False},
]  # fmt: skip


def accounts():
    return {a.username: a for a in parse.parse_accounts(ROLES, DATABASE_ROWS, OBJECT_ROWS, connected_database="app")}


def test_roles_privileges_and_public():
    alice = accounts()["alice"]
    assert alice.roles == ("base", "reader") and alice.host == ""
    assert alice.privileges == (
        Privilege("database", "CONNECT", "app", True),
        Privilege("schema", "USAGE", "app.s", False),
        Privilege("column", "SELECT", "app.public.t.note", False),
    )
    assert alice.can_grant
    public = accounts()["PUBLIC"]
    assert public.privileges == (
        Privilege("database", "CONNECT", "app", False),
        Privilege("database", "CREATE", "app", False),
    )
    assert not public.can_login and public.snapshot["pseudo_role"] == "PUBLIC"
    assert "public_database_privileges" not in alice.snapshot
    json.dumps(alice.snapshot)


def test_flags():
    a = accounts()
    assert a["bob"].is_locked and not a["bob"].can_login and not a["bob"].can_grant
    assert a["carol"].can_grant and not a["carol"].is_superuser
    assert a["dave"].can_grant  # admin option on a role
    assert a["postgres"].is_superuser and a["postgres"].can_grant
    assert list(a) == ["PUBLIC", "alice", "bob", "carol", "dave", "postgres"]


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


def test_membership_edges_give_transitive_roles_and_direct_grants():
    rows = [role("alice"), role("bob"), role("carol")]
    edges = [
        {"member": "alice", "role": "reader", "admin_option": False},
        {"member": "reader", "role": "base", "admin_option": False},
        {"member": "bob", "role": "ops", "admin_option": True},
        {"member": "ops", "role": "reader", "admin_option": False},
    ]
    accounts = {a.username: a for a in parse.parse_accounts(rows, membership_rows=edges)}
    assert accounts["alice"].roles == ("base", "reader")
    assert accounts["bob"].roles == ("base", "ops", "reader")
    assert accounts["bob"].can_grant is True  # admin option on a membership
    assert accounts["alice"].snapshot["direct_roles"] == [{"role": "reader", "admin_option": False}]
    assert accounts["carol"].roles == ()
