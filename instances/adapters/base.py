"""The one interface every engine adapter implements (seed 004).

Adapters read a monitored instance's catalog and return engine-neutral frozen
dataclasses. They never write to the metadata database. Every remote call has
a deadline (connect/login and per-statement timeouts; an outside deadline
where the driver ignores them). Every failure raises a typed error from
``whalefall.errors`` naming the instance, never the password; an adapter never
returns partial or empty data after a failure.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from instances.models import Instance


@dataclass(frozen=True)
class ConnectionParams:
    """Everything needed to connect; built from an Instance by ``from_instance``."""

    instance_id: int | None
    instance_name: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    database: str = ""
    connect_timeout: int = 10
    statement_timeout: int = 60

    @classmethod
    def from_instance(cls, instance: Instance) -> ConnectionParams:
        from whalefall.errors import CredentialError

        credential = instance.credential
        if credential is None:
            raise CredentialError(
                f"Instance {instance.name!r} has no credential; assign one before connecting.",
                instance_id=instance.pk,
                instance_name=instance.name,
            )
        try:
            password = credential.get_password()
        except CredentialError as exc:
            exc.instance_id, exc.instance_name = instance.pk, instance.name
            raise
        return cls(
            instance_id=instance.pk,
            instance_name=instance.name,
            host=instance.host,
            port=instance.port,
            username=credential.username,
            password=password,
            database=instance.database_name,
            connect_timeout=instance.effective_connect_timeout,
            statement_timeout=instance.effective_statement_timeout,
        )


@dataclass(frozen=True)
class Privilege:
    """One granted privilege. ``level``: global | database | schema | object | column.

    ``target`` names what it is on (``db``, ``db.table``, ``db.table.column``;
    empty for global). ``state`` is GRANT or DENY (SQL Server).
    """

    level: str
    privilege: str
    target: str = ""
    grantable: bool = False
    state: str = "GRANT"


@dataclass(frozen=True)
class AccountFacts:
    """One login with its engine-neutral permission summary.

    ``roles`` includes inherited roles (transitive membership). ``snapshot`` is
    the engine-native detail (JSON-serialisable), stored as-is.
    """

    username: str
    host: str = ""
    is_superuser: bool = False
    can_grant: bool = False
    is_locked: bool = False
    can_login: bool = True
    roles: tuple[str, ...] = ()
    privileges: tuple[Privilege, ...] = ()
    snapshot: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


# Raw account catalog rows keyed by statement name (adapter-specific shapes).
AccountRows = dict[str, Any]


@dataclass(frozen=True)
class DatabaseInfo:
    """A database (Oracle: tablespace) on the instance."""

    name: str


@dataclass(frozen=True)
class DatabaseSize:
    """Size of one database in bytes; ``log_bytes`` only where the engine has one."""

    name: str
    size_bytes: int
    data_bytes: int | None = None
    log_bytes: int | None = None


@dataclass(frozen=True)
class TableSize:
    """Size of one table in bytes; ``row_count`` is the engine's estimate."""

    schema: str
    table: str
    size_bytes: int
    data_bytes: int | None = None
    index_bytes: int | None = None
    row_count: int | None = None


@dataclass(frozen=True)
class ConnectionTest:
    version: str
    latency_ms: float


class BaseAdapter(abc.ABC):
    """Engine adapter. Construct with ``ConnectionParams``; methods open their own
    connection (with deadlines) and close it."""

    db_type: str = ""

    def __init__(self, params: ConnectionParams):
        self.params = params

    @classmethod
    def for_instance(cls, instance: Instance) -> BaseAdapter:
        return cls(ConnectionParams.from_instance(instance))

    @abc.abstractmethod
    def test_connection(self) -> ConnectionTest:
        """Connect, read the server version, return it with the round-trip latency."""

    @abc.abstractmethod
    def server_version(self) -> str:
        """The server's version string."""

    @abc.abstractmethod
    def read_account_rows(self) -> AccountRows:
        """Run the account catalog queries (a fixed number, set-based) and return
        their raw rows by statement name, uninterpreted.

        The rows must come out in a deterministic order (every query has an
        ORDER BY): the account sync fingerprints them to skip parsing and
        comparing a listing identical to the last one it applied."""

    @abc.abstractmethod
    def parse_account_rows(self, rows: AccountRows) -> list[AccountFacts]:
        """Turn ``read_account_rows()`` output into ``AccountFacts`` (pure, no I/O).

        A function of ``rows`` alone: anything else the parsing depends on (the
        connected database, the server flavour) is put into ``rows`` by the read,
        so that equal rows always mean equal accounts."""

    def fetch_accounts(self) -> list[AccountFacts]:
        """All logins: the catalog read plus its parsing."""
        return self.parse_account_rows(self.read_account_rows())

    @abc.abstractmethod
    def fetch_database_inventory(self) -> list[DatabaseInfo]:
        """User databases (system databases excluded)."""

    @abc.abstractmethod
    def fetch_database_sizes(self) -> list[DatabaseSize]:
        """Size of every inventoried database, in bytes."""

    @abc.abstractmethod
    def fetch_table_sizes(self, database: str) -> list[TableSize]:
        """Per-table sizes of one database, in bytes."""
