"""Fixtures for adapter tests: live admin connections, scratch objects, monitoring
accounts created from the GRANTs in docs/adapters.md, and fake servers.

Live targets (override with env vars): MariaDB ``WF_TEST_MYSQL_HOST``/``_PORT``
(default 127.0.0.1:3306, root, empty password) and two PostgreSQL targets, each
test that uses one running on both (ids ``pg15``/``pg18``): PostgreSQL 15
``WF_TEST_PG_HOST``/``_PORT`` (default 127.0.0.1:5432, postgres, trust) and
PostgreSQL 18 started by the session from the embedded binaries
(tests/support/embedded_pg_target.py; ``WF_TEST_PG18_HOST``/``_PORT`` name an
existing one instead). When a target is unreachable (or cannot be started) the
test fails if ``CI`` is set, otherwise it is skipped.

Everything a run creates starts with a per-run prefix (``wf_t<hex>_``) and is
dropped at teardown, even when a test fails; a final sweep drops whatever
still carries the prefix.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest
from psycopg import sql as pgsql

from instances.adapters.base import ConnectionParams
from tests.support import embedded_pg_target

MYSQL_HOST = os.environ.get("WF_TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("WF_TEST_MYSQL_PORT", "3306"))
PG_HOST = os.environ.get("WF_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("WF_TEST_PG_PORT", "5432"))
DOCS = Path(__file__).resolve().parents[1] / "docs" / "adapters.md"

RUN_PREFIX = f"wf_t{secrets.token_hex(3)}_"


def unavailable(message: str) -> None:
    """Fail under CI (the engines are part of the CI contract), skip on a laptop without them."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def documented_grants(engine: str, username: str, password: str) -> list[str]:
    """The statements of the ``<!-- grants:<engine> -->`` block in docs/adapters.md, for ``username``."""
    match = re.search(rf"<!-- grants:{engine} -->\s*```sql\n(.*?)```", DOCS.read_text(), re.S)
    assert match, f"docs/adapters.md has no grants block for {engine}"
    text = match.group(1).replace("whalefall_monitor", username).replace("change-me", password)
    return [line.rstrip(";") for line in text.splitlines() if line.strip() and not line.startswith("--")]


def mysql_params(username: str, password: str, **overrides) -> ConnectionParams:
    values = {"connect_timeout": 5, "statement_timeout": 30, "database": ""}
    values.update(overrides)
    return ConnectionParams(None, "mysql-live", MYSQL_HOST, MYSQL_PORT, username, password, **values)


@pytest.fixture(scope="session")
def run_prefix() -> str:
    return RUN_PREFIX


# --- MariaDB ------------------------------------------------------------------
def run_all_last_first(statements: list, run: Callable, errors: type[Exception]) -> None:
    """A scratch's teardown: every queued statement, last-queued first; one that fails with
    ``errors`` does not stop the others (the first such error is raised after them). The queue is
    emptied."""
    failed: list[Exception] = []
    for statement in reversed(statements):
        try:
            run(statement)
        except errors as exc:
            failed.append(exc)
    statements.clear()
    if failed:
        raise failed[0]


class MySQLScratch:
    """Admin (root) helper: ``run`` executes now, ``later`` queues a teardown statement."""

    def __init__(self, conn: pymysql.connections.Connection):
        self.conn = conn
        self._teardown: list[str] = []

    def run(self, statement: str, args=None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())

    def later(self, statement: str) -> None:
        self._teardown.append(statement)

    def teardown(self) -> None:
        run_all_last_first(self._teardown, self.run, pymysql.MySQLError)


def mysql_ident(name: str) -> str:
    """Backtick-quote an identifier for admin setup SQL in tests."""
    return "`" + name.replace("`", "``") + "`"


@pytest.fixture(scope="session")
def mysql_admin_conn() -> Iterator[pymysql.connections.Connection]:
    try:
        conn = pymysql.connect(
            host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", connect_timeout=3, autocommit=True
        )
    except pymysql.Error as exc:
        unavailable(f"MariaDB at {MYSQL_HOST}:{MYSQL_PORT} unavailable: {exc}")
    yield conn
    _mysql_sweep(conn)
    conn.close()


def _mysql_sweep(conn) -> None:
    like = RUN_PREFIX.replace("_", "\\_") + "%"
    with conn.cursor() as cur:
        cur.execute("SELECT User, Host FROM mysql.user WHERE User LIKE %s", (like,))
        for user, host in cur.fetchall():
            cur.execute("DROP USER IF EXISTS %s@%s", (user, host))
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s", (like,))
        for (name,) in cur.fetchall():
            cur.execute(f"DROP DATABASE IF EXISTS {mysql_ident(name)}")
        # the anonymous user's rows a test wrote into mysql.db, and PUBLIC's grants on the run's objects
        # (a REVOKE that failed; DROP DATABASE leaves grants behind): their names may escape the prefix
        removed = cur.execute("DELETE FROM mysql.db WHERE User IN ('', 'PUBLIC') AND REPLACE(Db, '\\\\', '') LIKE %s",
                              (like,))  # fmt: skip
        for table in ("tables_priv", "columns_priv", "procs_priv"):
            removed += cur.execute(f"DELETE FROM mysql.{table} WHERE User = 'PUBLIC' AND Db LIKE %s", (like,))
        if removed:
            cur.execute("FLUSH PRIVILEGES")


