"""Oracle monitoring-account self-check: the decisions, from rows (no I/O).

Every collector reads the DBA_ views (docs/adapters_sqlserver_oracle.md, "Minimum
privileges"): ``SELECT_CATALOG_ROLE`` (or the broader ``SELECT ANY DICTIONARY``)
gives them. The account sync has no fallback; sizes fall back to the login's own
segments (``USER_SEGMENTS``), stored as incomplete — reported here as failing.

Read from ``SESSION_ROLES`` (roles enabled in the session, also through other
roles) and ``SESSION_PRIVS``. Not recognised: ``SELECT`` granted on each DBA_ view
one by one (the docs' alternative) — such a login is reported as missing the role.
"""

from __future__ import annotations

import re

from instances.adapters.privileges import PrivilegeCheck, failed, passed

ROLE = "SELECT_CATALOG_ROLE"
PRIVILEGE = "SELECT ANY DICTIONARY"
_WHY = {
    "account_sync": "the account sync reads DBA_USERS, DBA_ROLE_PRIVS, DBA_SYS_PRIVS, DBA_TAB_PRIVS, DBA_COL_PRIVS, "
    "DBA_OBJECTS, DBA_ROLES, V$PWFILE_USERS and DBA_PROFILES (no fallback; DBA_TAB_PRIVS, DBA_COL_PRIVS and "
    "DBA_OBJECTS denied: the sync is partial)",
    "database_sizes": "without DBA_DATA_FILES and DBA_SEGMENTS sizes fall back to USER_SEGMENTS: only the "
    "login's own segments, stored as incomplete",
    "table_sizes": "without DBA_SEGMENTS, DBA_INDEXES, DBA_LOBS and DBA_TABLES table sizes fall back to the "
    "login's own segments, stored as incomplete",
}


def quote_identifier(name: str) -> str:
    """A user name as a GRANT names it: plain when Oracle reads it unquoted, else in double quotes."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_$#]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


def decide(*, login: str, roles: list[dict], privileges: list[dict]) -> list[PrivilegeCheck]:
    """The checks from ``SESSION_ROLES`` and ``SESSION_PRIVS`` rows."""
    enabled = {row["ROLE"] for row in roles}
    held = {row["PRIVILEGE"] for row in privileges}
    if ROLE in enabled:
        return [passed(collector, f"{ROLE}: the DBA_ views") for collector in _WHY]
    if PRIVILEGE in held:
        return [passed(collector, f"{PRIVILEGE}: the DBA_ views") for collector in _WHY]
    fix = f"GRANT {ROLE} TO {quote_identifier(login)};"
    return [failed(collector, f"{why}; neither {ROLE} nor {PRIVILEGE} is enabled", fix)
            for collector, why in _WHY.items()]  # fmt: skip
