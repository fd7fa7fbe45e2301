"""PostgreSQL monitoring-account self-check: the decisions, from rows (no I/O).

What each collector needs (docs/adapters.md, ``<!-- grants:postgresql -->``):

- account sync: the catalogs ``pg_roles``, ``pg_auth_members``, ``pg_database``,
  ``pg_namespace``, ``pg_class``, ``pg_proc``, ``pg_depend``, ``pg_attribute``, ``pg_default_acl``, ``pg_type``,
  ``pg_language``, ``pg_foreign_data_wrapper``, ``pg_foreign_server``, ``pg_tablespace``, PG 15+
  ``pg_parameter_acl`` (readable by
  PUBLIC unless revoked), and CONNECT on every database for its object privileges;
- database sizes: ``pg_database_size`` needs ``pg_read_all_stats`` or CONNECT on every
  database (the role is what the docs grant);
- table sizes: CONNECT on the database.

So there is one check per database ("database": CONNECT, which the account sync's
object privileges and table sizes of that database both need), named by its GRANT CONNECT.
"""

from __future__ import annotations

from instances.adapters.privileges import PrivilegeCheck, failed, passed


def decide(
    *, login: str, read_all_stats: bool, catalogs: list[dict], databases: list[dict], size_error: str | None = None
) -> list[PrivilegeCheck]:
    """The checks from ``PRIVILEGE_LOGIN`` (``login`` already quoted as an identifier),
    ``CATALOG_PRIVILEGES`` and ``DATABASE_CONNECT_PRIVILEGES`` rows; ``size_error``: what
    trying ``pg_database_size`` on every database answered, when it was denied."""
    checks = []
    unreadable = [row["name"] for row in catalogs if not row["readable"]]
    if unreadable:
        fix = " ".join(f"GRANT SELECT ON {name} TO {login};" for name in unreadable)
        checks.append(failed("account_sync", f"account sync reads {', '.join(unreadable)}: SELECT was revoked", fix))
    else:
        checks.append(passed("account_sync", "pg_roles, pg_auth_members, pg_database and the object catalogs "
                             "are readable"))  # fmt: skip
    unconnectable = [row["datname"] for row in databases if not row["can_connect"]]
    stats_fix = f"GRANT pg_read_all_stats TO {login};"
    if size_error:
        checks.append(failed("database_sizes", f"pg_database_size was denied: {size_error}", stats_fix))
    elif read_all_stats:
        checks.append(passed("database_sizes", "member of pg_read_all_stats: pg_database_size of every database"))
    elif unconnectable:
        checks.append(failed("database_sizes", "pg_database_size needs pg_read_all_stats or CONNECT on every "
                             f"database; no CONNECT on {', '.join(unconnectable)}", stats_fix))  # fmt: skip
    else:
        checks.append(passed("database_sizes", "CONNECT on every database (pg_read_all_stats is recommended: "
                             "a database created later without CONNECT for the login would fail)"))  # fmt: skip
    for row in databases:
        name = row["datname"]
        if not row["datallowconn"]:
            checks.append(failed("database", "connections to it are not allowed (datallowconn is false): its object "
                                 "privileges and table sizes cannot be read", None, target=name))  # fmt: skip
        elif not row["can_connect"]:
            checks.append(failed("database", "no CONNECT: the account sync cannot read its object privileges and "
                                 "its table sizes cannot be read", f"GRANT CONNECT ON DATABASE {row['quoted']} TO "
                                 f"{login};", target=name))  # fmt: skip
        else:
            checks.append(passed("database", "CONNECT: object privileges and table sizes", target=name))
    return checks
