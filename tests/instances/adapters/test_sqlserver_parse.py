"""SQL Server parse.py: recorded catalog rows (SQL Server 2019) → engine-neutral dataclasses.

These adapters are tested against recorded catalog rows, not a live server.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from instances.adapters.base import DatabaseInfo, DatabaseSize, Privilege, TableSize
from instances.adapters.sqlserver import parse
from tests.instances.adapters import fake_dbapi


def load(name: str):
    return fake_dbapi.load_fixture("tsql", name)  # typed as the driver returns them


@pytest.fixture(scope="module")
def accounts():
    security = {
        name: parse.DatabaseSecurityRows(
            principals=load("database_principals")[name],
            role_members=load("database_role_members")[name],
            permissions=load("database_permissions")[name],
        )
        for name in ("sales", "hr")
    }
    facts = parse.build_accounts(
        load("server_principals"), load("server_role_members"), load("server_permissions"), security
    )
    return {account.username: account for account in facts}


def test_every_login_once_and_no_certificate_or_role_principals(accounts):
    assert sorted(accounts) == sorted(
        ["app_sales", "auditor", "CORP\\dba_team", "CORP\\jdoe", "ctrl_login", "monitor", "sa"]
    )
    assert all(account.host == "" for account in accounts.values())


def test_disabled_sysadmin_is_superuser_and_locked(accounts):
    sa = accounts["sa"]
    assert sa.is_superuser and sa.can_grant
    assert sa.is_locked  # is_disabled = 1
    assert sa.can_login  # CONNECT SQL is not denied; being disabled is what locks it
    assert "sysadmin" in sa.roles
    # dbo in every database maps to the owner login by SID 0x01
    assert {"sales.db_owner", "hr.db_owner"} <= set(sa.roles)


def test_control_server_makes_superuser(accounts):
    assert accounts["ctrl_login"].is_superuser
    assert not accounts["monitor"].is_superuser


def test_deny_is_reported_with_state_deny(accounts):
    monitor = accounts["monitor"]
    assert Privilege("global", "ALTER ANY LOGIN", "", False, "DENY") in monitor.privileges
    assert not monitor.can_grant
    jdoe = accounts["CORP\\jdoe"]
    assert Privilege("global", "CONNECT SQL", "", False, "DENY") in jdoe.privileges
    assert jdoe.can_login is False


def test_with_grant_option_is_grantable(accounts):
    auditor = accounts["auditor"]
    assert Privilege("global", "VIEW ANY DEFINITION", "", True, "GRANT") in auditor.privileges
    assert auditor.can_grant


def test_loginproperty_locked_out_locks(accounts):
    assert accounts["auditor"].is_locked
    assert not accounts["app_sales"].is_locked


def test_server_principal_and_endpoint_targets(accounts):
    assert Privilege("object", "IMPERSONATE", "SERVER_PRINCIPAL::sa") in accounts["auditor"].privileges


def test_nested_server_roles_are_inherited(accounts):
    team = accounts["CORP\\dba_team"]
    assert {"ops_admins", "processadmin", "securityadmin"} <= set(team.roles)
    assert team.can_grant  # securityadmin through ops_admins
    assert not team.is_superuser
    assert team.snapshot["server_roles"] == ["ops_admins"]  # direct only in the snapshot


def test_database_user_roles_and_object_permissions(accounts):
    app = accounts["app_sales"]
    assert app.roles == ("sales.db_datareader", "sales.reporting", "sales.sales_reader")
    assert set(app.privileges) >= {
        Privilege("database", "CONNECT", "sales"),
        Privilege("object", "SELECT", "sales.dbo.orders"),
        Privilege("object", "DELETE", "sales.dbo.orders", state="DENY"),
        Privilege("column", "UPDATE", "sales.dbo.customers.email"),
        Privilege("schema", "EXECUTE", "sales.reports", grantable=True),
    }
    # granted to the role sales_reader, which the user holds through reporting; db_datareader's SELECT
    assert Privilege("object", "SELECT", "sales.dbo.customers", via=("sales.reporting", "sales.sales_reader")) in (
        app.privileges
    )
    assert Privilege("database", "SELECT", "sales", via=("sales.reporting", "sales.sales_reader",
                                                        "sales.db_datareader"),
                     implied_by="db_datareader") in app.privileges  # fmt: skip
    # public's grants on system objects (every database has them) are not the user's
    assert app.can_grant  # EXECUTE on schema WITH GRANT OPTION
    assert app.snapshot["databases"]["sales"]["user"] == "app_sales"
    assert app.snapshot["databases"]["sales"]["roles"] == ["reporting"]


def test_db_securityadmin_can_grant(accounts):
    assert "hr.db_securityadmin" in accounts["auditor"].roles


def test_snapshot_is_json_serialisable(accounts):
    for account in accounts.values():
        json.dumps(account.snapshot)


def test_snapshot_converts_driver_datetimes():
    row = dict(load("server_principals")[0], create_date=datetime(2021, 3, 4, 10, 15))
    (account,) = parse.build_accounts([row], [], [], {})
    assert account.snapshot["create_date"] == "2021-03-04T10:15:00"


def test_cyclic_role_memberships_end():
    rows = [{"role_name": "a", "member_name": "b", "member_type": "R"},
            {"role_name": "b", "member_name": "a", "member_type": "R"},
            {"role_name": "a", "member_name": "app_sales", "member_type": "S"}]  # fmt: skip
    (sa,) = parse.build_accounts([load("server_principals")[0]], rows, [], {})
    assert sa.roles == ("a", "b")


def test_legacy_revoke_state_is_skipped():
    row = dict(load("server_permissions")[0], state="R", state_desc="REVOKE")
    assert parse.server_privilege(row) is None


def test_database_sizes_are_bytes_data_plus_log():
    sizes = {size.name: size for size in parse.parse_database_sizes(load("database_sizes"))}
    assert sizes["sales"] == DatabaseSize("sales", 147456 * 8192, 131072 * 8192, 16384 * 8192)
    assert sizes["hr"].size_bytes == 16 * 1024 * 1024


def test_inventory_and_table_sizes():
    assert parse.parse_databases(load("databases")) == [DatabaseInfo("hr"), DatabaseInfo("sales")]
    tables = parse.parse_table_sizes(load("table_sizes"))
    assert tables[1] == TableSize("dbo", "orders", 85196800, 71303168, 12582912, 1250000)
    assert tables[2].size_bytes == 0


def test_version_includes_edition():
    assert parse.parse_version(load("server_version")[0]) == "15.0.4345.5 (Developer Edition (64-bit))"
