"""A scriptable in-memory adapter for capacity tests (registered as db type "fake").

State is class-level and keyed by instance name; ``reset()`` between tests.
``failures[name]`` is a list of exceptions raised (one per call, in order) by
the next remote reads of that instance.
"""

from __future__ import annotations

from instances.adapters.base import AccountFacts, AccountRows, DatabaseInfo, DatabaseSize, TableSize
from tests.support.fake_adapter import FakeEngineAdapter
from whalefall.errors import TargetQueryFailed


class FakeCapacityAdapter(FakeEngineAdapter):
    databases: dict[str, list[DatabaseSize]] = {}
    tables: dict[tuple[str, str], list[TableSize]] = {}
    failures: dict[str, list[Exception]] = {}
    calls: dict[str, int] = {}

    @classmethod
    def reset(cls) -> None:
        cls.databases, cls.tables, cls.failures, cls.calls = {}, {}, {}, {}

    def _maybe_fail(self) -> None:
        name = self.params.instance_name
        self.calls[name] = self.calls.get(name, 0) + 1
        pending = self.failures.get(name)
        if pending:
            raise pending.pop(0)

    def read_account_rows(self) -> AccountRows:
        return {}

    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        return []

    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        self._maybe_fail()
        with self.connect():
            return [DatabaseInfo(d.name) for d in self.databases.get(self.params.instance_name, [])]

    def fetch_database_sizes(self) -> list[DatabaseSize]:
        with self.connect():
            return list(self.databases.get(self.params.instance_name, []))

    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        self._maybe_fail()
        key = (self.params.instance_name, database)
        if key not in self.tables:
            raise TargetQueryFailed(f"database {database!r} not found", instance_id=self.params.instance_id)
        with self.connect():
            return list(self.tables[key])
