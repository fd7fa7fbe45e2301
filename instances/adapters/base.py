"""The one interface and session contract every engine adapter implements (seed 004).

Adapters read a monitored instance's catalog and return engine-neutral frozen
dataclasses. They never write to the metadata database.

The contract, implemented once here:

- construction from an instance (``for_instance``: credential decrypted, or a
  ``CredentialError``; deadlines from the instance or the settings);
- ``connect(database=None)`` yields an ``AdapterSession`` whose one method
  ``rows(sql, params, action)`` runs one statement and returns its rows as
  dicts; every statement is counted (``statements_executed``), so the
  set-based contract is tested on counts, not on timing;
- every driver failure becomes a typed ``TargetError`` naming the instance and
  the action, with the password redacted (``wrap_error``); an adapter never
  returns partial or empty data after a failure — except the account read, which
  goes on past a scope it may not read and names it (``UnreadScope``,
  ``account_unread_scopes``) so the sync keeps what it stored there;
- every remote call has a deadline: the driver's own connect/statement
  timeouts, and an outside deadline (a worker thread abandoned after the
  limit) for drivers whose timeouts do not hold (``connect_deadline`` /
  ``statement_deadline``);
- ``test_connection`` / ``server_version``, and ``server_version_seen``: the
  version of the server the last session talked to, so every sync and
  collection can record it.

Each engine overrides only its mechanics: ``open_connection`` (driver call
with its deadline options), ``start_session`` (session settings, version,
``features``), ``classify`` (driver error → typed error) and the catalog
reads. Each engine package has ``adapter.py``, ``sql.py``, ``parse.py`` and
``features.py``.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from instances.adapters.common import DeadlineExceeded, Stopwatch, call_with_deadline
from instances.adapters.rows import Row, Rows
from whalefall.errors import AdapterUnavailable, TargetError, TargetTimeout, redact

if TYPE_CHECKING:
    from instances.adapters.privileges import PrivilegeCheck
    from instances.models import Instance

logger = logging.getLogger(__name__)



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
    """One effective privilege of an account. ``level``: global | database | schema | object | column.

    ``target``: what it is on (``db``, ``db.table``, ``db.table.column``; '' for
    global). ``state``: GRANT or DENY (SQL Server). ``via``: the roles through
    which the account holds it, the one holding the grant last (``()`` = direct).
    ``via_set_role``: only after ``SET ROLE`` (PostgreSQL NOINHERIT, roles that
    are not default roles): shown, not counted by the derived flags.
    ``implied_by``: what the engine grants it for without an ACL entry (``superuser``,
    ``owner``, ``sysadmin``, ``db_owner``, ``any_privilege``, …); None for a grant. An
    implied privilege is stored once at the widest level it covers (``ALL`` on global for
    a superuser), never once per object."""

    level: str
    privilege: str
    target: str = ""
    grantable: bool = False
    state: str = "GRANT"
    via: tuple[str, ...] = ()
    via_set_role: bool = False
    implied_by: str | None = None


@dataclass(frozen=True)
class UnreadScope:
    """A part of an instance the account read could not look at (a database it cannot connect
    to, a privilege table or view it may not select), in the vocabulary of ``Privilege``.

    ``level``/``target`` name the scope as a ``Privilege`` names what it is on (``database``
    ``app``; ``global`` ``''`` for the whole instance). The stored entries inside it are those
    ``contains`` accepts: an entry whose level is in ``covers`` and whose target is the scope's
    or lies under it (``app``, ``app.…``; every target when the scope's is ''), or whose
    (level, privilege) is in ``covers_privileges`` — a privilege ending in a space is a prefix
    (PostgreSQL's default privileges for every schema sit on the database: ``DEFAULT ``), any
    other names one privilege (MySQL's table and routine privileges, both at object level).
    ``source``: what could not be read when that is a table or view rather than the scope itself.
    ``role_prefix``: roles inside the scope (SQL Server's ``db.role``); ``snapshot_path``: the keys
    of the engine-native snapshot the scope fills (SQL Server's ``databases`` → ``db``). ``reason``:
    why it was not read, in the server's or the adapter's words. The account sync keeps what it
    stored for such a scope as it was."""

    level: str
    target: str
    reason: str
    #: what was not read when it is not the scope itself (``mysql.tables_priv``, ``DBA_TAB_PRIVS``)
    source: str = ""
    covers: tuple[str, ...] = ("database", "schema", "object", "column")
    covers_privileges: tuple[tuple[str, str], ...] = ()
    role_prefix: str = ""
    snapshot_path: tuple[str, ...] = ()

    def contains(self, privilege: Privilege | dict[str, Any]) -> bool:
        """Does the entry (a ``Privilege`` or its facts dict) lie inside this scope?"""
        if isinstance(privilege, dict):
            level, target, name = privilege["level"], privilege["target"], privilege["privilege"]
        else:
            level, target, name = privilege.level, privilege.target, privilege.privilege
        if level in self.covers:
            inside = True
        else:
            inside = any(level == lvl and (name == named or (named.endswith(" ") and name.startswith(named)))
                         for lvl, named in self.covers_privileges)  # fmt: skip
        if not inside or not self.target:
            return inside
        return target == self.target or target.startswith(self.target + ".")

    def contains_role(self, role: str) -> bool:
        return bool(self.role_prefix) and role.startswith(self.role_prefix)

    @property
    def label(self) -> str:
        """The scope for people, and its key on the instance: ``database app``, ``mysql.tables_priv``."""
        return self.source or (f"{self.level} {self.target}" if self.target else "instance")


@dataclass(frozen=True)
class PasswordPolicy:
    """Whether the engine checks this login's new passwords against a policy, as the engine
    reports it: ``enforced`` True / False, or None where it cannot tell (no password, a
    Windows or external login, a setting the monitor may not read); ``reason`` says why."""

    enforced: bool | None
    reason: str


@dataclass(frozen=True)
class AccountFacts:
    """One login with its engine-neutral permission summary.

    ``roles`` includes inherited roles. ``privileges``: the effective ones, direct
    and through roles, each with its path. ``reasons``: why each derived flag that
    is set is set (``{"can_grant": ("SELECT on app.* WITH GRANT OPTION via r",)}``).
    ``snapshot`` is the engine-native detail (JSON-serialisable), stored as-is.
    ``password_policy``: see ``PasswordPolicy`` (None: not a login the engine checks, e.g.
    the PUBLIC pseudo-account)."""

    username: str
    host: str = ""
    is_superuser: bool = False
    can_grant: bool = False
    is_locked: bool = False
    can_login: bool = True
    roles: tuple[str, ...] = ()
    privileges: tuple[Privilege, ...] = ()
    snapshot: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    reasons: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    password_policy: PasswordPolicy | None = None


# Raw account catalog rows keyed by statement name (adapter-specific shapes).
AccountRows = dict[str, Any]


@dataclass(frozen=True)
class DatabaseInfo:
    """A database (Oracle: tablespace) on the instance."""

    name: str


@dataclass(frozen=True)
class DatabaseSize:
    """Size of one database in bytes; ``log_bytes`` only where the engine has one.

    ``complete`` is False when the monitoring login could read only part of it
    (Oracle without the DBA views: its own segments only); such sizes are
    stored and shown as incomplete."""

    name: str
    size_bytes: int
    data_bytes: int | None = None
    log_bytes: int | None = None
    complete: bool = True


@dataclass(frozen=True)
class TableSize:
    """Size of one table in bytes; ``row_count`` is the engine's estimate.
    ``complete`` as for ``DatabaseSize``."""

    schema: str
    table: str
    size_bytes: int
    data_bytes: int | None = None
    index_bytes: int | None = None
    row_count: int | None = None
    complete: bool = True


@dataclass(frozen=True)
class ConnectionTest:
    version: str
    latency_ms: float


def target_error(
    cls: type[TargetError], params: ConnectionParams, action: str, detail: str | BaseException
) -> TargetError:
    """A ``cls`` error for ``params``' instance: "Instance '<name>' (<host>:<port>): <action>: <detail>".

    ``detail`` (text, or an exception's message on one line) passes through
    ``redact`` with the password, so neither the password nor ``password=…``
    fragments ever reach logs, API or sessions. Raise it ``from`` the driver exception."""
    if isinstance(detail, BaseException):
        detail = " ".join(str(detail).split()) or type(detail).__name__
    message = f"Instance {params.instance_name!r} ({params.host}:{params.port}): {action}: {detail}"
    return cls(redact(message, params.password), instance_id=params.instance_id, instance_name=params.instance_name)


class AdapterSession:
    """One open connection to a target, with the engine's deadlines in force.

    ``rows`` is the only way statements are sent. ``server_version`` and
    ``features`` (what the connected server supports, from the engine's
    ``features.py``) are set when the session starts."""

    def __init__(self, adapter: BaseAdapter, connection: Any, database: str):
        self.adapter = adapter
        self.connection = connection
        self.database = database
        self.server_version = ""
        self.features: Any = None

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None, action: str = "query") -> list[Row]:
        """All rows of ``sql`` as dicts keyed by the column names the server returned.

        ``params`` are bound by the driver (identifiers and values never pasted
        into SQL text). Counted before it is sent, so failed statements count too."""
        return self.lazy_rows(sql, params, action).dicts()

    def lazy_rows(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None, action: str = "query") -> Rows:
        """``rows``, the dicts built on first use (``Rows``): for the large account statements,
        which an unchanged listing never parses."""
        adapter = self.adapter
        adapter.statements_executed += 1
        try:
            if adapter.statement_deadline:
                seconds = adapter.params.statement_timeout + adapter.DEADLINE_GRACE_SECONDS
                columns, data = call_with_deadline(lambda: adapter.execute(self.connection, sql, params), seconds)
            else:
                columns, data = adapter.execute(self.connection, sql, params)
        except DeadlineExceeded as exc:
            raise adapter.no_answer_error(action, exc.seconds) from exc
        except adapter.driver_errors as exc:
            raise adapter.wrap_error(exc, action) from exc
        return Rows(columns, data)


class BaseAdapter(abc.ABC):
    """Engine adapter. Construct with ``ConnectionParams`` (or ``for_instance``);
    each read opens its own session (``connect``) and closes it."""

    db_type: ClassVar[str] = ""
    #: the driver's exception base class(es): what ``wrap_error`` turns into typed errors
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: run the driver's connect under an outside deadline (drivers whose own timeouts do not hold)
    connect_deadline: ClassVar[bool] = False
    #: run each statement under an outside deadline of statement_timeout + grace
    statement_deadline: ClassVar[bool] = False
    #: the driver learns the server version while connecting; otherwise every session
    #: reads it with one statement when it starts
    version_in_handshake: ClassVar[bool] = False
    #: seconds an outside statement deadline waits beyond the statement timeout, so that the
    #: server's own (clean) timeout error normally wins
    DEADLINE_GRACE_SECONDS: ClassVar[int] = 2

    def __init__(self, params: ConnectionParams):
        self.params = params
        self.statements_executed = 0
        self.server_version_seen = ""

    @classmethod
    def for_instance(cls, instance: Instance) -> BaseAdapter:
        return cls(ConnectionParams.from_instance(instance))

    # --- the session contract (the same for every engine) ------------------------

    @contextmanager
    def connect(self, database: str | None = None) -> Iterator[AdapterSession]:
        """A session on ``database`` (default: the instance's), closed on exit."""
        database = database or self.default_database
        connection = self._open(database)
        try:
            session = AdapterSession(self, connection, database)
            self.start_session(session)
            if not self.version_in_handshake:
                session.server_version = self.read_version(session)
            self.server_version_seen = session.server_version
            yield session
        finally:
            self.close_connection(connection)

    def _open(self, database: str) -> Any:
        p = self.params
        action = f"connect to database {database!r}" if database else "connect"
        try:
            if self.connect_deadline:
                return call_with_deadline(
                    lambda: self.open_connection(database), p.connect_timeout, on_late_result=self.close_connection
                )
            return self.open_connection(database)
        except DeadlineExceeded as exc:
            raise self.no_answer_error(action, exc.seconds, during_connect=True) from exc
        except self.driver_errors as exc:
            raise self.wrap_error(exc, action) from exc

    def wrap_error(self, exc: BaseException, action: str) -> TargetError:
        """The typed error for driver failure ``exc`` during ``action``; password redacted."""
        return target_error(self.classify(exc), self.params, action, self.error_text(exc))

    def no_answer_error(self, action: str, seconds: float, *, during_connect: bool = False) -> TargetTimeout:
        """The typed error when the outside deadline passed: the target took the TCP
        connection (or the statement) and never answered."""
        hint = (
            "the port accepted the TCP connection but the server never completed the login "
            "(not this engine's port, a firewall holding the connection, or the server hung)"
            if during_connect
            else "the server stopped answering"
        )
        return target_error(TargetTimeout, self.params, action, f"no answer within {seconds:g} s: {hint}")

    def error_text(self, exc: BaseException) -> str | BaseException:
        """The driver's message (engines decode what their driver wraps)."""
        return exc

    def test_connection(self) -> ConnectionTest:
        """Connect and read the server version with one query; the version and the
        wall time (ms) of both."""
        with Stopwatch() as watch, self.connect() as session:
            version = self.read_version(session) if self.version_in_handshake else session.server_version
        return ConnectionTest(version=version, latency_ms=watch.elapsed_ms)

    def server_version(self) -> str:
        """The server's version string (as stored on the instance)."""
        with self.connect() as session:
            return session.server_version

    # --- engine mechanics (overridden per engine) ----------------------------------

    @property
    def default_database(self) -> str:
        """Database a session opens when none is named (the instance's)."""
        return self.params.database

    @abc.abstractmethod
    def open_connection(self, database: str) -> Any:
        """The driver's connect, with the engine's connect/login/statement timeouts."""

    def start_session(self, session: AdapterSession) -> None:  # noqa: B027 (optional hook)
        """Session settings (deadlines), ``features``, and ``server_version`` when
        ``version_in_handshake``. Default: nothing."""

    def execute(self, connection: Any, sql: str, params: Any) -> tuple[list[str], list[tuple]]:
        """Run one statement on a DB-API connection: (column names, rows)."""
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params) if params is not None else cursor.execute(sql)
            if cursor.description is None:
                return [], []
            return [column[0] for column in cursor.description], cursor.fetchall()
        finally:
            cursor.close()

    def close_connection(self, connection: Any) -> None:
        """Close, never raising: the real error (if any) is already on its way."""
        try:
            connection.close()
        except Exception as exc:  # closing a broken connection; the original error must not be hidden
            logger.debug("%s: closing the connection failed: %s", self.params.instance_name, type(exc).__name__)

    @abc.abstractmethod
    def classify(self, exc: BaseException) -> type[TargetError]:
        """Which typed error a driver exception means."""

    @abc.abstractmethod
    def read_version(self, session: AdapterSession) -> str:
        """Read the server's version with one statement."""

    # --- catalog reads ----------------------------------------------------------------

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

    def account_unread_scopes(self, rows: AccountRows) -> tuple[UnreadScope, ...]:
        """The scopes ``read_account_rows`` could not read (a function of ``rows``: the read puts
        them there). Their privileges are missing from ``parse_account_rows``: the sync keeps the
        stored ones and the record ends ``partial``. None by default (every engine that can
        meet a denied scope overrides this)."""
        return ()

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

    def check_privileges(self) -> list[PrivilegeCheck]:
        """Whether the monitoring login can run each collector, with the GRANT that fixes
        what it cannot (``instances/adapters/privileges.py``); reads only. Connection
        failures raise typed errors, never an empty list."""
        raise AdapterUnavailable(f"No privilege check for database type {self.db_type!r}.")
