"""A deterministic adapter for tests and benchmarks (db_type "fake").

Behaviour is encoded in the instance's ``database_name`` so it works the same
in every process (qcluster workers included)::

    "accounts=120,delay_ms=200,fail=target_unreachable,databases=3"

``accounts=N`` returns N logins ``user0000…`` (every 7th a superuser, every
5th with role ``app_rw``); ``delay_ms`` sleeps before answering (a slow
target); ``fail=<error code>`` raises that typed error; ``databases=N``
returns N databases of 1 MiB × (i+1); ``missing=account_sync+table_sizes`` makes those
collectors fail the privilege check (with a made-up GRANT); ``bug=parse`` makes parsing the
account listing raise a KeyError (a bug of ours, not a failure of the target). ``FAKE_ACCOUNTS[instance name]``
overrides the generated account list in-process; ``FAKE_UNREAD[instance name]`` names the scopes
the read "could not read" (a partial read).
"""

from __future__ import annotations

import time
from typing import Any

from instances.adapters.base import (
    AccountFacts,
    AccountRows,
    AdapterSession,
    BaseAdapter,
    DatabaseInfo,
    DatabaseSize,
    Privilege,
    TableSize,
    UnreadScope,
)
from instances.adapters.privileges import PrivilegeCheck
from whalefall import errors

FAKE_VERSION = "fake 1.0"

FAKE_ACCOUNTS: dict[str, list[AccountFacts]] = {}
FAKE_UNREAD: dict[str, list[UnreadScope]] = {}

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


class _NoConnection:
    def close(self) -> None:
        pass


class FakeEngineAdapter(BaseAdapter):
    """The session contract without a server: ``connect()`` opens nothing (after the
    engine's ``before_connect``) and the handshake "reports" version ``fake 1.0``."""

    db_type = "fake"
    version_in_handshake = True

    def before_connect(self) -> None:
        """Delay or fail here (what a slow or broken target does at connect)."""

    def open_connection(self, database: str) -> Any:
        self.before_connect()
        return _NoConnection()

    def start_session(self, session: AdapterSession) -> None:
        session.server_version = FAKE_VERSION

    def classify(self, exc: BaseException) -> type[errors.TargetError]:
        return errors.TargetQueryFailed

    def read_version(self, session: AdapterSession) -> str:
        return FAKE_VERSION


class FakeAdapter(FakeEngineAdapter):
    @property
    def options(self) -> dict[str, str]:
        pairs = (p.split("=", 1) for p in self.params.database.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}

    def before_connect(self) -> None:
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

    def read_account_rows(self) -> AccountRows:
        with self.connect():
            unread = list(FAKE_UNREAD.get(self.params.instance_name, ()))
            if self.params.instance_name in FAKE_ACCOUNTS:
                return {"accounts": list(FAKE_ACCOUNTS[self.params.instance_name]), "unread": unread}
            return {"accounts": generated_accounts(int(self.options.get("accounts", "3"))), "unread": unread}

    def account_unread_scopes(self, rows: AccountRows) -> tuple[UnreadScope, ...]:
        return tuple(rows.get("unread", ()))

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        if self.options.get("bug") == "parse":
            return [{}["privileges"]]  # a parser bug: KeyError
        return rows["accounts"]

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        with self.connect():
            return [DatabaseInfo(f"db{i}") for i in range(int(self.options.get("databases", "2")))]

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        with self.connect():
            return [
                DatabaseSize(f"db{i}", size_bytes=(i + 1) << 20, data_bytes=(i + 1) << 20)
                for i in range(int(self.options.get("databases", "2")))
            ]

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        with self.connect():
            return [TableSize("public", "t1", size_bytes=8192, data_bytes=8192, index_bytes=0, row_count=1)]

    def check_privileges(self) -> list[PrivilegeCheck]:
        with self.connect():
            missing = set(filter(None, self.options.get("missing", "").split("+")))
            return [
                PrivilegeCheck(collector, "", False, f"{collector}: not granted", f"GRANT FAKE {collector.upper()} "
                               f"TO {self.params.username};") if collector in missing
                else PrivilegeCheck(collector, "", True, f"{collector}: granted")
                for collector in ("account_sync", "database_sizes", "table_sizes")
            ]  # fmt: skip