@pytest.fixture
def mysql_scratch(mysql_admin_conn) -> Iterator[MySQLScratch]:
    scratch = MySQLScratch(mysql_admin_conn)
    yield scratch
    scratch.teardown()


@pytest.fixture(scope="module")
def mysql_module_scratch(mysql_admin_conn) -> Iterator[MySQLScratch]:
    scratch = MySQLScratch(mysql_admin_conn)
    yield scratch
    scratch.teardown()


@pytest.fixture(scope="session")
def mysql_monitor(mysql_admin_conn) -> Iterator[ConnectionParams]:
    """A monitoring account with exactly the documented MariaDB GRANTs."""
    scratch = MySQLScratch(mysql_admin_conn)
    name, password = f"{RUN_PREFIX}mon", secrets.token_urlsafe(12)
    scratch.later(f"DROP USER IF EXISTS '{name}'@'%'")
    for statement in documented_grants("mariadb", name, password):
        scratch.run(statement)
    yield mysql_params(name, password)
    scratch.teardown()


# --- PostgreSQL -----------------------------------------------------------------
# Every test that uses a PostgreSQL target (``pg_target``, or the fixtures built on it) runs once
# per target, with the ids ``pg15`` and ``pg18``: the machine's PostgreSQL 15 and PostgreSQL 18
# started by the session from the embedded binaries (the PG 16+ catalog branches run there).
PG_TARGETS = {"pg15": 15, "pg18": 18}


@dataclasses.dataclass(frozen=True)
class PGTarget:
    """A live PostgreSQL target: where it listens and the major version it must report."""

    name: str
    major: int
    host: str
    port: int

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        """An autocommit admin (postgres, trust) connection."""
        return psycopg.connect(host=self.host, port=self.port, user="postgres", dbname=database, autocommit=True,
                               connect_timeout=3)  # fmt: skip

    def params(self, username: str, password: str, **overrides) -> ConnectionParams:
        values = {"connect_timeout": 5, "statement_timeout": 30, "database": ""}
        values.update(overrides)
        return ConnectionParams(None, "postgresql-live", self.host, self.port, username, password, **values)


def pytest_generate_tests(metafunc) -> None:
    """Each test using ``pg_target`` runs on every target, or on those its ``pg_targets`` mark
    names (a scenario only a later version can express, e.g. PG 16's per-grant options)."""
    if "pg_target" in metafunc.fixturenames:
        mark = metafunc.definition.get_closest_marker("pg_targets")
        names = list(mark.args) if mark else list(PG_TARGETS)
        # session scope: pytest groups the tests by target, so each is connected to once
        metafunc.parametrize("pg_target", names, indirect=True, scope="session")


@pytest.fixture(scope="session")
def pg18_server() -> Iterator[tuple[str, int]]:
    """PostgreSQL 18 as a second target, started lazily (by the first test that needs it) and once
    per session; ``WF_TEST_PG18_HOST``/``_PORT`` name an existing server instead."""
    if os.environ.get("WF_TEST_PG18_PORT"):
        yield os.environ.get("WF_TEST_PG18_HOST", "127.0.0.1"), int(os.environ["WF_TEST_PG18_PORT"])
        return
    try:
        server = embedded_pg_target.start(18)
    except embedded_pg_target.TargetUnavailable as exc:
        unavailable(str(exc))
    try:
        yield server.host, server.port
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_target(request) -> PGTarget:
    name = request.param
    host, port = request.getfixturevalue("pg18_server") if name == "pg18" else (PG_HOST, PG_PORT)
    return PGTarget(name, PG_TARGETS[name], host, port)


class PGScratch:
    """Admin (postgres) helper: ``run`` executes now (optionally in another database), ``later`` at teardown."""

    def __init__(self, conn: psycopg.Connection, target: PGTarget):
        self.conn = conn
        self.target = target
        self._teardown: list[pgsql.Composable | str] = []

    @property
    def major(self) -> int:
        return self.target.major

    def run(self, statement, args=None, *, database: str | None = None) -> list[tuple]:
        if database is None:
            return _pg_run(self.conn, statement, args)
        with self.target.connect(database) as conn:
            return _pg_run(conn, statement, args)

    def later(self, statement) -> None:
        self._teardown.append(statement)

    def teardown(self) -> None:
        run_all_last_first(self._teardown, self.run, psycopg.Error)


