"""SQL Server monitoring-account self-check: the decisions, from rows (no I/O).

What each collector needs (docs/adapters_sqlserver_oracle.md, "Minimum privileges"):

- account sync: ``VIEW ANY DEFINITION`` (principals, permissions) and CONNECT on every
  user database (its users, roles and permissions);
- database sizes: ``VIEW ANY DEFINITION`` (``sys.master_files``) and ``VIEW ANY DATABASE``
  (``sys.databases`` lists every database);
- table sizes: ``VIEW ANY DEFINITION`` (metadata visibility) and CONNECT on the database.

CONNECT is checked per ONLINE user database ("database"); its fix is ``CONNECT ANY
DATABASE`` on 2014+ and a user in that database on 2012, as the docs say.
"""

from __future__ import annotations

from instances.adapters.privileges import PrivilegeCheck, failed, passed
from instances.adapters.sqlserver.sql import quote_name

NEEDED = {
    "account_sync": ("VIEW ANY DEFINITION",),
    "database_sizes": ("VIEW ANY DEFINITION", "VIEW ANY DATABASE"),
    "table_sizes": ("VIEW ANY DEFINITION",),
}
_COLUMN = {"VIEW ANY DEFINITION": "view_any_definition", "VIEW ANY DATABASE": "view_any_database"}
_WHY = {
    "VIEW ANY DEFINITION": "without VIEW ANY DEFINITION the catalog views show only the login's own principals, "
    "permissions and objects, and sys.master_files nothing",
    "VIEW ANY DATABASE": "without VIEW ANY DATABASE sys.databases lists only master, tempdb and the databases "
    "the login owns",
}


def decide(*, login: str, major_version: int, server: dict, databases: list[dict]) -> list[PrivilegeCheck]:
    """The checks from ``SERVER_PERMISSION_CHECK``'s row and ``DATABASE_CONNECT_CHECK``'s rows."""
    grantee = quote_name(login)
    checks = []
    for collector, needed in NEEDED.items():
        missing = [permission for permission in needed if server[_COLUMN[permission]] != 1]
        if missing:
            fix = " ".join(f"GRANT {permission} TO {grantee};" for permission in missing)
            checks.append(failed(collector, "; ".join(_WHY[permission] for permission in missing), fix))
        else:
            checks.append(passed(collector, " and ".join(needed)))
    for row in databases:
        name = row["name"]
        if row["can_connect"] == 1:
            checks.append(passed("database", "CONNECT: users, roles, permissions and table sizes", target=name))
            continue
        if major_version >= 12:
            fix = f"GRANT CONNECT ANY DATABASE TO {grantee};"
        else:  # 2012: no CONNECT ANY DATABASE
            fix = f"USE {quote_name(name)}; CREATE USER {grantee} FOR LOGIN {grantee};"
        checks.append(failed("database", "no CONNECT: the account sync cannot read its users, roles and "
                             "permissions, nor its table sizes (error 916)", fix, target=name))  # fmt: skip
    return checks
