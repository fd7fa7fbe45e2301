"""MySQL/MariaDB monitoring-account self-check: the decisions, from rows (no I/O).

What each collector needs is what docs/adapters.md grants (``<!-- grants:mariadb -->``):

- account sync: ``SELECT`` on each privilege table it reads (``sql.account_tables``),
  probed by running that read with ``LIMIT 0``;
- database sizes: ``SHOW DATABASES`` (else the inventory misses schemas the login
  has no privilege in) and ``SHOW VIEW ON *.*`` (else tables are invisible in
  ``information_schema.TABLES`` and sizes read as 0);
- table sizes: ``SHOW VIEW ON *.*``.

Global privileges are read from ``information_schema.USER_PRIVILEGES`` for the
account ``CURRENT_USER()`` names: privileges held only through a role are not seen.
"""

from __future__ import annotations

from instances.adapters.privileges import PrivilegeCheck, failed, passed

#: global privileges per collector, in the order docs/adapters.md grants them
NEEDED_GLOBAL = {
    "database_sizes": ("SHOW DATABASES", "SHOW VIEW"),
    "table_sizes": ("SHOW VIEW",),
}
_WHY = {
    "SHOW DATABASES": "without SHOW DATABASES the inventory lists only the schemas the login has a privilege in",
    "SHOW VIEW": "without SHOW VIEW on *.* information_schema.TABLES hides the tables, so sizes read as 0",
}


def split_account(current_user: str) -> tuple[str, str]:
    """``CURRENT_USER()`` ('wf_monitor@%') → ('wf_monitor', '%'); the host is after the last '@'."""
    user, _, host = current_user.rpartition("@")
    return user, host


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def account_literal(user: str, host: str) -> str:
    """The account as a GRANT names it: ``'wf_monitor'@'%'``."""
    return f"{_literal(user)}@{_literal(host)}"


def grantee(user: str, host: str) -> str:
    """The account as information_schema spells ``GRANTEE``: ``'wf_monitor'@'%'`` (not escaped)."""
    return f"'{user}'@'{host}'"


def decide(
    *, user: str, host: str, global_privileges: set[str], tables: tuple[str, ...], denied: dict[str, str]
) -> list[PrivilegeCheck]:
    """The checks from the account's global privileges and the privilege tables it may not
    read (``denied``: table → the server's error)."""
    account = account_literal(user, host)
    checks = []
    for table in tables:
        if table in denied:
            checks.append(failed("account_sync", f"account sync reads {table}: {denied[table]}",
                                 f"GRANT SELECT ON {table} TO {account};", target=table))  # fmt: skip
        else:
            checks.append(passed("account_sync", f"SELECT on {table}", target=table))
    held = {privilege.upper() for privilege in global_privileges}
    for collector, needed in NEEDED_GLOBAL.items():
        missing = [privilege for privilege in needed if privilege not in held]
        if missing:
            why = "; ".join(_WHY[privilege] for privilege in missing)
            checks.append(failed(collector, why, f"GRANT {', '.join(missing)} ON *.* TO {account};"))
        else:
            checks.append(passed(collector, f"{' and '.join(needed)} on *.*"))
    return checks