def _pg_run(conn, statement, args) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(statement, args)
        return list(cur.fetchall()) if cur.description else []


@pytest.fixture(scope="session")
def pg_admin_conn(pg_target) -> Iterator[psycopg.Connection]:
    try:
        conn = pg_target.connect()
    except psycopg.Error as exc:
        unavailable(f"PostgreSQL ({pg_target.name}) at {pg_target.host}:{pg_target.port} unavailable: {exc}")
    major = int(conn.info.server_version) // 10000
    if major != pg_target.major:  # a target named for a version it is not would prove nothing
        conn.close()
        pytest.fail(f"the {pg_target.name} target at {pg_target.host}:{pg_target.port} is PostgreSQL {major}")
    yield conn
    _pg_sweep(conn)
    conn.close()


def _pg_sweep(conn) -> None:
    like = RUN_PREFIX.replace("_", "\\_") + "%"
    for (name,) in _pg_run(conn, "SELECT datname FROM pg_database WHERE datname LIKE %s", (like,)):
        _pg_run(conn, pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)), None)
    for (name,) in _pg_run(conn, "SELECT spcname FROM pg_tablespace WHERE spcname LIKE %s", (like,)):
        _pg_run(conn, pgsql.SQL("DROP TABLESPACE IF EXISTS {}").format(pgsql.Identifier(name)), None)
    if conn.info.server_version >= 150000:  # GRANT … ON PARAMETER (PG 15+): PUBLIC's grants outlive the roles
        for (name,) in _pg_run(conn, "SELECT parname FROM pg_parameter_acl WHERE parname LIKE %s", (like,)):
            _pg_run(conn, pgsql.SQL("REVOKE ALL ON PARAMETER {} FROM PUBLIC").format(pgsql.Identifier(name)), None)
    roles = [r for (r,) in _pg_run(conn, "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (like,))]
    if roles:
        idents = pgsql.SQL(", ").join(pgsql.Identifier(r) for r in roles)
        _pg_run(conn, pgsql.SQL("DROP OWNED BY {}").format(idents), None)
        _pg_run(conn, pgsql.SQL("DROP ROLE {}").format(idents), None)


@pytest.fixture
def pg_scratch(pg_admin_conn, pg_target) -> Iterator[PGScratch]:
    scratch = PGScratch(pg_admin_conn, pg_target)
    yield scratch
    scratch.teardown()


@pytest.fixture(scope="module")
def pg_module_scratch(pg_admin_conn, pg_target) -> Iterator[PGScratch]:
    scratch = PGScratch(pg_admin_conn, pg_target)
    yield scratch
    scratch.teardown()


def pg_drop_role(name: str) -> pgsql.Composable:
    """DROP OWNED (revokes its grants on databases) then DROP ROLE — one statement each is needed."""
    return pgsql.SQL("DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {lit}) THEN "
                     "EXECUTE 'DROP OWNED BY ' || quote_ident({lit}); EXECUTE 'DROP ROLE ' || quote_ident({lit}); "
                     "END IF; END $$").format(lit=pgsql.Literal(name))  # fmt: skip


@pytest.fixture(scope="session")
def pg_monitor(pg_admin_conn, pg_target) -> Iterator[ConnectionParams]:
    """A monitoring role with exactly the documented PostgreSQL GRANTs."""
    scratch = PGScratch(pg_admin_conn, pg_target)
    name, password = f"{RUN_PREFIX}mon", secrets.token_urlsafe(12)
    scratch.later(pg_drop_role(name))
    for statement in documented_grants("postgresql", name, password):
        scratch.run(statement)
    yield pg_target.params(name, password)
    scratch.teardown()


# --- fake servers ----------------------------------------------------------------
class _Server:
    """A TCP server on 127.0.0.1:<free port> running ``handle(conn)`` per connection in threads."""

    def __init__(self, handle: Callable[[socket.socket], None]):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:  # listening socket closed at teardown
                return
            self.conns.append(conn)
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def _never_answer(conn: socket.socket) -> None:
    """Accept and stay silent: the TCP handshake succeeds, the database protocol never starts."""


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    server = _Server(_never_answer)
    yield server.port
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _pg_reject_password(conn: socket.socket) -> None:
    """Speak just enough of the PostgreSQL protocol to refuse the password (SQLSTATE 28P01)."""
    try:
        while True:
            header = conn.recv(8)
            if len(header) < 8:
                return
            length, code = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
            if length == 8 and code in (80877103, 80877104):  # SSLRequest / GSSENCRequest: "no"
                conn.sendall(b"N")
                continue
            conn.recv(max(0, length - 8))
            fields = b'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "monitor"\0\0'
            conn.sendall(b"E" + (len(fields) + 4).to_bytes(4, "big") + fields)
            return
    except OSError:
        return


@pytest.fixture
def pg_wrong_password_port() -> Iterator[int]:
    server = _Server(_pg_reject_password)
    yield server.port
    server.close()
