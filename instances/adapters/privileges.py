"""The monitoring account's self-check: can the login run each collector, and if not, what GRANT fixes it.

Each engine adapter implements ``check_privileges()`` (``BaseAdapter``): it asks the
engine what the connected login may do — MariaDB/MySQL: ``CURRENT_USER()``,
``information_schema.USER_PRIVILEGES`` and the exact privilege-table reads with
``LIMIT 0``; PostgreSQL: ``pg_has_role``, ``has_table_privilege``,
``has_database_privilege`` per database; SQL Server: ``HAS_PERMS_BY_NAME``;
Oracle: ``SESSION_ROLES``/``SESSION_PRIVS`` — and turns the answer into one
``PrivilegeCheck`` per collector (and per database where a collector needs
something per database). The decisions are pure functions of those rows in each
engine's ``privileges.py``, so they are tested on recorded rows as well as live.

The check only reads: it never creates an object or changes a setting on the
target. The ``fix`` statements are the ones docs/adapters.md documents (narrowed
to what is missing), with the login's name — and on MySQL/MariaDB its host — filled in.
"""

from __future__ import annotations

from dataclasses import dataclass

#: what the check covers, in report order: account sync catalog reads, database sizes,
#: per-table sizes, and (PostgreSQL, SQL Server) each database the collectors connect to
COLLECTORS = ("account_sync", "database_sizes", "table_sizes", "database")


@dataclass(frozen=True)
class PrivilegeCheck:
    """One collector (``target``: a table, a database, or '' for the whole collector):
    ``ok`` whether the monitoring login can run it, ``detail`` why, ``fix`` the GRANT
    statement(s) that make it work (None when it works, or when no GRANT can fix it)."""

    collector: str
    target: str
    ok: bool
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class PrivilegeReport:
    """The checks of one instance, in collector order."""

    instance_id: int | None
    instance_name: str
    checks: tuple[PrivilegeCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> tuple[PrivilegeCheck, ...]:
        return tuple(check for check in self.checks if not check.ok)


def ordered(checks: list[PrivilegeCheck]) -> tuple[PrivilegeCheck, ...]:
    """``checks`` sorted by collector (COLLECTORS order), keeping each collector's own order."""
    return tuple(sorted(checks, key=lambda check: COLLECTORS.index(check.collector)))


def passed(collector: str, detail: str, target: str = "") -> PrivilegeCheck:
    return PrivilegeCheck(collector, target, True, detail)


def failed(collector: str, detail: str, fix: str | None, target: str = "") -> PrivilegeCheck:
    return PrivilegeCheck(collector, target, False, detail, fix)
