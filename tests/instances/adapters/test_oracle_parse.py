"""Oracle parse.py: the pure conversions no dictionary scenario isolates (rows built from the
statements' columns, typed as python-oracledb returns them). Every rule of the account summary decides
a test of its own in test_oracle_rules.py; the SQL that produces the rows runs in
test_oracle_executed.py.
"""

from __future__ import annotations

import json
from datetime import datetime

from instances.adapters.oracle import parse, sql
from tests.instances.adapters import sqlcheck
from tests.instances.adapters.sqlcheck import ORACLE


def test_snapshot_is_json_and_converts_driver_datetimes():
    row = sqlcheck.driver_row(ORACLE, sql.USERS, USERNAME="APP", USER_ID=101, ACCOUNT_STATUS="EXPIRED & LOCKED",
                              CREATED=datetime(2022, 1, 10, 12, 0), LOCK_DATE=datetime(2022, 2, 1),
                              AUTHENTICATION_TYPE="PASSWORD", ORACLE_MAINTAINED="N")  # fmt: skip
    (account,) = parse.build_accounts([row], [], [], [], [], [])
    assert account.snapshot["created"] == "2022-01-10T12:00:00"
    assert account.snapshot["lock_date"] == "2022-02-01T00:00:00"
    json.dumps(account.snapshot)
    assert not account.can_login  # no CREATE SESSION anywhere


def test_version_falls_back_to_the_driver_version():
    row = sqlcheck.driver_row(ORACLE, sql.SERVER_VERSION, PRODUCT="Oracle Database 12c EE ", VERSION="12.2.0.1.0")
    assert parse.parse_version([row]) == "Oracle Database 12c EE 12.2.0.1.0"
    assert parse.parse_version([], "19.3.0.0.0") == "19.3.0.0.0"


def test_table_sizes_keep_never_analysed_row_counts_unknown():
    row = sqlcheck.driver_row(ORACLE, sql.USER_TABLE_SIZES, OWNER="APP", TABLE_NAME="T", BYTES=65536, DATA_BYTES=65536)
    (table,) = parse.parse_table_sizes([row], source="user_segments")
    assert (table.row_count, table.lob_bytes, table.complete) == (None, 0, False)
