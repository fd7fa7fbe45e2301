"""A real OpenLDAP ``slapd`` (Debian package, installed by bin/test) for the directory-login tests.

Started once per test session on 127.0.0.1 and a free port, with its own configuration and
database in a temporary directory (removed afterwards), then seeded through LDAP with a small
tree: people in two OUs, a service account, three role groups and a team group. When slapd is
missing the tests fail under CI and are skipped elsewhere (``tests.live_targets.unavailable``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from tests.live_targets import unavailable
from tests.support.processes import free_port

SLAPD = Path("/usr/sbin/slapd")
SUFFIX = "dc=whalefall,dc=test"
ADMIN_DN, ADMIN_PASSWORD = f"cn=admin,{SUFFIX}", "admin-secret"
PEOPLE, GROUPS = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
SERVICE_DN, SERVICE_PASSWORD = f"cn=whalefall-svc,ou=services,{SUFFIX}", "svc-secret"

_CONFIG = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{admin_dn}"
rootpw {admin_password}
directory {dir}/db
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
"""


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def person_dn(uid: str, ou: str = "ops") -> str:
    return f"uid={uid},ou={ou},{PEOPLE}"


#: (uid, OU, password, groups)
PEOPLE_ENTRIES = (
    ("alice", "ops", "alice-pw", ("dba-operators",)),
    ("bob", "ops", "bob-pw", ("dba-viewers", "dba-admins")),
    ("carol", "finance", "carol-pw", ()),  # in no mapped group
    ("dave", "finance", "dave-pw", ("dba-viewers", "team-billing")),
    ("admin", "ops", "directory-admin-pw", ("dba-admins",)),  # shares its name with the local admin
)


@dataclass
class Slapd:
    url: str
    port: int

    def admin(self) -> ldap3.Connection:
        server = ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=3)
        return ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True)

    def set_member(self, group: str, uid: str, ou: str, *, member: bool) -> None:
        """Add ``uid`` to (or remove it from) a group, as a directory administrator would."""
        operation = ldap3.MODIFY_ADD if member else ldap3.MODIFY_DELETE
        with self.admin() as conn:
            conn.modify(group_dn(group), {"member": [(operation, [person_dn(uid, ou)])]})


def _seed(slapd: Slapd) -> None:
    entries = [
        (SUFFIX, ["dcObject", "organization"], {"o": "WhaleFall tests", "dc": "whalefall"}),
        (PEOPLE, ["organizationalUnit"], {"ou": "people"}),
        (f"ou=ops,{PEOPLE}", ["organizationalUnit"], {"ou": "ops"}),
        (f"ou=finance,{PEOPLE}", ["organizationalUnit"], {"ou": "finance"}),
        (f"ou=services,{SUFFIX}", ["organizationalUnit"], {"ou": "services"}),
        (GROUPS, ["organizationalUnit"], {"ou": "groups"}),
        (SERVICE_DN, ["organizationalRole", "simpleSecurityObject"], {"cn": "whalefall-svc",
                                                                      "userPassword": SERVICE_PASSWORD}),
    ]  # fmt: skip
    members: dict[str, list[str]] = {}
    for uid, ou, password, groups in PEOPLE_ENTRIES:
        entries.append((person_dn(uid, ou), ["inetOrgPerson"], {
            "uid": uid, "cn": uid.title(), "sn": "Tester", "givenName": uid.title(), "mail": f"{uid}@whalefall.test",
            "userPassword": password,
        }))  # fmt: skip
        for group in groups:
            members.setdefault(group, []).append(person_dn(uid, ou))
    for group in ("dba-viewers", "dba-operators", "dba-admins", "team-billing"):
        # groupOfNames needs a member: each group also holds the service account, so a test may
        # remove every person from one
        members_of_group = [SERVICE_DN, *members.get(group, [])]
        entries.append((group_dn(group), ["groupOfNames"], {"cn": group, "member": members_of_group}))
    with slapd.admin() as conn:
        for dn, classes, attributes in entries:
            conn.add(dn, classes, attributes)


@pytest.fixture(scope="session")
def slapd_server():
    if not SLAPD.exists():
        unavailable(f"{SLAPD} is not installed (Debian package slapd; bin/test installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="wf-slapd-"))
    (workdir / "db").mkdir()
    config = workdir / "slapd.conf"
    config.write_text(_CONFIG.format(dir=workdir, suffix=SUFFIX, admin_dn=ADMIN_DN, admin_password=ADMIN_PASSWORD))
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    # -d 0: stay in the foreground (a child of this session, stopped at the end)
    process = subprocess.Popen([str(SLAPD), "-d", "0", "-f", str(config), "-h", f"{url}/"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    server = Slapd(url=url, port=port)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                server.admin().unbind()
                break
            except ldap3.core.exceptions.LDAPException:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode(errors="replace") if process.poll() is not None else ""
                    unavailable(f"slapd did not start on {url}: {error[-500:]}")
                time.sleep(0.1)
        _seed(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
