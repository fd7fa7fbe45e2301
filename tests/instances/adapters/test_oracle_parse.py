"""Oracle parse.py: recorded catalog rows (Oracle 19c) → engine-neutral dataclasses.

These adapters are tested against recorded catalog rows, not a live server.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from instances.adapters.base import DatabaseInfo, DatabaseSize, Privilege, TableSize
from instances.adapters.oracle import parse
from tests.instances.adapters import fake_dbapi


def load(name: str):
    return fake_dbapi.load_fixture("oracle", name)  # typed as the driver returns them


@pytest.fixture(scope="module")
def accounts():
    facts = parse.build_accounts(
        load("dba_users"),
        load("dba_role_privs"),
        load("dba_sys_privs"),
        load("dba_tab_privs"),
        load("dba_col_privs"),
        load("pwfile_users"),
    )
    return {account.username: account for account in facts}


def test_oracle_maintained_accounts_are_excluded(accounts):
    assert "SYS" not in accounts
    assert len(accounts) == 10


@pytest.mark.parametrize(
    ("user", "locked", "expired", "in_grace"),
    [
        ("APP_OWNER", False, False, False),
        ("LOCKED_USER", True, False, False),
        ("TIMED_USER", True, False, False),
        ("EXPIRED_USER", False, True, False),
        ("GRACE_USER", False, True, True),
        ("OLD_ADMIN", True, True, False),
    ],
)
def test_account_status(accounts, user, locked, expired, in_grace):
    account = accounts[user]
    assert account.is_locked is locked
    assert (account.snapshot["expired"], account.snapshot["in_grace"]) == (expired, in_grace)
    status = {row["USERNAME"]: row["ACCOUNT_STATUS"] for row in load("dba_users")}[user]
    assert account.snapshot["account_status"] == status


def test_nested_roles_are_inherited(accounts):
    report = accounts["REPORT_USER"]
    assert report.roles == ("APP_BASE", "APP_READ", "CONNECT")  # APP_READ → APP_BASE → CONNECT
    assert report.can_login  # CREATE SESSION through CONNECT, three levels down
    assert report.snapshot["granted_roles"] == [{"role": "APP_READ", "admin_option": False, "default_role": True}]


def test_dba_role_or_sysdba_is_superuser(accounts):
    assert accounts["OLD_ADMIN"].is_superuser and "SELECT_CATALOG_ROLE" in accounts["OLD_ADMIN"].roles
    assert accounts["BACKUP_ADMIN"].is_superuser and accounts["BACKUP_ADMIN"].snapshot["sysdba"]
    assert not accounts["DEPLOYER"].is_superuser  # CREATE ANY TABLE alone is not superuser


def test_admin_option_and_grantable(accounts):
    deployer = accounts["DEPLOYER"]
    assert Privilege("global", "CREATE ANY TABLE", "", grantable=True) in deployer.privileges
    assert Privilege("object", "INSERT", "APP_OWNER.ORDERS", grantable=True) in deployer.privileges
    assert deployer.can_grant
    assert not accounts["APP_OWNER"].can_grant
    assert Privilege("global", "UNLIMITED TABLESPACE") in accounts["APP_OWNER"].privileges


def test_object_and_column_privileges(accounts):
    report = accounts["REPORT_USER"]
    assert report.privileges == (
        Privilege("global", "CREATE SESSION", via=("APP_READ", "APP_BASE", "CONNECT")),
        Privilege("object", "SELECT", "APP_OWNER.ORDERS"),
        Privilege("column", "UPDATE", "APP_OWNER.CUSTOMERS.EMAIL"),
    )


def test_schema_only_account_cannot_log_in(accounts):
    assert accounts["SCHEMA_ONLY"].can_login is False


def test_snapshot_is_json_serialisable_and_converts_datetimes(accounts):
    for account in accounts.values():
        json.dumps(account.snapshot)
    row = dict(load("dba_users")[0], CREATED=datetime(2022, 1, 10, 12, 0))
    (account,) = parse.build_accounts([row], [], [], [], [], [])
    assert account.snapshot["created"] == "2022-01-10T12:00:00"
    assert not account.can_login  # no CREATE SESSION anywhere


def test_tablespace_inventory_excludes_system_undo_temp():
    assert parse.parse_tablespaces(load("dba_tablespaces")) == [DatabaseInfo("APP_DATA"), DatabaseInfo("USERS")]


def test_tablespace_sizes_from_dba_views():
    sizes = parse.parse_tablespace_sizes(
        parse.parse_tablespaces(load("dba_tablespaces")), load("dba_data_files"), load("dba_segments")
    )
    app = sizes[0]
    assert isinstance(app, DatabaseSize)
    assert (app.name, app.size_bytes, app.data_bytes, app.log_bytes) == ("APP_DATA", 2147483648, 2147483648, None)
    assert (app.used_bytes, app.source, app.complete) == (1073741824, "dba", True)


def test_tablespace_sizes_fallback_records_source():
    sizes = parse.parse_tablespace_sizes(
        parse.parse_tablespaces(load("user_tablespaces")), None, load("user_segments"), source="user_segments"
    )
    assert [(s.name, s.size_bytes, s.source, s.complete) for s in sizes] == [
        ("APP_DATA", 0, "user_segments", False),
        ("USERS", 196608, "user_segments", False),
    ]


def test_table_sizes():
    tables = parse.parse_table_sizes(load("dba_segments_tables"))
    documents = tables[1]
    assert isinstance(documents, TableSize)
    assert (documents.schema, documents.table, documents.lob_bytes) == ("APP_OWNER", "DOCUMENTS", 536870912)
    assert documents.size_bytes == 1048576 + 65536 + 536870912
    assert tables[3].row_count is None  # never analysed
    assert parse.parse_table_sizes(load("user_segments_tables"), source="user_segments")[0].complete is False


def test_versions():
    assert parse.parse_version(load("server_version")) == "Oracle Database 19c Enterprise Edition 19.0.0.0.0"
    assert parse.parse_version([], "19.3.0.0.0") == "19.3.0.0.0"
