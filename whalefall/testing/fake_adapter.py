"""A deterministic adapter for tests and benchmarks (db_type "fake").

Behaviour is encoded in the instance's ``database_name`` so it works the same
in every process (qcluster workers included)::

    "accounts=120,delay_ms=200,fail=target_unreachable,databases=3"

``accounts=N`` returns N logins ``user0000…`` (every 7th a superuser, every
5th with role ``app_rw``); ``delay_ms`` sleeps before answering (a slow
target); ``fail=<error code>`` raises that typed error; ``databases=N``
returns N databases of 1 MiB × (i+1). ``FAKE_ACCOUNTS[instance name]``
overrides the generated account list in-process.
"""

from __future__ import annotations

import time

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    BaseAdapter,
    ConnectionTest,
    DatabaseInfo,
    DatabaseSize,
    Privilege,
    TableSize,
)
from whalefall import errors

FAKE_ACCOUNTS: dict[str, list[AccountFacts]] = {}

_ERRORS = {
    cls.code: cls
    for cls in (
        errors.TargetUnreachable,
        errors.TargetAuthFailed,
        errors.TargetTimeout,
        errors.TargetPermissionDenied,
        errors.TargetQueryFailed,
    )
}


def generated_accounts(count: int) -> list[AccountFacts]:
    return [
        AccountFacts(
            username=f"user{i:05d}",
            host="%",
            is_superuser=i % 7 == 0,
            roles=("app_rw",) if i % 5 == 0 else (),
            privileges=(Privilege("database", "SELECT", f"db{i % 10}"),),
            snapshot={"plugin": "fake"},
        )
        for i in range(count)
    ]


class FakeAdapter(BaseAdapter):
    db_type = "fake"
    statements_executed = 0

    @property
    def options(self) -> dict[str, str]:
        pairs = (p.split("=", 1) for p in self.params.database.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}

    def _answer(self) -> None:
        delay = int(self.options.get("delay_ms", "0"))
        if delay:
            time.sleep(delay / 1000)
        code = self.options.get("fail")
        if code:
            raise _ERRORS[code](
                f"Instance {self.params.instance_name!r}: injected {code}",
                instance_id=self.params.instance_id,
                instance_name=self.params.instance_name,
            )

    def test_connection(self) -> ConnectionTest:
        self._answer()
        return ConnectionTest(version="fake 1.0", latency_ms=float(self.options.get("delay_ms", "0")))

    def server_version(self) -> str:
        self._answer()
        return "fake 1.0"

    def read_account_rows(self) -> AccountRows:
        self._answer()
        if self.params.instance_name in FAKE_ACCOUNTS:
            return {"accounts": list(FAKE_ACCOUNTS[self.params.instance_name])}
        return {"accounts": generated_accounts(int(self.options.get("accounts", "3")))}

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        return rows["accounts"]

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        self._answer()
        return [DatabaseInfo(f"db{i}") for i in range(int(self.options.get("databases", "2")))]

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        self._answer()
        return [
            DatabaseSize(f"db{i}", size_bytes=(i + 1) << 20, data_bytes=(i + 1) << 20)
            for i in range(int(self.options.get("databases", "2")))
        ]

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        self._answer()
        return [TableSize("public", "t1", size_bytes=8192, data_bytes=8192, index_bytes=0, row_count=1)]
